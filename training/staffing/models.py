"""Ward staffing: each unit's population over time, and the position fit reviews ("rà soát") HR keeps.

A population figure is one line of history (a unit, a day, a source); a unit's current population is
its latest. A review is a record: who sat in which position on the review's day, what the position
requires and what they held (copied when the review is opened, so later changes never rewrite it),
and what HR decided for each of them.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.extensions import db
from training.models import OrgUnit, Position, User
from training.models.types import UTCDateTime, sort_key_type, utcnow

VERDICTS = ("fits", "fits_after_training", "does_not_fit")
DECISIONS = ("keep", "train", "move")
REVIEW_STATES = ("open", "closed")


class UnitPopulation(db.Model):
    """A unit's residents on a day, from a source: the registered count (on paper) and the actual
    count (who really lives there), either of which may be unknown."""

    __tablename__ = "unit_populations"
    __table_args__ = (
        sa.UniqueConstraint("unit_id", "as_of", "source", name="uq_unit_populations_unit_id"),
        sa.CheckConstraint("registered IS NULL OR registered >= 0", name="registered"),
        sa.CheckConstraint("actual IS NULL OR actual >= 0", name="actual"),
        sa.CheckConstraint("registered IS NOT NULL OR actual IS NOT NULL", name="some_figure"),
        # A unit's latest figure is one index step: the pages read a page of units' latest only.
        sa.Index("ix_unit_populations_unit_latest", "unit_id", "as_of", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("org_units.id", ondelete="CASCADE"))
    registered: Mapped[int | None] = mapped_column()
    actual: Mapped[int | None] = mapped_column()
    as_of: Mapped[date] = mapped_column(sa.Date)
    source: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    unit: Mapped[OrgUnit] = relationship()
    created_by: Mapped[User | None] = relationship()

    @hybrid_property
    def residents(self) -> int | None:
        """The count staffing is measured against: the actual population when known (a ward of
        88,000 on paper served 101,000), else the registered one."""
        return self.actual if self.actual is not None else self.registered

    @residents.inplace.expression
    @classmethod
    def _residents_expression(cls):
        return sa.func.coalesce(cls.actual, cls.registered)  # the same rule in SQL


class StaffingReview(db.Model):
    """A position fit review of a unit's subtree on a day, kept with its decisions as a record."""

    __tablename__ = "staffing_reviews"
    __table_args__ = (
        sa.CheckConstraint("status IN ('open', 'closed')", name="status"),
        sa.Index("ix_staffing_reviews_unit_created", "unit_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("org_units.id", ondelete="SET NULL"))
    # What the review was about, as it was then: a record outlives renamed or removed units.
    unit_code: Mapped[str] = mapped_column(sa.String(40))
    unit_name: Mapped[str] = mapped_column(sa.String(200))
    unit_path: Mapped[str] = mapped_column(sort_key_type(400), default="")
    as_of: Mapped[date] = mapped_column(sa.Date)  # the day the review judges: holdings on that day
    status: Mapped[str] = mapped_column(sa.String(10), default="open")
    officials: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_by_name: Mapped[str] = mapped_column(sa.String(200), default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    unit: Mapped[OrgUnit | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class StaffingReviewEntry(db.Model):
    """One official in a review: position, requirements and holdings on the review's day (copied),
    the verdict, and HR's decision."""

    __tablename__ = "staffing_review_entries"
    __table_args__ = (
        sa.UniqueConstraint("review_id", "user_id", name="uq_staffing_review_entries_review_id"),
        sa.CheckConstraint("verdict IN ('fits', 'fits_after_training', 'does_not_fit')", name="verdict"),
        sa.CheckConstraint("decision IS NULL OR decision IN ('keep', 'train', 'move')", name="decision"),
        # The review's pages: its officials in Vietnamese name order, optionally one verdict.
        sa.Index("ix_staffing_review_entries_review_sort", "review_id", "sort_key", "id"),
        sa.Index("ix_staffing_review_entries_review_verdict", "review_id", "verdict", "sort_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("staffing_reviews.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    full_name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    sort_key: Mapped[str] = mapped_column(sort_key_type(400), default="")
    unit_name: Mapped[str] = mapped_column(sa.String(420), default="")
    position_id: Mapped[int | None] = mapped_column(sa.ForeignKey("positions.id", ondelete="SET NULL"))
    position_name: Mapped[str] = mapped_column(sa.String(200), default="")
    # [[code, Vietnamese name, English name], ...] the position required on the day
    required: Mapped[list] = mapped_column(sa.JSON, default=list)
    held: Mapped[list] = mapped_column(sa.JSON, default=list)      # codes of the required ones held
    missing: Mapped[list] = mapped_column(sa.JSON, default=list)   # codes of the required ones lacking
    # [[course id, title, competency code], ...]: published courses that teach what is missing
    training: Mapped[list] = mapped_column(sa.JSON, default=list)
    verdict: Mapped[str] = mapped_column(sa.String(24))
    decision: Mapped[str | None] = mapped_column(sa.String(10))
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    assignment_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    move_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("org_units.id", ondelete="SET NULL"))
    move_position_id: Mapped[int | None] = mapped_column(sa.ForeignKey("positions.id", ondelete="SET NULL"))
    # The proposed move as words ("Phường Bến Thành — Chuyên viên Tư pháp - Hộ tịch"), kept as decided.
    move_text: Mapped[str] = mapped_column(sa.String(420), default="")
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decided_by_name: Mapped[str] = mapped_column(sa.String(200), default="")

    review: Mapped[StaffingReview] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    position: Mapped[Position | None] = relationship(foreign_keys=[position_id])
    move_unit: Mapped[OrgUnit | None] = relationship(foreign_keys=[move_unit_id])
    move_position: Mapped[Position | None] = relationship(foreign_keys=[move_position_id])


__all__ = ["DECISIONS", "REVIEW_STATES", "StaffingReview", "StaffingReviewEntry", "UnitPopulation", "VERDICTS"]
