"""Configuration classes. Nothing here is read at import time of the app package."""
from __future__ import annotations

import os


class Config:
    """Defaults shared by every environment."""

    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # filled from DATABASE_URL or the instance folder
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")
    WTF_CSRF_TIME_LIMIT = None  # a form left open during a long lesson must still submit
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    RATELIMIT_STORAGE_URI = "memory://"
    # One storage round trip per limit per request: a fixed window, and no X-RateLimit headers (they
    # would cost a second one on every autosave). A 429 still says Retry-After.
    RATELIMIT_STRATEGY = "fixed-window"
    RATELIMIT_HEADERS_ENABLED = False
    # Graceful overload (training.serving): a request that waited longer than this for a server thread
    # is answered 503 with Retry-After at once, so it is never done after its client gave up.
    QUEUE_MAX_WAIT_S = 5
    OVERLOAD_RETRY_AFTER_S = 5
    # Production refuses per-process (memory://) counts unless told that only one process serves.
    RATELIMIT_ALLOW_MEMORY = False
    # Failed logins are throttled per account and per (address, account) in training.services.throttle;
    # per address only bursts of anonymous login requests are limited, loosely: a whole ward office
    # reaches us from one NAT address.
    LOGIN_BURST_PER_ADDRESS = "600 per 10 minutes"
    PASSWORD_HASH_METHOD = "scrypt"
    API_TOKEN_DAYS = 7
    # Browser sessions end after this long unused, and this long after login whatever happens.
    SESSION_IDLE_HOURS = 12
    SESSION_MAX_DAYS = 14
    # How many reverse proxies stand in front of the app (Werkzeug's ProxyFix): their X-Forwarded-*
    # headers are then trusted for the client address and scheme. 0: none, headers ignored.
    TRUSTED_PROXIES = 0
    PER_PAGE = 25
    # Answer saving: far above what a person does (one save per change), low enough to stop a script.
    ANSWER_SAVE_RATE_LIMIT = "240 per minute"
    COURSE_CONTENT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "courses",
                                      "content")
    REDIS_URL: str | None = None
    # Long jobs (training.jobs, issue 18). Retries after a failure, in seconds (their count is how
    # many); a job running longer than JOB_TIMEOUT_S is stopped; a worker silent for JOB_HEARTBEAT_S
    # plus JOB_HEARTBEAT_GRACE_S is taken for dead and its job runs again; finished jobs and their
    # files are kept JOB_KEEP_DAYS days.
    JOB_RETRY_INTERVALS = (10, 60, 300)
    JOB_QUEUE_PREFIX = ""  # two sites sharing one Redis give each its own prefix
    JOB_TIMEOUT_S = 3600
    JOB_HEARTBEAT_S = 30
    JOB_HEARTBEAT_GRACE_S = 60
    JOB_MAINTENANCE_S = 60
    JOB_STALE_S = 120
    JOB_KEEP_DAYS = 14
    # Above these sizes work started in the browser runs as a job with a progress page.
    ROSTER_JOB_MIN_BYTES = 64 * 1024
    QUESTION_IMPORT_JOB_MIN_BYTES = 256 * 1024
    CERT_ZIP_JOB_MIN = 200
    EXPORT_JOB_MIN_ROWS = 10000
    # Officials per job of `certificates issue` on the queue.
    CERT_ISSUE_BATCH = 20
    # Activation links of officials imported from a roster are valid this many days, once.
    ACTIVATION_DAYS = 14
    # Reminders (nhắc việc): days before the due date for the early reminder.
    REMINDER_DAYS_BEFORE = 3
    # Outgoing e-mail through SMTP; without MAIL_SERVER, e-mails wait in the outbox.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_DEFAULT_SENDER = "Công Chức Số <no-reply@congchucso.local>"
    MAIL_MAX_ATTEMPTS = 8
    MAIL_TIMEOUT_S = 10
    # A sender that claimed a message and went silent this long is taken for dead (courses.mail).
    MAIL_CLAIM_LEASE_S = 300
    # Certificates: the issuing organisation and its signing identity (PKCS#12). Without
    # CERT_P12_PATH a development identity is made in the instance folder, clearly labelled.
    CERT_P12_PATH: str | None = None
    CERT_P12_PASSPHRASE: str | None = None
    CERT_ISSUER_PARENT = "ỦY BAN NHÂN DÂN THÀNH PHỐ HỒ CHÍ MINH"
    CERT_ISSUER_NAME = "SỞ NỘI VỤ"
    CERT_PLACE = "Thành phố Hồ Chí Minh"
    CERT_SIGNER_TITLE = "GIÁM ĐỐC"
    CERT_SIGNER_NAME = "(Bản thử nghiệm — chưa cấu hình người ký)"
    # The site's public address, used in e-mails and certificate QR codes, e.g.
    # https://congchucso.example.gov.vn. Required in production; in development the address the
    # server is actually reached at is used when this is unset.
    PUBLIC_BASE_URL: str | None = None
    # An RFC 3161 timestamp authority for certificate signatures (optional).
    TSA_URL: str | None = None
    # Says explicitly that this deployment is a test: production may then sign with the test identity,
    # and every certificate and the verification page say "BẢN THỬ NGHIỆM".
    TEST_DEPLOYMENT = False
    DEMO_PASSWORD: str | None = None
    TESTING = False
    DEBUG = False


