"""Officials (users), their roles and API tokens."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import current_app
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from training.extensions import db
from training.models.types import UTCDateTime, sort_key_type, utcnow
from training.vntext import fold, name_sort_key, nfc

if TYPE_CHECKING:
    from training.models.competency import CompetencyRecord
    from training.models.org import OrgUnit, Position

ROLES = ("learner", "trainer", "hr", "admin")


class UserRole(db.Model):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(20), primary_key=True, index=True)


class User(UserMixin, db.Model):
    """An official (công chức) with a login."""

    __tablename__ = "users"
    # The HR dashboard counts active officials per unit (migration 0006_hr_indexes).
    __table_args__ = (sa.Index("ix_users_unit_active", "unit_id", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    sort_key: Mapped[str] = mapped_column(sort_key_type(400), index=True, default="")
    search_name: Mapped[str] = mapped_column(sa.String(200), default="")
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("org_units.id"), index=True)
    position_id: Mapped[int | None] = mapped_column(sa.ForeignKey("positions.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(256))
    must_change_password: Mapped[bool] = mapped_column(default=False)
    locale: Mapped[str | None] = mapped_column(sa.String(5))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    unit: Mapped[OrgUnit | None] = relationship()
    position: Mapped[Position | None] = relationship()
    # Loaded when a role is asked for: the attempt API's hot path never needs them.
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="select")
    competency_records: Mapped[list[CompetencyRecord]] = relationship(
        back_populates="user", cascade="all, delete-orphan", foreign_keys="CompetencyRecord.user_id"
    )

    def __repr__(self) -> str:
        return f"<User {self.email}>"

    # names -------------------------------------------------------------
    def set_name(self, full_name: str) -> None:
        self.full_name = nfc(full_name)
        self.sort_key = name_sort_key(self.full_name)
        self.search_name = fold(self.full_name)

    # roles -------------------------------------------------------------
    @property
    def roles(self) -> set[str]:
        return {row.role for row in self.role_rows}

    def set_roles(self, roles) -> None:
        wanted = set(roles)
        self.role_rows = [row for row in self.role_rows if row.role in wanted] + [
            UserRole(role=role) for role in sorted(wanted - self.roles)
        ]

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    # passwords ---------------------------------------------------------
    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active


def secret_hash(secret: str) -> str:
    """What the database keeps of a bearer token or a session key: its SHA-256, never the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 is stored. Revoked, expired or of an inactive user: refused."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    hash = staticmethod(secret_hash)


class UserSession(db.Model):
    """A browser login, kept on the server so that logout, a password change or an admin can end it.

    The cookie carries a random key; the database keeps its hash."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    address: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")

    user: Mapped[User] = relationship()


class LoginFailure(db.Model):
    """One failed login, for throttling by account and by (address, account) across every server."""

    __tablename__ = "login_failures"
    __table_args__ = (sa.Index("ix_login_failures_email_address_at", "email", "address", "failed_at"),
                      sa.Index("ix_login_failures_email_at", "email", "failed_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    address: Mapped[str] = mapped_column(sa.String(64))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
