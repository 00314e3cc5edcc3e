"""The HR overview of a scope: one row per unit below it, their total, the heat map and the trend.

Figures come from the kept counts (training.hr.counts), read for the rows shown only: a page of a
city's 3,321 wards reads the buckets of its 60 wards and of the city, never its officials. Only active
officials attached to a unit count, as in `is_digitally_capable`. Everything is "on a day" in
Vietnam: a record expiring that day no longer counts (`moment_of(date)`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import sqlalchemy as sa
from flask import current_app

from training.extensions import db
from training.hr import counts
from training.hr.counts import EXPIRING_WINDOWS, Figures
from training.hr.upkeep import ancestors, vietnam_day
from training.models import Competency, OrgUnit
from training.services.qualification import moment_of

UNIT_ROWS_PER_PAGE = 25  # a page of a city stays well under 100 KB (heat map, bars and their tables)


def as_day(on: date | datetime | None) -> date:
    """The day in Vietnam that `on` falls on (a date is itself; None: today)."""
    if on is None:
        from training.hr.upkeep import today

        return today()
    if isinstance(on, datetime):
        return vietnam_day(on if on.tzinfo else on.replace(tzinfo=timezone.utc))
    return on


def competency_columns() -> list[Competency]:
    """Every competency of the framework in its order: the columns of every table and chart."""
    return list(db.session.scalars(sa.select(Competency).order_by(Competency.sort_order, Competency.code)))


def scope_unit_ids(root: OrgUnit | None) -> list[int]:
    """The subtrees whose figures make up `root`'s: its own, or every top-level unit's for None."""
    if root is not None:
        return [root.id]
    return list(db.session.scalars(sa.select(OrgUnit.id).where(OrgUnit.parent_id.is_(None))))


# --------------------------------------------------------------------------- rows
@dataclass
class UnitRow:
    """One line of the overview: a unit's subtree (or the officials attached directly to it)."""

    unit: OrgUnit
    officials: int = 0
    qualified: int = 0
    held: dict[str, int] = field(default_factory=dict)  # competency code → officials holding it
    # competency code → {30: n, 60: n, 90: n}: officials whose valid record expires within N days
    expiring: dict[str, dict[int, int]] = field(default_factory=dict)
    overdue_assignments: int | None = None  # None when no package reports assignments
    direct: bool = False  # True: only the officials attached to `unit` itself, not its sub-units

    @property
    def qualified_share(self) -> float:
        return self.qualified / self.officials if self.officials else 0.0

    def held_share(self, code: str) -> float:
        return self.held.get(code, 0) / self.officials if self.officials else 0.0


_NONE_EXPIRING = {days: 0 for days in EXPIRING_WINDOWS}


def _row(unit: OrgUnit, figures: Figures, columns: list[tuple[int, str]], direct: bool = False) -> UnitRow:
    """`columns`: (id, code) of each competency."""
    held, expiring = figures.held, figures.expiring
    return UnitRow(unit=unit, officials=figures.officials, qualified=figures.qualified, direct=direct,
                   held={code: held.get(cid, 0) for cid, code in columns},
                   expiring={code: expiring.get(cid, _NONE_EXPIRING) for cid, code in columns})


def everything_unit() -> OrgUnit:
    # Admin's "everything" has no unit of its own: a transient stand-in, never added to the session.
    from flask_babel import gettext as _

    return OrgUnit(id=0, code="", name=_("Tất cả đơn vị"), unit_type="", path="/", depth=-1)


def children(root: OrgUnit | None, page: int | None = None, per_page: int = UNIT_ROWS_PER_PAGE
             ) -> tuple[list[OrgUnit], int]:
    """The units right below `root` (top-level units for None) in Vietnamese order, a page of them
    (all without `page`), and how many there are."""
    where = OrgUnit.parent_id.is_(None) if root is None else OrgUnit.parent_id == root.id
    stmt = sa.select(OrgUnit).where(where).order_by(OrgUnit.sort_key, OrgUnit.code)
    total = db.session.scalar(sa.select(sa.func.count(OrgUnit.id)).where(where)) or 0
    if page is not None:
        stmt = stmt.limit(per_page).offset((max(page, 1) - 1) * per_page)
    return list(db.session.scalars(stmt)), total


