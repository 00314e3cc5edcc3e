"""The one officials filter: which officials an HR page, export or API answer lists, and how many.

Filters (all optional), the same for the list pages, the exports and the API: `unit` (code; its
subtree), `position` (id or code), `competency` (code) with `holding` (yes: holds it valid on the day;
no: does not), `status` (qualified | not_qualified: the "công chức số" rule), `expiring` (30 | 60 | 90:
the best valid record, of `competency` if given or of any, lapses within that many days), `q` (name with
or without diacritics, or e-mail). Only active officials attached to a unit are listed, as the
overview counts them. Everything is evaluated on one day in Vietnam (a record expiring that day no
longer counts), so a list and the figure above it agree.

How it stays cheap at national scale: the list is read from `hr_officials` (one narrow row per official,
kept by training.hr.upkeep) in name order, 25 rows at a time; the subtree is a prefix of the official's
own unit path on that same row (the planner estimates it from the column's statistics: a ward's
officials are one range of an index, a city's are read in name order until the page is full); a
page's total comes from the kept counts when they can say it, and is otherwise counted up to a cap
("more than 1,000" on a page, 10,000 for the API and the exports), so no page counts a whole country
to show 25 names.
Whether someone holds a competency is asked of the records through `holds_condition`; whether they
qualify, of their kept qualified-until day (held equal to `qualified_condition` by the tests).
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, joinedload

from training.extensions import MAX_PAGE, db
from training.hr import counts
from training.hr.models import HrOfficial
from training.hr.overview import as_day
from training.models import Competency, CompetencyRecord, OrgUnit, Position, User
from training.services.org import get_position_by_code, get_unit_by_code
from training.services.qualification import holds_condition, moment_of, record_valid_at, required_competencies
from training.services.standing import EXPIRING_DAYS
from training.vntext import fold, nfc

STATUSES = ("qualified", "not_qualified")
HOLDING = ("yes", "no")
EXPIRING_WINDOWS = counts.EXPIRING_WINDOWS
STATES = ("held", "expiring", "expired", "missing")
# Beyond this many rows a total is "more than COUNT_CAP" (the API, the choice between a streamed
# export and a job); a page a person reads says "more than PAGE_COUNT_CAP".
COUNT_CAP = 10_000
PAGE_COUNT_CAP = 1_000
PER_PAGE = 25


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


def page_filters(args: Mapping) -> OfficialFilters:
    """The same filters for a page a person reads: a value that makes no sense (a status typed by
    hand, a window of 7 days) is left out instead of refused, and the page shows everything else."""
    values = {}
    for name in ("unit", "position", "competency", "holding", "status", "expiring", "q"):
        try:
            parsed = parse_filters({name: args.get(name, "")})
        except FilterError:
            continue
        values[name] = getattr(parsed, name)
    return OfficialFilters(**values)


def resolve_unit(code: str, root: OrgUnit | None) -> OrgUnit:
    """The unit with that code inside `root`'s subtree; outside it, it does not exist (404)."""
    unit = get_unit_by_code(code)
    if unit is None or (root is not None and not unit.is_within(root)):
        raise FilterError(_("Không có đơn vị mã %(code)s trong phạm vi của bạn.", code=code),
                          field="unit", status=404)
    return unit


def resolve_position(value: str) -> Position:
    number = small_int(value)
    position = db.session.get(Position, number) if number is not None else get_position_by_code(value)
    if position is None:
        raise FilterError(_("Không có vị trí việc làm %(code)s.", code=value), field="position")
    return position


def resolve_competency(code: str) -> Competency:
    competency = db.session.scalar(sa.select(Competency).where(Competency.code == code))
    if competency is None:
        raise FilterError(_("Không có năng lực %(code)s.", code=code), field="competency")
    return competency


