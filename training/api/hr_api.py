"""HR integration API: officials with their competency status, and a unit's summary, in the caller's HR scope.

Bearer token or browser session; only HR and admin accounts. A unit outside the caller's scope
does not exist for them (404), and the officials list never leaves the scope.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from training.access import access
from training.api import bp
from training.errors import json_error
from training.extensions import db
from training.hr import dashboard
from training.hr.officials_filter import (MISSING, FilterError, competency_states, officials_select, parse_filters,
                                          resolve_unit, small_int)
from training.models import OrgUnit, User
from training.services.org import scope_root
from training.services.qualification import VIETNAM

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
    """Officials in my scope with their competency status, filtered and paginated."""
    root = _scope()
    page = _positive_int("page", 1)
    per_page = _positive_int("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
    now = datetime.now(timezone.utc)
    stmt = officials_select(root, parse_filters(request.args), on=now)
    stmt = stmt.options(joinedload(User.unit), joinedload(User.position))
    result = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    ids = [user.id for user in result.items]
    states, qualified = competency_states(ids, now), dashboard.qualified_ids(ids, now)
    competencies = dashboard.competency_columns()
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
    return jsonify({"items": items, "page": page, "per_page": per_page, "total": result.total,
                    "pages": result.pages})


@bp.route("/units/<code>/summary")
@access("hr", "admin")
def unit_summary(code: str):
    """One unit in my scope: officials, how many qualify, competencies held and expiring, its children."""
    unit = resolve_unit(code, _scope())
    today = datetime.now(VIETNAM).date()
    rows, total = dashboard.summary(unit, today)
    locale = str(get_locale() or "vi")
    children = [row for row in rows if not row.direct]
    return jsonify({
        "unit": {"code": unit.code, "name": unit.name, "type": unit.unit_type},
        "officials": total.officials,
        "qualified": total.qualified,
        "qualified_share": round(total.qualified / total.officials, 4) if total.officials else None,
        "competencies": [
            {"code": c.code, "name": c.name(locale), "held": total.held.get(c.code, 0),
             **{f"expiring_{days}": total.expiring.get(c.code, {}).get(days, 0) for days in (30, 60, 90)}}
            for c in dashboard.competency_columns()
        ],
        "children": [{"code": row.unit.code, "name": row.unit.name, "officials": row.officials,
                      "qualified": row.qualified} for row in children],
    })
