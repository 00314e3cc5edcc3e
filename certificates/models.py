"""Issued certificates: a snapshot of who qualified with what, the exact PDF bytes and their hash."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from training.extensions import db
from training.models import User
from training.models.types import UTCDateTime, utcnow


class Certificate(db.Model):
    __tablename__ = "certificates"
    # At most one valid certificate per official: a valid certificate is always the official's current
    # one (revoking or replacing clears `is_current`), and the partial unique index allows one current.
    __table_args__ = (
        sa.Index("ix_certificates_user_expires", "user_id", "expires_at"),
        sa.Index("uq_certificates_one_current", "user_id", unique=True,
                 postgresql_where=sa.text("is_current"), sqlite_where=sa.text("is_current = 1")),
        sa.CheckConstraint("NOT is_current OR revoked_at IS NULL", name="current_not_revoked"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(sa.String(40), unique=True)  # random, not guessable
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("org_units.id"), index=True)
    holder_name: Mapped[str] = mapped_column(sa.String(200))
    unit_name: Mapped[str] = mapped_column(sa.String(300), default="")
    position_name: Mapped[str] = mapped_column(sa.String(200), default="")
    competencies: Mapped[list] = mapped_column(sa.JSON, default=list)  # [{code, name, score, achieved_at, expires_at}]
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    is_current: Mapped[bool] = mapped_column(default=True)
    # Whether this certificate was signed with a test identity (a test deployment says so on it).
    test_identity: Mapped[bool] = mapped_column(default=False)
    pdf_sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    pdf: Mapped[bytes] = deferred(mapped_column(sa.LargeBinary))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    def status(self, now: datetime) -> str:
        """"valid", "expired" or "revoked" at `now`."""
        if self.revoked_at is not None:
            return "revoked"
        if now >= self.expires_at:
            return "expired"
        return "valid"
