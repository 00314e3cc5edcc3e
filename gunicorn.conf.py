"""Production server settings for gunicorn: `gunicorn 'training:create_app()'` reads this file.

The app itself refuses to start without its production settings (SECRET_KEY, CERT_P12_PATH and
CERT_P12_PASSPHRASE, PUBLIC_BASE_URL, a shared RATELIMIT_STORAGE_URI): see README.md. Each value
here can be overridden by the environment variable named beside it.
"""
import multiprocessing
import os

# The app runs its production configuration unless told otherwise.
raw_env = [f"TRAINING_CONFIG={os.environ.get('TRAINING_CONFIG', 'production')}"]

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# Threads suit this app: requests wait on PostgreSQL far more than they compute (the attempt API's
# autosave is a few milliseconds of CPU). Two processes per core, four threads each.
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count())))
# gthread, stamping each request as it waits for a thread: past QUEUE_MAX_WAIT_S the app answers 503
# with Retry-After at once instead of doing work its client has given up on (training/serving.py).
worker_class = "training.serving.AdmissionWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Long work (certificate batches, big exports, imports) runs on the job queue, not in a request;
# a request that takes longer than this is stuck and its worker is recycled.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# And after GUNICORN_KEEPALIVE_REQUESTS (default 100) requests on one keep-alive connection, the worker
# answers "Connection: close" (training/serving.py KEEPALIVE_REQUESTS, as nginx's keepalive_requests):
# a proxy's pool of connections, opened in a burst, then spreads again over both workers instead of
# staying on whichever accepted it (bench/exam_day.py, 6 Dec 2026: all 32 on one worker, half the server).
# Recycle workers now and then so that a slow leak can never grow without bound, but not during an
# exam: a recycled worker boots again and loses its warm caches (slots, rendered questions), and at
# 5,000 requests both workers of a 10,000-learner start recycled within seconds of each other and
# stalled it for 10-30 s (bench/exam_day.py, 5 Dec 2026). Refused requests (503) count too.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "200000"))
max_requests_jitter = max_requests // 4
# Requests a browser or API client can send are small; refuse oversized request lines and headers.
limit_request_line = 8190
limit_request_fields = 100
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The proxy in front (nginx) tells the client address; the app trusts it only with TRUSTED_PROXIES.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
