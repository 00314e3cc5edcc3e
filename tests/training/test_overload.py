"""Graceful overload: a request that waited too long for a server thread is refused at once."""
import time

from training import serving

from tests.conftest import TEST_PASSWORD


def test_a_stale_request_gets_503_with_retry_after_and_does_no_work(app, client, make_user):
    make_user("lan@example.vn")
    token = client.post("/api/v1/token", json={"email": "lan@example.vn", "password": TEST_PASSWORD}).get_json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    app.config["QUEUE_MAX_WAIT_S"] = 2
    serving._stamp.queued_at = time.monotonic() - 3  # as gunicorn's AdmissionWorker stamps it
    try:
        api = client.get("/api/v1/me", headers=headers)
        page = client.get("/auth/login")
        health = client.get("/healthz")
    finally:
        serving._stamp.queued_at = None
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "overloaded"
    assert api.headers["Retry-After"] == "5"
    assert page.status_code == 503 and "quá tải" in page.get_data(as_text=True)
    assert health.status_code == 200  # the load balancer still sees the server alive
    serving._stamp.queued_at = time.monotonic() - 1  # waited, but within the limit
    try:
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    finally:
        serving._stamp.queued_at = None


def test_the_worker_stamps_the_moment_a_request_joins_the_queue(monkeypatch):
    """gunicorn's gthread worker with the stamp: queued in enqueue_req, read while the thread handles it."""
    from concurrent.futures import Future

    from gunicorn.workers.gthread import ThreadWorker

    class Pool:
        def submit(self, fn, conn):
            self.job = (fn, conn)
            future = Future()
            future.set_result(None)
            return future

    class Queue:
        def defer(self, *args):
            pass

    worker = object.__new__(serving.AdmissionWorker)
    worker.tpool, worker.method_queue = Pool(), Queue()
    monkeypatch.setattr(ThreadWorker, "handle", lambda self, conn: serving.queue_wait())
    conn = type("Conn", (), {})()
    worker.enqueue_req(conn)
    time.sleep(0.05)
    waited = worker.handle(conn)
    assert 0.04 < waited < 5
    assert serving.queue_wait() is None  # cleared once the request is handled


def test_a_rate_limited_request_says_when_to_retry(client, make_user):
    make_user("lan@example.vn")
    for _ in range(700):
        response = client.post("/api/v1/token", json={"email": "khong-co@example.vn", "password": "sai"})
        if response.status_code == 429:
            break
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
