"""The officials an HR user asked for: filter arguments → one SQL select, used by exports and the API.

Filters (all optional), the same arguments as the HR list pages: `unit` (code; its subtree),
`position` (id or code), `competency` (code) with `holding` (yes: holds it valid now; no: does not),
`status` (qualified | not_qualified: the "công chức số" rule), `expiring` (30 | 60 | 90: the best
valid record, of `competency` if given or of any, lapses within that many days), `q` (name with or
without diacritics, or e-mail). Only active officials attached to a unit are listed, as the
dashboard counts them. Everything is evaluated at one moment.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from training.extensions import db
from training.models import Competency, CompetencyRecord, OrgUnit, Position, User
from training.services.org import get_position_by_code, get_unit_by_code
from training.services.people import officials_query
from training.services.qualification import _moment as moment_of  # a date means that whole day in Vietnam
from training.services.qualification import qualified_condition
from training.services.standing import EXPIRING_DAYS
from training.vntext import nfc

STATUSES = ("qualified", "not_qualified")
HOLDING = ("yes", "no")
EXPIRING_WINDOWS = (30, 60, 90)
STATES = ("held", "expiring", "expired", "missing")


def small_int(text: str) -> int | None:
    """The number written in ASCII digits (at most 9 of them), else None."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


class FilterError(ValueError):
    """A filter that cannot be applied; the message is for the user, `status` the HTTP status."""

    def __init__(self, message: str, *, field: str, status: int = 422):
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class OfficialFilters:
    unit: str = ""
    position: str = ""
    competency: str = ""
    holding: str = ""
    status: str = ""
    expiring: int | None = None
    q: str = ""

    def as_dict(self) -> dict:
        """The filters that are set (for the audit log and for links)."""
        return {key: value for key, value in asdict(self).items() if value not in ("", None)}


def _text(args: Mapping, name: str) -> str:
    """An argument as NFC text without control characters (PostgreSQL refuses NUL), at most 200 long."""
    return "".join(ch for ch in nfc(args.get(name, "")) if unicodedata.category(ch) != "Cc")[:200]


def parse_filters(args: Mapping) -> OfficialFilters:
    """Read filters from query arguments; a malformed value raises FilterError (422)."""
    status = _text(args, "status").lower()
    if status and status not in STATUSES:
        raise FilterError(_("Trạng thái phải là \"qualified\" hoặc \"not_qualified\"."), field="status")
    holding = _text(args, "holding").lower()
    if holding and holding not in HOLDING:
        raise FilterError(_("Tham số holding phải là \"yes\" hoặc \"no\"."), field="holding")
    expiring_text = _text(args, "expiring")
    expiring = None
    if expiring_text:
        expiring = small_int(expiring_text)
        if expiring not in EXPIRING_WINDOWS:
            raise FilterError(_("Khoảng sắp hết hạn phải là 30, 60 hoặc 90 ngày."), field="expiring")
    return OfficialFilters(
        unit=_text(args, "unit").upper(),
        position=_text(args, "position"),
        competency=_text(args, "competency"),
        holding=holding,
        status=status,
        expiring=expiring,
        q=_text(args, "q"),
    )


def resolve_unit(code: str, root: OrgUnit | None) -> OrgUnit:
    """The unit with that code inside `root`'s subtree; outside it, it does not exist (404)."""
    unit = get_unit_by_code(code)
    if unit is None or (root is not None and not unit.is_within(root)):
        raise FilterError(_("Không có đơn vị mã %(code)s trong phạm vi của bạn.", code=code),
                          field="unit", status=404)
    return unit


def _position(value: str) -> Position:
    number = small_int(value)
    position = db.session.get(Position, number) if number is not None else get_position_by_code(value)
    if position is None:
        raise FilterError(_("Không có vị trí việc làm %(code)s.", code=value), field="position")
    return position


