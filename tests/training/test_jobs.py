"""Long jobs run inline without REDIS_URL, and on RQ workers over Redis with it: exactly once, even when a
worker is killed mid-job, retried after failures, listed for admin when they keep failing."""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from training.extensions import db
from training.models import Job

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.fixture
def signing(app, tmp_path_factory):
    from certificates.signing import make_dev_identity

    path = tmp_path_factory.getbasetemp() / "jobs-signing.p12"
    if not path.exists():
        make_dev_identity(str(path), "pw")
    app.config.update(CERT_P12_PATH=str(path), CERT_P12_PASSPHRASE="pw",
                      PUBLIC_BASE_URL="https://congchucso.example.vn")
    return str(path)


@pytest.fixture
def redis_queue(app):
    """REDIS_URL on, with queues of this test's own (a random prefix on db 15); emptied afterwards."""
    from redis import Redis

    url = _redis_url()
    prefix = f"test-{uuid.uuid4().hex[:8]}-"
    app.config.update(REDIS_URL=url, JOB_QUEUE_PREFIX=prefix, JOB_RETRY_INTERVALS=(0, 0, 0))
    yield prefix
    connection = Redis.from_url(url)
    for key in connection.scan_iter(f"*{prefix}*"):
        connection.delete(key)
    import training.jobs as jobs

    jobs._REDIS.clear()


def _qualified_officials(make_user, org, count):
    from tests.certificates.test_issuing import qualify

    officials = []
    for n in range(count):
        official = make_user(f"cb{n}@example.vn", f"Trần Thị Lan {n}", unit=org["dept_a"], position=org["position"])
        qualify(official)
        officials.append(official.id)
    return officials


def _certificates_by_official():
    from certificates.models import Certificate

    db.session.rollback()  # read what the workers committed, hold no lock while they work
    rows = db.session.execute(sa.select(Certificate.user_id, sa.func.count(Certificate.id))
                              .group_by(Certificate.user_id)).all()
    db.session.rollback()
    return dict(rows)


# --------------------------------------------------------------------------- without Redis
def test_worker_command_needs_redis(runner, app):
    app.config["REDIS_URL"] = None
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 1 and "REDIS_URL" in result.output


def test_without_redis_the_job_runs_at_once_and_its_page_says_done(app, client, auth, make_user, org, signing):
    from certificates.issuing import ISSUE_JOB
    from training.jobs import create_job, start

    ids = _qualified_officials(make_user, org, 2)
    admin = make_user("admin@example.vn", roles=("admin",))
    job = create_job(ISSUE_JOB, user=admin, params={"user_ids": ids}, title="Cấp thử")
    db.session.commit()
    job = start(job)
    assert job.state == "done" and job.progress == 2 and job.result["issued"] == 2
    assert _certificates_by_official() == {ids[0]: 1, ids[1]: 1}
    auth.login("admin@example.vn")
    response = client.get(f"/jobs/{job.id}")
    assert response.status_code == 200 and "Refresh" not in response.headers  # finished: no reloading
    assert "Hoàn tất" in response.get_data(as_text=True)
    # Run again (a retry, a duplicate delivery): nothing is done twice.
    job.state = "queued"
    db.session.commit()
    assert start(job).state == "done"
    assert _certificates_by_official() == {ids[0]: 1, ids[1]: 1}


def test_a_running_job_page_refreshes_itself_without_javascript(app, client, auth, make_user):
    from training.jobs import create_job

    user = make_user("hr@example.vn", roles=("hr",))
    job = create_job("certificates.zip_job.zip_job", user=user, params={"ids": []}, title="Tệp ZIP", total=40)
    job.state, job.progress = "running", 10
    db.session.commit()
    auth.login("hr@example.vn")
    response = client.get(f"/jobs/{job.id}")
    page = response.get_data(as_text=True)
    assert response.headers["Refresh"] == "3"
    assert '<progress id="job-progress" max="40" value="10">' in page and "25%" in page
    assert "Tắt tự cập nhật" in page
    assert "Refresh" not in client.get(f"/jobs/{job.id}?auto=0").headers  # a reader can stop it
    # Someone else's job does not exist for me.
    make_user("other@example.vn")
    auth.logout()
    auth.login("other@example.vn")
    assert client.get(f"/jobs/{job.id}").status_code == 404


def test_a_failing_job_is_listed_for_admin_and_retried(app, client, auth, make_user, org, signing, monkeypatch):
    import certificates.issuing as issuing
    from training.jobs import create_job, start

    ids = _qualified_officials(make_user, org, 1)
    admin = make_user("admin@example.vn", roles=("admin",))

    def signing_down(*args, **kwargs):
        raise RuntimeError("thiết bị ký số không phản hồi")

    monkeypatch.setattr(issuing, "_render_and_sign", signing_down)
    job = create_job(issuing.ISSUE_JOB, user=admin, params={"user_ids": ids}, title="Cấp cho Lan")
    db.session.commit()
    assert start(job).state == "failed"
    auth.login("admin@example.vn")
    listing = client.get("/jobs/failed").get_data(as_text=True)
    assert "Cấp cho Lan" in listing and "thiết bị ký số không phản hồi" in listing and "Chạy lại" in listing
    assert _certificates_by_official() == {}  # the failed official's claim was rolled back with it
    monkeypatch.undo()
    response = client.post(f"/jobs/{job.id}/retry")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Job, job.id).state == "done"
    assert _certificates_by_official() == {ids[0]: 1}
    assert "Không có việc lỗi nào" in client.get("/jobs/failed").get_data(as_text=True)


