"""Which competencies an official holds, is missing, or will soon lose."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from training.extensions import db
from training.models import Competency, CompetencyRecord, User
from training.services.competencies import all_competencies

EXPIRING_DAYS = 30


@dataclass
class CompetencyStatus:
    competency: Competency
    required: bool
    record: CompetencyRecord | None
    state: str  # "held", "expiring", "expired", "missing"


def competency_standing(user: User, now: datetime | None = None) -> list[CompetencyStatus]:
    """Each competency with the official's best current record and its state."""
    from training.services.qualification import required_ids as required_of

    now = now or datetime.now(timezone.utc)
    required_ids = required_of(user)  # the one rule: no position means the core competencies
    latest: dict[int, CompetencyRecord] = {}
    records = db.session.scalars(
        sa.select(CompetencyRecord)
        .where(CompetencyRecord.user_id == user.id, CompetencyRecord.revoked_at.is_(None))
        .order_by(CompetencyRecord.expires_at)
    )
    for record in records:
        latest[record.competency_id] = record  # ordered by expiry: the last one lasts longest
    result = []
    for competency in all_competencies():
        record = latest.get(competency.id)
        if record is None:
            state = "missing"
        elif record.expires_at <= now:
            state = "expired"
        elif record.expires_at <= now + timedelta(days=EXPIRING_DAYS):
            state = "expiring"
        else:
            state = "held"
        if competency.id in required_ids or record is not None:
            result.append(CompetencyStatus(competency, competency.id in required_ids, record, state))
    return result
