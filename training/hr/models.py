"""The figures HR reads, kept current so that a page costs what it shows (issue 17).

Two kinds of table, both derived from the competency records, the officials and the org tree, and
both rebuilt from them by `flask --app training hr rebuild-counts` (training.hr.upkeep):

- Per official (the projection): `hr_officials` holds one row per official HR counts (active and
  attached to a unit) with what lists sort and filter on, and the day they stop being qualified;
  `hr_official_competencies` the expiry day of each official's longest-lasting unrevoked record of
  each competency. These are what the per-unit counts are summed from, and what a change is
  subtracted from before the new state is added.
- Per unit (the counts): officials bucketed by the day something ends, so that "held now",
  "expiring within 30 days" and "qualified now" are sums over buckets later than a day, with no
  work at midnight. Each official is counted in their own unit (`direct`) and in every unit above it,
  their own included (`direct` false: the unit's whole subtree), by position.
  `hr_unit_months` keeps the subtree's officials and qualified officials at each month's end.

Days are days in Vietnam: a record expiring on day D is no longer held on D (as `moment_of(date)`
says), so a bucket for D counts on every day before D.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from training.extensions import db
from training.models.types import UTCDateTime, sort_key_type

# The qualified-until day of someone who does not qualify at all (a required competency never held,
# or nothing required): earlier than any day asked about.
NEVER = date(1, 1, 1)
# Officials without a position are counted under position 0 (a key column cannot be NULL).
NO_POSITION = 0


class HrOfficial(db.Model):
    """One official HR counts: active and attached to a unit."""

    __tablename__ = "hr_officials"
    __table_args__ = (
        # Lists in Vietnamese name order: a page is read from here, 25 rows, whatever the scope.
        sa.Index("ix_hr_officials_sort", "sort_key", "user_id"),
        # A subtree is a prefix of unit_path (collation C): a ward's officials are one index range.
        sa.Index("ix_hr_officials_path_sort", "unit_path", "sort_key", "user_id"),
        sa.Index("ix_hr_officials_position_sort", "position_id", "sort_key", "user_id"),
        sa.Index("ix_hr_officials_recount_on", "recount_on"),
    )

    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    unit_id: Mapped[int] = mapped_column()
    # The unit's path when this row was written: the units the official was counted in.
    unit_path: Mapped[str] = mapped_column(sort_key_type(400))
    position_id: Mapped[int] = mapped_column(default=NO_POSITION)
    sort_key: Mapped[str] = mapped_column(sort_key_type(400), default="")
    # Folded name and e-mail: what the name search matches.
    search_text: Mapped[str] = mapped_column(sa.String(500), default="")
    qualified_until: Mapped[date] = mapped_column(sa.Date, default=NEVER)
    # A record dated in the future (achieved after today) counts from that day: the official is
    # recounted then (training.hr.upkeep.catch_up). None: nothing pending.
    recount_on: Mapped[date | None] = mapped_column(sa.Date)


class HrOfficialCompetency(db.Model):
    """The expiry day of an official's longest-lasting unrevoked record of a competency."""

    __tablename__ = "hr_official_competencies"

    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    competency_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    until: Mapped[date] = mapped_column(sa.Date)


class HrUnitCompetencyDay(db.Model):
    """Officials of a unit (direct) or of its subtree, in a position, whose best record of a
    competency expires on `day`."""

    __tablename__ = "hr_unit_competency_days"

    # Key in this order: a unit's buckets later than a day are one range of the primary key.
    unit_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    direct: Mapped[bool] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    position_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    competency_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    officials: Mapped[int] = mapped_column(default=0)


class HrUnitQualifiedDay(db.Model):
    """Officials of a unit (direct) or of its subtree, in a position, who stop being qualified on
    `day` (NEVER: not qualified at all). Their sum over every day is the unit's officials."""

    __tablename__ = "hr_unit_qualified_days"

    unit_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    direct: Mapped[bool] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    position_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    officials: Mapped[int] = mapped_column(default=0)


class HrUnitMonth(db.Model):
    """A unit's subtree at the end of a month (day = the month's last day, in Vietnam): the trend."""

    __tablename__ = "hr_unit_months"

    unit_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    officials: Mapped[int] = mapped_column(default=0)
    qualified: Mapped[int] = mapped_column(default=0)


class HrCountsState(db.Model):
    """One row: up to which month's end the snapshots are taken, when the counts were last rebuilt,
    and whether they must be (a database that had officials before these tables existed)."""

    __tablename__ = "hr_counts_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    snapshot_through: Mapped[date | None] = mapped_column(sa.Date)
    rebuilt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    needs_rebuild: Mapped[bool] = mapped_column(default=False)


class HrUnitName(db.Model):
    """A unit's code and name folded (no diacritics, lower case), for the unit search field."""

    __tablename__ = "hr_unit_names"
    __table_args__ = (sa.Index("ix_hr_unit_names_path", "path"),)

    unit_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    path: Mapped[str] = mapped_column(sort_key_type(400))
    search_text: Mapped[str] = mapped_column(sa.String(300), default="")


__all__ = ["HrCountsState", "HrOfficial", "HrOfficialCompetency", "HrUnitCompetencyDay", "HrUnitMonth",
           "HrUnitName", "HrUnitQualifiedDay", "NEVER", "NO_POSITION"]