class DevelopmentConfig(Config):
    # No secret here: without SECRET_KEY a random one is made once per instance folder
    # (instance/secret_key), so no known key ever signs a session.
    DEBUG = True


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-only"
    WTF_CSRF_ENABLED = False
    # Hashing cost is irrelevant to what the tests check; keep the suite fast.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    RATELIMIT_STORAGE_URI = "memory://"


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    # No ping before every checkout (a round trip on every request, a fifth of an autosave's cost):
    # after a database restart SQLAlchemy invalidates the whole pool at the first error instead, and
    # clients resend (the quiz page keeps answers until acknowledged). Connections are renewed hourly.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": False, "pool_recycle": 3600}
    SESSION_COOKIE_NAME = "__Host-session"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
    "DevelopmentConfig": DevelopmentConfig,
    "TestingConfig": TestingConfig,
    "ProductionConfig": ProductionConfig,
}

# Environment variables that override any config class.
ENV_SETTINGS = (
    "SECRET_KEY",
    "MAIL_SERVER",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_DEFAULT_SENDER",
    "PUBLIC_BASE_URL",
    "CERT_P12_PATH",
    "CERT_P12_PASSPHRASE",
    "CERT_ISSUER_PARENT",
    "CERT_ISSUER_NAME",
    "CERT_PLACE",
    "CERT_SIGNER_TITLE",
    "CERT_SIGNER_NAME",
    "REDIS_URL",
    "RATELIMIT_STORAGE_URI",
    "DEMO_PASSWORD",
    "SERVER_NAME",
    "TSA_URL",
    "LOGIN_BURST_PER_ADDRESS",
    "JOB_QUEUE_PREFIX",
    # Files kept on disk: on several app servers, point these at one shared volume (docs/deploy.md).
    "LESSON_MEDIA_FOLDER",
    "QUIZ_UPLOAD_FOLDER",
    "ROSTER_UPLOAD_FOLDER",
)
INT_ENV_SETTINGS = ("MAIL_PORT", "REMINDER_DAYS_BEFORE", "TRUSTED_PROXIES", "API_TOKEN_DAYS", "SESSION_IDLE_HOURS",
                    "SESSION_MAX_DAYS", "QUEUE_MAX_WAIT_S", "OVERLOAD_RETRY_AFTER_S",
                    # issue 18 (jobs)
                    "JOB_TIMEOUT_S", "JOB_HEARTBEAT_S", "JOB_HEARTBEAT_GRACE_S", "JOB_MAINTENANCE_S", "JOB_STALE_S",
                    "JOB_KEEP_DAYS", "ROSTER_JOB_MIN_BYTES", "QUESTION_IMPORT_JOB_MIN_BYTES", "CERT_ZIP_JOB_MIN",
                    "EXPORT_JOB_MIN_ROWS", "CERT_ISSUE_BATCH", "ACTIVATION_DAYS", "MAIL_MAX_ATTEMPTS", "MAIL_TIMEOUT_S",
                    "MAIL_CLAIM_LEASE_S")
