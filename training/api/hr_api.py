"""HR integration API: officials with their competency status, and a unit's summary, in the caller's HR scope.

Bearer token or browser session; only HR and admin accounts. A unit outside the caller's scope
does not exist for them (404), and the officials list never leaves the scope.
"""
from __future__ import annotations

from datetime import datetime

from flask import jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from training.access import access
from training.api import bp
from training.errors import json_error
from training.extensions import db
from training.hr import counts, overview
from training.hr.counts import without_jit
from training.hr.upkeep import catch_up
from training.hr.officials_filter import (COUNT_CAP, MISSING, FilterError, competency_states, page_of_officials,
                                          parse_filters, resolve_unit, select_officials, small_int)
from training.models import OrgUnit, User
from training.services.org import scope_root

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def _caller() -> User:
    return current_user


def _scope() -> OrgUnit | None:
    user = _caller()
    if catch_up(db.session):  # a record dated in the future became due: count it from today
        db.session.commit()
    without_jit()
    root = scope_root(user)
    if root is None and not user.has_role("admin"):
        raise ApiError(403, _("Tài khoản nhân sự này chưa gắn với đơn vị nào nên không có phạm vi dữ liệu."),
                       "forbidden")
    return root


def _positive_int(name: str, default: int, maximum: int | None = None) -> int:
    text = request.args.get(name)
    if text is None or text == "":
        return default
    number = small_int(text)
    if number is None or number < 1 or (maximum is not None and number > maximum):
        if maximum is not None:
            message = _("Tham số %(name)s phải là số nguyên từ 1 đến %(n)d.", name=name, n=maximum)
        else:
            message = _("Tham số %(name)s phải là số nguyên dương.", name=name)
        raise ApiError(422, message, "invalid")
    return number


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    return json_error(error.status, error.message, error.code)


@bp.errorhandler(FilterError)
def filter_error(error: FilterError):
    return json_error(error.status, str(error), "not_found" if error.status == 404 else "invalid")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@bp.route("/officials")
@access("hr", "admin")
def officials():
    """Officials in my scope with their competency status, filtered and paginated (as of today in
    Vietnam, as the HR pages)."""
    root = _scope()
    page = _positive_int("page", 1)
    per_page = _positive_int("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
    selection = select_officials(root, parse_filters(request.args))
    result = page_of_officials(selection, page, per_page, cap=COUNT_CAP)
    ids = [user.id for user in result.items]
    states, qualified = competency_states(ids, selection.day), result.qualified
    competencies = overview.competency_columns()
    items = []
    for user in result.items:
        items.append({
            "id": user.id,
            "full_name": user.full_name,
            "unit": user.unit.code if user.unit else None,
            "unit_name": user.unit.name if user.unit else None,
            "position": user.position.code if user.position else None,
            "qualified": user.id in qualified,
            "competencies": [
                {"code": competency.code, "state": state.state, "expires_at": _iso(state.expires_at)}
                for competency in competencies
                for state in [states[user.id].get(competency.id, MISSING)]
            ],
        })
    # Past COUNT_CAP matches a filter the kept counts cannot answer (a name search) says "at least".
    return jsonify({"items": items, "page": page, "per_page": per_page, "total": result.total.n,
                    "total_exact": result.total.exact, "pages": result.pages})


@bp.route("/units/<code>/summary")
@access("hr", "admin")
def unit_summary(code: str):
    """One unit in my scope: officials, how many qualify, competencies held and expiring, its children."""
    unit = resolve_unit(code, _scope())
    day = overview.as_day(None)
    total = counts.unit_figures([(unit.id, False)], day)[unit.id, False]
    locale = str(get_locale() or "vi")
    return jsonify({
        "unit": {"code": unit.code, "name": unit.name, "type": unit.unit_type},
        "officials": total.officials,
        "qualified": total.qualified,
        "qualified_share": round(total.qualified / total.officials, 4) if total.officials else None,
        "competencies": [
            {"code": c.code, "name": c.name(locale), "held": total.held.get(c.id, 0),
             **{f"expiring_{days}": total.expiring.get(c.id, {}).get(days, 0) for days in (30, 60, 90)}}
            for c in overview.competency_columns()
        ],
        # Every unit right below, with its whole subtree's figures (a city: its 3,321 wards).
        "children": [{"code": child_code, "name": name, "officials": officials, "qualified": qualified}
                     for child_code, name, officials, qualified in counts.children_counts(unit.id, day)],
    })
