"""Trainers write courses and lessons in the browser: preview, save, publish, reorder, sanitise."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from courses.authoring import create_course, create_lesson, slugify
from courses.markdown import render_markdown
from courses.models import Course, Lesson
from training import create_app
from training.extensions import db
from training.models import AuditEntry

MANAGE = "/courses/manage"

ATTACK = """## Bài có mã độc

<script>alert(1)</script>

<img src=x onerror=alert(1)>

[x](javascript:alert(1))

<iframe src="https://evil.example/"></iframe>

Đoạn văn **bình thường** còn lại.
"""


@pytest.fixture
def trainer(make_user, auth):
    user = make_user("trainer@example.vn", "Lê Thị Giảng", roles=("trainer",))
    auth.login("trainer@example.vn")
    return user


def _course(slug="chu-ky-so", title="Chữ ký số", lessons=0, **kwargs) -> Course:
    course = create_course(None, title=title, slug=slug, **kwargs)
    for i in range(1, lessons + 1):
        create_lesson(course, None, title=f"Bài {i}", slug=f"bai-{i}", estimated_minutes=10 * i,
                      body_md=f"Nội dung bài {i}", status="published")
    db.session.commit()
    return course


def _lessons(course_id: int) -> list[tuple[str, int]]:
    rows = db.session.execute(sa.select(Lesson.slug, Lesson.position).where(Lesson.course_id == course_id)
                              .order_by(Lesson.position))
    return [tuple(row) for row in rows]


def _actions() -> list[str]:
    """What the trainer did (their logins are audited too, but are not what these tests look at)."""
    return list(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.not_like("auth.%"))
                                   .order_by(AuditEntry.id)))


def _lesson_form(**overrides) -> dict:
    data = {"title": "Ký số văn bản đi", "slug": "", "estimated_minutes": "15",
            "body_md": "## Các bước\n\n1. Mở văn bản\n2. Ký **bằng token**\n", "status": "draft", "submit": "Lưu"}
    data.update(overrides)
    return data


class _DangerFinder(HTMLParser):
    """Collects script/iframe tags (but the site's own /static/js files), on* event handlers and
    javascript: URLs in real markup (not text)."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        own_script = tag == "script" and (dict(attrs).get("src") or "").startswith("/static/js/")
        if tag in ("script", "iframe", "object", "embed") and not own_script:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.found.append(f"{tag}[{name}]")
            if value and re.sub(r"\s", "", value).lower().startswith("javascript:"):
                self.found.append(f"{tag}[{name}={value}]")


def _dangers(html: str) -> list[str]:
    finder = _DangerFinder()
    finder.feed(html)
    return finder.found


# --------------------------------------------------------------------------- the main journey
def test_trainer_writes_previews_saves_and_publishes_a_lesson(client, trainer):
    listing = client.get(f"{MANAGE}/")
    assert listing.status_code == 200 and "Tạo khóa học mới" in listing.get_data(as_text=True)

    response = client.post(f"{MANAGE}/new", data={"title": "Đường dây nóng số", "slug": "", "summary": "Tóm tắt",
                                                  "intro_md": "Giới thiệu", "competency_id": "0",
                                                  "status": "draft", "submit": "Lưu"})
    assert response.status_code == 302
    course = db.session.scalar(sa.select(Course))
    assert (course.slug, course.status, course.source, course.version) == ("duong-day-nong-so", "draft", "web", 1)
    page = client.get(f"{MANAGE}/{course.id}").get_data(as_text=True)
    assert "Đường dây nóng số" in page and "Thêm bài học" in page

    new_lesson = f"{MANAGE}/{course.id}/lessons/new"
    assert client.get(new_lesson).status_code == 200
    preview = client.post(new_lesson, data=_lesson_form(submit=None, preview="Xem trước"))
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "Xem trước (chưa lưu)" in html and "<strong>bằng token</strong>" in html
    assert db.session.scalar(sa.select(sa.func.count(Lesson.id))) == 0

    saved = client.post(new_lesson, data=_lesson_form())
    assert saved.status_code == 302
    lesson = db.session.scalar(sa.select(Lesson))
    assert (lesson.slug, lesson.position, lesson.status) == ("ky-so-van-ban-di", 1, "draft")
    assert lesson.body_html == render_markdown(lesson.body_md) and "<strong>bằng token</strong>" in lesson.body_html
    db.session.refresh(course)
    assert course.version == 2 and course.estimated_minutes == 15

    published = client.post(f"{MANAGE}/{course.id}/lessons/{lesson.id}",
                            data=_lesson_form(slug=lesson.slug, status="published", estimated_minutes="20"))
    assert published.status_code == 302
    db.session.refresh(lesson)
    db.session.refresh(course)
    assert lesson.status == "published" and course.estimated_minutes == 20 and course.version == 3

    response = client.post(f"{MANAGE}/{course.id}", data={"title": course.title, "slug": course.slug,
                                                          "summary": "Tóm tắt", "intro_md": "Giới thiệu",
                                                          "competency_id": "0", "status": "published",
                                                          "submit": "Lưu"})
    assert response.status_code == 302
    db.session.refresh(course)
    assert course.status == "published" and course.version == 4
    assert _actions() == ["course.create", "lesson.create", "lesson.update", "lesson.publish", "course.publish"]
    listing = client.get(f"{MANAGE}/").get_data(as_text=True)
    assert "Đã xuất bản" in listing and "1 bài (1 đã xuất bản)" in listing


def test_course_preview_saves_nothing(client, trainer):
    response = client.post(f"{MANAGE}/new", data={"title": "", "intro_md": "Xin *chào*", "competency_id": "0",
                                                  "status": "draft", "preview": "Xem trước"})
    assert response.status_code == 200
    assert "<em>chào</em>" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Course.id))) == 0


