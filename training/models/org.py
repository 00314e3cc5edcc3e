"""Org units (a tree: city → ward/commune → department) and job positions."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.extensions import db
from training.models.types import UTCDateTime, sort_key_type, utcnow

if TYPE_CHECKING:
    from training.models.competency import Competency

# type code → Vietnamese label (translated in templates through training.labels)
UNIT_TYPES = ("city", "province", "ward", "commune", "special_zone", "department")


class OrgUnit(db.Model):
    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    unit_type: Mapped[str] = mapped_column(sa.String(20))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("org_units.id"), index=True)
    # Materialised path of ids, "/1/7/42/", so a subtree is one indexed prefix query.
    path: Mapped[str] = mapped_column(sort_key_type(400), index=True, default="")
    depth: Mapped[int] = mapped_column(default=0)
    sort_key: Mapped[str] = mapped_column(sort_key_type(400), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[OrgUnit]] = relationship(back_populates="parent")

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code}>"

    def is_within(self, other: OrgUnit) -> bool:
        """True when this unit is `other` or below it."""
        return self.path.startswith(other.path)


class Position(db.Model):
    """A job position (vị trí việc làm) and the competencies it requires."""

    __tablename__ = "positions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    sort_key: Mapped[str] = mapped_column(sort_key_type(400), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    required_competencies: Mapped[list[Competency]] = relationship(
        secondary="position_competencies", order_by="Competency.sort_order"
    )

    def __repr__(self) -> str:
        return f"<Position {self.code}>"
