"""Learner progress: catalogue, resume point, marking lessons done, course completion."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import sqlalchemy as sa

from courses.models import Course, CourseProgress, Lesson, LessonProgress
from training.extensions import db
from training.models import User


@dataclass
class CatalogueEntry:
    course: Course
    due_on: date | None
    lessons_total: int
    lessons_done: int
    completed: bool       # done as an assignment counts it (or every lesson done, when not assigned)
    held: bool = False    # the learner holds the course's competency now

    @property
    def percent(self) -> int:
        return round(100 * self.lessons_done / self.lessons_total) if self.lessons_total else 0


def published_courses() -> list[Course]:
    return list(db.session.scalars(sa.select(Course).where(Course.status == "published").order_by(Course.title)))


def lessons_done_counts(course_id: int, user_ids: list[int]) -> dict[int, int]:
    """Published lessons each user has completed in a course."""
    if not user_ids:
        return {}
    rows = db.session.execute(
        sa.select(LessonProgress.user_id, sa.func.count(LessonProgress.id))
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .where(Lesson.course_id == course_id, Lesson.status == "published",
               LessonProgress.completed_at.is_not(None), LessonProgress.user_id.in_(user_ids))
        .group_by(LessonProgress.user_id))
    return dict(rows.all())


def done_lesson_ids(user: User, course: Course) -> set[int]:
    return set(db.session.scalars(
        sa.select(LessonProgress.lesson_id).join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .where(LessonProgress.user_id == user.id, Lesson.course_id == course.id,
               LessonProgress.completed_at.is_not(None))))


def course_progress(user: User, course: Course) -> CourseProgress | None:
    return db.session.scalar(sa.select(CourseProgress).where(CourseProgress.user_id == user.id,
                                                             CourseProgress.course_id == course.id))


def catalogue(user: User) -> tuple[list[CatalogueEntry], list[CatalogueEntry]]:
    """The learner's catalogue: (assigned courses by due date, other published courses)."""
    from courses.assignments import assignment_done, assignments_for_user
    from training.services.qualification import valid_records

    due: dict[int, date] = {}
    pending: set[int] = set()  # courses with an assignment not done yet (the home page's rule)
    for assignment in assignments_for_user(user):
        if assignment.course.status == "published":
            current = due.get(assignment.course_id)
            due[assignment.course_id] = min(current, assignment.due_on) if current else assignment.due_on
            if not db.session.scalar(sa.select(sa.literal(True)).where(User.id == user.id,
                                                                       assignment_done(assignment))):
                pending.add(assignment.course_id)
    held = set(valid_records(user))
    courses = published_courses()
    done_rows = db.session.execute(
        sa.select(Lesson.course_id, sa.func.count(LessonProgress.id))
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .where(LessonProgress.user_id == user.id, LessonProgress.completed_at.is_not(None),
               Lesson.status == "published")
        .group_by(Lesson.course_id)).all()
    done = dict(done_rows)
    completed = set(db.session.scalars(sa.select(CourseProgress.course_id).where(
        CourseProgress.user_id == user.id, CourseProgress.completed_at.is_not(None))))
    entries = [CatalogueEntry(c, due.get(c.id), len(c.published_lessons), done.get(c.id, 0),
                              (c.id not in pending) if c.id in due else c.id in completed,
                              c.competency_id in held) for c in courses]
    assigned = sorted((e for e in entries if e.due_on), key=lambda e: (e.completed, e.due_on))
    others = [e for e in entries if not e.due_on]
    return assigned, others


def resume_lesson(user: User, course: Course) -> Lesson | None:
    """Where to continue: the last lesson opened if unfinished, else the first lesson not done."""
    lessons = course.published_lessons
    if not lessons:
        return None
    done = done_lesson_ids(user, course)
    progress = course_progress(user, course)
    if progress and progress.last_lesson and progress.last_lesson.status == "published" \
            and progress.last_lesson.id not in done:
        return progress.last_lesson
    for lesson in lessons:
        if lesson.id not in done:
            return lesson
    return lessons[0]


def record_visit(user: User, lesson: Lesson) -> None:
    """Remember that the learner opened this lesson (the resume point)."""
    now = datetime.now(timezone.utc)
    progress = course_progress(user, lesson.course)
    if progress is None:
        progress = CourseProgress(user_id=user.id, course_id=lesson.course_id, started_at=now)
        db.session.add(progress)
    progress.last_lesson_id = lesson.id
    progress.last_activity_at = now
    if db.session.scalar(sa.select(LessonProgress.id).where(LessonProgress.user_id == user.id,
                                                            LessonProgress.lesson_id == lesson.id)) is None:
        db.session.add(LessonProgress(user_id=user.id, lesson_id=lesson.id, first_viewed_at=now))
    db.session.flush()


def mark_done(user: User, lesson: Lesson, done: bool = True) -> bool:
    """Mark a lesson done (or not); returns True when this completes the whole course."""
    now = datetime.now(timezone.utc)
    record_visit(user, lesson)
    row = db.session.scalar(sa.select(LessonProgress).where(LessonProgress.user_id == user.id,
                                                            LessonProgress.lesson_id == lesson.id))
    row.completed_at = (row.completed_at or now) if done else None
    progress = course_progress(user, lesson.course)
    db.session.flush()
    all_done = {lesson.id for lesson in lesson.course.published_lessons} <= done_lesson_ids(user, lesson.course)
    newly_completed = all_done and progress.completed_at is None
    if all_done:
        progress.completed_at = progress.completed_at or now
    db.session.flush()
    return newly_completed


def neighbours(lesson: Lesson) -> tuple[Lesson | None, Lesson | None]:
    lessons = lesson.course.published_lessons
    index = next((i for i, item in enumerate(lessons) if item.id == lesson.id), None)
    if index is None:
        return None, None
    return (lessons[index - 1] if index > 0 else None,
            lessons[index + 1] if index + 1 < len(lessons) else None)
