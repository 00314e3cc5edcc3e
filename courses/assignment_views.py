"""HR: assign courses with due dates, and see who has finished and who is late."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from courses import bp
from courses.assignments import (AssignmentError, assignment_counts, cancel_assignment, create_assignment,
                                 member_statuses, today_in_vietnam)
from courses.forms import AssignmentForm
from courses.models import Assignment, Course
from training.access import access
from training.admin.forms import ConfirmForm
from training.extensions import db
from training.models import OrgUnit, Position, User
from training.services.org import scope_root, units_in_scope, user_in_scope
from training.services.users import get_user_by_email


def _scope():
    root = scope_root(current_user)
    if root is None and not current_user.has_role("admin"):
        abort(403)
    return root


def _visible(assignment: Assignment, root: OrgUnit | None) -> bool:
    """An assignment is visible to HR when its target lies inside their scope."""
    if root is None:
        return True
    if assignment.user is not None:
        return assignment.user.unit is not None and assignment.user.unit.is_within(root)
    return assignment.unit is not None and assignment.unit.is_within(root)


def _scoped_assignments(root: OrgUnit | None):
    stmt = sa.select(Assignment).order_by(Assignment.cancelled_at.is_not(None), Assignment.due_on.desc(),
                                          Assignment.id.desc())
    if root is None:
        return stmt
    in_scope = sa.select(OrgUnit.id).where(OrgUnit.path.startswith(root.path, autoescape=True))
    return stmt.outerjoin(User, Assignment.user_id == User.id).where(
        sa.or_(Assignment.unit_id.in_(in_scope), User.unit_id.in_(in_scope)))


@bp.route("/assignments")
@access("hr", "admin")
def assignments():
    root = _scope()
    page = db.paginate(_scoped_assignments(root), per_page=25, error_out=False)
    today = today_in_vietnam()
    counts = {a.id: assignment_counts(a, today) for a in page.items}
    return render_template("courses/assignments/list.html", page=page, counts=counts, today=today, root=root)


@bp.route("/assignments/new", methods=["GET", "POST"])
@access("hr", "admin")
def new_assignment():
    root = _scope()
    form = AssignmentForm()
    courses = db.session.scalars(sa.select(Course).where(Course.status == "published").order_by(Course.title)).all()
    form.course_id.choices = [(c.id, c.title) for c in courses]
    units = db.session.scalars(units_in_scope(root).order_by(None).order_by(OrgUnit.path)).all()
    form.unit_id.choices = ([(0, _("Toàn bộ hệ thống"))] if root is None else []) + [
        (u.id, "— " * (u.depth - (root.depth if root else 0)) + u.name) for u in units]
    form.position_id.choices = [(0, _("Mọi vị trí"))] + [
        (p.id, p.name) for p in db.session.scalars(sa.select(Position).order_by(Position.sort_key))]
    if request.method == "GET":
        form.course_id.data = request.args.get("course_id", type=int)
    status = 200
    if form.validate_on_submit():
        course = db.session.get(Course, form.course_id.data)
        try:
            if form.target.data == "person":
                person = get_user_by_email(form.email.data or "")
                if person is None or not user_in_scope(current_user, person):
                    raise AssignmentError(_("Không có cán bộ với email này trong phạm vi của bạn."))
                assignment = create_assignment(course=course, due_on=form.due_on.data, actor=current_user,
                                               user=person, note=form.note.data or "",
                                               requires_lessons=bool(form.requires_lessons.data))
            else:
                unit = db.session.get(OrgUnit, form.unit_id.data) if form.unit_id.data else None
                if unit is None and root is not None:
                    raise AssignmentError(_("Hãy chọn đơn vị."))
                position = db.session.get(Position, form.position_id.data) if form.position_id.data else None
                assignment = create_assignment(course=course, due_on=form.due_on.data, actor=current_user,
                                               unit=unit, position=position, note=form.note.data or "",
                                               requires_lessons=bool(form.requires_lessons.data))
        except AssignmentError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            status = 400
        else:
            db.session.commit()
            total = assignment_counts(assignment)["total"]
            flash(_("Đã giao khóa học “%(title)s” cho %(n)d cán bộ, hạn %(d)s.", title=course.title, n=total,
                    d=assignment.due_on.strftime("%d/%m/%Y")), "success")
            return redirect(url_for("courses.assignment_detail", assignment_id=assignment.id))
    elif request.method == "POST":
        status = 400
    return render_template("courses/assignments/new.html", form=form), status


@bp.route("/assignments/<int:assignment_id>")
@access("hr", "admin")
def assignment_detail(assignment_id: int):
    root = _scope()
    assignment = db.get_or_404(Assignment, assignment_id)
    if not _visible(assignment, root):
        abort(404)
    today = today_in_vietnam()
    state = request.args.get("state", "")
    pagination, statuses = member_statuses(assignment, today=today, scope=root, state=state,
                                           page=request.args.get("page", 1, type=int))
    return render_template("courses/assignments/detail.html", assignment=assignment, page=pagination,
                           statuses=statuses, counts=assignment_counts(assignment, today), state=state,
                           today=today, cancel_form=ConfirmForm())


@bp.route("/assignments/<int:assignment_id>/cancel", methods=["POST"])
@access("hr", "admin")
def cancel(assignment_id: int):
    root = _scope()
    assignment = db.get_or_404(Assignment, assignment_id)
    if not _visible(assignment, root):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if assignment.cancelled_at is None:
        cancel_assignment(assignment, current_user)
        db.session.commit()
        flash(_("Đã hủy việc giao khóa học."), "success")
    return redirect(url_for("courses.assignment_detail", assignment_id=assignment.id))
