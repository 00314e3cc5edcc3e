"""Trainer authoring: create and edit courses and lessons, reorder lessons, publish and unpublish.

Every change made here counts as an edit in the browser: the course becomes `source="web"` (so
`courses sync` stops overwriting it), its version goes up by one (so the sync's version comparison
stays meaningful) and its estimated time is recomputed from its lessons. Functions flush; the caller
commits. Lesson HTML only ever comes from `render_markdown`, which sanitises it.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import gettext as _

from courses.markdown import render_markdown
from courses.models import COURSE_STATUSES, Course, Lesson
from training.extensions import db
from training.models import Competency, User
from training.services import audit
from training.vntext import fold, nfc

LESSON_STATUSES = ("published", "draft", "archived")
MOVE_DIRECTIONS = ("up", "down")
SLUG_MAX = 120
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class AuthoringError(ValueError):
    """A change a trainer asked for that cannot be made; `field` names the form field at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------- slugs
def slugify(text: str) -> str:
    """An ASCII slug from a Vietnamese title: no diacritics, đ → d, lower case, words joined by hyphens."""
    slug = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    return slug[:80].rstrip("-")


def slug_format_error(slug: str) -> str | None:
    """The message for a badly formed slug, or None when the slug is fine."""
    if not slug:
        return _("Vui lòng nhập đường dẫn (slug).")
    if len(slug) > SLUG_MAX or not SLUG_PATTERN.match(slug):
        return _("Đường dẫn chỉ gồm chữ thường không dấu (a–z), chữ số và dấu gạch ngang giữa các từ, "
                 "ví dụ: chu-ky-so.")
    return None


def course_slug_taken(slug: str, exclude: Course | None = None) -> bool:
    """True when another course has this slug, or a page of the site uses it."""
    from courses.models import RESERVED_COURSE_SLUGS

    if slug in RESERVED_COURSE_SLUGS:
        return True
    stmt = sa.select(Course.id).where(Course.slug == slug)
    if exclude is not None and exclude.id is not None:
        stmt = stmt.where(Course.id != exclude.id)
    return db.session.scalar(stmt.limit(1)) is not None


def lesson_slug_taken(course: Course, slug: str, exclude: Lesson | None = None) -> bool:
    return any(lesson.slug == slug for lesson in course.lessons if lesson is not exclude)


def _free_slug(base: str, taken) -> str:
    """`base`, or `base-2`, `base-3` ... whichever is still free."""
    base = base or "bai"
    slug, n = base, 1
    while taken(slug):
        n += 1
        slug = f"{base}-{n}"
    return slug


def suggest_course_slug(title: str) -> str:
    """A free course slug derived from the title."""
    return _free_slug(slugify(title) or "khoa-hoc", course_slug_taken)


def suggest_lesson_slug(course: Course, title: str) -> str:
    """A slug derived from the title that no other lesson of the course uses."""
    return _free_slug(slugify(title) or "bai-hoc", lambda s: lesson_slug_taken(course, s))


def _check_course_slug(slug: str, course: Course | None) -> None:
    error = slug_format_error(slug)
    if error:
        raise AuthoringError(error, "slug")
    if course_slug_taken(slug, exclude=course):
        raise AuthoringError(_("Đường dẫn “%(slug)s” đã được dùng cho một khóa học khác.", slug=slug), "slug")


def _check_lesson_slug(course: Course, slug: str, lesson: Lesson | None) -> None:
    error = slug_format_error(slug)
    if error:
        raise AuthoringError(error, "slug")
    if lesson_slug_taken(course, slug, exclude=lesson):
        raise AuthoringError(_("Đường dẫn “%(slug)s” đã được dùng cho một bài học khác trong khóa học này.",
                               slug=slug), "slug")


def is_from_files(course: Course) -> bool:
    """True for a course that `courses sync` loaded from the content folder (even if edited since)."""
    return course.source == "file" or bool(course.content_hash)


