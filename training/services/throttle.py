"""Throttling of failed logins, per account and per client address.

Counts live in Flask-Limiter's storage (RATELIMIT_STORAGE_URI), so every gunicorn worker and
every app server share them when that storage is Redis.
"""
from __future__ import annotations

from limits import parse

from training.extensions import limiter


def _limiter():
    return limiter.limiter


def is_blocked(config, email: str, ip: str) -> bool:
    """True when this account, or this address, has failed too often recently."""
    strategy = _limiter()
    account_limit = parse(config["LOGIN_FAILURES_PER_ACCOUNT"])
    ip_limit = parse(config["LOGIN_FAILURES_PER_IP"])
    return not strategy.test(account_limit, "login-account", email.lower()) or not strategy.test(
        ip_limit, "login-ip", ip
    )


def record_failure(config, email: str, ip: str) -> None:
    strategy = _limiter()
    strategy.hit(parse(config["LOGIN_FAILURES_PER_ACCOUNT"]), "login-account", email.lower())
    strategy.hit(parse(config["LOGIN_FAILURES_PER_IP"]), "login-ip", ip)


def record_success(config, email: str) -> None:
    """A successful login clears the account's failure count."""
    _limiter().clear(parse(config["LOGIN_FAILURES_PER_ACCOUNT"]), "login-account", email.lower())


def authenticate(config, email: str, password: str, ip: str):
    """Check credentials under the throttle.

    Returns (user, error) where error is None, "throttled" or "invalid".
    """
    from training.services.users import get_user_by_email  # avoid import cycle at module load

    email = (email or "").strip().lower()
    if is_blocked(config, email, ip):
        return None, "throttled"
    user = get_user_by_email(email)
    if user is None or not user.active or not user.check_password(password or ""):
        record_failure(config, email, ip)
        return None, "invalid"
    record_success(config, email)
    return user, None