def test_unchanged_save_does_not_bump_version(client, trainer):
    course = _course(lessons=1)
    lesson = course.lessons[0]
    version = course.version
    response = client.post(f"{MANAGE}/{course.id}/lessons/{lesson.id}",
                           data=_lesson_form(title=lesson.title, slug=lesson.slug, estimated_minutes="10",
                                             body_md=lesson.body_md, status="published"), follow_redirects=True)
    assert "Không có thay đổi nào cần lưu." in response.get_data(as_text=True)
    db.session.refresh(course)
    assert course.version == version


# --------------------------------------------------------------------------- reorder
def test_reorder_lessons_up_and_down(client, trainer):
    course = _course(lessons=3)
    ids = {slug: lesson_id for lesson_id, slug in
           db.session.execute(sa.select(Lesson.id, Lesson.slug).where(Lesson.course_id == course.id))}
    page = client.get(f"{MANAGE}/{course.id}").get_data(as_text=True)
    assert page.count('value="up"') == 2 and page.count('value="down"') == 2

    move = f"{MANAGE}/{course.id}/lessons/{{}}/move"
    assert client.post(move.format(ids["bai-3"]), data={"direction": "up"}).status_code == 302
    assert _lessons(course.id) == [("bai-1", 1), ("bai-3", 2), ("bai-2", 3)]
    client.post(move.format(ids["bai-1"]), data={"direction": "down"})
    assert _lessons(course.id) == [("bai-3", 1), ("bai-1", 2), ("bai-2", 3)]
    version = db.session.scalar(sa.select(Course.version).where(Course.id == course.id))

    # Already first: nothing moves, the version stays.
    response = client.post(move.format(ids["bai-3"]), data={"direction": "up"}, follow_redirects=True)
    assert "đã ở vị trí đầu tiên" in response.get_data(as_text=True)
    client.post(move.format(ids["bai-2"]), data={"direction": "down"})
    assert _lessons(course.id) == [("bai-3", 1), ("bai-1", 2), ("bai-2", 3)]
    assert db.session.scalar(sa.select(Course.version).where(Course.id == course.id)) == version
    assert _actions().count("lesson.move") == 2


def test_reorder_heals_gaps_and_duplicates(client, trainer):
    course = _course(lessons=3)
    positions = {"bai-1": 5, "bai-2": 5, "bai-3": 9}
    for lesson in course.lessons:
        lesson.position = positions[lesson.slug]
    db.session.commit()
    lesson_3 = next(lesson for lesson in course.lessons if lesson.slug == "bai-3")
    client.post(f"{MANAGE}/{course.id}/lessons/{lesson_3.id}/move", data={"direction": "up"})
    assert _lessons(course.id) == [("bai-1", 1), ("bai-3", 2), ("bai-2", 3)]


def test_bad_move_direction_is_refused_and_changes_nothing(client, trainer):
    course = _course(lessons=2)
    before = (_lessons(course.id), course.version, _actions())
    lesson = course.lessons[1]
    for data in ({"direction": "sideways"}, {"direction": ""}, {}):
        response = client.post(f"{MANAGE}/{course.id}/lessons/{lesson.id}/move", data=data)
        assert response.status_code == 400
        assert "Hướng di chuyển không hợp lệ" in response.get_data(as_text=True)
    version = db.session.scalar(sa.select(Course.version).where(Course.id == course.id))
    assert (_lessons(course.id), version, _actions()) == before


