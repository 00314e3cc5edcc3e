"""Learner pages: catalogue, course, lesson, mark as done, resume."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from courses import bp
from courses.assignments import assignments_for_user, today_in_vietnam
from courses.markdown import render_markdown
from courses.models import Course, Lesson
from courses.progress import (catalogue, course_progress, done_lesson_ids, mark_done, neighbours, record_visit,
                              resume_lesson)
from training.access import access
from training.admin.forms import ConfirmForm
from training.extensions import db


def _course_or_404(slug: str) -> Course:
    course = db.session.scalar(sa.select(Course).where(Course.slug == slug))
    if course is None:
        abort(404)
    if course.status != "published" and not current_user.has_role("trainer", "admin"):
        abort(404)  # drafts exist only for their authors
    return course


def _lesson_or_404(course: Course, lesson_slug: str) -> Lesson:
    lesson = next((item for item in course.lessons if item.slug == lesson_slug), None)
    if lesson is None or (lesson.status != "published" and not current_user.has_role("trainer", "admin")):
        abort(404)
    return lesson


@bp.route("/")
@access()
def catalogue_page():
    assigned, others = catalogue(current_user)
    return render_template("courses/catalogue.html", assigned=assigned, others=others, today=today_in_vietnam())


@bp.route("/<slug>")
@access()
def course_page(slug: str):
    course = _course_or_404(slug)
    done = done_lesson_ids(current_user, course)
    due = [a.due_on for a in assignments_for_user(current_user) if a.course_id == course.id]
    return render_template(
        "courses/course.html", course=course, done=done, progress=course_progress(current_user, course),
        resume=resume_lesson(current_user, course), intro_html=render_markdown(course.intro_md),
        due_on=min(due) if due else None, today=today_in_vietnam(),
    )


@bp.route("/<slug>/resume")
@access()
def resume(slug: str):
    course = _course_or_404(slug)
    lesson = resume_lesson(current_user, course)
    if lesson is None:
        flash(_("Khóa học chưa có bài học nào."), "info")
        return redirect(url_for("courses.course_page", slug=slug))
    return redirect(url_for("courses.lesson_page", slug=slug, lesson_slug=lesson.slug))


@bp.route("/<slug>/<lesson_slug>")
@access()
def lesson_page(slug: str, lesson_slug: str):
    course = _course_or_404(slug)
    lesson = _lesson_or_404(course, lesson_slug)
    if lesson.status == "published":
        record_visit(current_user, lesson)
        db.session.commit()
    previous, following = neighbours(lesson)
    lessons = course.published_lessons
    number = next((i for i, item in enumerate(lessons, start=1) if item.id == lesson.id), None)
    return render_template("courses/lesson.html", course=course, lesson=lesson, previous=previous,
                           following=following, number=number, total=len(lessons),
                           is_done=lesson.id in done_lesson_ids(current_user, course), form=ConfirmForm())


@bp.route("/<slug>/<lesson_slug>/done", methods=["POST"])
@access()
def lesson_done(slug: str, lesson_slug: str):
    course = _course_or_404(slug)
    lesson = _lesson_or_404(course, lesson_slug)
    form = ConfirmForm()
    if not form.validate_on_submit() or lesson.status != "published":
        abort(400)
    undo = request.form.get("undo") == "1"
    completed = mark_done(current_user, lesson, done=not undo)
    db.session.commit()
    if undo:
        flash(_("Đã bỏ đánh dấu hoàn thành bài “%(title)s”.", title=lesson.title), "info")
        return redirect(url_for("courses.lesson_page", slug=slug, lesson_slug=lesson_slug))
    if completed:
        flash(_("Chúc mừng! Bạn đã hoàn thành khóa học “%(title)s”.", title=course.title), "success")
        return redirect(url_for("courses.course_page", slug=slug))
    following = neighbours(lesson)[1]
    flash(_("Đã hoàn thành bài “%(title)s”.", title=lesson.title), "success")
    if following is not None:
        return redirect(url_for("courses.lesson_page", slug=slug, lesson_slug=following.slug))
    return redirect(url_for("courses.course_page", slug=slug))
