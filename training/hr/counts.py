"""Reading HR's kept figures (training.hr.models) for exactly the units a page shows.

Every function takes the units whose figures are wanted and reads only their buckets: the cost of a
page follows the rows it shows, not the officials or records beneath them. "Held on day D" is the sum
of the buckets of days after D; "expiring within N days" of the days after D up to D + N; "qualified"
of the qualified-until buckets after D; a unit's officials are all of its qualified-until buckets.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from training.extensions import db
from training.hr.models import HrUnitCompetencyDay, HrUnitMonth, HrUnitQualifiedDay
from training.hr.upkeep import TREND_MONTHS, previous_month_end, snapshot_through

EXPIRING_WINDOWS = (30, 60, 90)

# A row of figures is (unit id, direct): direct=True counts only the officials attached to the unit
# itself, direct=False its whole subtree.
Key = tuple[int, bool]


@dataclass
class Figures:
    officials: int = 0
    qualified: int = 0
    held: dict[int, int] = field(default_factory=dict)  # competency id → officials holding it
    # competency id → {30: n, 60: n, 90: n}: officials whose best record ends within N days
    expiring: dict[int, dict[int, int]] = field(default_factory=dict)

    def add(self, other: Figures) -> None:
        self.officials += other.officials
        self.qualified += other.qualified
        for competency_id, n in other.held.items():
            self.held[competency_id] = self.held.get(competency_id, 0) + n
        for competency_id, windows in other.expiring.items():
            mine = self.expiring.setdefault(competency_id, {days: 0 for days in EXPIRING_WINDOWS})
            for days, n in windows.items():
                mine[days] += n


def without_jit() -> None:
    """For the rest of this transaction, no JIT compilation on PostgreSQL. HR's reads are short
    queries over a few hundred rows, but a correlated EXISTS over the records can be estimated in
    the millions (past jit_above_cost): compiling it then takes 100–300 ms, far longer than running
    it (EXPLAIN ANALYZE of a ward's overview: 0.3 ms of work, 268 ms of JIT)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL jit = off"))


def _keys_condition(model, keys: Iterable[Key]):
    tree = sorted({unit_id for unit_id, direct in keys if not direct})
    direct = sorted({unit_id for unit_id, is_direct in keys if is_direct})
    parts = []
    if tree:
        parts.append(sa.and_(model.direct.is_(False), model.unit_id.in_(tree)))
    if direct:
        parts.append(sa.and_(model.direct.is_(True), model.unit_id.in_(direct)))
    return sa.or_(*parts) if parts else sa.false()


def unit_figures(keys: Iterable[Key], day: date, position_id: int | None = None,
                 held_for: Iterable[Key] | None = None) -> dict[Key, Figures]:
    """Officials, qualified, held and expiring per competency on `day`, for each (unit, direct);
    the competencies only for `held_for` when given (a list of a city's 3,321 wards needs only
    their officials and qualified: a fifth of the buckets)."""
    keys = list(keys)
    held_keys = keys if held_for is None else list(held_for)
    result: dict[Key, Figures] = {key: Figures() for key in keys}
    if not keys:
        return result
    q = HrUnitQualifiedDay
    stmt = sa.select(q.unit_id, q.direct, sa.func.sum(q.officials),
                     sa.func.sum(sa.case((q.day > day, q.officials), else_=0))) \
        .where(_keys_condition(q, keys)).group_by(q.unit_id, q.direct)
    if position_id is not None:
        stmt = stmt.where(q.position_id == position_id)
    for unit_id, direct, officials, qualified in db.session.execute(stmt):
        figures = result.get((unit_id, direct))
        if figures is not None:
            figures.officials, figures.qualified = int(officials or 0), int(qualified or 0)
    c = HrUnitCompetencyDay
    windows = [sa.func.sum(sa.case((c.day <= day + timedelta(days=days), c.officials), else_=0))
               for days in EXPIRING_WINDOWS]
    if not held_keys:
        return result
    stmt = sa.select(c.unit_id, c.direct, c.competency_id, sa.func.sum(c.officials), *windows) \
        .where(_keys_condition(c, held_keys), c.day > day).group_by(c.unit_id, c.direct, c.competency_id)
    if position_id is not None:
        stmt = stmt.where(c.position_id == position_id)
    for unit_id, direct, competency_id, held, *soon in db.session.execute(stmt):
        figures = result.get((unit_id, direct))
        if figures is not None:
            figures.held[competency_id] = int(held or 0)
            figures.expiring[competency_id] = {days: int(n or 0) for days, n in zip(EXPIRING_WINDOWS, soon)}
    return result


def children_counts(parent_id: int, day: date) -> list[tuple[str, str, int, int]]:
    """(code, name, officials, qualified on `day`) of each unit right below `parent_id`, in
    Vietnamese order, in one query over their subtrees' buckets (a city's 3,321 wards: 45 ms)."""
    from training.models import OrgUnit

    q = HrUnitQualifiedDay
    stmt = sa.select(OrgUnit.code, OrgUnit.name, sa.func.coalesce(sa.func.sum(q.officials), 0),
                     sa.func.coalesce(sa.func.sum(sa.case((q.day > day, q.officials), else_=0)), 0)) \
        .select_from(OrgUnit).outerjoin(q, sa.and_(q.unit_id == OrgUnit.id, q.direct.is_(False))) \
        .where(OrgUnit.parent_id == parent_id) \
        .group_by(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.sort_key).order_by(OrgUnit.sort_key, OrgUnit.code)
    return [(code, name, int(officials), int(qualified))
            for code, name, officials, qualified in db.session.execute(stmt)]


def total_figures(unit_ids: Iterable[int], day: date) -> Figures:
    """The figures of several subtrees added together (the admin's "every unit": the top-level units)."""
    total = Figures()
    for figures in unit_figures([(unit_id, False) for unit_id in unit_ids], day).values():
        total.add(figures)
    return total


@dataclass
class PositionFigures:
    officials: dict[int, int]                # position id → officials in it
    held: dict[tuple[int, int], int]         # (position id, competency id) → officials holding it


def position_figures(unit_ids: Iterable[int], day: date) -> PositionFigures:
    """Per position, over these subtrees: its officials and how many hold each competency on `day`."""
    unit_ids = sorted(set(unit_ids))
    q, c = HrUnitQualifiedDay, HrUnitCompetencyDay
    officials: dict[int, int] = defaultdict(int)
    held: dict[tuple[int, int], int] = defaultdict(int)
    if not unit_ids:
        return PositionFigures({}, {})
    for position_id, n in db.session.execute(
            sa.select(q.position_id, sa.func.sum(q.officials))
            .where(q.direct.is_(False), q.unit_id.in_(unit_ids)).group_by(q.position_id)):
        officials[position_id] += int(n or 0)
    for position_id, competency_id, n in db.session.execute(
            sa.select(c.position_id, c.competency_id, sa.func.sum(c.officials))
            .where(c.direct.is_(False), c.unit_id.in_(unit_ids), c.day > day)
            .group_by(c.position_id, c.competency_id)):
        held[position_id, competency_id] += int(n or 0)
    return PositionFigures(dict(officials), dict(held))


def month_ends(day: date, months: int = TREND_MONTHS) -> list[date]:
    """The last `months` points of the trend, oldest first: each month's last day, `day` for the current one."""
    points = [day]
    end = previous_month_end(day)
    while len(points) < max(months, 1):
        points.append(end)
        end = previous_month_end(end)
    return list(reversed(points))


def monthly(unit_ids: Iterable[int], day: date, months: int = TREND_MONTHS) -> list[tuple[date, int, int]]:
    """(day, officials, qualified) of these subtrees at the end of each of the last `months` months
    (the current one: on `day`), oldest first. Finished months come from their snapshot; a month not
    yet taken (no change since it ended) and today come from the buckets."""
    unit_ids = sorted(set(unit_ids))
    points = month_ends(day, months)
    if not unit_ids:
        return [(point, 0, 0) for point in points]
    taken = snapshot_through(db.session.connection())
    stored = {point for point in points if point != day and taken is not None and point <= taken}
    result: dict[date, tuple[int, int]] = {point: (0, 0) for point in points}
    if stored:
        for point, officials, qualified in db.session.execute(
                sa.select(HrUnitMonth.day, sa.func.sum(HrUnitMonth.officials), sa.func.sum(HrUnitMonth.qualified))
                .where(HrUnitMonth.unit_id.in_(unit_ids), HrUnitMonth.day.in_(sorted(stored)))
                .group_by(HrUnitMonth.day)):
            result[point] = (int(officials or 0), int(qualified or 0))
    live = [point for point in points if point not in stored]
    if live:
        q = HrUnitQualifiedDay
        sums = [sa.func.sum(sa.case((q.day > point, q.officials), else_=0)) for point in live]
        row = db.session.execute(sa.select(sa.func.sum(q.officials), *sums)
                                 .where(q.direct.is_(False), q.unit_id.in_(unit_ids))).one()
        officials = int(row[0] or 0)
        for point, qualified in zip(live, row[1:]):
            result[point] = (officials, int(qualified or 0))
    return [(point, *result[point]) for point in points]


def matching_officials(unit_ids: Iterable[int] | None, day: date, *, position_id: int | None = None,
                       status: str = "", competency_id: int | None = None, holding: str = "",
                       expiring: int | None = None) -> int | None:
    """How many officials of these subtrees (None: everyone) match, when the buckets can say it
    exactly: one filter of status / holding / expiring at most, with or without a position.
    None when they cannot (the caller counts the rows)."""
    chosen = [bool(status), bool(holding), bool(expiring)]
    if sum(chosen) > 1 or ((holding or expiring) and competency_id is None):
        return None
    q, c = HrUnitQualifiedDay, HrUnitCompetencyDay

    def scoped(model, stmt):
        stmt = stmt.where(model.direct.is_(False))
        if unit_ids is not None:
            stmt = stmt.where(model.unit_id.in_(sorted(set(unit_ids))))
        else:
            from training.models import OrgUnit

            stmt = stmt.where(model.unit_id.in_(sa.select(OrgUnit.id).where(OrgUnit.parent_id.is_(None))))
        if position_id is not None:
            stmt = stmt.where(model.position_id == position_id)
        return stmt

    officials = db.session.scalar(scoped(q, sa.select(sa.func.coalesce(sa.func.sum(q.officials), 0)))) or 0
    if not any(chosen):
        return int(officials)
    if status:
        qualified = db.session.scalar(scoped(q, sa.select(sa.func.coalesce(sa.func.sum(q.officials), 0))
                                             .where(q.day > day))) or 0
        return int(qualified if status == "qualified" else officials - qualified)
    window = c.day > day
    if expiring:
        window = sa.and_(window, c.day <= day + timedelta(days=expiring))
    held = db.session.scalar(scoped(c, sa.select(sa.func.coalesce(sa.func.sum(c.officials), 0))
                                    .where(c.competency_id == competency_id, window))) or 0
    if expiring or holding == "yes":
        return int(held)
    return int(officials - held)
