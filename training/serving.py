"""Graceful overload: past capacity, answer at once with 503 and Retry-After instead of queueing.

gunicorn's threaded worker hands each request to a thread pool whose queue has no bound: under a
synchronized exam start, requests wait there for tens of seconds while their clients give up, then
are done anyway (an answer stored after its learner was told it failed). `AdmissionWorker` stamps
each request when it joins that queue; the app's first before_request refuses, in microseconds and
without touching the database, any request that waited longer than `QUEUE_MAX_WAIT_S`. Clients
(the quiz page, the API clients) retry after Retry-After with jitter, keeping their answers.

`gunicorn.conf.py` sets `worker_class = "training.serving.AdmissionWorker"`; under any other server
(flask run, the tests) nothing is stamped and nothing is refused.
"""
from __future__ import annotations

import os
import threading
import time

from flask import current_app, request

_stamp = threading.local()


def queue_wait() -> float | None:
    """Seconds this request waited for a thread, when the server told us (gunicorn AdmissionWorker)."""
    queued = getattr(_stamp, "queued_at", None)
    return None if queued is None else time.monotonic() - queued


def _refuse_stale_requests():
    wait = queue_wait()
    limit = current_app.config.get("QUEUE_MAX_WAIT_S") or 0
    if wait is None or not limit or wait <= limit or request.endpoint in ("main.healthz", "static"):
        return None
    from training.errors import json_error, wants_json

    retry = str(int(current_app.config.get("OVERLOAD_RETRY_AFTER_S") or 5))
    if wants_json():
        response = json_error(503, None, "overloaded")
    else:
        from flask import render_template
        from flask_babel import gettext as _

        response = current_app.make_response((render_template(
            "errors/error.html", status=503,
            message=_("Hệ thống đang quá tải. Vui lòng thử lại sau ít giây; câu trả lời của bạn vẫn được giữ.")),
            503))
    response.headers["Retry-After"] = retry
    if not wants_json():
        response.headers["Refresh"] = retry  # a self-refreshing page (the exam lobby) tries again by itself
    return response


def init_app(app) -> None:
    # First of all before_request functions: a refused request costs no token lookup, no query.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_stale_requests)


try:  # gunicorn is a production dependency, but the app must import without it
    from gunicorn.workers.gthread import ThreadWorker
except ImportError:  # pragma: no cover
    ThreadWorker = object


# Requests one keep-alive connection may carry before the worker answers "Connection: close" (as
# nginx's keepalive_requests). A gthread worker keeps every connection it accepted: a reverse proxy's or
# a load client's pool of keep-alive connections, opened in a burst, can land on one worker while the
# other idles, halving the server for as long as the pool lives (seen in bench/exam_day.py's capacity
# test: every request on one worker). Closed now and then, a connection is opened again, and the worker
# waiting in its poll loop, not the busy one, accepts it. 0: no limit.
KEEPALIVE_REQUESTS = int(os.environ.get("GUNICORN_KEEPALIVE_REQUESTS", "100"))


class AdmissionWorker(ThreadWorker):
    """gunicorn's gthread worker, stamping each request with the moment it was queued for a thread, and
    closing a keep-alive connection after KEEPALIVE_REQUESTS requests."""

    def handle_request(self, req, conn):
        served = getattr(conn, "served", 0) + 1
        conn.served = served
        if KEEPALIVE_REQUESTS and served >= KEEPALIVE_REQUESTS and not getattr(conn, "is_http2", False):
            req.must_close = True  # the response says "Connection: close", then the worker closes it
        return super().handle_request(req, conn)

    def enqueue_req(self, conn):
        conn.queued_at = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn):
        _stamp.queued_at = getattr(conn, "queued_at", None)
        try:
            return super().handle(conn)
        finally:
            _stamp.queued_at = None
