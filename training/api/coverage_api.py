"""`GET /api/v1/units/<code>/coverage`: per ward and required competency, how many hold it now and in
30/60/90 days, the single points of failure, population and officials per 1,000 residents.

Bearer token or browser session; HR and admin only, in the caller's scope (a unit outside it is 404).
A city answers for a page of its wards (Vietnamese order, `page` and `per_page`), a ward for itself:
the cost follows the wards returned, never the officials beneath them. The figures are the staffing
pages' own (training.staffing.services).
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from training.access import access
from training.api import bp
from training.errors import json_error
from training.extensions import db
from training.hr import counts
from training.hr.counts import without_jit
from training.hr.officials_filter import resolve_unit, small_int
from training.hr.overview import as_day
from training.hr.upkeep import catch_up
from training.models import OrgUnit
from training.services.org import scope_root
from training.staffing import services
from training.staffing.population import per_thousand

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100


def _number(name: str, default: int, maximum: int):
    text = request.args.get(name)
    if text is None or text == "":
        return default, None
    number = small_int(text)
    if number is None or not 1 <= number <= maximum:
        return None, json_error(422, _("Tham số %(name)s phải là số nguyên từ 1 đến %(n)d.", name=name, n=maximum),
                                "invalid")
    return number, None


def _rate(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


@bp.route("/units/<code>/coverage")
@access("hr", "admin")
def unit_coverage(code: str):
    """Cover per duty of a ward, or of a page of a city's wards."""
    if catch_up(db.session):  # a record dated in the future became due: count it from today
        db.session.commit()
    without_jit()
    root = scope_root(current_user)
    if root is None and not current_user.has_role("admin"):
        return json_error(403, _("Tài khoản nhân sự này chưa gắn với đơn vị nào nên không có phạm vi dữ liệu."),
                          "forbidden")
    page, problem = _number("page", 1, 100_000)
    if problem is not None:
        return problem
    per_page, problem = _number("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
    if problem is not None:
        return problem
    if not code.isprintable():  # a NUL is no unit's code, and PostgreSQL refuses it in text
        return json_error(404, _("Không có đơn vị mã %(code)s trong phạm vi của bạn.", code=code.encode(
            "unicode_escape").decode("ascii")), "not_found")
    unit = resolve_unit(code, root)  # FilterError → 404 JSON through the blueprint's handler
    day = as_day(None)
    if services.has_wards(unit):
        where = services.wards_condition(unit.id)
        total = db.session.scalar(sa.select(sa.func.count(OrgUnit.id)).where(where)) or 0
        wards = list(db.session.scalars(sa.select(OrgUnit).where(where).order_by(OrgUnit.sort_key, OrgUnit.code)
                                        .limit(per_page).offset((page - 1) * per_page)))
    else:
        total, wards = 1, ([unit] if page == 1 else [])
    return jsonify({
        "unit": {"code": unit.code, "name": unit.name, "type": unit.unit_type},
        "on": day.isoformat(),
        "windows": list(services.WINDOWS),
        "wards": _wards(wards, day),
        "page": page, "per_page": per_page, "total": total, "pages": max(1, -(-total // per_page)),
    })


def _wards(wards: list[OrgUnit], day: date) -> list[dict]:
    locale = str(get_locale() or "vi")
    ids = [ward.id for ward in wards]
    duties = services.duty_cover(ids, day)
    figures = counts.unit_figures([(ward_id, False) for ward_id in ids], day, held_for=[])
    populations = services.current_populations(ids)
    result = []
    for ward in wards:
        mine = duties[ward.id]
        figure = figures[ward.id, False]
        population = populations.get(ward.id)
        residents = population.residents if population is not None else None
        result.append({
            "code": ward.code, "name": ward.name, "type": ward.unit_type,
            "officials": figure.officials, "qualified": figure.qualified,
            "population": None if population is None else {
                "registered": population.registered, "actual": population.actual,
                "as_of": population.as_of.isoformat(), "source": population.source},
            "officials_per_1000": _rate(per_thousand(figure.officials, residents)),
            "qualified_per_1000": _rate(per_thousand(figure.qualified, residents)),
            "single_points_of_failure": sum(1 for d in mine if d.status == "single"),
            "uncovered": sum(1 for d in mine if d.status == "none"),
            "duties": [{
                "position": d.position.code, "position_name": d.position.name,
                "competency": d.competency.code, "competency_name": d.competency.name(locale),
                "officials": d.officials, "held": d.held,
                **{f"held_in_{days}": d.later[days] for days in services.WINDOWS},
                "status": d.status,
            } for d in mine],
        })
    return result