def test_move_form_needs_its_csrf_token(database_url, make_user):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": True})
    with app.app_context():
        make_user("csrf-trainer@example.vn", roles=("trainer",))
        course = _course(lessons=2)
        course_id, second_id = course.id, course.lessons[1].id
        before = _lessons(course_id)
    client = app.test_client()
    login_page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    client.post("/auth/login", data={"email": "csrf-trainer@example.vn", "password": "Mat-khau-2025",
                                     "csrf_token": token})
    move = f"{MANAGE}/{course_id}/lessons/{second_id}/move"
    assert client.post(move, data={"direction": "up"}).status_code == 400
    with app.app_context():
        assert _lessons(course_id) == before
    page = client.get(f"{MANAGE}/{course_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(move, data={"direction": "up", "csrf_token": token}).status_code == 302
    with app.app_context():
        assert _lessons(course_id) == [("bai-2", 1), ("bai-1", 2)]
        db.session.remove()
        db.engine.dispose()


# --------------------------------------------------------------------------- sanitising
def test_script_injection_through_lesson_text_is_neutralised(client, trainer):
    course = _course(lessons=1)
    new_lesson = f"{MANAGE}/{course.id}/lessons/new"

    preview = client.post(new_lesson, data=_lesson_form(body_md=ATTACK, submit=None, preview="Xem trước"))
    assert preview.status_code == 200
    preview_html = preview.get_data(as_text=True)
    assert _dangers(preview_html) == []
    assert "<strong>bình thường</strong>" in preview_html

    assert client.post(new_lesson, data=_lesson_form(title="Bài có mã độc", body_md=ATTACK,
                                                     status="published")).status_code == 302
    lesson = db.session.scalar(sa.select(Lesson).where(Lesson.slug == "bai-co-ma-doc"))
    assert lesson.body_md == ATTACK.strip()  # the trainer's text is kept as written
    stored = lesson.body_html.lower()
    for bad in ("<script", "onerror", "javascript:", "<iframe", "<img"):
        assert bad not in stored, bad
    assert "<strong>bình thường</strong>" in lesson.body_html

    for url in (f"{MANAGE}/", f"{MANAGE}/{course.id}", f"{MANAGE}/{course.id}/lessons/{lesson.id}"):
        page = client.get(url)
        assert page.status_code == 200
        assert _dangers(page.get_data(as_text=True)) == [], url
    # The Markdown source is shown escaped in the textarea, never as markup.
    edit_page = client.get(f"{MANAGE}/{course.id}/lessons/{lesson.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in edit_page


def test_titles_are_escaped(client, trainer):
    course = _course(title='<script>alert("t")</script> Khóa', slug="khoa")
    create_lesson(course, None, title="<img src=x onerror=alert(2)>", slug="bai", body_md="x")
    db.session.commit()
    for url in (f"{MANAGE}/", f"{MANAGE}/{course.id}", f"{MANAGE}/{course.id}/lessons/{course.lessons[0].id}"):
        assert _dangers(client.get(url).get_data(as_text=True)) == [], url


# --------------------------------------------------------------------------- validation
def test_slug_is_suggested_from_a_vietnamese_title():
    assert slugify("Đảm bảo an toàn thông tin: Cấp độ 2!") == "dam-bao-an-toan-thong-tin-cap-do-2"
    assert slugify("  Ứng dụng AI — an toàn  ") == "ung-dung-ai-an-toan"


def test_suggested_slug_avoids_an_existing_one(client, trainer):
    _course(slug="chu-ky-so")
    client.post(f"{MANAGE}/new", data={"title": "Chữ ký số", "slug": "", "competency_id": "0", "status": "draft",
                                       "submit": "Lưu"})
    assert set(db.session.scalars(sa.select(Course.slug))) == {"chu-ky-so", "chu-ky-so-2"}


@pytest.mark.parametrize("slug", ["Chu-Ky-So", "chữ-ký-số", "chu ky so", "-chu-ky", "chu--ky", "chu_ky"])
def test_bad_course_slug_is_refused(client, trainer, slug):
    response = client.post(f"{MANAGE}/new", data={"title": "Chữ ký số", "slug": slug, "competency_id": "0",
                                                  "status": "draft", "submit": "Lưu"})
    assert response.status_code == 400
    assert "Đường dẫn chỉ gồm chữ thường không dấu" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Course.id))) == 0
    assert _actions() == []


