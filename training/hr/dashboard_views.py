"""HR overview pages: the overview of my scope, drill-down by unit, gaps by position, who lacks what,
candidates for a position. Thin: parse, ask training.hr.overview / gaps / officials_filter, render."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from training.access import access
from training.extensions import db
from training.hr import bp, charts, overview
from training.hr.gaps import position_gaps, positions
from training.hr.officials_filter import (EXPIRING_WINDOWS, OfficialFilters, candidates_condition, page_of_officials,
                                          select_officials, small_int, with_extra)
from training.hr.models import HrOfficial
from training.hr.overview import as_day, competency_columns, heatmap_from_rows, qualified_trend
from training.hr.upkeep import needs_rebuild
from training.hr.views import _scope_or_403, filter_form_context, officials_request, typed_unit, unit_choice
from training.models import OrgUnit, Position
from training.services.org import get_unit_by_code
from training.vntext import nfc


def row_label(unit: OrgUnit, direct: bool = False) -> str:
    if not unit.code:
        return unit.name
    return _("%(name)s (trực tiếp)", name=unit.name) if direct else unit.name


def _locale() -> str:
    return str(get_locale())


def _overview(root: OrgUnit | None, day: date) -> dict:
    """Everything the overview partial shows for `root`: a page of unit rows, the total, charts."""
    rows_page = max(request.args.get("rows_page", 1, type=int) or 1, 1)
    result = overview.summary(root, day, page=rows_page, per_page=overview.UNIT_ROWS_PER_PAGE)
    rows = result.rows
    if all(row.direct for row in rows):
        rows = []  # a unit without sub-units (a department): its total says it all
    competencies = competency_columns()
    heat = heatmap_from_rows(rows, competencies)
    trend = qualified_trend(root, day)
    window = request.args.get("window", type=int)
    return {
        "rows": rows, "total": result.total, "competencies": competencies, "heat": heat, "trend": trend,
        "rows_page": result.page, "rows_pages": result.pages, "all_rows": result.units, "day": day,
        "window": window if window in EXPIRING_WINDOWS else EXPIRING_WINDOWS[0], "windows": EXPIRING_WINDOWS,
        "heatmap_svg": charts.heatmap_svg(heat, row_label, _locale()) if rows else None,
        "bars_svg": charts.bars_svg(rows, row_label) if rows else None,
        "trend_svg": charts.trend_svg(trend), "row_label": row_label, "percent": charts.percent,
        "needs_rebuild": needs_rebuild(db.session.connection()),
    }


def _unit_in_scope(code: str, root: OrgUnit | None) -> OrgUnit | None:
    unit = get_unit_by_code(code) if code else None
    if unit is None or (root is not None and not unit.is_within(root)):
        return None
    return unit


def _breadcrumbs(unit: OrgUnit, root: OrgUnit | None) -> list[OrgUnit]:
    """The units from my scope's root down to `unit`'s parent."""
    ids = [int(part) for part in unit.path.strip("/").split("/")[:-1]]
    if not ids:
        return []
    ancestors = {u.id: u for u in db.session.scalars(sa.select(OrgUnit).where(OrgUnit.id.in_(ids)))}
    return [ancestors[i] for i in ids if i in ancestors and (root is None or ancestors[i].is_within(root))]


@bp.route("/")
@access("hr", "admin")
def dashboard():
    root = _scope_or_403()
    return render_template("hr/dashboard.html", root=root, **_overview(root, as_day(None)))


@bp.route("/units/<unit_code>")
@access("hr", "admin")
def unit(unit_code: str):
    root = _scope_or_403()
    unit = _unit_in_scope(nfc(unit_code).upper(), root)
    if unit is None:
        abort(404)  # outside my scope it does not exist for me
    selection, filters, matches = officials_request(root, unit)
    page = page_of_officials(selection, request.args.get("page", 1, type=int))
    has_sub_units = db.session.scalar(sa.select(sa.literal(True)).where(OrgUnit.parent_id == unit.id).limit(1))
    return render_template("hr/unit.html", root=root, unit=unit, crumbs=_breadcrumbs(unit, root), page=page,
                           filters=filters, matches=matches, typed_unit=typed_unit(matches),
                           has_sub_units=bool(has_sub_units),
                           **{**filter_form_context(), **_overview(unit, selection.day)})


def _gaps_unit(root: OrgUnit | None) -> tuple[OrgUnit | None, list[OrgUnit]]:
    return unit_choice(root, request.args.get("unit", ""))


@bp.route("/gaps")
@access("hr", "admin")
def gaps():
    root = _scope_or_403()
    day = as_day(None)
    unit, matches = _gaps_unit(root)
    position_id = small_int(request.args.get("position", "")) or 0
    return render_template("hr/gaps.html", root=root, unit=unit, unit_code=unit.code if unit else "",
                           typed_unit=typed_unit(matches), matches=matches, position_id=position_id,
                           gaps=position_gaps(unit or root, day, position_id or None),
                           competencies=competency_columns(), positions=positions())


def _position_or_none(value) -> Position | None:
    number = small_int(value or "")
    return db.session.get(Position, number) if number is not None else None


@bp.route("/gaps/officials")
@access("hr", "admin")
def gap_officials():
    root = _scope_or_403()
    position = _position_or_none(request.args.get("position"))
    code = nfc(request.args.get("competency", ""))
    competency = next((c for c in competency_columns() if c.code == code), None)
    unit_code = nfc(request.args.get("unit", "")).upper()[:40]
    unit = _unit_in_scope(unit_code, root) if unit_code else None
    if position is None or competency is None or (unit_code and unit is None):
        flash(_("Hãy chọn một vị trí việc làm, một năng lực và một đơn vị trong phạm vi của bạn."), "error")
        return redirect(url_for("hr.gaps"))
    q = nfc(request.args.get("q", ""))[:100]
    # The same people as the gaps table counted: in the position, without a valid record of the competency.
    selection = select_officials(root, OfficialFilters(unit=unit.code if unit else "", position=str(position.id),
                                                       competency=competency.code, holding="no", q=q))
    page = page_of_officials(selection, request.args.get("page", 1, type=int))
    return render_template("hr/gap_officials.html", root=root, unit=unit, position=position,
                           competency=competency, page=page, q=q)


@bp.route("/gaps/candidates")
@access("hr", "admin")
def candidates():
    root = _scope_or_403()
    position = _position_or_none(request.args.get("position"))
    unit, matches = _gaps_unit(root)
    if position is None or (request.args.get("unit") and unit is None and not matches):
        flash(_("Hãy chọn một vị trí việc làm và một đơn vị trong phạm vi của bạn."), "error")
        return redirect(url_for("hr.gaps"))
    q = nfc(request.args.get("q", ""))[:100]
    others_only = request.args.get("others") == "1"
    selection = select_officials(root, OfficialFilters(unit=unit.code if unit else "", q=q))
    extra = candidates_condition(position, selection.day)
    if others_only:
        extra.append(HrOfficial.position_id != position.id)
    page = page_of_officials(with_extra(selection, *extra), request.args.get("page", 1, type=int))
    return render_template("hr/candidates.html", root=root, unit=unit, matches=matches, position=position,
                           page=page, q=q, others_only=others_only, positions=positions())