def test_failed_jobs_list_is_for_admins_only(client, auth, make_user):
    make_user("hr@example.vn", roles=("hr",))
    auth.login("hr@example.vn")
    assert client.get("/jobs/failed").status_code == 403


# --------------------------------------------------------------------------- with Redis
def test_health_reports_redis_and_the_queue(app, client, redis_queue):
    from certificates.issuing import ISSUE_JOB
    from training.jobs import create_job, start

    body = client.get("/healthz").get_json()
    assert body == {"status": "ok", "database": "ok", "redis": "ok", "queue": 0}
    job = create_job(ISSUE_JOB, params={"user_ids": []})
    db.session.commit()
    start(job)
    assert client.get("/healthz").get_json()["queue"] == 1
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nobody listens there
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["redis"] == "down"


def test_health_without_redis_keeps_its_contract(app, client):
    app.config["REDIS_URL"] = None
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}


def test_certificate_is_issued_by_the_worker(app, client, auth, make_user, org, signing, redis_queue):
    from rq import SimpleWorker

    from certificates.models import Certificate
    from tests.certificates.test_issuing import qualify
    from tests.quizzes.helpers import make_quiz, right_answers
    from training.jobs import queue

    official = make_user("lan@example.vn", "Trần Thị Lan", unit=org["dept_a"], position=org["position"])
    qualify(official, skip=("digital_signature",))
    quiz = make_quiz(questions=12, draw=10)
    auth.login("lan@example.vn")
    payload = client.post(f"/api/v1/quizzes/{quiz.id}/attempts").get_json()
    for slot, option in right_answers(payload).items():
        client.put(f"/api/v1/attempts/{payload['attempt_id']}/answers/{slot}", json={"response": option})
    assert client.post(f"/api/v1/attempts/{payload['attempt_id']}/submit").get_json()["passed"]
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 0  # queued, not done inline
    job = db.session.scalar(sa.select(Job))
    assert job.state == "queued" and job.params["user_ids"] == [official.id]  # written with the pass
    jobs_queue = queue()
    assert jobs_queue.count == 1
    SimpleWorker([jobs_queue], connection=jobs_queue.connection).work(burst=True)
    db.session.expire_all()
    certificate = db.session.scalar(sa.select(Certificate))
    assert certificate is not None and certificate.user_id == official.id
    assert db.session.get(Job, job.id).state == "done"


def test_a_job_lost_by_redis_is_queued_again(app, redis_queue):
    """A row committed while Redis was unreachable (or whose entry Redis lost) is found and queued."""
    from datetime import datetime, timedelta, timezone

    from certificates.issuing import ISSUE_JOB
    from training.jobs import _rq_id, create_job, queue, recover

    job = create_job(ISSUE_JOB, params={"user_ids": []})
    db.session.commit()  # never enqueued
    assert queue().count == 0
    assert recover(now=datetime.now(timezone.utc) + timedelta(minutes=5)) == 1
    assert queue().count == 1
    assert recover(now=datetime.now(timezone.utc) + timedelta(minutes=5)) == 0  # waiting on the queue: left alone
    assert queue().job_ids == [_rq_id(job.id)]