def test_duplicate_course_slug_is_refused(client, trainer):
    _course(slug="chu-ky-so")
    other = _course(slug="van-ban", title="Văn bản điện tử")
    response = client.post(f"{MANAGE}/new", data={"title": "Khác", "slug": "chu-ky-so", "competency_id": "0",
                                                  "status": "draft", "submit": "Lưu"})
    assert response.status_code == 400
    assert "Đường dẫn “chu-ky-so” đã được dùng cho một khóa học khác." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Course.id))) == 2

    response = client.post(f"{MANAGE}/{other.id}", data={"title": "Văn bản điện tử mới", "slug": "chu-ky-so",
                                                         "competency_id": "0", "status": "draft", "submit": "Lưu"})
    assert response.status_code == 400
    db.session.expire_all()
    assert (other.slug, other.title, other.version) == ("van-ban", "Văn bản điện tử", 1)


def test_lesson_slug_must_be_unique_within_its_course(client, trainer):
    course = _course(lessons=1)
    second = _course(slug="khac", title="Khóa khác")
    response = client.post(f"{MANAGE}/{course.id}/lessons/new", data=_lesson_form(slug="bai-1"))
    assert response.status_code == 400
    assert "Đường dẫn “bai-1” đã được dùng cho một bài học khác trong khóa học này." in response.get_data(as_text=True)
    assert _lessons(course.id) == [("bai-1", 1)]
    bad = client.post(f"{MANAGE}/{course.id}/lessons/new", data=_lesson_form(slug="Bài 2"))
    assert bad.status_code == 400 and "Đường dẫn chỉ gồm chữ thường không dấu" in bad.get_data(as_text=True)
    # The same slug in another course is fine.
    assert client.post(f"{MANAGE}/{second.id}/lessons/new", data=_lesson_form(slug="bai-1")).status_code == 302
    assert _lessons(second.id) == [("bai-1", 1)]


@pytest.mark.parametrize("minutes, message", [("0", "từ 1 đến 240 phút"), ("241", "từ 1 đến 240 phút"),
                                              ("mười", "số nguyên"), ("", "Vui lòng nhập thời lượng")])
def test_lesson_minutes_are_checked(client, trainer, minutes, message):
    course = _course()
    response = client.post(f"{MANAGE}/{course.id}/lessons/new", data=_lesson_form(estimated_minutes=minutes))
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _lessons(course.id) == []


# --------------------------------------------------------------------------- courses loaded from files
def test_editing_a_file_course_makes_it_a_web_course(client, trainer):
    course = _course(lessons=1)
    course.source, course.version, course.content_hash = "file", 3, "abc123"
    db.session.commit()
    page = client.get(f"{MANAGE}/{course.id}").get_data(as_text=True)
    assert "khóa học sẽ không còn được cập nhật theo tệp nữa" in page

    response = client.post(f"{MANAGE}/{course.id}", data={"title": "Chữ ký số (bản sửa)", "slug": "chu-ky-so",
                                                          "competency_id": "0", "status": "draft",
                                                          "submit": "Lưu"})
    assert response.status_code == 302
    db.session.refresh(course)
    assert (course.source, course.version, course.title) == ("web", 4, "Chữ ký số (bản sửa)")
    assert "đã được sửa trên web" in client.get(f"{MANAGE}/{course.id}").get_data(as_text=True)
    audit = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "course.update"))
    assert audit.target == "chu-ky-so" and audit.details["fields"] == ["title"]

    # Its slug stays: the files would otherwise come back under the old one.
    response = client.post(f"{MANAGE}/{course.id}", data={"title": course.title, "slug": "doi-ten",
                                                          "competency_id": "0", "status": "draft", "submit": "Lưu"})
    assert response.status_code == 400
    db.session.expire_all()
    assert (course.slug, course.version) == ("chu-ky-so", 4)


