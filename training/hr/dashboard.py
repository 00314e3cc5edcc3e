"""The HR dashboard's numbers: per unit, per competency, per position, over time.

Every count is an aggregate in the database. Officials are grouped by their own unit (at most a
few thousand groups, nationally 3,321), and those groups are folded into the rows the page shows
(the child units of the unit being looked at) in Python: a loop over units, never over officials.
Only active officials count, as in `is_digitally_capable`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from training.extensions import db
from training.models import Competency, CompetencyRecord, OrgUnit, Position, User, position_competencies
from training.services.qualification import VIETNAM, _moment, qualified_condition
from training.vntext import fold

EXPIRING_WINDOWS = (30, 60, 90)
STATUSES = ("qualified", "not_qualified")


def as_moment(on: date | datetime | None) -> datetime:
    """A UTC moment; a date means the end of that day in Vietnam, as in the qualification rule."""
    return _moment(on)


def competency_columns() -> list[Competency]:
    """Every competency of the framework in its order: the columns of every table and chart."""
    return list(db.session.scalars(sa.select(Competency).order_by(Competency.sort_order, Competency.code)))


# --------------------------------------------------------------------------- building blocks
def subtree_unit_ids(root: OrgUnit | None):
    """Select of the ids of `root`'s subtree (every unit when root is None)."""
    stmt = sa.select(OrgUnit.id)
    if root is not None:
        stmt = stmt.where(OrgUnit.path.startswith(root.path, autoescape=True))
    return stmt


def _in_subtree(root: OrgUnit | None):
    """SQL condition on User: the official belongs to a unit of `root`'s subtree."""
    if root is None:
        return User.unit_id.is_not(None)
    return User.unit_id.in_(subtree_unit_ids(root))


def valid_record_exists(moment: datetime, competency_id=None):
    """EXISTS: the official (User row) holds an unrevoked record valid at `moment`."""
    condition = sa.exists().where(
        CompetencyRecord.user_id == User.id, CompetencyRecord.revoked_at.is_(None),
        CompetencyRecord.achieved_at <= moment, CompetencyRecord.expires_at > moment)
    if competency_id is not None:
        condition = condition.where(CompetencyRecord.competency_id == competency_id)
    # Correlate to the official however deeply this is nested (candidates_for nests it twice).
    return condition.correlate_except(CompetencyRecord)


def _children(root: OrgUnit | None) -> list[OrgUnit]:
    stmt = sa.select(OrgUnit).order_by(OrgUnit.sort_key, OrgUnit.code)
    if root is None:
        return list(db.session.scalars(stmt.where(OrgUnit.parent_id.is_(None))))
    return list(db.session.scalars(stmt.where(OrgUnit.parent_id == root.id)))


def _row_of_unit(root: OrgUnit | None) -> dict[int, int]:
    """Each unit of the subtree → the row it is counted in: its child of `root` on the way down,
    or root itself for officials attached directly to root."""
    stmt = sa.select(OrgUnit.id, OrgUnit.path)
    depth_offset = 0
    if root is not None:
        stmt = stmt.where(OrgUnit.path.startswith(root.path, autoescape=True))
        depth_offset = len(root.path.strip("/").split("/"))
    mapping = {}
    for unit_id, path in db.session.execute(stmt):
        parts = path.strip("/").split("/")
        mapping[unit_id] = int(parts[depth_offset]) if len(parts) > depth_offset else unit_id
    return mapping


# --------------------------------------------------------------------------- per unit
@dataclass
class UnitRow:
    """One line of the dashboard: a unit's subtree (or the officials attached directly to it)."""

    unit: OrgUnit
    officials: int = 0
    qualified: int = 0
    held: dict[str, int] = field(default_factory=dict)  # competency code → officials holding it now
    # competency code → {30: n, 60: n, 90: n}: officials whose valid record expires within N days
    expiring: dict[str, dict[int, int]] = field(default_factory=dict)
    overdue_assignments: int | None = None  # None when no package reports assignments
    direct: bool = False  # True: only the officials attached to `unit` itself, not its sub-units

    @property
    def qualified_share(self) -> float:
        return self.qualified / self.officials if self.officials else 0.0

    def held_share(self, code: str) -> float:
        return self.held.get(code, 0) / self.officials if self.officials else 0.0


