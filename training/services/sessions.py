"""Logins that end when they should: browser sessions kept on the server, and API tokens.

A browser login is a `UserSession` row; the signed cookie carries only its random key. Logout ends
that row; a password change or an admin's reset ends every other session and revokes every token of
the user; sessions also end after `SESSION_IDLE_HOURS` without use and `SESSION_MAX_DAYS` after login.
A bearer token is an `ApiToken` row with a lifetime (`API_TOKEN_DAYS`), a name, its last use, and a
revocation the user (or an admin) can make at any time.
"""
from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app, has_request_context, request

from training.extensions import db
from training.models import ApiToken, User, UserSession
from training.models.user import secret_hash
from training.services import audit

SESSION_KEY = "sid"
# Last-use times are written at most this often, so that an exam's autosaves do not each write a row.
TOUCH_EVERY = timedelta(minutes=5)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def client_address() -> str:
    """The client's address (right behind proxies when TRUSTED_PROXIES is set), or "" outside a request."""
    return (request.remote_addr or "")[:64] if has_request_context() else ""


# --------------------------------------------------------------------------- browser sessions
def start_session(user: User, user_agent: str = "") -> str:
    """Record a new login of `user`; returns the key the session cookie carries (flushes)."""
    key = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, key_hash=secret_hash(key), address=client_address(),
                               user_agent=(user_agent or "")[:200]))
    db.session.flush()
    return key


def session_user(user_id: str, key: str | None, now: datetime | None = None) -> User | None:
    """The user of a live session: the key must name an unrevoked, recent session of that user."""
    if not key or not isinstance(key, str):
        return None
    try:
        wanted = int(user_id)
    except (TypeError, ValueError):
        return None
    now = now or now_utc()
    config = current_app.config
    row = db.session.scalar(sa.select(UserSession).where(UserSession.key_hash == secret_hash(key)))
    if (row is None or row.user_id != wanted or row.revoked_at is not None
            or row.created_at <= now - timedelta(days=config["SESSION_MAX_DAYS"])
            or row.last_seen_at <= now - timedelta(hours=config["SESSION_IDLE_HOURS"])):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        db.session.execute(sa.update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now))
        db.session.commit()  # before the view runs: a view that rolls back must not undo the touch
    return row.user


def end_session(key: str | None, now: datetime | None = None) -> None:
    """Logout: this session ends on the server, so a copy of the cookie no longer works."""
    if key:
        db.session.execute(sa.update(UserSession).where(
            UserSession.key_hash == secret_hash(key), UserSession.revoked_at.is_(None)).values(
            revoked_at=now or now_utc()))


def end_other_sessions(user: User, keep_key: str | None = None, now: datetime | None = None) -> int:
    """End every session of `user` but the one with `keep_key`; returns how many ended."""
    stmt = sa.update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep_key:
        stmt = stmt.where(UserSession.key_hash != secret_hash(keep_key))
    return db.session.execute(stmt.values(revoked_at=now or now_utc())).rowcount


def live_sessions(user: User, now: datetime | None = None) -> list[UserSession]:
    now = now or now_utc()
    config = current_app.config
    return list(db.session.scalars(sa.select(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
        UserSession.created_at > now - timedelta(days=config["SESSION_MAX_DAYS"]),
        UserSession.last_seen_at > now - timedelta(hours=config["SESSION_IDLE_HOURS"]))
        .order_by(UserSession.last_seen_at.desc())))


# --------------------------------------------------------------------------- API tokens
def create_api_token(user: User, days: int | None = None, name: str = "",
                     actor: User | None = None) -> tuple[str, ApiToken]:
    """Create a bearer token for `user`; the plain token is returned once and never stored. Audited."""
    days = days or current_app.config["API_TOKEN_DAYS"]
    token = secrets.token_urlsafe(32)
    row = ApiToken(user=user, token_hash=secret_hash(token), name=(name or "").strip()[:100],
                   expires_at=now_utc() + timedelta(days=days))
    db.session.add(row)
    db.session.flush()
    audit.record(actor or user, "token.create", user.email, token_id=row.id, name=row.name,
                 expires_at=row.expires_at.isoformat())
    return token, row


def user_for_token(token: str, now: datetime | None = None) -> User | None:
    """The active user a valid bearer token belongs to: not revoked, not expired. Records its use."""
    if not token:
        return None
    now = now or now_utc()
    # One query on every API request: the token and its user together (roles load only if asked).
    token_hash = secret_hash(token)
    row = db.session.execute(
        sa.select(ApiToken.id, ApiToken.expires_at, ApiToken.revoked_at, ApiToken.last_used_at, User)
        .join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == token_hash)).one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.User.active:
        return None
    record_token_use(row.id, token_hash, row.User.id, row.last_used_at, now)
    return row.User


def record_token_use(token_id: int, token_hash: str, user_id: int, last_used: datetime | None,
                     now: datetime) -> None:
    """Write the token's last use when the recorded one is TOUCH_EVERY old (commits), and remember
    its owner in this process for as long as that record stays fresh."""
    if last_used is None or now - last_used >= TOUCH_EVERY:
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        db.session.commit()
        last_used = now
    _remember_owner(token_hash, user_id, (last_used + TOUCH_EVERY - now).total_seconds())