# --------------------------------------------------------------------------- courses
def _mark_edited(course: Course) -> None:
    """Record that the course changed in the browser: sync leaves it alone, version and time follow."""
    course.source = "web"
    course.version = (course.version or 0) + 1
    course.estimated_minutes = sum(lesson.estimated_minutes or 0 for lesson in course.lessons
                                   if lesson.status != "archived")


def _check_status(status: str, allowed: tuple[str, ...]) -> None:
    if status not in allowed:
        raise AuthoringError(_("Trạng thái không hợp lệ."), "status")


def create_course(actor: User | None, *, title: str, slug: str = "", summary: str = "", intro_md: str = "",
                  competency: Competency | None = None, status: str = "draft") -> Course:
    """Create a course written in the browser; an empty slug is derived from the title."""
    title = nfc(title)
    if not title:
        raise AuthoringError(_("Vui lòng nhập tên khóa học."), "title")
    slug = nfc(slug) or suggest_course_slug(title)
    _check_course_slug(slug, None)
    _check_status(status, COURSE_STATUSES)
    course = Course(slug=slug, title=title, summary=nfc(summary), intro_md=nfc(intro_md), competency=competency,
                    status=status, source="web", version=1, estimated_minutes=0, content_hash="")
    db.session.add(course)
    db.session.flush()
    audit.record(actor, "course.create", course.slug, status=status)
    return course


def update_course(course: Course, actor: User | None, *, title: str, slug: str, summary: str, intro_md: str,
                  competency: Competency | None, status: str) -> list[str]:
    """Apply the form's values to a course; returns the names of the fields that changed.

    Nothing changes (no version bump, no audit entry) when the values are the ones stored. The slug of
    a course loaded from files cannot change: the files would come back under the old slug.
    """
    title, slug = nfc(title), nfc(slug) or course.slug
    if not title:
        raise AuthoringError(_("Vui lòng nhập tên khóa học."), "title")
    _check_status(status, COURSE_STATUSES)
    if slug != course.slug:
        if is_from_files(course):
            raise AuthoringError(_("Không thể đổi đường dẫn của khóa học được nạp từ tệp nội dung."), "slug")
        _check_course_slug(slug, course)
    values = {"title": title, "slug": slug, "summary": nfc(summary), "intro_md": nfc(intro_md),
              "competency_id": competency.id if competency is not None else None}
    changed = [name for name, value in values.items() if getattr(course, name) != value]
    for name in changed:
        setattr(course, name, values[name])
    if changed:
        _mark_edited(course)
        audit.record(actor, "course.update", course.slug, fields=changed, version=course.version)
    if status != course.status:
        set_course_status(course, actor, status, _already_marked=bool(changed))
        changed.append("status")
    db.session.flush()
    return changed


def set_course_status(course: Course, actor: User | None, status: str, *, _already_marked: bool = False) -> None:
    """Publish (`"published"`) or unpublish (`"draft"`) a course."""
    _check_status(status, COURSE_STATUSES)
    if status == course.status:
        return
    course.status = status
    if not _already_marked:
        _mark_edited(course)
    audit.record(actor, "course.publish" if status == "published" else "course.unpublish", course.slug,
                 version=course.version)
    db.session.flush()


# --------------------------------------------------------------------------- lessons
def _check_minutes(minutes) -> int:
    if not isinstance(minutes, int) or not 1 <= minutes <= 240:
        raise AuthoringError(_("Thời lượng ước tính phải từ 1 đến 240 phút."), "estimated_minutes")
    return minutes


def create_lesson(course: Course, actor: User | None, *, title: str, slug: str = "", estimated_minutes: int = 10,
                  body_md: str = "", status: str = "draft") -> Lesson:
    """Add a lesson at the end of a course; an empty slug is derived from the title."""
    title = nfc(title)
    if not title:
        raise AuthoringError(_("Vui lòng nhập tên bài học."), "title")
    slug = nfc(slug) or suggest_lesson_slug(course, title)
    _check_lesson_slug(course, slug, None)
    _check_status(status, LESSON_STATUSES)
    body_md = nfc(body_md)
    position = max((lesson.position for lesson in course.lessons), default=0) + 1
    lesson = Lesson(course=course, slug=slug, title=title, position=position,
                    estimated_minutes=_check_minutes(estimated_minutes), body_md=body_md,
                    body_html=render_markdown(body_md), status=status)
    db.session.add(lesson)
    _mark_edited(course)
    db.session.flush()
    audit.record(actor, "lesson.create", course.slug, lesson=lesson.slug, status=status, version=course.version)
    return lesson


