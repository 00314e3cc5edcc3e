"""The competency framework and each official's competency records."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.extensions import db
from training.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from training.models.user import User

position_competencies = sa.Table(
    "position_competencies",
    db.metadata,
    sa.Column("position_id", sa.ForeignKey("positions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("competency_id", sa.ForeignKey("competencies.id", ondelete="CASCADE"), primary_key=True),
)


class Competency(db.Model):
    __tablename__ = "competencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    validity_months: Mapped[int] = mapped_column(default=24)
    # Core competencies are required by every new position unless an admin says otherwise.
    is_core: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    def name(self, locale: str = "vi") -> str:
        return self.name_en if locale == "en" else self.name_vi

    def __repr__(self) -> str:
        return f"<Competency {self.code}>"


class CompetencyRecord(db.Model):
    """Evidence that an official holds a competency, from achieved_at until expires_at."""

    __tablename__ = "competency_records"
    __table_args__ = (
        sa.Index("ix_competency_records_user_comp", "user_id", "competency_id", "expires_at"),
        # Holders and expiring records per competency, for the HR dashboard (0006_hr_indexes).
        sa.Index("ix_competency_records_comp_expires", "competency_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    competency_id: Mapped[int] = mapped_column(sa.ForeignKey("competencies.id"), index=True)
    achieved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    score: Mapped[float | None] = mapped_column(sa.Float)
    evidence_url: Mapped[str] = mapped_column(sa.String(500), default="")
    source: Mapped[str] = mapped_column(sa.String(40), default="quiz")
    # A revoked record never qualifies anyone again (revoking a certificate revokes what it rests on).
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    revoked_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="competency_records", foreign_keys=[user_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    competency: Mapped[Competency] = relationship()

    def is_valid_on(self, moment: datetime) -> bool:
        return self.revoked_at is None and self.achieved_at <= moment < self.expires_at