def test_editing_a_lesson_of_a_file_course_makes_it_a_web_course(client, trainer):
    course = _course(lessons=2)
    course.source, course.version = "file", 7
    db.session.commit()
    lesson = course.lessons[0]
    assert "không còn được cập nhật theo tệp" in client.get(
        f"{MANAGE}/{course.id}/lessons/{lesson.id}").get_data(as_text=True)
    response = client.post(f"{MANAGE}/{course.id}/lessons/{lesson.id}",
                           data=_lesson_form(title=lesson.title, slug=lesson.slug, estimated_minutes="45",
                                             body_md="Mới", status="published"))
    assert response.status_code == 302
    db.session.refresh(course)
    assert (course.source, course.version, course.estimated_minutes) == ("web", 8, 45 + 20)


def test_archived_lessons_do_not_count_in_the_course_time(client, trainer):
    course = _course(lessons=2)
    lesson = course.lessons[1]
    client.post(f"{MANAGE}/{course.id}/lessons/{lesson.id}",
                data=_lesson_form(title=lesson.title, slug=lesson.slug, estimated_minutes="20",
                                  body_md=lesson.body_md, status="archived"))
    db.session.refresh(course)
    assert course.estimated_minutes == 10


# --------------------------------------------------------------------------- access
def _all_urls(course_id: int, lesson_id: int) -> list[tuple[str, str]]:
    base = f"{MANAGE}/{course_id}"
    return [("GET", f"{MANAGE}/"), ("GET", f"{MANAGE}/new"), ("POST", f"{MANAGE}/new"), ("GET", base),
            ("POST", base), ("GET", f"{base}/lessons/new"), ("POST", f"{base}/lessons/new"),
            ("GET", f"{base}/lessons/{lesson_id}"), ("POST", f"{base}/lessons/{lesson_id}"),
            ("POST", f"{base}/lessons/{lesson_id}/move")]


@pytest.mark.parametrize("role", ["learner", "hr"])
def test_learner_and_hr_are_refused(client, make_user, auth, role):
    course = _course(lessons=2)
    make_user(f"{role}@example.vn", roles=(role,))
    auth.login(f"{role}@example.vn")
    before = (_lessons(course.id), course.version)
    for method, url in _all_urls(course.id, course.lessons[1].id):
        data = {"title": "X", "slug": "x", "direction": "up", "estimated_minutes": "5", "status": "published",
                "competency_id": "0", "submit": "Lưu"} if method == "POST" else None
        assert client.open(url, method=method, data=data).status_code == 403, (method, url)
    version = db.session.scalar(sa.select(Course.version).where(Course.id == course.id))
    assert (_lessons(course.id), version) == before
    assert db.session.scalar(sa.select(sa.func.count(Course.id))) == 1


def test_admin_may_author(client, make_user, auth):
    make_user("admin@example.vn", roles=("admin",))
    auth.login("admin@example.vn")
    assert client.get(f"{MANAGE}/").status_code == 200
    assert client.get(f"{MANAGE}/new").status_code == 200


def test_anonymous_is_sent_to_login(client):
    response = client.get(f"{MANAGE}/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_lesson_of_another_course_is_not_found(client, trainer):
    course = _course(lessons=1)
    other = _course(slug="khac", title="Khóa khác", lessons=1)
    foreign = other.lessons[0]
    url = f"{MANAGE}/{course.id}/lessons/{foreign.id}"
    assert client.get(url).status_code == 404
    assert client.post(url, data=_lesson_form(title="Chiếm", slug="bai-1")).status_code == 404
    assert client.post(f"{url}/move", data={"direction": "up"}).status_code == 404
    assert client.get(f"{MANAGE}/99999").status_code == 404
    db.session.expire_all()
    assert (foreign.title, foreign.course_id) == ("Bài 1", other.id)


def test_course_is_linked_to_a_competency_and_tampered_choices_are_refused(client, trainer, make_position):
    make_position()  # seeds the core competencies
    from training.models import Competency

    competency = db.session.scalar(sa.select(Competency).where(Competency.code == "digital_signature"))
    assert "Chữ ký số" in client.get(f"{MANAGE}/new").get_data(as_text=True)
    for data in ({"competency_id": "99999", "status": "draft"}, {"competency_id": "abc", "status": "draft"},
                 {"competency_id": str(competency.id), "status": "deleted"}):
        response = client.post(f"{MANAGE}/new", data={"title": "Ký số", "submit": "Lưu", **data})
        assert response.status_code == 400
        assert "Vui lòng chọn một giá trị trong danh sách." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Course.id))) == 0
    client.post(f"{MANAGE}/new", data={"title": "Ký số", "competency_id": str(competency.id), "status": "draft",
                                       "submit": "Lưu"})
    assert db.session.scalar(sa.select(Course.competency_id)) == competency.id