def update_lesson(lesson: Lesson, actor: User | None, *, title: str, slug: str, estimated_minutes: int,
                  body_md: str, status: str) -> list[str]:
    """Apply the form's values to a lesson (body_html re-rendered with it); returns the changed fields."""
    course = lesson.course
    title, slug, body_md = nfc(title), nfc(slug) or lesson.slug, nfc(body_md)
    if not title:
        raise AuthoringError(_("Vui lòng nhập tên bài học."), "title")
    if slug != lesson.slug:
        _check_lesson_slug(course, slug, lesson)
    _check_status(status, LESSON_STATUSES)
    values = {"title": title, "slug": slug, "estimated_minutes": _check_minutes(estimated_minutes),
              "body_md": body_md, "status": status}
    changed = [name for name, value in values.items() if getattr(lesson, name) != value]
    if not changed:
        return []
    for name in changed:
        setattr(lesson, name, values[name])
    lesson.body_html = render_markdown(lesson.body_md)
    _mark_edited(course)
    audit.record(actor, "lesson.update", course.slug, lesson=lesson.slug, fields=changed, version=course.version)
    if "status" in changed:
        audit.record(actor, "lesson.publish" if status == "published" else "lesson.unpublish", course.slug,
                     lesson=lesson.slug, status=status)
    db.session.flush()
    return changed


def set_lesson_body(lesson: Lesson, actor: User | None, body_md: str, reason: str = "") -> bool:
    """Replace a lesson's text alone (re-rendered), e.g. without a file that was just removed; the other
    fields are left as stored, even ones the form would no longer accept. False when nothing changed."""
    body_md = nfc(body_md)
    if body_md == lesson.body_md:
        return False
    lesson.body_md = body_md
    lesson.body_html = render_markdown(body_md)
    _mark_edited(lesson.course)
    audit.record(actor, "lesson.update", lesson.course.slug, lesson=lesson.slug, fields=["body_md"],
                 version=lesson.course.version, reason=reason)
    db.session.flush()
    return True


def set_lesson_status(lesson: Lesson, actor: User | None, status: str) -> None:
    """Publish a lesson, take it back to draft, or archive it (hidden from learners, progress kept)."""
    _check_status(status, LESSON_STATUSES)
    if status == lesson.status:
        return
    lesson.status = status
    _mark_edited(lesson.course)
    audit.record(actor, "lesson.publish" if status == "published" else "lesson.unpublish", lesson.course.slug,
                 lesson=lesson.slug, status=status, version=lesson.course.version)
    db.session.flush()


def ordered_lessons(course: Course) -> list[Lesson]:
    """The course's lessons in reading order (ties, which should not happen, broken by id)."""
    return sorted(course.lessons, key=lambda lesson: (lesson.position, lesson.id or 0))


def move_lesson(lesson: Lesson, actor: User | None, direction: str) -> bool:
    """Swap a lesson with its neighbour above ("up") or below ("down"); positions become 1..n.

    Returns False, changing nothing, when the lesson is already first (up) or last (down).
    """
    if direction not in MOVE_DIRECTIONS:
        raise AuthoringError(_("Hướng di chuyển không hợp lệ: chỉ có thể chuyển bài học lên (up) hoặc xuống (down)."),
                             "direction")
    course = lesson.course
    lessons = ordered_lessons(course)
    index = lessons.index(lesson)
    target = index - 1 if direction == "up" else index + 1
    if not 0 <= target < len(lessons):
        return False
    lessons[index], lessons[target] = lessons[target], lessons[index]
    for position, item in enumerate(lessons, start=1):
        item.position = position
    _mark_edited(course)
    audit.record(actor, "lesson.move", course.slug, lesson=lesson.slug, direction=direction,
                 position=lesson.position, version=course.version)
    db.session.flush()
    return True
