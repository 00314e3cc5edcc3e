"""One official as HR sees them: every competency of the framework, held or not, and whether they qualify."""
from __future__ import annotations

from datetime import date

from training.hr.overview import as_day, competency_columns
from training.models import User
from training.services.qualification import is_digitally_capable, moment_of, required_competencies
from training.services.standing import CompetencyStatus, competency_standing


def official_standing(official: User, on: date | None = None) -> list[CompetencyStatus]:
    """Every competency of the framework for one official on that day: held, expiring, expired or
    missing, and whether their position requires it."""
    moment = moment_of(as_day(on))
    known = {item.competency.id: item for item in competency_standing(official, moment)}
    required = {c.id for c in required_competencies(official)}
    result = []
    for competency in competency_columns():
        item = known.get(competency.id) or CompetencyStatus(competency, False, None, "missing")
        item.required = competency.id in required
        result.append(item)
    return result


def qualifies(official: User, on: date | None = None) -> bool:
    """The công chức số rule on that day (the day the HR lists and figures are about)."""
    return is_digitally_capable(official, as_day(on))
