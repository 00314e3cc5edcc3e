"""HR dashboard pages: the overview of my scope, drill-down by unit, gaps by position, candidates."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from training.access import access
from training.extensions import db
from training.hr import bp
from training.hr import charts
from training.hr.dashboard import (EXPIRING_WINDOWS, STATUSES, OfficialFilters, candidates_for,
                                   competency_columns, filter_officials, heatmap_from_rows, lacking_officials,
                                   officials_list, position_gaps, qualified_ids, qualified_trend, summary)
from training.hr.views import _scope_or_403
from training.models import OrgUnit, Position, User
from training.services.org import get_unit_by_code, units_in_scope
from training.vntext import nfc

PER_PAGE = 25


def _now() -> datetime:
    return datetime.now(timezone.utc)


def row_label(unit: OrgUnit, direct: bool = False) -> str:
    if not unit.code:
        return unit.name
    return _("%(name)s (trực tiếp)", name=unit.name) if direct else unit.name


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale())


UNIT_ROWS_PER_PAGE = 60


def _overview(root: OrgUnit | None, now: datetime) -> dict:
    """Everything the overview partial shows for `root`: rows, total, charts."""
    rows, total = summary(root, now)
    if all(row.direct for row in rows):
        rows = []  # a unit without sub-units (a department): its total says it all
    # A country has thousands of communes: the table and charts show them a page at a time.
    pages = max(1, -(-len(rows) // UNIT_ROWS_PER_PAGE))
    rows_page = min(max(request.args.get("rows_page", 1, type=int), 1), pages)
    all_rows = len(rows)
    rows = rows[(rows_page - 1) * UNIT_ROWS_PER_PAGE:rows_page * UNIT_ROWS_PER_PAGE]
    competencies = competency_columns()
    heat = heatmap_from_rows(rows, competencies)
    trend = qualified_trend(root, now)
    window = request.args.get("window", type=int)
    return {
        "rows": rows, "total": total, "competencies": competencies, "heat": heat, "trend": trend,
        "rows_page": rows_page, "rows_pages": pages, "all_rows": all_rows,
        "window": window if window in EXPIRING_WINDOWS else EXPIRING_WINDOWS[0], "windows": EXPIRING_WINDOWS,
        "heatmap_svg": charts.heatmap_svg(heat, row_label, _locale()) if rows else None,
        "bars_svg": charts.bars_svg(rows, row_label) if rows else None,
        "trend_svg": charts.trend_svg(trend), "row_label": row_label, "percent": charts.percent,
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


def _officials_filters(root: OrgUnit | None, within: OrgUnit | None) -> tuple[OfficialFilters, dict]:
    """The list filters from the query string; a unit outside `within` is refused with a message."""
    args = request.args
    raw = {
        "q": nfc(args.get("q", ""))[:100],
        "unit": nfc(args.get("unit", "")).upper()[:40],
        "position": args.get("position", type=int) or 0,
        "competency": nfc(args.get("competency", ""))[:40],
        "holding": args.get("holding", "") if args.get("holding") in ("yes", "no") else "",
        "status": args.get("status", "") if args.get("status") in STATUSES else "",
        "expiring": args.get("expiring", type=int) if args.get("expiring", type=int) in EXPIRING_WINDOWS else 0,
    }
    unit = None
    if raw["unit"]:
        unit = _unit_in_scope(raw["unit"], within or root)
        if unit is None:
            flash(_("Không có đơn vị mã %(code)s trong phạm vi của bạn.", code=raw["unit"]), "error")
            raw["unit"] = ""
    codes = {c.code for c in competency_columns()}
    if raw["competency"] not in codes:
        raw["competency"] = ""
    filters = OfficialFilters(q=raw["q"], unit=unit, position_id=raw["position"] or None,
                              competency=raw["competency"], holding=raw["holding"], status=raw["status"],
                              expiring=raw["expiring"] or None)
    return filters, raw


def _positions() -> list[Position]:
    return list(db.session.scalars(sa.select(Position).order_by(Position.sort_key, Position.code)))


def _scope_units(root: OrgUnit | None, departments: bool = False) -> list[OrgUnit]:
    stmt = units_in_scope(root)
    if not departments:
        stmt = stmt.where(OrgUnit.unit_type != "department")
    return list(db.session.scalars(stmt))


def _page_of_officials(stmt, now: datetime):
    page = db.paginate(stmt, per_page=PER_PAGE, error_out=False)
    return page, qualified_ids([user.id for user in page.items], now)


@bp.route("/")
@access("hr", "admin")
def dashboard():
    root = _scope_or_403()
    now = _now()
    return render_template("hr/dashboard.html", root=root, now=now, **_overview(root, now))


@bp.route("/units/<unit_code>")
@access("hr", "admin")
def unit(unit_code: str):
    root = _scope_or_403()
    unit = _unit_in_scope(nfc(unit_code).upper(), root)
    if unit is None:
        abort(404)  # outside my scope it does not exist for me
    now = _now()
    filters, raw = _officials_filters(root, unit)
    page, qualified = _page_of_officials(officials_list(unit, filters, now), now)
    sub_units = list(db.session.scalars(units_in_scope(unit).where(OrgUnit.id != unit.id)))
    return render_template("hr/unit.html", root=root, unit=unit, now=now, crumbs=_breadcrumbs(unit, root),
                           page=page, qualified=qualified, filters=raw, sub_units=sub_units,
                           positions=_positions(), statuses=STATUSES, **_overview(unit, now))


@bp.route("/gaps")
@access("hr", "admin")
def gaps():
    root = _scope_or_403()
    now = _now()
    code = nfc(request.args.get("unit", "")).upper()[:40]
    unit = _unit_in_scope(code, root) if code else None
    if code and unit is None:
        flash(_("Không có đơn vị mã %(code)s trong phạm vi của bạn.", code=code), "error")
        code = ""
    position_id = request.args.get("position", type=int) or 0
    gaps_ = position_gaps(unit or root, now)
    if position_id:
        gaps_ = [gap for gap in gaps_ if gap.position.id == position_id]
    return render_template("hr/gaps.html", root=root, unit=unit, unit_code=code, position_id=position_id,
                           gaps=gaps_, competencies=competency_columns(), units=_scope_units(root, True),
                           positions=_positions())


def _position_or_none(value) -> Position | None:
    try:
        position_id = int(value)
    except (TypeError, ValueError):
        return None
    return db.session.get(Position, position_id)


@bp.route("/gaps/officials")
@access("hr", "admin")
def gap_officials():
    root = _scope_or_403()
    now = _now()
    position = _position_or_none(request.args.get("position"))
    code = nfc(request.args.get("competency", ""))
    competency = next((c for c in competency_columns() if c.code == code), None)
    unit_code = nfc(request.args.get("unit", "")).upper()[:40]
    unit = _unit_in_scope(unit_code, root) if unit_code else None
    if position is None or competency is None or (unit_code and unit is None):
        flash(_("Hãy chọn một vị trí việc làm, một năng lực và một đơn vị trong phạm vi của bạn."), "error")
        return redirect(url_for("hr.gaps"))
    q = nfc(request.args.get("q", ""))[:100]
    stmt = lacking_officials(unit or root, position, competency.code, now)
    if q:
        stmt = filter_officials(stmt, OfficialFilters(q=q), now)
    page = db.paginate(stmt, per_page=PER_PAGE, error_out=False)
    return render_template("hr/gap_officials.html", root=root, unit=unit, position=position,
                           competency=competency, page=page, q=q)


@bp.route("/gaps/candidates")
@access("hr", "admin")
def candidates():
    root = _scope_or_403()
    now = _now()
    position = _position_or_none(request.args.get("position"))
    unit_code = nfc(request.args.get("unit", "")).upper()[:40]
    unit = _unit_in_scope(unit_code, root) if unit_code else None
    if position is None or (unit_code and unit is None):
        flash(_("Hãy chọn một vị trí việc làm và một đơn vị trong phạm vi của bạn."), "error")
        return redirect(url_for("hr.gaps"))
    q = nfc(request.args.get("q", ""))[:100]
    others_only = request.args.get("others") == "1"
    stmt = candidates_for(position, unit or root, now)
    if others_only:
        stmt = stmt.where(sa.or_(User.position_id.is_(None), User.position_id != position.id))
    if q:
        stmt = filter_officials(stmt, OfficialFilters(q=q), now)
    page = db.paginate(stmt, per_page=PER_PAGE, error_out=False)
    return render_template("hr/candidates.html", root=root, unit=unit, position=position, page=page, q=q,
                           others_only=others_only, units=_scope_units(root, True), positions=_positions())
