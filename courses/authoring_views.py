"""Trainer pages under /courses/manage/: write courses and lessons, preview, reorder, publish, upload
lesson media; and /courses/media/<name>, where learners' browsers fetch those files."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from courses import bp
from courses.authoring import (MOVE_DIRECTIONS, AuthoringError, create_course, create_lesson, is_from_files,
                               move_lesson, ordered_lessons, set_lesson_body, update_course, update_lesson)
from courses.authoring_forms import (COURSE_STATUS_LABELS, LESSON_STATUS_LABELS, SOURCE_LABELS, CourseForm,
                                     LessonForm, MediaForm)
from courses.markdown import render_markdown
from courses.media import (MAX_REQUEST_BYTES, SIZE_LIMITS, LessonMedia, MediaError, Upload, add_media, delete_files,
                           insert_snippet, lesson_media, remove_media, size_label, stored_file, strip_snippets,
                           uses_media)
from courses.models import COURSE_STATUSES, Course, Lesson
from training.access import access
from training.extensions import csrf, db
from training.models import Competency
from training.services.competencies import all_competencies
from training.vntext import collation_key, nfc

MEDIA_MAX_AGE = 365 * 24 * 3600
LABELS = {"course_status": COURSE_STATUS_LABELS, "lesson_status": LESSON_STATUS_LABELS, "source": SOURCE_LABELS}


def _lesson_or_404(course: Course, lesson_id: int) -> Lesson:
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or lesson.course_id != course.id:
        abort(404)
    return lesson


def _add_error(field, message: str) -> None:
    """An error on a field, whether or not its form was validated (errors is a tuple until then)."""
    field.errors = [*field.errors, message]


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
@csrf.exempt  # checked in the view, once the body may be as large as a video (the global check reads it first)
@access("trainer", "admin")
def manage_lesson(course_id: int, lesson_id: int | None = None):
    """The lesson editor: one form whose buttons save, preview, upload a file (inserted into the text
    being written) or remove one; the unsaved text travels with every button."""
    course = db.get_or_404(Course, course_id)
    lesson = _lesson_or_404(course, lesson_id) if lesson_id else None
    if request.method == "POST":
        refused = _read_editor_post(course, lesson)
        if refused is not None:
            return refused
    form = LessonForm(obj=lesson)
    media_form = MediaForm(prefix="media")
    preview_html, status = None, 200
    if request.method == "POST":
        if _remove_requested():
            return _remove_media(course, lesson, form, media_form)
        upload = media_form.file.data
        if upload and upload.filename:
            if not _upload_media(lesson, form, media_form):
                return _render_lesson_editor(course, lesson, form, media_form, None, 400)
            if not form.submit.data:
                # Show what was inserted; the lesson itself is saved by "Lưu".
                return _render_lesson_editor(course, lesson, form, media_form,
                                             render_markdown(form.body_md.data or ""), 200)
        elif media_form.upload.data:
            _add_error(media_form.file, _("Vui lòng chọn tệp để tải lên."))
            return _render_lesson_editor(course, lesson, form, media_form, None, 400)
    if request.method == "POST" and form.preview.data:
        # Shown in the editor exactly as learners would see it, and never stored.
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
    return _render_lesson_editor(course, lesson, form, media_form, preview_html, status)


def _render_lesson_editor(course: Course, lesson: Lesson | None, form: LessonForm, media_form: MediaForm,
                          preview_html: str | None, status: int):
    return render_template("courses/manage/lesson_form.html", form=form, media_form=media_form, course=course,
                           lesson=lesson, media=lesson_media(lesson), preview_html=preview_html, labels=LABELS,
                           from_files=is_from_files(course), limits=SIZE_LIMITS, size_label=size_label), status


def _read_editor_post(course: Course, lesson: Lesson | None):
    """Read the posted form under the editor's own limits and check its CSRF token; a response when refused."""
    request.max_content_length = MAX_REQUEST_BYTES
    request.max_form_memory_size = 2 * 1024 * 1024  # the lesson text, 200,000 characters of Vietnamese
    try:
        # A declared length over the limit is refused before any byte is parsed (no half-written temp file).
        if (request.content_length or 0) > MAX_REQUEST_BYTES:
            raise RequestEntityTooLarge()
        request.form  # noqa: B018 (parse now, under these limits)
    except RequestEntityTooLarge:
        form, media_form = LessonForm(formdata=None, obj=lesson), MediaForm(formdata=None, prefix="media")
        _add_error(media_form.file, _(
            "Tệp gửi lên quá lớn: hình ảnh tối đa %(image)s, âm thanh %(audio)s, video %(video)s. Nội dung bài "
            "vừa sửa chưa được gửi đi; trang hiển thị bản đã lưu.", image=size_label(SIZE_LIMITS["image"]),
            audio=size_label(SIZE_LIMITS["audio"]), video=size_label(SIZE_LIMITS["video"])))
        return _render_lesson_editor(course, lesson, form, media_form, None, 413)
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    return None


