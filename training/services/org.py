"""Org units, positions and HR scope."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from training.extensions import db
from training.models import Competency, OrgUnit, Position, User
from training.vntext import collation_key, nfc


class OrgError(ValueError):
    """A change to the org structure that cannot be made; the message is for the user."""


def get_unit_by_code(code: str) -> OrgUnit | None:
    return db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == nfc(code).upper()))


def get_position_by_code(code: str) -> Position | None:
    return db.session.scalar(sa.select(Position).where(Position.code == nfc(code).upper()))


def _refresh_path(unit: OrgUnit) -> None:
    prefix = unit.parent.path if unit.parent is not None else "/"
    unit.path = f"{prefix}{unit.id}/"
    unit.depth = 0 if unit.parent is None else unit.parent.depth + 1
    for child in unit.children:
        _refresh_path(child)


def create_unit(code: str, name: str, unit_type: str, parent: OrgUnit | None = None) -> OrgUnit:
    """Create an org unit under `parent` (None for a city/province root)."""
    unit = OrgUnit(code=nfc(code).upper(), name=nfc(name), unit_type=unit_type, parent=parent,
                   sort_key=collation_key(name))
    db.session.add(unit)
    db.session.flush()  # the id is part of the path
    _refresh_path(unit)
    return unit


def update_unit(unit: OrgUnit, *, name: str, unit_type: str, parent: OrgUnit | None) -> OrgUnit:
    """Rename or move a unit; moving it under its own subtree is refused."""
    if parent is not None and parent.is_within(unit):
        raise OrgError(_("Không thể chuyển đơn vị vào chính nó hoặc đơn vị cấp dưới của nó."))
    unit.name = nfc(name)
    unit.sort_key = collation_key(unit.name)
    unit.unit_type = unit_type
    unit.parent = parent
    db.session.flush()
    _refresh_path(unit)
    return unit


def subtree_condition(root: OrgUnit):
    """SQL condition: OrgUnit is `root` or below it."""
    return OrgUnit.path.startswith(root.path, autoescape=True)


def units_in_scope(root: OrgUnit | None):
    """Select of units visible from `root` (all units when root is None), in Vietnamese order."""
    stmt = sa.select(OrgUnit).order_by(OrgUnit.depth, OrgUnit.sort_key)
    if root is not None:
        stmt = stmt.where(subtree_condition(root))
    return stmt


def scope_root(user: User) -> OrgUnit | None:
    """The unit subtree an HR or admin user may see; None means everything (admin).

    Ward HR sees its ward; city HR sees the city. An HR user with no unit sees nothing.
    """
    if user.has_role("admin"):
        return None
    return user.unit


def user_in_scope(viewer: User, official: User) -> bool:
    root = scope_root(viewer)
    if root is None and viewer.has_role("admin"):
        return True
    if root is None or official.unit is None:
        return False
    return official.unit.is_within(root)


def create_position(code: str, name: str, description: str = "",
                    competencies: list[Competency] | None = None) -> Position:
    """Create a job position; it requires the core competencies unless told otherwise."""
    if competencies is None:
        competencies = list(db.session.scalars(sa.select(Competency).where(Competency.is_core)))
    position = Position(code=nfc(code).upper(), name=nfc(name), description=nfc(description),
                        sort_key=collation_key(name), required_competencies=competencies)
    db.session.add(position)
    db.session.flush()
    return position
