"""Assignments: a course for one official, a position, or a unit subtree, with a due date."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _

from courses.models import Assignment, Course, CourseProgress
from training.extensions import db
from training.models import OrgUnit, Position, User
from training.services import audit
from training.services.qualification import holds_condition

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


class AssignmentError(ValueError):
    """An assignment that cannot be made; the message is for the user."""


def today_in_vietnam(now: datetime | None = None) -> date:
    return (now or datetime.now(timezone.utc)).astimezone(VIETNAM).date()


def done_condition(user_id, course_id, requires_lessons, moment: datetime):
    """SQL: the official has done what an assignment of that course asks, at `moment`.

    The one rule (pages, counts, reminders, HR): every lesson of the course done, or, unless the
    assignment requires the lessons, the course's competency held (a passed quiz). Arguments are
    columns (an aggregate over assignments) or plain values (one assignment).
    """
    lessons = sa.exists().where(CourseProgress.user_id == user_id, CourseProgress.course_id == course_id,
                                CourseProgress.completed_at.is_not(None))
    competency = sa.exists().where(Course.id == course_id, Course.competency_id.is_not(None),
                                   holds_condition(user_id, Course.competency_id, moment))
    return sa.or_(lessons, sa.and_(sa.not_(requires_lessons), competency))


def assignment_done(assignment: Assignment, moment: datetime | None = None):
    """`done_condition` for one assignment, as a condition on User."""
    return done_condition(User.id, assignment.course_id, sa.literal(bool(assignment.requires_lessons)),
                          moment or datetime.now(timezone.utc))


def _member_condition(assignment: Assignment):
    """SQL condition on User: the official is targeted by `assignment`."""
    if assignment.user_id is not None:
        return sa.and_(User.id == assignment.user_id, User.active.is_(True))
    conditions = [User.active.is_(True)]
    if assignment.unit_id is not None:
        unit = assignment.unit or db.session.get(OrgUnit, assignment.unit_id)
        conditions.append(User.unit_id.in_(
            sa.select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path, autoescape=True))))
    if assignment.position_id is not None:
        conditions.append(User.position_id == assignment.position_id)
    return sa.and_(*conditions)


def assignment_members_query(assignment: Assignment):
    """Select of the officials an assignment targets, evaluated now (late joiners included)."""
    return sa.select(User).where(_member_condition(assignment)).order_by(User.sort_key, User.id)


def assignments_for_user(user: User, include_cancelled: bool = False) -> list[Assignment]:
    """Every assignment that targets `user` today: directly, by position, or by unit subtree."""
    conditions = [Assignment.user_id == user.id]
    group = [Assignment.user_id.is_(None)]
    if user.unit is not None:
        ancestor_ids = [int(part) for part in user.unit.path.strip("/").split("/") if part]
        group.append(sa.or_(Assignment.unit_id.is_(None), Assignment.unit_id.in_(ancestor_ids)))
    else:
        group.append(Assignment.unit_id.is_(None))
    group.append(sa.or_(Assignment.position_id.is_(None), Assignment.position_id == user.position_id))
    if user.active:
        conditions.append(sa.and_(*group))
    stmt = sa.select(Assignment).where(sa.or_(*conditions)).order_by(Assignment.due_on, Assignment.id)
    if not include_cancelled:
        stmt = stmt.where(Assignment.cancelled_at.is_(None))
    return list(db.session.scalars(stmt))


def create_assignment(*, course: Course, due_on: date, actor: User | None, user: User | None = None,
                      unit: OrgUnit | None = None, position: Position | None = None, note: str = "",
                      today: date | None = None, requires_lessons: bool = False) -> Assignment:
    """Assign `course` to one official (user) or to a unit subtree, optionally narrowed to a position;
    everyone it targets now is notified (in the app and by e-mail)."""
    if course.status != "published":
        raise AssignmentError(_("Chỉ giao được khóa học đã xuất bản."))
    if due_on < (today or today_in_vietnam()):
        raise AssignmentError(_("Hạn hoàn thành không được ở trong quá khứ."))
    if user is not None and (unit is not None or position is not None):
        raise AssignmentError(_("Giao cho một cán bộ thì không chọn thêm đơn vị hay vị trí."))
    if user is None and unit is None and position is None:
        raise AssignmentError(_("Hãy chọn người, đơn vị hoặc vị trí việc làm được giao."))
    assignment = Assignment(course=course, due_on=due_on, user=user, unit=unit, position=position,
                            note=note.strip()[:500], created_by=actor, requires_lessons=requires_lessons)
    db.session.add(assignment)
    db.session.flush()
    target = user.email if user else "/".join(filter(None, [unit.code if unit else None,
                                                            position.code if position else None]))
    audit.record(actor, "assignment.create", course.slug, assignment_id=assignment.id, assigned_to=target,
                 due_on=due_on.isoformat(), requires_lessons=requires_lessons)
    notify_assigned(assignment)
    return assignment


def notify_assigned(assignment: Assignment) -> int:
    """Tell each official the assignment targets now, once (late joiners see it in their plan)."""
    from flask_babel import lazy_gettext as _l

    from courses.notify import notify
    from training.i18n import day

    course, due = assignment.course, assignment.due_on
    told = 0
    for member in db.session.scalars(assignment_members_query(assignment)):
        made = notify(member, lambda: _l("Khóa học mới được giao: %(title)s", title=course.title),
                      lambda: _l("Bạn được giao khóa học “%(title)s”, hạn hoàn thành %(due)s.%(note)s",
                                 title=course.title, due=day(due),
                                 note=(" " + assignment.note) if assignment.note else ""),
                      f"/courses/{course.slug}", key=f"assignment:{assignment.id}")
        told += made is not None
    return told


def cancel_assignment(assignment: Assignment, actor: User | None) -> None:
    assignment.cancelled_at = datetime.now(timezone.utc)
    audit.record(actor, "assignment.cancel", assignment.course.slug, assignment_id=assignment.id)


@dataclass
class MemberStatus:
    user: User
    state: str  # "done", "in_progress", "not_started", "late"
    completed_at: datetime | None
    lessons_done: int


def member_statuses(assignment: Assignment, today: date | None = None, scope: OrgUnit | None = None,
                    state: str = "", page: int = 1, per_page: int = 50):
    """Who has finished, who is working, who is late; filtered by `state`, paginated.

    Returns (pagination, statuses).
    """
    from courses.progress import lessons_done_counts

    today = today or today_in_vietnam()
    stmt = assignment_members_query(assignment)
    started = sa.select(CourseProgress.user_id).where(CourseProgress.course_id == assignment.course_id)
    done = assignment_done(assignment)
    overdue = today > assignment.due_on
    if state == "done":
        stmt = stmt.where(done)
    elif state == "late":
        stmt = stmt.where(~done) if overdue else stmt.where(sa.false())
    elif state == "in_progress":
        stmt = stmt.where(User.id.in_(started), ~done, sa.true() if not overdue else sa.false())
    elif state == "not_started":
        stmt = stmt.where(User.id.not_in(started), ~done, sa.true() if not overdue else sa.false())
    if scope is not None:
        stmt = stmt.where(User.unit_id.in_(
            sa.select(OrgUnit.id).where(OrgUnit.path.startswith(scope.path, autoescape=True))))
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    ids = [user.id for user in pagination.items]
    progress = {row.user_id: row for row in db.session.scalars(
        sa.select(CourseProgress).where(CourseProgress.course_id == assignment.course_id,
                                        CourseProgress.user_id.in_(ids)))} if ids else {}
    done_ids = set(db.session.scalars(sa.select(User.id).where(User.id.in_(ids), done))) if ids else set()
    done_counts = lessons_done_counts(assignment.course_id, ids)
    statuses = []
    for user in pagination.items:
        row = progress.get(user.id)
        statuses.append(MemberStatus(user, assignment_state(user.id in done_ids, row is not None, assignment.due_on,
                                                            today),
                                     row.completed_at if row else None, done_counts.get(user.id, 0)))
    return pagination, statuses


def assignment_state(done: bool, started: bool, due_on: date, today: date) -> str:
    """"done", "late", "in_progress" or "not_started" for one official on an assigned course."""
    if done:
        return "done"
    if today > due_on:
        return "late"
    return "in_progress" if started else "not_started"


def assignment_counts(assignment: Assignment, today: date | None = None) -> dict[str, int]:
    """Totals for an assignment: members, done, late (not done after the due date)."""
    today = today or today_in_vietnam()
    members = assignment_members_query(assignment).order_by(None)
    total = db.session.scalar(members.with_only_columns(sa.func.count(User.id)))
    done = db.session.scalar(members.with_only_columns(sa.func.count(User.id)).where(assignment_done(assignment)))
    late = (total - done) if today > assignment.due_on else 0
    return {"total": total, "done": done, "late": late}
