"""What staffing needs from the courses: which published course teaches a competency, how far an
official is in it, and assigning it with a due date.

`training` does not import the domain packages at module level (dependencies point courses →
training); staffing sits on top of both, so the imports of `courses` live inside these functions,
and this module is the only place staffing touches courses.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from training.extensions import db
from training.models import User


@dataclass(frozen=True)
class CourseInfo:
    id: int
    title: str
    competency_id: int | None
    lessons: int  # published lessons


def courses_by_competency() -> dict[int, list[CourseInfo]]:
    """Published courses per competency they lead to, each with its count of published lessons."""
    from courses.models import Course, Lesson

    lessons = sa.select(sa.func.count(Lesson.id)).where(Lesson.course_id == Course.id,
                                                        Lesson.status == "published").scalar_subquery()
    result: dict[int, list[CourseInfo]] = {}
    for course_id, title, competency_id, count in db.session.execute(
            sa.select(Course.id, Course.title, Course.competency_id, lessons)
            .where(Course.status == "published", Course.competency_id.is_not(None))
            .order_by(Course.title, Course.id)):
        result.setdefault(competency_id, []).append(CourseInfo(course_id, title, competency_id, int(count or 0)))
    return result


def published_courses() -> list[CourseInfo]:
    """Every published course (what HR may assign), by title."""
    from courses.models import Course

    return [CourseInfo(course_id, title, competency_id, 0) for course_id, title, competency_id in db.session.execute(
        sa.select(Course.id, Course.title, Course.competency_id).where(Course.status == "published")
        .order_by(Course.title, Course.id))]


def lessons_done(user_ids: Iterable[int], course_ids: Iterable[int]) -> dict[tuple[int, int], int]:
    """(user id, course id) → published lessons the official has completed in that course."""
    from courses.models import Lesson, LessonProgress

    user_ids, course_ids = sorted(set(user_ids)), sorted(set(course_ids))
    if not user_ids or not course_ids:
        return {}
    rows = db.session.execute(
        sa.select(LessonProgress.user_id, Lesson.course_id, sa.func.count(LessonProgress.id))
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .where(LessonProgress.user_id.in_(user_ids), Lesson.course_id.in_(course_ids),
               Lesson.status == "published", LessonProgress.completed_at.is_not(None))
        .group_by(LessonProgress.user_id, Lesson.course_id))
    return {(user_id, course_id): int(n) for user_id, course_id, n in rows}


class TrainingError(ValueError):
    """An assignment that cannot be made; the message is for the user."""


def assign_course(course_id: int, official: User, due_on: date, actor: User | None, note: str = "") -> int:
    """Assign one course to one official by `due_on` (notified, audited, as every assignment);
    the new assignment's id."""
    from courses.assignments import AssignmentError, create_assignment
    from courses.models import Course

    course = db.session.get(Course, course_id)
    if course is None:
        raise TrainingError(_("Khóa học này không còn trên hệ thống."))
    try:
        return create_assignment(course=course, due_on=due_on, actor=actor, user=official, note=note).id
    except AssignmentError as error:
        raise TrainingError(str(error)) from error