def _unit_metrics(root: OrgUnit | None, on: datetime) -> dict[str, dict[int, int]]:
    """Metrics other packages report per unit (app.extensions["hr_unit_metrics"]).

    Each provider is `callable(root, on) -> {unit_id: count}`, keyed by the officials' own unit.
    """
    providers = current_app.extensions.get("hr_unit_metrics", {})
    return {name: provider(root, on) for name, provider in providers.items()}


@dataclass
class _Raw:
    officials: dict[int, int]
    qualified: dict[int, int]
    held: dict[tuple[int, int], int]
    expiring: dict[tuple[int, int, int], int]
    metrics: dict[str, dict[int, int]]


def _raw_counts(root: OrgUnit | None, moment: datetime) -> _Raw:
    """The aggregates, grouped by each official's own unit."""
    people = sa.select(User.unit_id, sa.func.count(User.id),
                       sa.func.sum(sa.case((qualified_condition(moment), 1), else_=0))) \
        .where(User.active.is_(True), _in_subtree(root)).group_by(User.unit_id)
    officials, qualified = {}, {}
    for unit_id, count, good in db.session.execute(people):
        officials[unit_id] = count
        qualified[unit_id] = int(good or 0)

    # The longest-lasting valid record of each official and competency, then counted per unit.
    best = sa.select(User.unit_id, CompetencyRecord.user_id, CompetencyRecord.competency_id,
                     sa.func.max(CompetencyRecord.expires_at).label("best")) \
        .join(User, User.id == CompetencyRecord.user_id) \
        .where(User.active.is_(True), _in_subtree(root), CompetencyRecord.revoked_at.is_(None),
               CompetencyRecord.achieved_at <= moment, CompetencyRecord.expires_at > moment) \
        .group_by(User.unit_id, CompetencyRecord.user_id, CompetencyRecord.competency_id).subquery()
    windows = [sa.func.sum(sa.case((best.c.best <= moment + timedelta(days=days), 1), else_=0))
               for days in EXPIRING_WINDOWS]
    records = sa.select(best.c.unit_id, best.c.competency_id, sa.func.count(), *windows) \
        .group_by(best.c.unit_id, best.c.competency_id)
    held, expiring = {}, {}
    for unit_id, competency_id, count, *soon in db.session.execute(records):
        held[unit_id, competency_id] = count
        for days, n in zip(EXPIRING_WINDOWS, soon):
            expiring[unit_id, competency_id, days] = int(n or 0)
    return _Raw(officials, qualified, held, expiring, _unit_metrics(root, moment))


def _fold(rows: dict[int, UnitRow], mapping: dict[int, int], raw: _Raw, competencies: list[Competency]) -> None:
    codes = {c.id: c.code for c in competencies}
    for unit_id, count in raw.officials.items():
        row = rows.get(mapping.get(unit_id))
        if row is not None:
            row.officials += count
            row.qualified += raw.qualified[unit_id]
    for (unit_id, competency_id), count in raw.held.items():
        row = rows.get(mapping.get(unit_id))
        if row is not None and competency_id in codes:
            code = codes[competency_id]
            row.held[code] += count
            for days in EXPIRING_WINDOWS:
                row.expiring[code][days] += raw.expiring[unit_id, competency_id, days]
    overdue = raw.metrics.get("overdue_assignments")
    if overdue is not None:
        for row in rows.values():
            row.overdue_assignments = 0
        for unit_id, count in overdue.items():
            row = rows.get(mapping.get(unit_id))
            if row is not None:
                row.overdue_assignments += count


def _empty_row(unit: OrgUnit, competencies: list[Competency], direct: bool = False) -> UnitRow:
    return UnitRow(unit=unit, held={c.code: 0 for c in competencies},
                   expiring={c.code: {days: 0 for days in EXPIRING_WINDOWS} for c in competencies},
                   direct=direct)


def _all_units_pseudo_root() -> OrgUnit:
    # Admin's "everything" has no unit of its own: a transient stand-in, never added to the session.
    from flask_babel import gettext as _

    return OrgUnit(id=0, code="", name=_("Tất cả đơn vị"), unit_type="", path="/", depth=-1)