def _worker(env, *extra):
    """`flask --app training worker --burst` in its own session (so the test can kill it)."""
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "training", "worker", "--burst", *extra],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _kill_with_horse(process):
    """SIGKILL a worker and its work horse (RQ puts the horse in a process group of its own)."""
    children = []
    try:
        children = [int(pid) for pid in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
    except OSError:
        pass
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
    process.stdout.close()


@pytest.mark.parametrize("mode", [(), ("--fork",)], ids=["in-process", "fork"])
def test_killed_worker_mid_job_gives_exactly_one_certificate_per_official(app, make_user, org, signing, redis_queue,
                                                                          database_url, mode):
    """Each official's certificate is queued twice (a bulk run and a pass), a worker is killed with SIGKILL in
    the middle, the job is found abandoned and run again by new workers: one certificate each, no more."""
    from certificates.issuing import ISSUE_JOB, queue_issue_for_everyone
    from training.jobs import create_job, start

    officials = _qualified_officials(make_user, org, 10)
    parent = queue_issue_for_everyone(batch_size=5)
    for official_id in officials:  # the same work again, as pass hooks would queue it
        start(create_job(ISSUE_JOB, params={"user_ids": [official_id]}))
    db.session.commit()
    env = {**os.environ, "TRAINING_CONFIG": "testing", "DATABASE_URL": database_url,
           "REDIS_URL": app.config["REDIS_URL"], "JOB_QUEUE_PREFIX": redis_queue, "JOB_RETRY_INTERVALS": "0,0,0",
           "CERT_P12_PATH": signing, "CERT_P12_PASSPHRASE": "pw", "PUBLIC_BASE_URL": "https://congchucso.example.vn",
           "JOB_HEARTBEAT_S": "1", "JOB_HEARTBEAT_GRACE_S": "2", "JOB_MAINTENANCE_S": "1"}
    first = _worker(env, *mode)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _certificates_by_official():
        time.sleep(0.02)
    _kill_with_horse(first)
    before = _certificates_by_official()
    assert 0 < sum(before.values()) < len(officials), "the worker should have been killed mid-way"

    time.sleep(4)  # the killed job's heartbeat expires (1 s + 2 s grace); the next worker finds it abandoned
    parallel = 2 if db.engine.dialect.name == "postgresql" else 1  # SQLite: one writer at a time
    # Burst workers stop when the queues look empty; the killed job may then still wait for its retry,
    # which RQ's scheduler enqueues once the dead worker's scheduler lock has expired (up to a minute).
    # Workers that run for ever would then take it: bursts again, for up to two minutes, do the same.
    settle = time.monotonic() + 120
    while True:
        workers = [_worker(env, *mode) for _ in range(parallel)]
        for worker in workers:
            output = worker.communicate(timeout=240)[0].decode(errors="replace")
            assert worker.returncode == 0, output
        db.session.expire_all()
        states = dict(db.session.execute(sa.select(Job.state, sa.func.count(Job.id)).group_by(Job.state)).all())
        if set(states) == {"done"} or time.monotonic() > settle:
            break
        time.sleep(2)
    after = _certificates_by_official()
    assert after == {official_id: 1 for official_id in officials}
    assert states == {"done": len(officials) + 3}, states  # 10 single jobs, 2 batches and their parent
    assert db.session.get(Job, parent.id).progress == len(officials)


def test_a_worker_loads_the_signing_key_once_for_all_its_jobs(app, make_user, org, signing, monkeypatch):
    """The worker's preload parses the private key; the certificates it then issues reuse it."""
    import certificates.signing as signing_module
    from certificates.issuing import ISSUE_JOB
    from training.jobs import create_job, preload, start

    loads = []
    original = signing_module._signer
    monkeypatch.setattr(signing_module, "_signer", lambda *args: loads.append(args) or original(*args))
    signing_module._SIGNERS.clear()
    assert "signing identity" in " ".join(preload(app))
    for official_id in _qualified_officials(make_user, org, 2):
        start(create_job(ISSUE_JOB, params={"user_ids": [official_id]}))
        db.session.commit()
    assert len(_certificates_by_official()) == 2 and len(loads) == 1


def test_certificates_issue_with_a_queue_sends_batches_and_says_where_to_follow(app, runner, make_user, org, signing,
                                                                                redis_queue):
    from training.jobs import queue

    _qualified_officials(make_user, org, 5)
    result = runner.invoke(args=["certificates", "issue", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "Đã xếp hàng cấp 5 giấy chứng nhận thành 3 việc" in result.output and "/jobs/" in result.output
    assert queue("bulk").count == 3 and _certificates_by_official() == {}


def test_reminders_send_with_a_queue_is_a_job(app, runner, redis_queue):
    from training.jobs import queue

    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 0 and "Đã xếp hàng gửi nhắc việc và email" in result.output
    assert queue().count == 1


def test_a_long_job_keeps_its_heartbeat_and_is_not_taken_for_abandoned(app, make_user, org, signing, redis_queue,
                                                                       monkeypatch):
    """While a job runs longer than the heartbeat's lifetime, another worker's registry cleanup must not
    take it for dead (it would run twice)."""
    import threading

    import certificates.issuing as issuing
    from rq.registry import StartedJobRegistry

    from training.jobs import _rq_id, create_job, make_worker, queue, start

    original = issuing._render_and_sign

    def slow(*args):
        time.sleep(1.2)
        return original(*args)

    monkeypatch.setattr(issuing, "_render_and_sign", slow)
    job = create_job(issuing.ISSUE_JOB, params={"user_ids": _qualified_officials(make_user, org, 4)})
    db.session.commit()
    start(job)
    app.config.update(JOB_HEARTBEAT_GRACE_S=1)
    worker = make_worker(app, [queue().name], job_monitoring_interval=1)
    abandoned, registry, rq_id = [], StartedJobRegistry(queue=queue()), _rq_id(job.id)

    def other_worker_cleans_up():
        time.sleep(3.5)  # past the 2-second heartbeat lifetime, while the job still runs
        registry.cleanup()
        abandoned.append(rq_id not in registry.get_job_ids())

    with app.app_context():
        checker = threading.Thread(target=other_worker_cleans_up)
        checker.start()
        worker.work(burst=True)
        checker.join()
    db.session.expire_all()
    assert abandoned == [False]
    finished = db.session.get(Job, job.id)
    assert finished.state == "done" and finished.attempts == 1