def _insert_position(form: LessonForm) -> int | None:
    raw = (form.insert_at.data or "").strip()
    return int(raw) if raw.isdigit() and len(raw) <= 9 else None


def _upload_media(lesson: Lesson | None, form: LessonForm, media_form: MediaForm) -> bool:
    """Keep the chosen file and insert its snippet into the text being written; False (errors on the
    form, nothing kept) when it cannot be kept."""
    if lesson is None:
        _add_error(media_form.file, _("Hãy lưu bài học trước, rồi tải tệp lên."))
        return False
    if not media_form.validate():
        return False
    captions = media_form.captions.data
    try:
        media = add_media(lesson, current_user, Upload(media_form.file.data.stream, media_form.file.data.filename),
                          alt_text=media_form.alt_text.data or "", caption=media_form.caption.data or "",
                          captions=Upload(captions.stream, captions.filename) if captions and captions.filename
                          else None)
    except MediaError as exc:
        db.session.rollback()
        _add_error(getattr(media_form, exc.field, media_form.file), str(exc))
        return False
    db.session.commit()
    form.body_md.data = insert_snippet(form.body_md.data or "", media.snippet, _insert_position(form))
    form.insert_at.data = ""
    for name in ("alt_text", "caption"):
        getattr(media_form, name).data = ""
    flash(_("Đã tải lên “%(name)s” và chèn vào nội dung bài. Bấm “Lưu” để lưu bài học.",
            name=media.original_name), "success")
    if media.kind == "video" and not media.captions_name:
        flash(_("Video chưa có phụ đề: người khiếm thính và người xem ở nơi không bật được tiếng sẽ không theo "
                "dõi được. Nên tải lên tệp phụ đề WebVTT."), "warning")
    return True


def _remove_requested() -> bool:
    return "remove_media" in request.form


def _remove_media(course: Course, lesson: Lesson | None, form: LessonForm, media_form: MediaForm):
    """Delete one of the lesson's files and take its snippet out of the text, saved and being written
    (learners never see a missing picture)."""
    raw = request.form.get("remove_media", "")
    media = db.session.get(LessonMedia, int(raw)) if raw.isdigit() and len(raw) <= 9 else None
    if lesson is None or media is None or media.lesson_id != lesson.id:
        _add_error(media_form.file, _("Tệp này không còn trong bài học (có thể đã được xóa)."))
        return _render_lesson_editor(course, lesson, form, media_form, None, 400)
    name = media.original_name
    if uses_media(lesson.body_md, media):
        set_lesson_body(lesson, current_user, strip_snippets(lesson.body_md, media), reason="media_remove")
    files = remove_media(media, current_user)
    form.body_md.data = strip_snippets(form.body_md.data or "", media)
    db.session.commit()
    delete_files(files)
    flash(_("Đã xóa tệp “%(name)s” khỏi bài học và bỏ chỗ chèn tệp trong nội dung.", name=name), "success")
    return _render_lesson_editor(course, lesson, form, media_form, None, 200)


@bp.route("/manage/preview", methods=["POST"])
@access("trainer", "admin")
def manage_preview():
    """The lesson text rendered as learners see it, for the editor's live preview (JSON {"html"})."""
    text = request.form.get("text", "")
    if len(text) > 200_000:
        return jsonify({"error": {"code": "too_large", "message": _("Nội dung bài học dài quá 200.000 ký tự.")}}), 413
    return jsonify({"html": render_markdown(text)})


@bp.route("/media/<name>")
@access()
def media_file(name: str):
    """A lesson's picture, video, sound or captions. Not personal data, and a name is never reused for
    other content: browsers and a ward's proxy may keep it for a year."""
    found = stored_file(name)
    if found is None:
        abort(404)
    path, mimetype = found
    response = send_file(path, mimetype=mimetype, conditional=True, max_age=MEDIA_MAX_AGE)
    response.cache_control.public = True
    response.cache_control.immutable = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


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
