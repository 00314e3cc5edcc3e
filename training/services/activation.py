"""Activation links: an imported official sets their own first password through a one-time link.

A roster import hashes no password (130-210 ms each with scrypt made a 100,000-row file take hours);
it makes a random token per new official instead. The database keeps only the token's SHA-256; the
link is printed for HR to hand out (a CSV) or sent through the e-mail outbox. A link works once,
until ACTIVATION_DAYS after it was made; opening it lets the official choose a password (the usual
password policy applies) and signs them in.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from training.extensions import db
from training.models import ActivationToken, User
from training.models.user import secret_hash
from training.services import audit
from training.services.users import AccountError, check_password_strength

TOKEN_BYTES = 32


def new_token() -> tuple[str, str]:
    """(token for the link, its hash for the database)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, secret_hash(token)


def activation_expiry(now: datetime | None = None) -> datetime:
    now = now or datetime.now(timezone.utc)
    return now + timedelta(days=int(current_app.config.get("ACTIVATION_DAYS") or 14))


def activation_url(token: str, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/activate/{token}"


def issue_activation(user: User, actor: User | None = None, now: datetime | None = None) -> str:
    """A new activation link token for `user` (earlier unused links of theirs stop working). Flushes."""
    now = now or datetime.now(timezone.utc)
    db.session.execute(sa.update(ActivationToken).where(ActivationToken.user_id == user.id,
                                                        ActivationToken.used_at.is_(None))
                       .values(used_at=now))
    token, token_hash = new_token()
    db.session.add(ActivationToken(user_id=user.id, token_hash=token_hash, created_at=now,
                                   expires_at=activation_expiry(now), created_by_id=actor.id if actor else None))
    db.session.flush()
    return token


def find_activation(token: str, now: datetime | None = None) -> tuple[ActivationToken | None, str]:
    """The token's row if it can still be used, else None and why ("unknown", "used", "expired")."""
    now = now or datetime.now(timezone.utc)
    if not token or len(token) > 100:
        return None, "unknown"
    row = db.session.scalar(sa.select(ActivationToken).where(ActivationToken.token_hash == secret_hash(token)))
    if row is None:
        return None, "unknown"
    user = db.session.get(User, row.user_id)
    if row.used_at is not None or user is None or not user.active:
        return None, "used"
    if row.expires_at <= now:
        return None, "expired"
    return row, ""


def activate(token: str, password: str, confirm: str, now: datetime | None = None) -> User:
    """Set the first password through an activation link; the link then stops working. Raises
    AccountError (with the field it belongs to) for a link that cannot be used or a weak password."""
    now = now or datetime.now(timezone.utc)
    row, reason = find_activation(token, now)
    if row is None:
        raise AccountError(reason_message(reason), "token")
    user = db.session.get(User, row.user_id)
    if password != confirm:
        raise AccountError(_("Hai lần nhập mật khẩu mới không khớp."), "confirm")
    check_password_strength(password, user)
    # Claimed with a guarded UPDATE: of two submissions of one link, exactly one sets the password.
    claimed = db.session.execute(sa.update(ActivationToken).where(
        ActivationToken.id == row.id, ActivationToken.used_at.is_(None)).values(used_at=now)).rowcount
    if claimed != 1:
        raise AccountError(reason_message("used"), "token")
    db.session.execute(sa.update(ActivationToken).where(ActivationToken.user_id == user.id,
                                                        ActivationToken.used_at.is_(None)).values(used_at=now))
    user.set_password(password)
    user.must_change_password = False
    audit.record(user, "auth.activate", user.email)
    db.session.flush()
    return user


def reason_message(reason: str) -> str:
    if reason == "expired":
        return _("Đường dẫn kích hoạt đã hết hạn. Hãy liên hệ bộ phận tổ chức - nhân sự hoặc quản trị viên để được "
                 "cấp đường dẫn mới hoặc mật khẩu tạm thời.")
    if reason == "used":
        return _("Đường dẫn kích hoạt này đã được dùng. Nếu bạn đã đặt mật khẩu, hãy đăng nhập; nếu quên mật khẩu, "
                 "hãy liên hệ quản trị viên.")
    return _("Đường dẫn kích hoạt không đúng. Hãy kiểm tra lại đường dẫn (chép đủ cả dòng) hoặc liên hệ bộ phận "
             "tổ chức - nhân sự.")


def activation_email(full_name: str, link: str, expires: datetime) -> tuple[str, str]:
    """Subject and body of the e-mail that carries an activation link (in the current locale)."""
    from training.i18n import moment

    subject = _("Kích hoạt tài khoản Công Chức Số")
    body = _("Kính gửi %(name)s,\n\nTài khoản của bạn trên hệ thống Công Chức Số đã được tạo. Hãy mở đường dẫn dưới "
             "đây để tự đặt mật khẩu (dùng được một lần, đến %(expires)s):\n\n%(link)s\n\nNếu bạn không chờ thư "
             "này, hãy báo bộ phận tổ chức - nhân sự của đơn vị.\n", name=full_name, link=link,
             expires=moment(expires))
    return subject, body
