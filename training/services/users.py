"""Accounts: creating officials, passwords, API tokens."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from training.extensions import db
from training.models import ROLES, ApiToken, OrgUnit, Position, User
from training.vntext import nfc

MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A request about an account that cannot be honoured; the message is for the user.

    `field` names the form field the message belongs to, when there is one.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def normalise_email(email: str) -> str:
    """Validate an email address and return its canonical lower-case form.

    Raises AccountError with a Vietnamese message when it is malformed.
    """
    try:
        result = validate_email(nfc(email), check_deliverability=False)
    except EmailNotValidError as exc:
        raise AccountError(_("Địa chỉ email không hợp lệ: %(email)s", email=nfc(email) or "—"),
                           "email") from exc
    return result.normalized.lower()


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == nfc(email).lower()))


def generate_password() -> str:
    """A temporary password that is easy to read aloud and type on a phone."""
    alphabet = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY23456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(_("Mật khẩu phải có ít nhất %(n)d ký tự.", n=MIN_PASSWORD_LENGTH), "new")
    if password.isdigit() or password.isalpha():
        raise AccountError(_("Mật khẩu phải có cả chữ và số hoặc ký tự đặc biệt."), "new")


def create_user(email: str, full_name: str, *, password: str | None = None,
                roles=("learner",), unit: OrgUnit | None = None, position: Position | None = None,
                must_change_password: bool = True) -> User:
    """Create an official. Without a password the account cannot log in until one is set."""
    email = normalise_email(email)
    if get_user_by_email(email) is not None:
        raise AccountError(_("Email %(email)s đã được dùng cho một tài khoản khác.", email=email), "email")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise AccountError(_("Vai trò không hợp lệ: %(roles)s", roles=", ".join(sorted(unknown))), "roles")
    user = User(email=email, unit=unit, position=position, must_change_password=must_change_password)
    user.set_name(full_name)
    if not user.full_name:
        raise AccountError(_("Họ và tên không được để trống."), "full_name")
    user.set_roles(roles)
    if password:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def change_password(user: User, current: str, new: str, *, confirm: str | None = None) -> None:
    """Change a user's own password, checking the current one."""
    if not user.check_password(current):
        raise AccountError(_("Mật khẩu hiện tại không đúng."), "current")
    if confirm is not None and new != confirm:
        raise AccountError(_("Hai lần nhập mật khẩu mới không khớp."), "confirm")
    if new == current:
        raise AccountError(_("Mật khẩu mới phải khác mật khẩu hiện tại."), "new")
    check_password_strength(new)
    user.set_password(new)
    user.must_change_password = False


def reset_password(user: User) -> str:
    """Give a user a temporary password they must change at next login; returns it."""
    password = generate_password()
    user.set_password(password)
    user.must_change_password = True
    return password


def create_api_token(user: User, days: int = 30) -> tuple[str, ApiToken]:
    """Create a bearer token for `user`; the plain token is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    row = ApiToken(user=user, token_hash=ApiToken.hash(token),
                   expires_at=datetime.now(timezone.utc) + timedelta(days=days))
    db.session.add(row)
    db.session.flush()
    return token, row


def user_for_token(token: str) -> User | None:
    """The active user a valid, unexpired bearer token belongs to."""
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(token)))
    if row is None or row.expires_at <= datetime.now(timezone.utc) or not row.user.active:
        return None
    return row.user