@dataclass
class Summary:
    rows: list[UnitRow]  # the direct row first (when there is one), then a page of the units below
    total: UnitRow
    page: int = 1
    pages: int = 1
    units: int = 0  # units below root, all pages


def summary(root: OrgUnit | None, on: date | datetime | None = None, *, page: int | None = None,
            per_page: int = UNIT_ROWS_PER_PAGE) -> Summary:
    """The overview rows of `root`: for a city its wards and communes, for a ward its departments
    preceded by a row (`direct=True`, `unit` = the ward) for officials attached to the ward itself
    when there are any, for None (admin) the top-level units; `page` of them (all without it), and
    the total of the whole scope."""
    day = as_day(on)
    competencies = [(c.id, c.code) for c in competency_columns()]
    below, count = children(root, page, per_page)
    pages = max(1, -(-count // per_page)) if page is not None else 1
    if page is not None and page > pages:
        below, count = children(root, pages, per_page)
    keys = [(unit.id, False) for unit in below]
    if root is not None:
        keys += [(root.id, True), (root.id, False)]
    figures = counts.unit_figures(keys, day)
    rows = [_row(unit, figures[unit.id, False], competencies) for unit in below]
    if root is not None and figures[root.id, True].officials:
        rows.insert(0, _row(root, figures[root.id, True], competencies, direct=True))
    if root is not None:
        total = _row(root, figures[root.id, False], competencies)
    else:
        everything = Figures()
        if page is None or pages == 1:
            for unit in below:
                everything.add(figures[unit.id, False])
        else:
            everything = counts.total_figures(scope_unit_ids(None), day)
        total = _row(everything_unit(), everything, competencies)
    _add_metrics(root, day, rows, total)
    return Summary(rows=rows, total=total, page=min(max(page or 1, 1), pages), pages=pages, units=count)


def _add_metrics(root: OrgUnit | None, day: date, rows: list[UnitRow], total: UnitRow) -> None:
    """Figures other packages report per unit (app.extensions["hr_unit_metrics"]): each provider is
    `callable(root, on) -> {unit_id: count}`, keyed by the officials' own unit."""
    providers = current_app.extensions.get("hr_unit_metrics", {})
    provider = providers.get("overdue_assignments")
    if provider is None:
        return
    per_unit = provider(root, moment_of(day))
    for row in rows:
        row.overdue_assignments = 0
    total.overdue_assignments = sum(per_unit.values())
    if not per_unit:
        return
    paths = dict(db.session.execute(sa.select(OrgUnit.id, OrgUnit.path).where(OrgUnit.id.in_(list(per_unit)))).all())
    by_row = {(row.unit.id, row.direct): row for row in rows}
    for unit_id, n in per_unit.items():
        line = ancestors(paths.get(unit_id, ""))
        if root is not None and unit_id == root.id:
            row = by_row.get((root.id, True))
        else:
            depth = line.index(root.id) + 1 if root is not None and root.id in line else 0
            row = by_row.get((line[depth], False)) if depth < len(line) else None
        if row is not None:
            row.overdue_assignments += n


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


# --------------------------------------------------------------------------- trend
def qualified_trend(root: OrgUnit | None, on: date | datetime | None = None,
                    months: int = 12) -> list[tuple[date, float]]:
    """Share of the scope's active officials qualified at the end of each of the last `months`
    months, oldest first; the current month is measured on `on`. A finished month is the snapshot
    taken at its end (who was counted where then)."""
    points = counts.monthly(scope_unit_ids(root), as_day(on), months)
    return [(day, (qualified / officials) if officials else 0.0) for day, officials, qualified in points]
