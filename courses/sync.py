"""Loading course modules from Markdown files (courses/content/<course>/).

Each course folder holds `course.md` (front matter: slug, title, competency, version,
estimated_minutes, summary; body: the introduction) and one file per lesson (front matter: slug,
title, order, estimated_minutes; body: the lesson). Courses are matched by slug; lessons by slug
within their course, so an edited file updates the rows in place and learner progress is kept.
Everything is validated before anything is written: a malformed file loads nothing at all.

The legal-basis register (courses.legal) adds optional keys: `checked_on` (the day the file was
checked against the law in force; course.md and lessons), `review_by` (lessons: the day it must be
checked again), `framework` (codes of the basic digital-skills framework groups it serves) and
`sources` (lessons: what it was checked against). A lesson without `checked_on` counts as checked on
the day a sync first sees it without one, so a file not yet dated is not flagged for changes older
than the sync; a later date in the file, or a trainer's "Đã kiểm tra", moves it on, never back.
The root may also hold `legal_texts.yaml`, the register itself, loaded with the courses (same
all-or-nothing rule); afterwards every lesson's and question's citations are found again.
Other keys are ignored.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import date

import frontmatter
import sqlalchemy as sa
import yaml

from courses.legal import REGISTER_FILE, RegisterReport, apply_register, as_date, read_register, refind_all
from courses.markdown import render_markdown
from courses.models import RESERVED_COURSE_SLUGS, Course, Lesson
from training.extensions import db
from training.models import Competency
from training.vntext import nfc

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class SyncError(Exception):
    """The content folder cannot be loaded; `problems` lists each file and reason."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class LessonSpec:
    slug: str
    title: str
    order: int
    estimated_minutes: int
    body: str
    checked_on: date | None = None
    review_by: date | None = None
    framework: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


@dataclass
class CourseSpec:
    folder: str
    slug: str
    title: str
    competency: str
    version: int
    estimated_minutes: int
    summary: str
    intro: str
    content_hash: str
    lessons: list[LessonSpec] = field(default_factory=list)
    checked_on: date | None = None
    framework: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "slug: reason"
    register: RegisterReport | None = None
    cited_items: int = 0
    flagged_lessons: int = 0
    flagged_questions: int = 0

    def summary(self) -> str:
        lines = [f"Khóa học: {len(self.created)} mới, {len(self.updated)} cập nhật, "
                 f"{len(self.unchanged)} không đổi, {len(self.skipped)} bỏ qua."]
        lines += [f"  bỏ qua {item}" for item in self.skipped]
        if self.register is not None:
            lines.append(self.register.summary())
        lines.append(f"Trích dẫn văn bản: đã tìm lại trong {self.cited_items} bài học và câu hỏi; cần rà soát "
                     f"theo sổ văn bản hôm nay: {self.flagged_lessons} bài học, {self.flagged_questions} câu hỏi.")
        return "\n".join(lines)


