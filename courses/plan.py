"""What the learner's plan (training.services.plan) shows about courses: for each competency, its
course with the learner's progress and where to resume, and the due date HR set; plus assigned courses
tied to no competency."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

import sqlalchemy as sa

from courses.assignments import assignment_done, assignments_for_user, today_in_vietnam
from courses.models import Course, CourseProgress
from courses.progress import done_lesson_ids, resume_lesson
from training.extensions import db
from training.models import User


def _course_info(user: User, course: Course) -> dict:
    done = done_lesson_ids(user, course)
    lessons = course.published_lessons
    progress = db.session.scalar(sa.select(CourseProgress).where(CourseProgress.user_id == user.id,
                                                                 CourseProgress.course_id == course.id))
    resume = resume_lesson(user, course)
    url = f"/courses/{quote(course.slug)}"
    return {"title": course.title, "url": url, "done": len([lesson for lesson in lessons if lesson.id in done]),
            "total": len(lessons), "completed": bool(progress and progress.completed_at),
            "resume_url": f"{url}/{quote(resume.slug)}" if resume else url,
            "resume_title": resume.title if resume else ""}


def course_plan(user: User, competency_ids: list[int], now: datetime) -> dict:
    today = today_in_vietnam(now)
    result: dict = {}
    courses = db.session.scalars(sa.select(Course).where(
        Course.status == "published", Course.competency_id.in_(competency_ids)).order_by(Course.title)).all()
    for course in courses:
        if course.competency_id not in result:
            result[course.competency_id] = {"course": _course_info(user, course)}
    extra: dict[int, dict] = {}
    for assignment in assignments_for_user(user):
        course = assignment.course
        if course.status != "published":
            continue
        done = db.session.scalar(sa.select(sa.literal(True)).where(User.id == user.id,
                                                                   assignment_done(assignment, now)))
        if done:
            continue
        if course.competency_id in competency_ids:
            entry = result.setdefault(course.competency_id, {"course": _course_info(user, course)})
            if entry.get("due_on") is None or assignment.due_on < entry["due_on"]:
                entry["due_on"] = assignment.due_on
                entry["overdue"] = today > assignment.due_on
        else:
            info = extra.setdefault(course.id, {**_course_info(user, course), "due_on": assignment.due_on})
            info["due_on"] = min(info["due_on"], assignment.due_on)
            info["overdue"] = today > info["due_on"]
    result[None] = {"extra": sorted(extra.values(), key=lambda item: item["due_on"])}
    return result


def register(app) -> None:
    app.extensions.setdefault("plan_providers", []).append(course_plan)