# --------------------------------------------------------------------------- the selection
@dataclass
class Selection:
    """A request for officials, checked: scope, filters resolved to rows, and the day."""

    root: OrgUnit | None  # the HR scope (None: everyone, for an admin)
    filters: OfficialFilters
    day: date
    unit: OrgUnit | None = None
    position: Position | None = None
    competency: Competency | None = None
    # Extra SQL conditions on HrOfficial (the gaps page's candidates): they make the total a count.
    extra: list = field(default_factory=list)

    @property
    def within(self) -> OrgUnit | None:
        return self.unit or self.root

    @property
    def moment(self) -> datetime:
        return moment_of(self.day)


def select_officials(root: OrgUnit | None, filters: OfficialFilters,
                     on: date | datetime | None = None) -> Selection:
    """Check `filters` in HR scope `root`. Raises FilterError for an unknown or out-of-scope unit
    (404) and for an unknown position or competency (422)."""
    return Selection(
        root=root, filters=filters, day=as_day(on),
        unit=resolve_unit(filters.unit, root) if filters.unit else None,
        position=resolve_position(filters.position) if filters.position else None,
        competency=resolve_competency(filters.competency) if filters.competency else None)


def subtree_ids(unit: OrgUnit) -> list[int]:
    """The ids of `unit` and every unit below it."""
    return list(db.session.scalars(sa.select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path, autoescape=True))))


def expiring_condition(days: int, moment: datetime, user_id, competency_id: int | None = None):
    """SQL: the official (a column) holds a valid record at `moment` that ends within `days`, of that
    competency or of any, and no renewal already lasts past the window."""
    end = moment + timedelta(days=days)
    record, longer = aliased(CompetencyRecord), aliased(CompetencyRecord)
    renewed = holds_condition(record.user_id, record.competency_id, end, longer)
    condition = sa.exists().where(record.user_id == user_id, record_valid_at(moment, record),
                                  record.expires_at <= end, ~renewed)
    if competency_id is not None:
        condition = condition.where(record.competency_id == competency_id)
    return condition


def conditions(selection: Selection) -> list:
    """The filters as SQL conditions on HrOfficial."""
    s, f, moment = HrOfficial, selection.filters, selection.moment
    where = []
    if selection.within is not None:
        # The subtree as a prefix of the official's own unit path (digits and "/" only: nothing to
        # escape). The planner estimates it from the column's statistics and reads a ward's officials
        # as one index range; a city's it reads in name order, stopping after a page.
        where.append(s.unit_path.like(selection.within.path + "%"))
    if selection.position is not None:
        where.append(s.position_id == selection.position.id)
    if f.q:
        needles = {fold(f.q), f.q.lower()}
        where.append(sa.or_(*(s.search_text.contains(needle, autoescape=True) for needle in needles)))
    if selection.competency is not None and f.holding:
        holds = holds_condition(s.user_id, selection.competency.id, moment)
        where.append(holds if f.holding == "yes" else ~holds)
    if f.status:
        qualified = s.qualified_until > selection.day
        where.append(qualified if f.status == "qualified" else ~qualified)
    if f.expiring:
        where.append(expiring_condition(f.expiring, moment, s.user_id,
                                        selection.competency.id if selection.competency else None))
    return where + list(selection.extra)


def officials_ids(selection: Selection):
    """Select of the matching officials' ids, in Vietnamese name order (given name first)."""
    return sa.select(HrOfficial.user_id).where(*conditions(selection)) \
        .order_by(HrOfficial.sort_key, HrOfficial.user_id)


def officials_rows(selection: Selection, *columns):
    """Select of `columns` (of User and anything joined to it) for the matching officials, in the
    list's order: what the exports read a chunk at a time."""
    return sa.select(*columns).select_from(HrOfficial).join(User, User.id == HrOfficial.user_id) \
        .where(*conditions(selection)).order_by(HrOfficial.sort_key, HrOfficial.user_id)


@dataclass(frozen=True)
class Total:
    """How many officials match: `n` exactly, or at least `n` (more than COUNT_CAP) when not `exact`."""

    n: int
    exact: bool = True


