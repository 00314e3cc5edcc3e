"""HR: the officials of my scope (ward HR: the ward; city HR: the city), one official's standing, and
the unit search behind every unit field (a typed name or code without JavaScript, a typeahead with it)."""
from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa
from flask import abort, current_app, flash, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from training.access import access
from training.extensions import db
from training.hr import bp
from training.hr.models import HrUnitName
from training.hr.counts import without_jit
from training.hr.upkeep import catch_up
from training.hr.official import official_standing, qualifies
from training.hr.officials_filter import (EXPIRING_WINDOWS, STATUSES, FilterError, page_filters,
                                          page_of_officials, select_officials)
from training.hr.overview import as_day, competency_columns
from training.hr.gaps import positions as all_positions
from training.models import CompetencyRecord, OrgUnit, User
from training.services.org import get_unit_by_code, scope_root, user_in_scope
from training.vntext import fold, nfc

UNIT_MATCHES = 20  # a search field offers this many units at most


@bp.before_request
def _recount_due() -> None:
    """A record dated in the future counts from its day: recount whoever became due (normally nobody)."""
    if not current_user.is_authenticated:
        return
    if catch_up(db.session):
        db.session.commit()
    without_jit()


def _scope_or_403() -> OrgUnit | None:
    root = scope_root(current_user)
    if root is None and not current_user.has_role("admin"):
        abort(403)  # an HR account with no unit has no scope at all
    return root


# --------------------------------------------------------------------------- units by name or code
def find_units(root: OrgUnit | None, text: str, limit: int = UNIT_MATCHES) -> list[OrgUnit]:
    """Units of `root`'s subtree whose code or name (with or without diacritics) contains `text`:
    an exact code first, then the others by level and Vietnamese name."""
    text = nfc(text)[:100]
    if not text:
        return []
    exact = get_unit_by_code(text)
    found = [exact] if exact is not None and (root is None or exact.is_within(root)) else []
    names = sa.select(HrUnitName.unit_id).where(HrUnitName.search_text.contains(fold(text), autoescape=True))
    if root is not None:
        names = names.where(HrUnitName.path.startswith(root.path, autoescape=True))
    stmt = sa.select(OrgUnit).where(OrgUnit.id.in_(names)).order_by(OrgUnit.depth, OrgUnit.sort_key, OrgUnit.code) \
        .limit(limit + 1)
    found += [unit for unit in db.session.scalars(stmt) if not found or unit.id != found[0].id]
    return found[:limit + 1]


def unit_choice(root: OrgUnit | None, text: str) -> tuple[OrgUnit | None, list[OrgUnit]]:
    """The unit a unit field names (a code, or a name that matches one unit only), or the units it
    could mean. A code or name outside `root` is refused with a message; several matches are
    returned for the page to offer."""
    text = nfc(text)
    if not text:
        return None, []
    matches = find_units(root, text)
    if matches and (matches[0].code == text.upper() or len(matches) == 1):
        return matches[0], []
    if not matches:
        flash(_("Không có đơn vị mã %(code)s trong phạm vi của bạn.", code=text), "error")
        return None, []
    flash(_("Có nhiều đơn vị khớp với “%(text)s”: hãy chọn một trong danh sách.", text=text), "info")
    return None, matches[:UNIT_MATCHES]


@bp.route("/unit-search")
@access("hr", "admin")
def unit_search():
    """Units of my scope matching `q` (the typeahead of every unit field): at most 20, as JSON."""
    root = _scope_or_403()
    units = find_units(root, request.args.get("q", ""))[:UNIT_MATCHES]
    parents = {unit.id: unit.name for unit in db.session.scalars(sa.select(OrgUnit).where(
        OrgUnit.id.in_({u.parent_id for u in units if u.parent_id})))} if units else {}
    return jsonify({"items": [{"code": u.code, "name": u.name, "type": u.unit_type,
                               "parent": parents.get(u.parent_id)} for u in units]})


# --------------------------------------------------------------------------- lists of officials
def officials_request(root: OrgUnit | None, within: OrgUnit | None = None):
    """The filters of a list page from its query string, checked against my scope (`within`: the unit
    page's unit): (selection, the filters as the form shows them, units the unit field could mean).
    Nothing a person types makes the page fail: what cannot be applied is left out with a message."""
    scope = within or root
    filters = page_filters(request.args)
    unit, matches = unit_choice(scope, filters.unit)
    filters = replace(filters, unit=unit.code if unit is not None and (within is None or unit.id != within.id) else "")
    while True:
        try:
            selection = select_officials(scope, filters)
            break
        except FilterError as error:  # an unknown position or competency: the rest still applies
            flash(str(error), "error")
            filters = replace(filters, **{error.field: ""})
    shown = {"q": filters.q, "unit": filters.unit, "position": filters.position, "competency": filters.competency,
             "holding": filters.holding, "status": filters.status, "expiring": filters.expiring or 0}
    return selection, shown, matches


def typed_unit(matches: list[OrgUnit]) -> str:
    """What the unit field keeps showing while the units it could mean are offered."""
    return nfc(request.args.get("unit", ""))[:100] if matches else ""


def filter_form_context() -> dict:
    """What the officials filter form offers (positions, competencies, states, windows)."""
    return {"positions": all_positions(), "competencies": competency_columns(), "statuses": STATUSES,
            "windows": EXPIRING_WINDOWS}


@bp.route("/officials")
@access("hr", "admin")
def officials():
    root = _scope_or_403()
    selection, filters, matches = officials_request(root)
    page = page_of_officials(selection, request.args.get("page", 1, type=int))
    return render_template("hr/officials.html", page=page, filters=filters, root=root, matches=matches,
                           typed_unit=typed_unit(matches),
                           day=selection.day, **filter_form_context())


@bp.route("/officials/<int:user_id>")
@access("hr", "admin")
def official(user_id: int):
    _scope_or_403()
    person = db.get_or_404(User, user_id)
    if not user_in_scope(current_user, person):
        abort(404)  # outside my scope it does not exist for me
    day = as_day(None)
    # Sections other packages contribute (assignments, attempts, certificates): training never imports them.
    sections = []
    for provider in current_app.extensions.get("official_sections", []):
        for title, template, context in provider(person):
            sections.append((title, Markup(render_template(template, **context))))
    revoked = db.session.scalars(sa.select(CompetencyRecord).where(
        CompetencyRecord.user_id == person.id, CompetencyRecord.revoked_at.is_not(None))
        .order_by(CompetencyRecord.revoked_at.desc(), CompetencyRecord.id.desc())).all()
    return render_template("hr/official.html", person=person, standing=official_standing(person, day),
                           qualified=qualifies(person, day), sections=sections, revoked=revoked)


from training.hr import dashboard_views  # noqa: E402,F401  (the overview routes live on this blueprint)
