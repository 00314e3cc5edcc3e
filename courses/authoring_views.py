"""Trainer pages under /courses/manage/: write courses and lessons, preview, reorder, publish."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from courses import bp
from courses.authoring import (MOVE_DIRECTIONS, AuthoringError, create_course, create_lesson, is_from_files,
                               move_lesson, ordered_lessons, update_course, update_lesson)
from courses.authoring_forms import (COURSE_STATUS_LABELS, LESSON_STATUS_LABELS, SOURCE_LABELS, CourseForm,
                                     LessonForm)
from courses.markdown import render_markdown
from courses.models import COURSE_STATUSES, Course, Lesson
from training.access import access
from training.extensions import db
from training.models import Competency
from training.services.competencies import all_competencies
from training.vntext import collation_key, nfc

LABELS = {"course_status": COURSE_STATUS_LABELS, "lesson_status": LESSON_STATUS_LABELS, "source": SOURCE_LABELS}


def _lesson_or_404(course: Course, lesson_id: int) -> Lesson:
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or lesson.course_id != course.id:
        abort(404)
    return lesson


def _field_error(form, exc: AuthoringError) -> None:
    getattr(form, exc.field or "title", form.title).errors.append(str(exc))


@bp.route("/manage/")
@access("trainer", "admin")
def manage_courses():
    filters = {"q": nfc(request.args.get("q", "")), "status": request.args.get("status", "")}
    stmt = sa.select(Course).order_by(Course.title, Course.id)
    if filters["q"]:
        pattern = f"%{filters['q']}%"
        stmt = stmt.where(sa.or_(Course.title.ilike(pattern), Course.slug.ilike(pattern)))
    if filters["status"] in COURSE_STATUSES:
        stmt = stmt.where(Course.status == filters["status"])
    page = db.paginate(stmt, per_page=25, error_out=False)
    courses = sorted(page.items, key=lambda c: collation_key(c.title))
    counts = {}
    if courses:
        rows = db.session.execute(
            sa.select(Lesson.course_id, Lesson.status, sa.func.count(Lesson.id))
            .where(Lesson.course_id.in_([c.id for c in courses]))
            .group_by(Lesson.course_id, Lesson.status))
        for course_id, status, n in rows:
            counts.setdefault(course_id, {})[status] = n
    return render_template("courses/manage/index.html", page=page, courses=courses, counts=counts,
                           filters=filters, labels=LABELS)


@bp.route("/manage/new", methods=["GET", "POST"])
@bp.route("/manage/<int:course_id>", methods=["GET", "POST"])
@access("trainer", "admin")
def manage_course(course_id: int | None = None):
    course = db.get_or_404(Course, course_id) if course_id else None
    form = CourseForm(obj=course)
    form.competency_id.choices = [(0, _("(Không gắn với năng lực nào)"))] + [
        (c.id, c.name(str(get_locale()))) for c in all_competencies()]
    if request.method == "GET" and course is not None:
        form.competency_id.data = course.competency_id or 0
    if course is not None and is_from_files(course):
        form.slug.render_kw = {"readonly": True}
    preview_html, status = None, 200
    if request.method == "POST" and form.preview.data:
        # A preview saves nothing, so it does not need valid fields.
        preview_html = render_markdown(form.intro_md.data or "")
    elif form.validate_on_submit():
        competency = db.session.get(Competency, form.competency_id.data) if form.competency_id.data else None
        values = {"title": form.title.data, "slug": form.slug.data or "", "summary": form.summary.data or "",
                  "intro_md": form.intro_md.data or "", "competency": competency, "status": form.status.data}
        try:
            if course is None:
                course = create_course(current_user, **values)
                message = _("Đã tạo khóa học %(title)s. Hãy thêm bài học.", title=course.title)
            else:
                changed = update_course(course, current_user, **values)
                message = (_("Đã lưu khóa học %(title)s (phiên bản %(version)d).", title=course.title,
                             version=course.version) if changed else _("Không có thay đổi nào cần lưu."))
        except AuthoringError as exc:
            db.session.rollback()
            _field_error(form, exc)
            status = 400
        else:
            db.session.commit()
            flash(message, "success")
            if course.status == "published" and not course.published_lessons:
                flash(_("Khóa học đã xuất bản nhưng chưa có bài học nào được xuất bản."), "warning")
            return redirect(url_for("courses.manage_course", course_id=course.id))
    elif request.method == "POST":
        status = 400
    lessons = ordered_lessons(course) if course is not None else []
    return render_template("courses/manage/course_form.html", form=form, course=course, lessons=lessons,
                           preview_html=preview_html, labels=LABELS,
                           from_files=course is not None and is_from_files(course)), status


@bp.route("/manage/<int:course_id>/lessons/new", methods=["GET", "POST"])
@bp.route("/manage/<int:course_id>/lessons/<int:lesson_id>", methods=["GET", "POST"])
@access("trainer", "admin")
def manage_lesson(course_id: int, lesson_id: int | None = None):
    course = db.get_or_404(Course, course_id)
    lesson = _lesson_or_404(course, lesson_id) if lesson_id else None
    form = LessonForm(obj=lesson)
    preview_html, status = None, 200
    if request.method == "POST" and form.preview.data:
        # Shown under the form exactly as learners would see it, and never stored.
        preview_html = render_markdown(form.body_md.data or "")
    elif form.validate_on_submit():
        values = {"title": form.title.data, "slug": form.slug.data or "",
                  "estimated_minutes": form.estimated_minutes.data, "body_md": form.body_md.data or "",
                  "status": form.status.data}
        try:
            if lesson is None:
                lesson = create_lesson(course, current_user, **values)
                message = _("Đã thêm bài học %(title)s.", title=lesson.title)
            else:
                changed = update_lesson(lesson, current_user, **values)
                message = (_("Đã lưu bài học %(title)s.", title=lesson.title) if changed
                           else _("Không có thay đổi nào cần lưu."))
        except AuthoringError as exc:
            db.session.rollback()
            _field_error(form, exc)
            status = 400
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("courses.manage_lesson", course_id=course.id, lesson_id=lesson.id))
    elif request.method == "POST":
        status = 400
    return render_template("courses/manage/lesson_form.html", form=form, course=course, lesson=lesson,
                           preview_html=preview_html, labels=LABELS, from_files=is_from_files(course)), status


@bp.route("/manage/<int:course_id>/lessons/<int:lesson_id>/move", methods=["POST"])
@access("trainer", "admin")
def manage_move_lesson(course_id: int, lesson_id: int):
    course = db.get_or_404(Course, course_id)
    lesson = _lesson_or_404(course, lesson_id)
    direction = request.form.get("direction", "")
    if direction not in MOVE_DIRECTIONS:
        message = _("Hướng di chuyển không hợp lệ: chỉ có thể chuyển bài học lên (up) hoặc xuống (down).")
        return render_template("errors/error.html", status=400, message=message), 400
    if move_lesson(lesson, current_user, direction):
        db.session.commit()
        flash(_("Đã chuyển bài “%(title)s” đến vị trí %(n)d.", title=lesson.title, n=lesson.position), "success")
    else:
        flash(_("Bài “%(title)s” đã ở vị trí đầu tiên.", title=lesson.title) if direction == "up"
              else _("Bài “%(title)s” đã ở vị trí cuối cùng.", title=lesson.title), "info")
    return redirect(url_for("courses.manage_course", course_id=course.id, _anchor="lessons"))
