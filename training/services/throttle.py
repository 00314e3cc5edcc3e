"""Failed logins slow the attacker down, not the ward.

A whole ward office reaches us from one address, and anyone can type anyone's e-mail. So:
- failures are counted per (address, account): after `PAIR_FREE` failures from one address for one
  account, that address must wait before trying that account again, the wait doubling each time up to
  a quarter of an hour;
- failures are counted per account from every address: past `ACCOUNT_FREE` in an hour, each further
  attempt at that account waits a little (doubling, at most `ACCOUNT_MAX_DELAY_S`), so a distributed
  guesser is slowed while the owner is never locked out for long;
- an address with many failures for *other* accounts is never refused a correct password: per-address
  limits apply only to bursts of anonymous requests (Flask-Limiter, `LOGIN_BURST_PER_ADDRESS`).
Counts live in the database, so every worker and every app server sees the same ones. Unknown and
known accounts take the same time to answer (a password hash is checked either way).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from training.extensions import db
from training.models import LoginFailure, User
from training.services import audit
from training.services.sessions import client_address

PAIR_FREE = 5
PAIR_WINDOW = timedelta(minutes=15)
PAIR_BASE_DELAY_S = 30
PAIR_MAX_DELAY_S = 15 * 60
ACCOUNT_FREE = 20
ACCOUNT_WINDOW = timedelta(hours=1)
ACCOUNT_MAX_DELAY_S = 60
KEEP_FAILURES = timedelta(days=1)

_DUMMY_HASHES: dict[str, str] = {}


@dataclass
class Outcome:
    user: User | None = None
    error: str | None = None        # None, "invalid" or "throttled"
    retry_after: int = 0            # seconds, when throttled


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _stats(where, since: datetime) -> tuple[int, datetime | None]:
    count, last = db.session.execute(sa.select(sa.func.count(LoginFailure.id), sa.func.max(LoginFailure.failed_at))
                                     .where(where, LoginFailure.failed_at > since)).one()
    if last is not None and last.tzinfo is None:  # SQLite returns naive UTC from an aggregate
        last = last.replace(tzinfo=timezone.utc)
    return count or 0, last


def wait_seconds(email: str, address: str, now: datetime | None = None) -> int:
    """How long this address must wait before trying this account again (0: it may try now)."""
    now = now or _now()
    wait = 0
    pair, last_pair = _stats(sa.and_(LoginFailure.email == email, LoginFailure.address == address),
                             now - PAIR_WINDOW)
    if pair >= PAIR_FREE and last_pair is not None:
        delay = min(PAIR_BASE_DELAY_S * 2 ** (pair - PAIR_FREE), PAIR_MAX_DELAY_S)
        wait = max(wait, math.ceil((last_pair + timedelta(seconds=delay) - now).total_seconds()))
    account, last_any = _stats(LoginFailure.email == email, now - ACCOUNT_WINDOW)
    if account >= ACCOUNT_FREE and last_any is not None:
        delay = min(2 ** (account - ACCOUNT_FREE), ACCOUNT_MAX_DELAY_S)
        wait = max(wait, math.ceil((last_any + timedelta(seconds=delay) - now).total_seconds()))
    return max(0, wait)


def _record_failure(email: str, address: str, reason: str, user: User | None) -> None:
    now = _now()
    db.session.add(LoginFailure(email=email[:254], address=address[:64], failed_at=now))
    audit.record(user, "auth.login_failed", email[:200], reason=reason)
    if random.random() < 0.02:  # keep the table small without a cron
        db.session.execute(sa.delete(LoginFailure).where(LoginFailure.failed_at < now - KEEP_FAILURES))
    db.session.flush()


def _check(user: User | None, password: str) -> bool:
    """Check the password; for no account, spend the same time on a dummy hash (no timing oracle)."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if user is None or not user.password_hash or not user.active:
        if method not in _DUMMY_HASHES:
            _DUMMY_HASHES[method] = generate_password_hash("not-a-password", method=method)
        check_password_hash(_DUMMY_HASHES[method], password)
        return False
    return user.check_password(password)


def authenticate(email: str, password: str, address: str | None = None) -> Outcome:
    """Check credentials under the throttle; records failures and successes (the caller commits)."""
    from training.services.users import get_user_by_email  # avoid an import cycle at module load

    email = (email or "").strip().lower()[:254]
    address = address if address is not None else client_address()
    wait = wait_seconds(email, address)
    if wait:
        audit.record(None, "auth.login_throttled", email[:200], retry_after=wait)
        return Outcome(error="throttled", retry_after=wait)
    user = get_user_by_email(email)
    if not _check(user, password or ""):
        _record_failure(email, address, "invalid", user if user is not None and user.active else None)
        return Outcome(error="invalid")
    # The owner got in: their failures no longer count against them.
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.email == email))
    return Outcome(user=user)


def wait_message(seconds: int) -> str:
    """"Wait N seconds/minutes" in the user's language."""
    if seconds >= 90:
        return _("Đăng nhập sai nhiều lần từ địa chỉ này. Vui lòng thử lại sau %(n)d phút.",
                 n=math.ceil(seconds / 60))
    return _("Đăng nhập sai nhiều lần. Vui lòng thử lại sau %(n)d giây.", n=seconds)
