"""Who qualifies as a digitally capable official ("công chức số"), and the rules beneath it.

One home for the competency rules every page, export, API and the certificate use:
- what an official is required to hold (`required_competencies`: the position's competencies, or the
  core ones for an official without a position: decided here, shown the same everywhere);
- when a record counts (`record_valid_at`: unrevoked, achieved, not expired, at a moment);
- who qualifies (`is_digitally_capable`, and `qualified_condition`, the same rule in SQL).
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from training.extensions import db
from training.models import Competency, CompetencyRecord, User

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def required_competencies(official: User) -> list[Competency]:
    """What the official's position requires; the core competencies when they have no position."""
    if official.position is not None:
        return list(official.position.required_competencies)
    return list(db.session.scalars(sa.select(Competency).where(Competency.is_core).order_by(Competency.sort_order)))


def moment_of(on: date | datetime | None) -> datetime:
    """A date means that whole day in Vietnam: a record expiring that day no longer counts."""
    if on is None:
        return datetime.now(timezone.utc)
    if isinstance(on, datetime):
        return on if on.tzinfo else on.replace(tzinfo=timezone.utc)
    return datetime.combine(on, time.max, tzinfo=VIETNAM).astimezone(timezone.utc)


_moment = moment_of  # the name older modules import


def record_valid_at(moment: datetime, record=CompetencyRecord):
    """SQL: `record` (the table or an alias of it) counts at `moment`."""
    return sa.and_(record.revoked_at.is_(None), record.achieved_at <= moment, record.expires_at > moment)


def holds_condition(user_id, competency_id, moment: datetime, record=CompetencyRecord):
    """SQL EXISTS: the official (a column or a value) holds the competency (column or value) at `moment`."""
    return sa.exists().where(record.user_id == user_id, record.competency_id == competency_id,
                             record_valid_at(moment, record))


def required_ids(official: User) -> set[int]:
    return {competency.id for competency in required_competencies(official)}


def valid_records(official: User, on: date | datetime | None = None) -> dict[int, CompetencyRecord]:
    """For each competency, the unrevoked record valid at that moment that lasts longest."""
    moment = moment_of(on)
    records = db.session.scalars(sa.select(CompetencyRecord).where(
        CompetencyRecord.user_id == official.id, record_valid_at(moment)).order_by(CompetencyRecord.expires_at))
    best: dict[int, CompetencyRecord] = {}
    for record in records:
        best[record.competency_id] = record  # ordered by expiry: the last one lasts longest
    return best


def qualifying_records(official: User, on: date | datetime | None = None
                       ) -> list[tuple[Competency, CompetencyRecord]] | None:
    """The rule of `is_digitally_capable`, with what it rests on: for each required competency (in the
    position's order) the valid record that lasts longest, or None when the official does not qualify.
    One read of the records (a certificate needs both the answer and the records)."""
    if not official.active:
        return None
    required = required_competencies(official)
    if not required:
        return None
    held = valid_records(official, on)
    if not all(competency.id in held for competency in required):
        return None
    return [(competency, held[competency.id]) for competency in required]


def is_digitally_capable(official: User, on: date | datetime | None = None) -> bool:
    """True when, on that date (or moment), the official holds an unexpired, unrevoked record for
    every competency their position requires."""
    return qualifying_records(official, on) is not None


def qualified_condition(on: date | datetime | None = None):
    """The same rule as `is_digitally_capable`, as a SQL condition on User, for aggregates at scale.

    An active official qualifies when no required competency lacks a valid record: required means
    the position's competencies, or the core ones for an official without a position.
    """
    from training.models import position_competencies

    moment = moment_of(on)
    valid = sa.exists().where(CompetencyRecord.user_id == User.id, record_valid_at(moment))
    # Explicit correlation: nested EXISTS must refer to the outer official, not add `users` again.
    by_position = sa.exists().where(
        position_competencies.c.position_id == User.position_id,
        ~valid.where(CompetencyRecord.competency_id == position_competencies.c.competency_id)
        .correlate_except(CompetencyRecord)).correlate_except(position_competencies)
    by_core = sa.exists().where(
        Competency.is_core.is_(True),
        ~valid.where(CompetencyRecord.competency_id == Competency.id).correlate_except(CompetencyRecord)
    ).correlate_except(Competency)
    has_requirements = sa.or_(
        sa.and_(User.position_id.is_not(None), sa.exists().where(
            position_competencies.c.position_id == User.position_id)),
        sa.and_(User.position_id.is_(None), sa.exists().where(Competency.is_core.is_(True))))
    return sa.and_(User.active.is_(True), has_requirements,
                   sa.case((User.position_id.is_(None), ~by_core), else_=~by_position))
