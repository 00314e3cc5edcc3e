"""Staffing pages: a city's wards at risk, per 1,000 residents, one ward's duties, lending, populations.

Thin views: they check the scope (a unit outside it does not exist: 404), read the query string
without ever failing on it, call training.staffing.services and render. Ward HR sees its ward;
city HR its city and wards; an admin everything.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, format_number
from flask_babel import gettext as _
from flask_login import current_user

from training.access import access
from training.extensions import db
from training.hr.counts import without_jit
from training.hr.officials_filter import small_int
from training.hr.overview import as_day
from training.hr.upkeep import catch_up
from training.models import OrgUnit, Position
from training.services.org import get_unit_by_code, scope_root
from training.staffing import bp, services
from training.staffing.charts import per_thousand_svg, rate
from training.staffing.forms import PopulationForm
from training.staffing.lending import lending
from training.staffing.population import (MAX_FILE_BYTES, VIETNAMESE_HEADERS, PopulationFileError, import_populations,
                                          population_history, template_csv)
from training.vntext import nfc


@bp.before_request
def _counts_current() -> None:
    """As HR's pages: a record dated in the future counts from its day (normally nobody is due)."""
    if not current_user.is_authenticated:
        return
    if catch_up(db.session):
        db.session.commit()
    without_jit()


@bp.app_template_filter("per1000")
def per1000_filter(value) -> str:
    return rate(value)


@bp.app_template_filter("decimal1")
def decimal1_filter(value) -> str:
    return format_decimal(value, format="#,##0.0")


@bp.app_template_filter("people")
def people_filter(value) -> str:
    """A count of residents as Vietnamese write it (88.000); "—" when unknown."""
    return "—" if value is None else format_number(value)


def scope_or_403() -> OrgUnit | None:
    root = scope_root(current_user)
    if root is None and not current_user.has_role("admin"):
        abort(403)  # an HR account with no unit has no scope at all
    return root


def unit_in_scope(code: str, root: OrgUnit | None) -> OrgUnit:
    code = nfc(code)[:40]
    if not code.isprintable():
        abort(404)  # a NUL or a line break is no unit's code (and PostgreSQL refuses NUL in text)
    unit = get_unit_by_code(code)
    if unit is None or (root is not None and not unit.is_within(root)):
        abort(404)  # outside my scope it does not exist for me
    return unit


def page_arg() -> int:
    return small_int(request.args.get("page", "1")) or 1


def crumbs(unit: OrgUnit, root: OrgUnit | None) -> list[OrgUnit]:
    """The units above `unit` down from the viewer's scope, for the breadcrumb."""
    line = []
    current = unit.parent
    while current is not None and (root is None or current.is_within(root)):
        line.append(current)
        current = current.parent
    return list(reversed(line))


@bp.route("/")
@access("hr", "admin")
def index():
    """My scope's staffing: a city or ward goes straight to its page; an admin picks a top-level unit."""
    root = scope_or_403()
    if root is not None:
        return redirect(url_for("staffing.unit", code=root.code))
    units = db.paginate(sa.select(OrgUnit).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.sort_key, OrgUnit.code),
                        page=page_arg(), per_page=services.UNITS_PER_PAGE, error_out=False)
    return render_template("staffing/index.html", units=units)


@bp.route("/units/<code>")
@access("hr", "admin")
def unit(code: str):
    """A city: its wards, those with a duty nobody or one person holds first. A ward: its duties,
    who holds each and who could stand in."""
    root = scope_or_403()
    unit = unit_in_scope(code, root)
    day = as_day(None)
    if services.has_wards(unit):
        cover = services.city_cover(unit, day, page_arg())
        return render_template("staffing/city.html", unit=unit, root=root, crumbs=crumbs(unit, root), day=day,
                               cover=cover)
    cover = services.ward_cover(unit, day)
    population = services.current_populations([unit.id]).get(unit.id)
    lend_here = unit.parent is not None and (root is None or unit.parent.is_within(root))
    return render_template("staffing/ward.html", unit=unit, root=root, crumbs=crumbs(unit, root), day=day,
                           cover=cover, population=population, qualified=cover.qualified,
                           history=population_history(unit.id, 5), lend_here=lend_here,
                           per_thousand=services.per_thousand)


@bp.route("/units/<code>/per-1000")
@access("hr", "admin")
def density(code: str):
    """A city's wards by officials and qualified officials per 1,000 residents, fewest first."""
    root = scope_or_403()
    unit = unit_in_scope(code, root)
    if not services.has_wards(unit):
        return redirect(url_for("staffing.unit", code=unit.code))
    sort = request.args.get("sort", "qualified")
    if sort not in services.DENSITY_SORTS:
        sort = "qualified"
    result = services.density(unit, as_day(None), sort, page_arg())
    chart = per_thousand_svg(result.lines, result.qualified_per_1000)
    return render_template("staffing/density.html", unit=unit, root=root, crumbs=crumbs(unit, root),
                           day=as_day(None), result=result, sort=sort, chart=chart)


@bp.route("/units/<code>/lend")
@access("hr", "admin")
def lend(code: str):
    """For a position with a gap in a ward: who in the city's other wards holds what it needs."""
    root = scope_or_403()
    unit = services.ward_of(unit_in_scope(code, root))
    number = small_int(request.args.get("position", ""))
    position = db.session.get(Position, number) if number is not None else None
    if position is None:
        flash(_("Hãy chọn một vị trí việc làm còn thiếu người đảm nhiệm."), "error")
        return redirect(url_for("staffing.unit", code=unit.code))
    if unit.parent is not None and root is not None and not unit.parent.is_within(root):
        # A ward's HR sees its own ward only: the other wards' officials are not theirs to see.
        return render_template("staffing/lend.html", unit=unit, root=root, position=position, result=None,
                               crumbs=crumbs(unit, root), day=as_day(None))
    start = small_int(request.args.get("start", "0")) or 0
    result = lending(unit, position, as_day(None), start)
    return render_template("staffing/lend.html", unit=unit, root=root, position=position, result=result,
                           crumbs=crumbs(unit, root), day=as_day(None))


@bp.route("/population", methods=["GET", "POST"])
@access("hr", "admin")
def population():
    """Load populations (registered and actual, with day and source) from a CSV or XLSX file."""
    root = scope_or_403()
    form = PopulationForm()
    report = None
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(MAX_FILE_BYTES + 1)
        try:
            report = import_populations(data, upload.filename or "", actor=current_user, root=root,
                                        today=as_day(None), dry_run=form.dry_run.data)
        except PopulationFileError as error:
            db.session.rollback()
            form.file.errors.append(str(error))
            status = 400
        else:
            if report.applied:
                db.session.commit()
                flash(_("Đã nhập số dân: %(created)d mới, %(updated)d sửa, %(unchanged)d không đổi.",
                        created=report.created, updated=report.updated, unchanged=report.unchanged), "success")
            else:
                db.session.rollback()
                status = 400 if report.errors else 200
    elif request.method == "POST":
        status = 400
    return render_template("staffing/population.html", form=form, report=report, root=root,
                           headers=VIETNAMESE_HEADERS, max_mb=MAX_FILE_BYTES // 1024 // 1024), status


@bp.route("/population/template.csv")
@access("hr", "admin")
def population_template():
    response = Response(template_csv(), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = "attachment; filename=mau-so-dan.csv"
    return response