def count_officials(selection: Selection, cap: int = COUNT_CAP) -> Total:
    """The number of matching officials: from the kept counts when they can say it, else counted up
    to `cap` rows (then "more than `cap`")."""
    f = selection.filters
    if not f.q and not selection.extra:
        within = selection.within
        n = counts.matching_officials(
            [within.id] if within is not None else None, selection.day,
            position_id=selection.position.id if selection.position else None, status=f.status,
            competency_id=selection.competency.id if selection.competency else None, holding=f.holding,
            expiring=f.expiring)
        if n is not None:
            return Total(n)
    limited = sa.select(HrOfficial.user_id).where(*conditions(selection)).limit(cap + 1).subquery()
    n = db.session.scalar(sa.select(sa.func.count()).select_from(limited)) or 0
    return Total(min(n, cap), exact=n <= cap)


@dataclass
class OfficialsPage:
    """One page of a list, shaped like Flask-SQLAlchemy's Pagination for the templates."""

    items: list[User]
    page: int
    per_page: int
    total: Total
    qualified: set[int] = field(default_factory=set)  # ids of those on the page who qualify

    @property
    def pages(self) -> int:
        return max(1, -(-self.total.n // self.per_page)) + (0 if self.total.exact else 1)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages or (not self.total.exact and len(self.items) == self.per_page)

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def page_of_officials(selection: Selection, page: int = 1, per_page: int = PER_PAGE,
                      cap: int | None = None) -> OfficialsPage:
    """`per_page` officials of page `page` with their unit and position loaded, who of them qualify,
    and the total (exact when the kept counts know it, else counted up to `cap`, PAGE_COUNT_CAP
    unless given)."""
    cap = cap or PAGE_COUNT_CAP
    page = min(max(int(page or 1), 1), MAX_PAGE)
    ids = list(db.session.scalars(officials_ids(selection).limit(per_page).offset((page - 1) * per_page)))
    people = {user.id: user for user in db.session.scalars(
        sa.select(User).where(User.id.in_(ids)).options(joinedload(User.unit), joinedload(User.position)))} \
        if ids else {}
    return OfficialsPage(items=[people[user_id] for user_id in ids if user_id in people], page=page,
                         per_page=per_page, total=count_officials(selection, cap),
                         qualified=qualified_ids(ids, selection.day))


def qualified_ids(user_ids: Iterable[int], on: date | datetime | None = None) -> set[int]:
    """Which of these officials (one page of a list) qualify on that day, in one query."""
    ids = list(user_ids)
    if not ids:
        return set()
    return set(db.session.scalars(sa.select(HrOfficial.user_id).where(
        HrOfficial.user_id.in_(ids), HrOfficial.qualified_until > as_day(on))))


def candidates_condition(position: Position, day: date) -> list:
    """SQL conditions on HrOfficial: holds every competency `position` requires on `day` (whatever
    their current position): who could be moved into it."""
    moment = moment_of(day)
    holder = SimpleNamespace(position=position)  # what required_competencies reads of an official
    return [holds_condition(HrOfficial.user_id, competency.id, moment)
            for competency in required_competencies(holder)]


def with_extra(selection: Selection, *extra) -> Selection:
    return replace(selection, extra=list(selection.extra) + list(extra))


# --------------------------------------------------------------------------- states of a page of officials
@dataclass(frozen=True)
class CompetencyState:
    state: str  # held | expiring | expired | missing
    expires_at: datetime | None


MISSING = CompetencyState("missing", None)


def competency_states(user_ids: Iterable[int], on: date | datetime | None = None
                      ) -> dict[int, dict[int, CompetencyState]]:
    """For each official, competency id → the state of their longest-lasting unrevoked record
    (one aggregate query; the same states as the official's page). Absent means missing."""
    moment = moment_of(as_day(on)) if not isinstance(on, datetime) else on
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