def live_token_owner(token: str, now: datetime | None = None) -> tuple[str, int] | None:
    """The hot path's user_for_token (quizzes.hot_path): the token's hash and its user's id when the
    token is live and its user active and owing no password change (token_live_clause, the same rule
    as SQL), without loading the user; records its use the same way. None otherwise (the full path
    then answers, 401 or 403)."""
    known = known_token(token)
    if known is None:
        return None
    token_hash, user_id = known
    if user_id is not None:
        return token_hash, user_id
    now = now or now_utc()
    row = db.session.execute(_LIVE_TOKEN, {"token_hash": token_hash, "now": now}).first()
    if row is None:
        return None
    record_token_use(row.id, token_hash, row.user_id, row.last_used_at, now)
    return token_hash, row.user_id


def known_token(token: str) -> tuple[str, int | None] | None:
    """A bearer token's hash and, when this process recorded its use lately, its owner's id (else None,
    and the caller looks the owner up); None for no token."""
    if not token:
        return None
    token_hash = secret_hash(token)
    return token_hash, recent_token_owner(token_hash)


def token_live_clause(user_column, now, token_hash_param: str = "token_hash"):
    """The rule of user_for_token as SQL, for a statement that authenticates while it writes (the
    exam-day hot path, quizzes.hot_path): a token with this hash, of the user in `user_column`, not
    revoked, not expired, whose user is active and owes no password change."""
    tokens, users = ApiToken.__table__, User.__table__
    return sa.exists(sa.select(tokens.c.id).join(users, users.c.id == tokens.c.user_id).where(
        tokens.c.user_id == user_column, tokens.c.token_hash == sa.bindparam(token_hash_param),
        tokens.c.revoked_at.is_(None), tokens.c.expires_at > now,
        users.c.active.is_(True), users.c.must_change_password.is_(False)))


def token_column(name: str, token_hash_param: str = "token_hash"):
    """A column of the token with this hash, as a scalar subquery (one lookup by the unique hash): a
    statement that is told the token but not its owner finds the owner itself, and token_live_clause
    then checks the token as for any other (the exam-day start, quizzes.sittings.start_facts)."""
    tokens = ApiToken.__table__
    return sa.select(tokens.c[name]).where(tokens.c.token_hash == sa.bindparam(token_hash_param)).scalar_subquery()


def _live_token_select():
    tokens = ApiToken.__table__
    now = sa.bindparam("now", type_=tokens.c.expires_at.type)
    return sa.select(tokens.c.id, tokens.c.user_id, tokens.c.last_used_at).where(
        tokens.c.token_hash == sa.bindparam("token_hash"), token_live_clause(tokens.c.user_id, now))


# Whose a token is, kept per process for the exam-day hot path (quizzes.hot_path): a token never
# changes owner, so this holds no decision. The hot path still checks, in the one statement that
# stores an answer, that the token is live and its user active; it only spares the lookup above.
# An entry lives as long as the last-use time in the database stays fresh, so a token's use is still
# recorded every TOUCH_EVERY, by the full path.
_OWNERS: dict[str, tuple[int, float]] = {}
_OWNERS_MAX = 100_000
_LIVE_TOKEN = _live_token_select()


def _remember_owner(token_hash: str, user_id: int, fresh_for_s: float) -> None:
    """Until the recorded last use goes stale (`fresh_for_s`), the hot path may skip the lookup."""
    if len(_OWNERS) >= _OWNERS_MAX:
        _OWNERS.clear()
    _OWNERS[token_hash] = (user_id, time.monotonic() + fresh_for_s)


def recent_token_owner(token_hash: str) -> int | None:
    """The user a token belongs to, if this process recorded its use within TOUCH_EVERY; else None
    (the caller then takes the full path, which checks the token and records its use)."""
    known = _OWNERS.get(token_hash)
    if known is None or time.monotonic() >= known[1]:
        return None
    return known[0]


def live_tokens(user: User, now: datetime | None = None) -> list[ApiToken]:
    now = now or now_utc()
    return list(db.session.scalars(sa.select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
        .order_by(ApiToken.created_at.desc())))


def revoke_token(row: ApiToken, actor: User | None, now: datetime | None = None) -> None:
    if row.revoked_at is None:
        row.revoked_at = now or now_utc()
        audit.record(actor, "token.revoke", row.user.email, token_id=row.id, name=row.name)


def revoke_all_tokens(user: User, now: datetime | None = None) -> int:
    return db.session.execute(sa.update(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now or now_utc())).rowcount


def end_everything_else(user: User, keep_key: str | None, actor: User | None, why: str) -> None:
    """After a password change or reset: every other session ends and every token is revoked."""
    sessions = end_other_sessions(user, keep_key)
    tokens = revoke_all_tokens(user)
    audit.record(actor, "auth.sessions_ended", user.email, reason=why, sessions=sessions, tokens=tokens)
