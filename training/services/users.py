"""Accounts: creating officials and their passwords."""
from __future__ import annotations

import secrets

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from training.extensions import db
from training.models import ROLES, OrgUnit, Position, User
from training.vntext import fold, nfc

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


# Words of this site that make a guessable password anywhere in it ("congchucso1").
SITE_WORDS = ("congchucso", "cong chuc so", "matkhau", "mat khau")
# zxcvbn's estimate below 10^8 guesses (score < 3) falls to an online attack with a little patience.
MIN_ZXCVBN_SCORE = 3


def check_password_strength(password: str, user: User | None = None) -> None:
    """NIST SP 800-63B: at least 10 characters, not a common or breached password (zxcvbn's lists of
    30,000 leaked passwords, names and words), not built on the user's name or e-mail. No rules about
    character classes. Raises AccountError with the reason in Vietnamese."""
    from zxcvbn import zxcvbn

    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(_("Mật khẩu phải có ít nhất %(n)d ký tự.", n=MIN_PASSWORD_LENGTH), "new")
    if len(password) > 200:
        raise AccountError(_("Mật khẩu quá dài (tối đa 200 ký tự)."), "new")
    folded = fold(password).replace(" ", "")
    personal = []
    if user is not None:
        personal += [part for part in fold(user.full_name or "").split() if len(part) >= 4]
        personal.append(fold(user.full_name or "").replace(" ", ""))
        local = fold((user.email or "").split("@")[0])
        personal += [fold(user.email or ""), local] + [part for part in local.replace(".", " ").replace("_", " ").split() if len(part) >= 4]
    if any(word and len(word) >= 4 and word in folded for word in personal):
        raise AccountError(_("Mật khẩu không được chứa họ tên hoặc email của bạn."), "new")
    inputs = list(SITE_WORDS) + [w for w in personal if w]
    if zxcvbn(password[:100], user_inputs=inputs)["score"] < MIN_ZXCVBN_SCORE:
        raise AccountError(_("Mật khẩu này quá phổ biến hoặc dễ đoán (có trong danh sách mật khẩu bị lộ, là từ "
                             "thông dụng, dãy lặp hay dãy số). Hãy dùng một cụm vài từ dễ nhớ với bạn, ví dụ "
                             "“Bến-Nghé sáng thứ Hai 7 giờ”."), "new")


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


def change_password(user: User, current: str, new: str, *, confirm: str | None = None,
                    keep_session: str | None = None) -> None:
    """Change a user's own password, checking the current one. Every other session of the user ends
    and every API token is revoked; the session with key `keep_session` stays signed in."""
    from training.services import audit
    from training.services.sessions import end_everything_else

    if not user.check_password(current):
        raise AccountError(_("Mật khẩu hiện tại không đúng."), "current")
    if confirm is not None and new != confirm:
        raise AccountError(_("Hai lần nhập mật khẩu mới không khớp."), "confirm")
    if new == current:
        raise AccountError(_("Mật khẩu mới phải khác mật khẩu hiện tại."), "new")
    check_password_strength(new, user)
    user.set_password(new)
    user.must_change_password = False
    audit.record(user, "auth.password_change", user.email)
    end_everything_else(user, keep_session, user, "password_change")


def reset_password(user: User, actor: User | None = None) -> str:
    """Give a user a temporary password they must change at next login; returns it. Every session of
    the user ends and every API token is revoked."""
    from training.services import audit
    from training.services.sessions import end_everything_else

    password = generate_password()
    user.set_password(password)
    user.must_change_password = True
    audit.record(actor, "user.reset_password", user.email)
    end_everything_else(user, None, actor, "password_reset")
    return password
