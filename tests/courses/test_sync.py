"""`courses sync`: new, edited and malformed content; progress survives edits."""
import os
import textwrap

import pytest
import sqlalchemy as sa

from courses.models import Course, Lesson, LessonProgress
from training.extensions import db
from training.services.competencies import seed_core_competencies


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(textwrap.dedent(text).lstrip())


COURSE = """
---
slug: thu-nghiem
title: "Khóa thử nghiệm"
competency: digital_signature
version: {version}
estimated_minutes: 20
summary: "Một khóa học nhỏ."
---
Giới thiệu khóa học.
"""
LESSON = """
---
slug: {slug}
title: "{title}"
order: {order}
estimated_minutes: 10
---
## Mục tiêu

{body}
"""


@pytest.fixture
def content(tmp_path, app):
    seed_core_competencies()
    db.session.commit()
    root = tmp_path / "content"
    write(root / "thu-nghiem" / "course.md", COURSE.format(version=1))
    write(root / "thu-nghiem" / "01-mot.md", LESSON.format(slug="bai-mot", title="Bài một", order=1, body="Nội dung một."))
    write(root / "thu-nghiem" / "02-hai.md", LESSON.format(slug="bai-hai", title="Bài hai", order=2, body="Nội dung hai."))
    return root


def sync(runner, root):
    return runner.invoke(args=["courses", "sync", "--path", str(root)])


def test_new_course_is_loaded(runner, content):
    result = sync(runner, content)
    assert result.exit_code == 0, result.output
    assert "1 mới" in result.output
    course = db.session.scalar(sa.select(Course).where(Course.slug == "thu-nghiem"))
    assert course.title == "Khóa thử nghiệm" and course.competency.code == "digital_signature"
    assert [lesson.slug for lesson in course.lessons] == ["bai-mot", "bai-hai"]
    assert "<h2>Mục tiêu</h2>" in course.lessons[0].body_html
    again = sync(runner, content)
    assert "1 không đổi" in again.output


def test_edited_file_updates_in_place_and_keeps_progress(runner, content, make_user):
    sync(runner, content)
    user = make_user()
    lesson = db.session.scalar(sa.select(Lesson).where(Lesson.slug == "bai-mot"))
    db.session.add(LessonProgress(user_id=user.id, lesson_id=lesson.id))
    db.session.commit()
    lesson_id = lesson.id
    write(content / "thu-nghiem" / "course.md", COURSE.format(version=2))
    write(content / "thu-nghiem" / "01-mot.md",
          LESSON.format(slug="bai-mot", title="Bài một (sửa)", order=1, body="Nội dung mới."))
    os.remove(content / "thu-nghiem" / "02-hai.md")
    write(content / "thu-nghiem" / "03-ba.md", LESSON.format(slug="bai-ba", title="Bài ba", order=2, body="Ba."))
    result = sync(runner, content)
    assert "1 cập nhật" in result.output, result.output
    db.session.expire_all()
    course = db.session.scalar(sa.select(Course).where(Course.slug == "thu-nghiem"))
    assert course.version == 2
    assert [(l.slug, l.status) for l in course.lessons] == [("bai-mot", "published"), ("bai-ba", "published"),
                                                          ("bai-hai", "archived")]
    edited = db.session.get(Lesson, lesson_id)
    assert edited.title == "Bài một (sửa)" and "Nội dung mới." in edited.body_html
    assert db.session.scalar(sa.select(LessonProgress).where(LessonProgress.lesson_id == lesson_id)) is not None


@pytest.mark.parametrize("filename, text, reason", [
    ("01-mot.md", "---\nslug: [oops\n---\nx", "không đúng cú pháp YAML"),
    ("01-mot.md", "---\ntitle: Bài\norder: 1\n---\nx", "thiếu trường 'slug'"),
    ("01-mot.md", "Không có front matter", "thiếu phần đầu"),
    ("02-hai.md", LESSON.format(slug="bai-hai", title="Hai", order=1, body="x"), "order 1 trùng"),
    ("02-hai.md", LESSON.format(slug="Bài Hai", title="Hai", order=2, body="x"), "chỉ được gồm chữ thường"),
    ("course.md", COURSE.format(version=1).replace("digital_signature", "khong_co"), "không có năng lực mã 'khong_co'"),
    ("course.md", COURSE.format(version="một"), "'version' phải là số nguyên"),
])
def test_malformed_file_is_reported_and_nothing_loads(runner, content, filename, text, reason):
    # A second, valid course must not load either: nothing half-loaded.
    write(content / "khac" / "course.md", COURSE.format(version=1).replace("thu-nghiem", "khac"))
    write(content / "khac" / "01-a.md", LESSON.format(slug="a", title="A", order=1, body="A."))
    write(content / "thu-nghiem" / filename, text)
    result = sync(runner, content)
    assert result.exit_code == 1
    assert filename in result.output and reason in result.output, result.output
    assert db.session.scalar(sa.select(sa.func.count(Course.id))) == 0


def test_non_utf8_lesson_is_reported(runner, content):
    (content / "thu-nghiem" / "01-mot.md").write_bytes("---\nslug: a\n---\nTiếng Việt".encode("utf-16"))
    result = sync(runner, content)
    assert result.exit_code == 1 and "01-mot.md: tệp không được mã hóa UTF-8" in result.output


def test_course_edited_on_the_web_is_not_overwritten(runner, content):
    sync(runner, content)
    course = db.session.scalar(sa.select(Course).where(Course.slug == "thu-nghiem"))
    course.source = "web"
    course.title = "Đã sửa trên web"
    db.session.commit()
    write(content / "thu-nghiem" / "course.md", COURSE.format(version=5))
    result = sync(runner, content)
    assert "bỏ qua thu-nghiem" in result.output
    db.session.expire_all()
    assert db.session.get(Course, course.id).title == "Đã sửa trên web"


def test_shipped_content_loads(runner, app):
    seed_core_competencies()
    db.session.commit()
    result = runner.invoke(args=["courses", "sync"])
    assert result.exit_code == 0, result.output
    courses = {c.slug: c for c in db.session.scalars(sa.select(Course))}
    assert set(courses) == {"chu-ky-so", "van-ban-dien-tu", "an-toan-thong-tin", "dich-vu-cong-truc-tuyen",
                            "ung-dung-ai-an-toan"}
    for course in courses.values():
        assert 4 <= len(course.published_lessons) <= 12
        assert course.status == "published"
        for lesson in course.lessons:
            assert "<script" not in lesson.body_html
    assert {c.competency.code for c in courses.values()} == {"digital_signature", "e_documents", "info_security",
                                                             "online_services", "ai"}
