"""Finding accounts: search with or without diacritics, role, active or not, a unit's subtree, Vietnamese order.

This is the admin's search over every account (learners, trainers, HR, admins, deactivated ones).
The officials HR counts and lists (active, attached to a unit, with their competency status) are
found by the one officials filter, training.hr.officials_filter, which the HR pages, exports and
API share; nothing in HR uses this function.
"""
from __future__ import annotations

import sqlalchemy as sa

from training.extensions import db
from training.models import OrgUnit, User, UserRole
from training.vntext import fold


def officials_query(*, scope: OrgUnit | None, unit: OrgUnit | None = None, q: str = "",
                    role: str | None = None, active: bool | None = None, position_id: int | None = None):
    """Select of accounts within `scope` (None: everyone), filtered, in Vietnamese name order.

    `unit` limits to that unit's subtree. `q` matches name (accents optional) or email.
    """
    stmt = sa.select(User).order_by(User.sort_key, User.id)
    for root in (scope, unit):
        if root is not None:
            # The subtree's unit ids as a list, not a sub-select: the planner then knows how many
            # accounts they hold (a ward's are fetched by unit, a city's read in name order).
            ids = sa.select(OrgUnit.id).where(OrgUnit.path.startswith(root.path, autoescape=True))
            stmt = stmt.where(User.unit_id.in_(list(db.session.scalars(ids))))
    if q:
        needle = fold(q)
        stmt = stmt.where(sa.or_(User.search_name.contains(needle, autoescape=True),
                                 User.email.contains(q.lower(), autoescape=True)))
    if role:
        stmt = stmt.where(User.id.in_(sa.select(UserRole.user_id).where(UserRole.role == role)))
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    if position_id:
        stmt = stmt.where(User.position_id == position_id)
    return stmt

