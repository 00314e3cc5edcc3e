"""Long jobs run inline without REDIS_URL, and on an RQ worker over Redis with it."""
import os
import uuid

import pytest
import sqlalchemy as sa

from training.extensions import db


def _redis_url():
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        from redis import Redis

        Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:  # the machine's Redis is part of the test setup; say so plainly when absent
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI at {url}")
        pytest.skip(f"no Redis at {url}")
    return url


def test_worker_command_needs_redis(runner, app):
    app.config["REDIS_URL"] = None
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 1 and "REDIS_URL" in result.output


def test_certificate_is_issued_by_the_worker(app, client, auth, make_user, org, tmp_path):
    from rq import SimpleWorker

    from certificates.models import Certificate
    from certificates.signing import make_dev_identity
    from tests.certificates.test_issuing import qualify
    from tests.quizzes.helpers import make_quiz, right_answers
    from training.jobs import queue

    url = _redis_url()
    queue_name = f"test-{uuid.uuid4().hex[:8]}"
    app.config.update(REDIS_URL=url, CERT_P12_PATH=str(tmp_path / "id.p12"), CERT_P12_PASSPHRASE="pw")
    make_dev_identity(app.config["CERT_P12_PATH"], "pw")
    import training.jobs as jobs

    original = jobs.DEFAULT_QUEUE
    jobs.DEFAULT_QUEUE = queue_name
    try:
        official = make_user("lan@example.vn", "Trần Thị Lan", unit=org["dept_a"], position=org["position"])
        qualify(official, skip=("digital_signature",))
        quiz = make_quiz(questions=12, draw=10)
        auth.login("lan@example.vn")
        payload = client.post(f"/api/v1/quizzes/{quiz.id}/attempts").get_json()
        for slot, option in right_answers(payload).items():
            client.put(f"/api/v1/attempts/{payload['attempt_id']}/answers/{slot}", json={"response": option})
        assert client.post(f"/api/v1/attempts/{payload['attempt_id']}/submit").get_json()["passed"]
        assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 0  # queued, not done inline
        jobs_queue = queue(queue_name)
        assert jobs_queue.count == 1
        SimpleWorker([jobs_queue], connection=jobs_queue.connection).work(burst=True)
        db.session.expire_all()
        certificate = db.session.scalar(sa.select(Certificate))
        assert certificate is not None and certificate.user_id == official.id
    finally:
        jobs.DEFAULT_QUEUE = original
        queue(queue_name).empty()