def _competency(code: str) -> Competency:
    competency = db.session.scalar(sa.select(Competency).where(Competency.code == code))
    if competency is None:
        raise FilterError(_("Không có năng lực %(code)s.", code=code), field="competency")
    return competency


def _valid_record(record, moment: datetime):
    return sa.and_(record.revoked_at.is_(None), record.achieved_at <= moment, record.expires_at > moment)


def holds_condition(competency_id: int, moment: datetime):
    """SQL condition on User: a valid record of that competency at `moment`."""
    return sa.exists().where(CompetencyRecord.user_id == User.id, CompetencyRecord.competency_id == competency_id,
                             _valid_record(CompetencyRecord, moment))


def expiring_condition(days: int, moment: datetime, competency_id: int | None = None):
    """SQL condition on User: valid at `moment` but not `days` later, for that competency or for any.

    A renewal already recorded (another valid record lasting past the window) means nothing is expiring.
    """
    end = moment + timedelta(days=days)
    record, longer = aliased(CompetencyRecord), aliased(CompetencyRecord)
    renewed = sa.exists().where(longer.user_id == record.user_id, longer.competency_id == record.competency_id,
                                _valid_record(longer, moment), longer.expires_at > end)
    condition = sa.exists().where(record.user_id == User.id, _valid_record(record, moment),
                                  record.expires_at <= end, ~renewed)
    if competency_id is not None:
        condition = condition.where(record.competency_id == competency_id)
    return condition


def officials_select(root: OrgUnit | None, filters: OfficialFilters, on: date | datetime | None = None):
    """Select of the active officials in HR scope `root` (None: everyone) matching `filters`,
    in Vietnamese name order. Raises FilterError for an unknown or out-of-scope unit (404) and
    for an unknown position or competency (422)."""
    moment = moment_of(on)
    unit = resolve_unit(filters.unit, root) if filters.unit else None
    position = _position(filters.position) if filters.position else None
    competency = _competency(filters.competency) if filters.competency else None
    stmt = officials_query(scope=root, unit=unit, q=filters.q, active=True,
                           position_id=position.id if position else None).where(User.unit_id.is_not(None))
    if competency is not None and filters.holding:
        holds = holds_condition(competency.id, moment)
        stmt = stmt.where(holds if filters.holding == "yes" else ~holds)
    if filters.status:
        qualified = qualified_condition(moment)
        stmt = stmt.where(qualified if filters.status == "qualified" else ~qualified)
    if filters.expiring:
        stmt = stmt.where(expiring_condition(filters.expiring, moment, competency.id if competency else None))
    return stmt


@dataclass(frozen=True)
class CompetencyState:
    state: str  # held | expiring | expired | missing
    expires_at: datetime | None


MISSING = CompetencyState("missing", None)


def competency_states(user_ids: Iterable[int], on: date | datetime | None = None
                      ) -> dict[int, dict[int, CompetencyState]]:
    """For each official, competency id → the state of their longest-lasting unrevoked record
    (one aggregate query; the same states as the official's page). Absent means missing."""
    moment = moment_of(on)
    ids = list(user_ids)
    result: dict[int, dict[int, CompetencyState]] = {user_id: {} for user_id in ids}
    if not ids:
        return result
    latest = sa.func.max(CompetencyRecord.expires_at)
    rows = db.session.execute(
        sa.select(CompetencyRecord.user_id, CompetencyRecord.competency_id, latest)
        .where(CompetencyRecord.user_id.in_(ids), CompetencyRecord.revoked_at.is_(None),
               CompetencyRecord.achieved_at <= moment)
        .group_by(CompetencyRecord.user_id, CompetencyRecord.competency_id))
    soon = moment + timedelta(days=EXPIRING_DAYS)
    for user_id, competency_id, expires_at in rows:
        if expires_at <= moment:
            state = "expired"
        elif expires_at <= soon:
            state = "expiring"
        else:
            state = "held"
        result[user_id][competency_id] = CompetencyState(state, expires_at)
    return result