BOOL_ENV_SETTINGS = ("MAIL_USE_TLS", "MAIL_USE_SSL", "TEST_DEPLOYMENT", "RATELIMIT_ALLOW_MEMORY")
# Secrets that are published (in this repository or its history) and so protect nothing.
KNOWN_SECRETS = {"dev-only-not-secret", "testing-only", "change-me", "changeme", "secret", "dev", "development"}


def env_overrides() -> dict:
    """Settings taken from the process environment."""
    values = {name: os.environ[name] for name in ENV_SETTINGS if os.environ.get(name)}
    values.update({name: int(os.environ[name]) for name in INT_ENV_SETTINGS if os.environ.get(name)})
    values.update({name: os.environ[name].lower() in ("1", "true", "yes", "on")
                   for name in BOOL_ENV_SETTINGS if os.environ.get(name)})
    if os.environ.get("JOB_RETRY_INTERVALS"):  # "10,60,300": seconds before each retry (issue 18)
        values["JOB_RETRY_INTERVALS"] = tuple(int(part) for part in os.environ["JOB_RETRY_INTERVALS"].split(",")
                                              if part.strip())
    if os.environ.get("DATABASE_URL"):
        values["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(os.environ["DATABASE_URL"])
    return values


LOCAL_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "::1", "[::1]")


def production_problems(config) -> list[str]:
    """What a production deployment refuses to start without; each message names its setting."""
    import os
    from urllib.parse import urlsplit

    problems = []
    test = bool(config.get("TEST_DEPLOYMENT"))
    secret = config.get("SECRET_KEY") or ""
    if not secret:
        problems.append("SECRET_KEY must be set in production (environment variable SECRET_KEY).")
    elif secret in KNOWN_SECRETS or len(secret) < 24:
        problems.append("SECRET_KEY is a published or short value; set a random one of at least 24 characters "
                        "(python -c 'import secrets; print(secrets.token_hex(32))').")
    if (config.get("RATELIMIT_STORAGE_URI") or "memory://").startswith("memory://") \
            and not config.get("RATELIMIT_ALLOW_MEMORY"):
        problems.append("RATELIMIT_STORAGE_URI is memory://: each worker would count on its own. Set it to the "
                        "Redis of the deployment (redis://host:6379/0), or RATELIMIT_ALLOW_MEMORY=1 if exactly one "
                        "process ever serves.")
    if not test:
        path = config.get("CERT_P12_PATH")
        if not path:
            problems.append("CERT_P12_PATH must name the issuing organisation's signing identity (PKCS#12) in "
                            "production; certificates are never signed with the test identity unless "
                            "TEST_DEPLOYMENT=1 says this is a test deployment.")
        elif not os.path.isfile(path):
            problems.append(f"CERT_P12_PATH points at {path}, which is not a readable file.")
        if path and not config.get("CERT_P12_PASSPHRASE"):
            problems.append("CERT_P12_PASSPHRASE must be set with CERT_P12_PATH in production.")
    base = config.get("PUBLIC_BASE_URL") or ""
    parts = urlsplit(base)
    if not base:
        problems.append("PUBLIC_BASE_URL must be set in production (the address certificate QR codes and "
                        "e-mails point at, e.g. https://congchucso.example.gov.vn).")
    elif parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(f"PUBLIC_BASE_URL must be an http(s) address, not {base!r}.")
    elif parts.hostname in LOCAL_HOSTS and not test:
        problems.append(f"PUBLIC_BASE_URL points at this machine ({base}); QR codes would send citizens to "
                        "their own computer. Set the public address.")
    return problems


def normalise_database_url(url: str) -> str:
    """Accept the common `postgres://` and `postgresql://` forms and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url
