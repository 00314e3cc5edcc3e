"""What the HR pages show about courses: an official's assignments, and overdue counts per unit.

Registered into the registries the HR package reads (training never imports courses).
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from courses.assignments import assignment_done, assignment_state, assignments_for_user, done_condition, today_in_vietnam
from courses.models import Assignment, CourseProgress
from training.extensions import db
from training.models import OrgUnit, User

ASSIGNMENT_STATE_LABELS = {
    "done": _l("Đã hoàn thành"),
    "in_progress": _l("Đang học"),
    "not_started": _l("Chưa bắt đầu"),
    "late": _l("Quá hạn"),
}


def official_assignments(user: User, today: date | None = None) -> list[dict]:
    """Each current assignment of the official with its state: done, in progress, not started, late."""
    today = today or today_in_vietnam()
    assignments = assignments_for_user(user)
    progress = {row.course_id: row for row in db.session.scalars(
        sa.select(CourseProgress).where(CourseProgress.user_id == user.id,
                                        CourseProgress.course_id.in_([a.course_id for a in assignments])))} \
        if assignments else {}
    items = []
    for assignment in assignments:
        row = progress.get(assignment.course_id)
        done = db.session.scalar(sa.select(sa.literal(True)).where(User.id == user.id, assignment_done(assignment)))
        items.append({"assignment": assignment, "course": assignment.course, "due_on": assignment.due_on,
                      "state": assignment_state(bool(done), row is not None, assignment.due_on, today),
                      "completed_at": row.completed_at if row else None})
    return items


def assignments_section(user: User):
    items = official_assignments(user)
    return [(_l("Khóa học được giao"), "hr/sections/assignments.html",
             {"items": items, "labels": ASSIGNMENT_STATE_LABELS})]


def overdue_by_unit(root: OrgUnit | None, on: datetime) -> dict[int, int]:
    """Active officials with at least one overdue assignment (not finished after its due date),
    per official's own unit, within `root`'s subtree. One aggregate query."""
    today = today_in_vietnam(on)
    own_unit = aliased(OrgUnit)
    target_unit = aliased(OrgUnit)
    finished = done_condition(User.id, Assignment.course_id, Assignment.requires_lessons, on)
    member = sa.or_(
        Assignment.user_id == User.id,
        sa.and_(Assignment.user_id.is_(None),
                sa.or_(Assignment.unit_id.is_(None), own_unit.path.startswith(target_unit.path)),
                sa.or_(Assignment.position_id.is_(None), Assignment.position_id == User.position_id)))
    stmt = (sa.select(User.unit_id, sa.func.count(sa.distinct(User.id)))
            .select_from(User)
            .join(own_unit, own_unit.id == User.unit_id)
            .join(Assignment, sa.and_(Assignment.cancelled_at.is_(None), Assignment.due_on < today))
            .outerjoin(target_unit, target_unit.id == Assignment.unit_id)
            .where(User.active.is_(True), member, ~finished)
            .group_by(User.unit_id))
    if root is not None:
        stmt = stmt.where(own_unit.path.startswith(root.path, autoescape=True))
    return dict(db.session.execute(stmt).all())


def register(app) -> None:
    app.extensions.setdefault("official_sections", []).append(assignments_section)
    app.extensions.setdefault("hr_unit_metrics", {})["overdue_assignments"] = overdue_by_unit