def summary(root: OrgUnit | None, on: date | datetime | None = None) -> tuple[list[UnitRow], UnitRow]:
    """The dashboard rows of `root` (see `unit_rows`) and its total, from one set of queries."""
    moment = as_moment(on)
    competencies = competency_columns()
    raw = _raw_counts(root, moment)
    mapping = _row_of_unit(root)
    children = _children(root)
    rows = {unit.id: _empty_row(unit, competencies) for unit in children}
    direct = None
    if root is not None and raw.officials.get(root.id):
        direct = _empty_row(root, competencies, direct=True)
        rows[root.id] = direct
    _fold(rows, mapping, raw, competencies)
    total = _empty_row(root if root is not None else _all_units_pseudo_root(), competencies)
    _fold({total.unit.id: total}, {unit_id: total.unit.id for unit_id in mapping}, raw, competencies)
    ordered = ([direct] if direct is not None else []) + [rows[unit.id] for unit in children]
    return ordered, total


def unit_rows(root: OrgUnit | None, on: date | datetime | None = None) -> list[UnitRow]:
    """One row per child unit of `root`, each counting its whole subtree, in Vietnamese order.

    For a city: its wards and communes; for a ward: its departments, preceded by a row
    (`direct=True`, `unit` = the ward) for officials attached to the ward itself when there are
    any; for None (admin): the top-level units.
    """
    return summary(root, on)[0]


def total_row(root: OrgUnit | None, on: date | datetime | None = None) -> UnitRow:
    """The same counts for `root`'s whole subtree (everyone in a unit when root is None)."""
    return summary(root, on)[1]


# --------------------------------------------------------------------------- heat map
@dataclass
class Heatmap:
    units: list[OrgUnit]
    competencies: list[Competency]
    # (unit id, competency code) → share 0..1 of the unit's active officials holding it;
    # absent when the unit has no active official.
    share: dict[tuple[int, str], float]
    officials: dict[int, int]  # unit id → active officials
    direct_unit_id: int | None = None  # the row of officials attached directly to root, if any


def heatmap_from_rows(rows: list[UnitRow], competencies: list[Competency]) -> Heatmap:
    share = {(row.unit.id, c.code): row.held_share(c.code) for row in rows if row.officials
             for c in competencies}
    direct = next((row.unit.id for row in rows if row.direct), None)
    return Heatmap(units=[row.unit for row in rows], competencies=competencies, share=share,
                   officials={row.unit.id: row.officials for row in rows}, direct_unit_id=direct)


def heatmap(root: OrgUnit | None, on: date | datetime | None = None) -> Heatmap:
    """Units (the rows of `unit_rows`) × competencies: the share of officials holding each."""
    return heatmap_from_rows(unit_rows(root, on), competency_columns())


# --------------------------------------------------------------------------- trend
def _month_end(year: int, month: int) -> date:
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def qualified_trend(root: OrgUnit | None, on: date | datetime | None = None,
                    months: int = 12) -> list[tuple[date, float]]:
    """Share of the subtree's active officials qualified at the end of each of the last `months`
    months, oldest first; the current month is measured at `on`.

    The rule is `qualified_condition`'s, evaluated for all months in one pass over the records
    (a test checks both agree at every point): twelve correlated conditions per official took
    seconds for a city of 12,000 officials.
    """
    moment = as_moment(on)
    local = moment.astimezone(VIETNAM).date()
    points: list[tuple[date, datetime]] = []
    year, month = local.year, local.month
    for _ in range(max(months, 1)):
        end = _month_end(year, month)
        if end >= local:
            points.append((local, moment))
        else:
            points.append((end, as_moment(end)))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    points.reverse()
    counts = qualified_counts_at(root, [at for _, at in points])
    total = db.session.scalar(sa.select(sa.func.count(User.id)).where(User.active.is_(True), _in_subtree(root)))
    return [(day, (n / total) if total else 0.0) for (day, _), n in zip(points, counts)]


def _requirements(root: OrgUnit | None):
    """Subquery (user_id, competency_id): what each active official of the subtree must hold —
    their position's competencies, or the core ones without a position (as `required_competencies`)."""
    in_scope = sa.and_(User.active.is_(True), _in_subtree(root))
    by_position = sa.select(User.id.label("user_id"), position_competencies.c.competency_id.label("competency_id")) \
        .join(position_competencies, position_competencies.c.position_id == User.position_id).where(in_scope)
    by_core = sa.select(User.id.label("user_id"), Competency.id.label("competency_id")) \
        .join(Competency, Competency.is_core.is_(True)).where(in_scope, User.position_id.is_(None))
    return sa.union_all(by_position, by_core).subquery()


