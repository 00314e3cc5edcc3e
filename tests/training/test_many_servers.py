"""Many app servers (issue 18): every piece of shared state lives in the database or Redis, so two app
instances on the same database (and Redis) serve the same users consistently."""
import uuid

import pytest

from tests.conftest import TEST_PASSWORD
from tests.training.test_jobs import _redis_url
from training.extensions import db


def _servers(extra=None, count=2):
    from training import create_app

    url = db.engine.url.render_as_string(hide_password=False)
    return [create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, **(extra or {})}) for _ in range(count)]


def test_failed_logins_alternating_between_servers_are_counted_together(make_user):
    make_user("lan@example.vn")
    first, second = (app.test_client() for app in _servers())
    for n in range(5):  # an attacker spreading guesses over the servers behind a load balancer
        (first if n % 2 else second).post("/auth/login", data={"email": "lan@example.vn", "password": f"sai-{n}"})
    for client in (first, second):
        refused = client.post("/auth/login", data={"email": "lan@example.vn", "password": TEST_PASSWORD})
        assert refused.status_code == 429 and refused.headers["Retry-After"]


def test_the_anonymous_burst_limit_is_one_count_across_servers_through_redis(make_user):
    url = _redis_url()
    storage = url.rsplit("/", 1)[0] + "/14"
    key_prefix = f"test-{uuid.uuid4().hex[:8]}"
    extra = {"RATELIMIT_STORAGE_URI": storage, "RATELIMIT_KEY_PREFIX": key_prefix,
             "LOGIN_BURST_PER_ADDRESS": "4 per minute"}
    first, second = (app.test_client() for app in _servers(extra))
    codes = [(first if n % 2 else second).post("/auth/login", data={"email": f"x{n}@example.vn", "password": "sai"})
             .status_code for n in range(6)]
    assert codes[:4] == [401, 401, 401, 401] and codes[4:] == [429, 429]
    from redis import Redis

    connection = Redis.from_url(storage)
    for key in connection.scan_iter(f"*{key_prefix}*"):
        connection.delete(key)


def test_a_job_started_on_one_server_is_followed_on_another(make_user):
    """Job state and progress are rows: any server shows the page, any server serves the download."""
    from training.jobs import create_job, set_download

    user = make_user("hr@example.vn", roles=("hr",))
    first, second = _servers()
    with first.app_context():
        job = create_job("certificates.zip_job.zip_job", user=user, params={"ids": []}, title="Tệp ZIP", total=4)
        job.state, job.progress = "running", 1
        db.session.commit()
        job_id = job.id
    client = second.test_client()
    client.post("/auth/login", data={"email": "hr@example.vn", "password": TEST_PASSWORD})
    assert "Đã xử lý 1 / 4" in client.get(f"/jobs/{job_id}").get_data(as_text=True)
    with first.app_context():
        from training.models import Job

        job = db.session.get(Job, job_id)
        set_download(job, [b"PK", b"\x03\x04 ZIP"], "chung-nhan.zip", "application/zip")
        job.state = "done"
        db.session.commit()
    assert client.get(f"/jobs/{job_id}/download").get_data() == b"PK\x03\x04 ZIP"


@pytest.mark.parametrize("setting", ["memory://"])
def test_production_refuses_per_process_rate_limit_storage(setting):
    from training.config import production_problems

    problems = production_problems({"RATELIMIT_STORAGE_URI": setting})
    assert any("RATELIMIT_STORAGE_URI" in problem for problem in problems)