# --------------------------------------------------------------------------- reading
def _read(path: str, problems: list[str]):
    name = os.path.relpath(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(f"{name}: tệp không được mã hóa UTF-8")
        return None, b""
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        problems.append(f"{name}: phần đầu (front matter) không đúng cú pháp YAML: {str(exc).splitlines()[0]}")
        return None, raw
    if not post.metadata:
        problems.append(f"{name}: thiếu phần đầu (front matter) giữa hai dòng ---")
        return None, raw
    return post, raw


def _text(meta: dict, key: str, name: str, problems: list[str]) -> str:
    value = meta.get(key)
    if value is None or not isinstance(value, (str, int)) or not nfc(str(value)):
        problems.append(f"{name}: thiếu trường '{key}'")
        return ""
    return nfc(str(value))


def _integer(meta: dict, key: str, name: str, problems: list[str], minimum: int = 0, default=None) -> int:
    value = meta.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        problems.append(f"{name}: trường '{key}' phải là số nguyên ≥ {minimum}")
        return minimum
    return value


def _strings(meta: dict, key: str, name: str, problems: list[str], limit: int) -> list[str]:
    """An optional list of short texts (a single text is a list of one)."""
    value = meta.get(key)
    if value is None:
        return []
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or any(isinstance(item, bool) or not isinstance(item, (str, int))
                                          for item in value):
        problems.append(f"{name}: trường '{key}' phải là một danh sách chuỗi, ví dụ [\"a\", \"b\"]")
        return []
    items = [nfc(str(item)).strip() for item in value]
    if any(not item or len(item) > limit for item in items):
        problems.append(f"{name}: mỗi mục của '{key}' phải khác rỗng và không dài quá {limit} ký tự")
        return []
    return list(dict.fromkeys(items))


def read_course_folder(folder: str, problems: list[str]) -> CourseSpec | None:
    course_path = os.path.join(folder, "course.md")
    rel = os.path.relpath(course_path)
    if not os.path.isfile(course_path):
        problems.append(f"{os.path.relpath(folder)}: thiếu tệp course.md")
        return None
    before = len(problems)
    post, raw = _read(course_path, problems)
    if post is None:
        return None
    meta = post.metadata
    digest = hashlib.sha256(raw)
    spec = CourseSpec(
        folder=folder,
        slug=_text(meta, "slug", rel, problems),
        title=_text(meta, "title", rel, problems),
        competency=_text(meta, "competency", rel, problems),
        version=_integer(meta, "version", rel, problems, minimum=1),
        estimated_minutes=_integer(meta, "estimated_minutes", rel, problems, minimum=1),
        summary=nfc(str(meta.get("summary") or "")),
        intro=nfc(post.content),
        content_hash="",
        checked_on=as_date(meta.get("checked_on"), rel, "checked_on", problems),
        framework=_strings(meta, "framework", rel, problems, limit=40),
    )
    if spec.slug and not SLUG.match(spec.slug):
        problems.append(f"{rel}: slug '{spec.slug}' chỉ được gồm chữ thường không dấu, số và dấu gạch ngang")
    elif spec.slug in RESERVED_COURSE_SLUGS:
        problems.append(f"{rel}: slug '{spec.slug}' trùng với một trang của hệ thống; hãy chọn slug khác")
    slugs: dict[str, str] = {}
    orders: dict[int, str] = {}
    for filename in sorted(os.listdir(folder)):
        if not filename.endswith(".md") or filename == "course.md":
            continue
        path = os.path.join(folder, filename)
        lrel = os.path.relpath(path)
        lesson_post, lesson_raw = _read(path, problems)
        if lesson_post is None:
            continue
        digest.update(filename.encode() + b"\0" + lesson_raw)
        lmeta = lesson_post.metadata
        lesson = LessonSpec(
            slug=_text(lmeta, "slug", lrel, problems),
            title=_text(lmeta, "title", lrel, problems),
            order=_integer(lmeta, "order", lrel, problems, minimum=1),
            estimated_minutes=_integer(lmeta, "estimated_minutes", lrel, problems, minimum=1, default=10),
            body=nfc(lesson_post.content),
            checked_on=as_date(lmeta.get("checked_on"), lrel, "checked_on", problems),
            review_by=as_date(lmeta.get("review_by"), lrel, "review_by", problems),
            framework=_strings(lmeta, "framework", lrel, problems, limit=40),
            sources=_strings(lmeta, "sources", lrel, problems, limit=1000),
        )
        if lesson.slug and not SLUG.match(lesson.slug):
            problems.append(f"{lrel}: slug '{lesson.slug}' chỉ được gồm chữ thường không dấu, số và dấu gạch ngang")
        if not lesson.body:
            problems.append(f"{lrel}: bài học không có nội dung")
        if lesson.slug in slugs:
            problems.append(f"{lrel}: slug '{lesson.slug}' trùng với {slugs[lesson.slug]}")
        slugs.setdefault(lesson.slug, filename)
        if lesson.order in orders:
            problems.append(f"{lrel}: order {lesson.order} trùng với {orders[lesson.order]}")
        orders.setdefault(lesson.order, filename)
        spec.lessons.append(lesson)
    if not spec.lessons and len(problems) == before:
        problems.append(f"{os.path.relpath(folder)}: khóa học chưa có bài học nào")
    spec.lessons.sort(key=lambda lesson: lesson.order)
    spec.content_hash = digest.hexdigest()
    return spec if len(problems) == before else None


def read_content(root: str) -> list[CourseSpec]:
    """Read and validate every course folder under `root`; raise SyncError listing every problem."""
    problems: list[str] = []
    if not os.path.isdir(root):
        raise SyncError([f"{root}: không có thư mục nội dung"])
    specs = []
    for entry in sorted(os.listdir(root)):
        folder = os.path.join(root, entry)
        if os.path.isdir(folder) and not entry.startswith((".", "_")):
            spec = read_course_folder(folder, problems)
            if spec is not None:
                specs.append(spec)
    seen: dict[str, str] = {}
    competencies = set(db.session.scalars(sa.select(Competency.code)))
    for spec in specs:
        if spec.slug in seen:
            problems.append(f"{os.path.relpath(spec.folder)}: slug '{spec.slug}' trùng với {seen[spec.slug]}")
        seen.setdefault(spec.slug, os.path.relpath(spec.folder))
        if spec.competency not in competencies:
            problems.append(f"{os.path.relpath(spec.folder)}/course.md: không có năng lực mã '{spec.competency}'"
                            f" (có: {', '.join(sorted(competencies))})")
    if problems:
        raise SyncError(problems)
    return specs


# --------------------------------------------------------------------------- writing
def _later(current: date | None, new: date) -> date:
    return new if current is None or new > current else current


def _apply_legal(course: Course, spec: CourseSpec, today: date) -> None:
    """The register's keys, applied to an unchanged course too (they are facts about the files, not
    content, and a database upgraded to the register has none of them yet)."""
    course.checked_on = spec.checked_on
    course.framework = spec.framework
    by_slug = {lesson_spec.slug: lesson_spec for lesson_spec in spec.lessons}
    for lesson in course.lessons:
        lesson_spec = by_slug.get(lesson.slug)
        if lesson_spec is None:
            continue
        lesson.checked_on = _later(lesson.checked_on, lesson_spec.checked_on or today)
        lesson.review_by = lesson_spec.review_by
        lesson.framework = lesson_spec.framework
        lesson.sources = lesson_spec.sources


def _apply(course: Course, spec: CourseSpec, competency: Competency) -> None:
    course.title = spec.title
    course.summary = spec.summary
    course.intro_md = spec.intro
    course.competency = competency
    course.version = spec.version
    course.estimated_minutes = spec.estimated_minutes
    course.content_hash = spec.content_hash
    course.source = "file"
    existing = {lesson.slug: lesson for lesson in course.lessons}
    wanted = set()
    for position, lesson_spec in enumerate(spec.lessons, start=1):
        lesson = existing.get(lesson_spec.slug)
        if lesson is None:
            lesson = Lesson(slug=lesson_spec.slug)
            course.lessons.append(lesson)
        lesson.title = lesson_spec.title
        lesson.position = position
        lesson.estimated_minutes = lesson_spec.estimated_minutes
        lesson.body_md = lesson_spec.body
        lesson.body_html = render_markdown(lesson_spec.body)
        lesson.status = "published"
        wanted.add(lesson_spec.slug)
    # A lesson removed from the files is archived, not deleted: learners' progress on it stays.
    next_position = len(spec.lessons) + 1
    for slug, lesson in existing.items():
        if slug not in wanted:
            lesson.status = "archived"
            lesson.position = next_position
            next_position += 1


def sync_courses(root: str, today: date | None = None) -> SyncReport:
    """Create or update every course found under `root`, and the legal-basis register when the root
    holds one; all or nothing (raises SyncError)."""
    from courses.assignments import today_in_vietnam
    from courses.legal import flagged_lessons, flagged_question_ids

    today = today or today_in_vietnam()
    problems: list[str] = []
    try:
        specs = read_content(root)
    except SyncError as exc:
        specs, problems = [], list(exc.problems)
    register = None
    register_path = os.path.join(root, REGISTER_FILE)
    if os.path.isfile(register_path):
        register, register_problems = read_register(register_path)
        problems += register_problems
    if problems:
        raise SyncError(problems)
    competencies = {c.code: c for c in db.session.scalars(sa.select(Competency))}
    report = SyncReport()
    for spec in specs:
        course = db.session.scalar(sa.select(Course).where(Course.slug == spec.slug))
        if course is None:
            course = Course(slug=spec.slug, status="published")
            db.session.add(course)
            _apply(course, spec, competencies[spec.competency])
            report.created.append(spec.slug)
        elif course.source != "file":
            report.skipped.append(f"{spec.slug}: đã được chỉnh sửa trên web nên không ghi đè")
            continue
        elif course.version > spec.version:
            report.skipped.append(f"{spec.slug}: phiên bản trong hệ thống ({course.version}) mới hơn tệp "
                                  f"({spec.version})")
            continue
        elif course.version == spec.version and course.content_hash == spec.content_hash:
            report.unchanged.append(spec.slug)
        else:
            _apply(course, spec, competencies[spec.competency])
            report.updated.append(spec.slug)
        _apply_legal(course, spec, today)
    db.session.flush()
    if register is not None:
        report.register = apply_register(register)
    report.cited_items = refind_all()
    db.session.flush()
    report.flagged_lessons = len(flagged_lessons(today))
    report.flagged_questions = len(flagged_question_ids(today))
    return report