def qualified_counts_at(root: OrgUnit | None, moments: list[datetime]) -> list[int]:
    """How many active officials of the subtree qualify at each moment, in one aggregate query."""
    if not moments:
        return []
    need = _requirements(root)
    held = [sa.func.max(sa.case((sa.and_(CompetencyRecord.achieved_at <= at, CompetencyRecord.expires_at > at), 1),
                                else_=0)).label(f"m{i}") for i, at in enumerate(moments)]
    # 1 when the official holds that requirement at moment i (an official without any record gets 0s)
    per_requirement = sa.select(need.c.user_id, *held).select_from(need).outerjoin(
        CompetencyRecord, sa.and_(CompetencyRecord.user_id == need.c.user_id,
                                  CompetencyRecord.competency_id == need.c.competency_id,
                                  CompetencyRecord.revoked_at.is_(None))) \
        .group_by(need.c.user_id, need.c.competency_id).subquery()
    # qualified at moment i when every requirement is held then
    per_official = sa.select(*[sa.func.min(per_requirement.c[f"m{i}"]).label(f"m{i}") for i in range(len(moments))]) \
        .group_by(per_requirement.c.user_id).subquery()
    row = db.session.execute(sa.select(*[sa.func.sum(per_official.c[f"m{i}"]) for i in range(len(moments))])).one()
    return [int(n or 0) for n in row]


# --------------------------------------------------------------------------- positions
@dataclass
class PositionGap:
    position: Position
    required: list[Competency]
    officials: int  # active officials of the subtree in this position
    lacking: dict[str, int]  # required competency code → officials in the position without it


def position_gaps(root: OrgUnit | None, on: date | datetime | None = None) -> list[PositionGap]:
    """For each position: what it requires and how many of its officials lack each requirement."""
    moment = as_moment(on)
    positions = list(db.session.scalars(sa.select(Position).order_by(Position.sort_key, Position.code)))
    in_scope = sa.and_(User.active.is_(True), _in_subtree(root))
    headcount = dict(db.session.execute(
        sa.select(User.position_id, sa.func.count(User.id)).where(in_scope, User.position_id.is_not(None))
        .group_by(User.position_id)).all())
    lacking_by = sa.select(User.position_id, Competency.code, sa.func.count(User.id)) \
        .join(position_competencies, position_competencies.c.position_id == User.position_id) \
        .join(Competency, Competency.id == position_competencies.c.competency_id) \
        .where(in_scope, ~valid_record_exists(moment, position_competencies.c.competency_id)) \
        .group_by(User.position_id, Competency.code)
    lacking: dict[tuple[int, str], int] = {(pid, code): n for pid, code, n in db.session.execute(lacking_by)}
    return [PositionGap(position=p, required=list(p.required_competencies), officials=headcount.get(p.id, 0),
                        lacking={c.code: lacking.get((p.id, c.code), 0) for c in p.required_competencies})
            for p in positions]


def lacking_officials(root: OrgUnit | None, position: Position, competency_code: str,
                      on: date | datetime | None = None):
    """Select of the active officials of the subtree in `position` without a valid record of the
    competency, in Vietnamese name order."""
    moment = as_moment(on)
    competency_id = sa.select(Competency.id).where(Competency.code == competency_code).scalar_subquery()
    return sa.select(User).where(User.active.is_(True), _in_subtree(root), User.position_id == position.id,
                                 ~valid_record_exists(moment, competency_id)).order_by(User.sort_key, User.id)


def candidates_for(position: Position, unit_root: OrgUnit | None, on: date | datetime | None = None):
    """Select of the active officials of the subtree who hold every competency `position` requires,
    whatever their current position: who could be moved into it. Vietnamese name order."""
    moment = as_moment(on)
    missing_one = sa.exists().where(
        position_competencies.c.position_id == position.id,
        ~valid_record_exists(moment, position_competencies.c.competency_id))
    return sa.select(User).where(User.active.is_(True), _in_subtree(unit_root), ~missing_one) \
        .order_by(User.sort_key, User.id)


