"""HR: the officials of my scope (ward HR: the ward; city HR: the city), and one official's standing."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from training.access import access
from training.extensions import db
from training.hr import bp
from training.models import CompetencyRecord, OrgUnit, Position, User
from training.services.org import get_unit_by_code, scope_root, units_in_scope, user_in_scope
from training.services.people import officials_query
from training.services.qualification import is_digitally_capable
from training.vntext import nfc


def _scope_or_403() -> OrgUnit | None:
    root = scope_root(current_user)
    if root is None and not current_user.has_role("admin"):
        abort(403)  # an HR account with no unit has no scope at all
    return root


@bp.route("/officials")
@access("hr", "admin")
def officials():
    root = _scope_or_403()
    filters = {
        "q": nfc(request.args.get("q", "")),
        "unit": nfc(request.args.get("unit", "")).upper(),
        "position": request.args.get("position", type=int) or 0,
    }
    unit = None
    if filters["unit"]:
        unit = get_unit_by_code(filters["unit"])
        if unit is None or (root is not None and not unit.is_within(root)):
            flash(_("Không có đơn vị mã %(code)s trong phạm vi của bạn.", code=filters["unit"]), "error")
            unit = None
    stmt = officials_query(scope=root, unit=unit, q=filters["q"], active=True, position_id=filters["position"])
    page = db.paginate(stmt, per_page=25, error_out=False)
    units = db.session.scalars(units_in_scope(root).where(OrgUnit.unit_type != "department")).all()
    positions = db.session.scalars(sa.select(Position).order_by(Position.sort_key)).all()
    return render_template("hr/officials.html", page=page, filters=filters, root=root, units=units,
                           positions=positions)


@bp.route("/officials/<int:user_id>")
@access("hr", "admin")
def official(user_id: int):
    _scope_or_403()
    person = db.get_or_404(User, user_id)
    if not user_in_scope(current_user, person):
        abort(404)  # outside my scope it does not exist for me
    from training.hr.dashboard import official_standing

    # Sections other packages contribute (assignments, attempts, certificates): training never imports them.
    sections = []
    for provider in current_app.extensions.get("official_sections", []):
        for title, template, context in provider(person):
            sections.append((title, Markup(render_template(template, **context))))
    revoked = db.session.scalars(sa.select(CompetencyRecord).where(
        CompetencyRecord.user_id == person.id, CompetencyRecord.revoked_at.is_not(None))
        .order_by(CompetencyRecord.revoked_at.desc(), CompetencyRecord.id.desc())).all()
    return render_template("hr/official.html", person=person, standing=official_standing(person),
                           qualified=is_digitally_capable(person), sections=sections, revoked=revoked)


from training.hr import dashboard_views  # noqa: E402,F401  (the dashboard routes live on this blueprint)