# --------------------------------------------------------------------------- filtered lists
@dataclass
class OfficialFilters:
    """The filters every HR list of officials offers (all optional)."""

    q: str = ""  # name (with or without diacritics) or e-mail
    unit: OrgUnit | None = None  # limit to this unit's subtree
    position_id: int | None = None
    competency: str = ""  # a competency code ...
    holding: str = ""  # ... "yes": holds it valid now, "no": does not
    status: str = ""  # "qualified" / "not_qualified" (the công chức số rule)
    expiring: int | None = None  # 30/60/90: a valid record (of `competency` if set) ends within N days


def filter_officials(stmt, filters: OfficialFilters, on: date | datetime | None = None):
    """Narrow a select of User by `filters`, all as SQL conditions."""
    moment = as_moment(on)
    if filters.unit is not None:
        stmt = stmt.where(User.unit_id.in_(subtree_unit_ids(filters.unit)))
    if filters.q:
        stmt = stmt.where(sa.or_(User.search_name.contains(fold(filters.q), autoescape=True),
                                 User.email.contains(filters.q.lower(), autoescape=True)))
    if filters.position_id:
        stmt = stmt.where(User.position_id == filters.position_id)
    competency_id = None
    if filters.competency:
        competency_id = sa.select(Competency.id).where(Competency.code == filters.competency).scalar_subquery()
        if filters.holding == "yes":
            stmt = stmt.where(valid_record_exists(moment, competency_id))
        elif filters.holding == "no":
            stmt = stmt.where(~valid_record_exists(moment, competency_id))
    if filters.status == "qualified":
        stmt = stmt.where(qualified_condition(moment))
    elif filters.status == "not_qualified":
        stmt = stmt.where(~qualified_condition(moment))
    if filters.expiring in EXPIRING_WINDOWS:
        # Expiring means the longest-lasting valid record ends within the window: an official who
        # already renewed is not expiring.
        later = sa.exists().where(
            CompetencyRecord.user_id == User.id, CompetencyRecord.revoked_at.is_(None),
            CompetencyRecord.achieved_at <= moment,
            CompetencyRecord.expires_at > moment + timedelta(days=filters.expiring))
        soon = sa.select(CompetencyRecord.id).where(
            CompetencyRecord.user_id == User.id, CompetencyRecord.revoked_at.is_(None),
            CompetencyRecord.achieved_at <= moment, CompetencyRecord.expires_at > moment,
            CompetencyRecord.expires_at <= moment + timedelta(days=filters.expiring))
        if competency_id is not None:
            later = later.where(CompetencyRecord.competency_id == competency_id)
            soon = soon.where(CompetencyRecord.competency_id == competency_id)
            stmt = stmt.where(sa.exists(soon), ~later)
        else:
            same = aliased(CompetencyRecord)
            renewed = sa.exists().where(
                same.user_id == CompetencyRecord.user_id, same.competency_id == CompetencyRecord.competency_id,
                same.revoked_at.is_(None), same.achieved_at <= moment,
                same.expires_at > moment + timedelta(days=filters.expiring))
            stmt = stmt.where(sa.exists(soon.where(~renewed)))
    return stmt


def officials_list(root: OrgUnit | None, filters: OfficialFilters, on: date | datetime | None = None):
    """Select of the active officials of `root`'s subtree matching `filters`, Vietnamese order."""
    stmt = sa.select(User).where(User.active.is_(True), _in_subtree(root)).order_by(User.sort_key, User.id)
    return filter_officials(stmt, filters, on)


def qualified_ids(user_ids: list[int], on: date | datetime | None = None) -> set[int]:
    """Which of these officials (one page of a list) qualify, in one query."""
    if not user_ids:
        return set()
    return set(db.session.scalars(sa.select(User.id).where(User.id.in_(user_ids),
                                                           qualified_condition(as_moment(on)))))


# --------------------------------------------------------------------------- one official
def official_standing(official: User, on: date | datetime | None = None):
    """Every competency of the framework for one official: held, expiring, expired or missing,
    and whether their position requires it."""
    from training.services.qualification import required_competencies
    from training.services.standing import CompetencyStatus, competency_standing

    moment = as_moment(on)
    known = {item.competency.id: item for item in competency_standing(official, moment)}
    required = {c.id for c in required_competencies(official)}
    result = []
    for competency in competency_columns():
        item = known.get(competency.id) or CompetencyStatus(competency, False, None, "missing")
        item.required = competency.id in required
        result.append(item)
    return result
