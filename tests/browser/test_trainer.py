"""A trainer on a 360 px phone: picks fixed questions from the bank by searching (no id typed), writes a
lesson with a live preview, uploads a picture with its alt text; with and without JavaScript."""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.browser

PASSWORD = "Mat-khau-2025"


def _png(width: int = 1200, height: int = 300) -> bytes:
    """A real picture, wider than any phone."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def trainer(app, make_user, tmp_path):
    app.config["WTF_CSRF_ENABLED"] = True  # the real forms and the preview's header carry their tokens
    app.config["LESSON_MEDIA_FOLDER"] = str(tmp_path / "media")
    return make_user("giangvien@example.vn", "Lê Thị Giảng", roles=("trainer",))


@pytest.fixture
def quiz_and_bank(app):
    from quizzes.bank import create_category, create_question
    from quizzes.models import Quiz
    from quizzes.qdata import QuestionData
    from training.extensions import db

    category = create_category("Chữ ký số")
    options = {"options": [{"id": "o1", "text": "Đúng", "format": "markdown", "fraction": 1.0, "feedback": ""},
                           {"id": "o2", "text": "Sai", "format": "markdown", "fraction": 0.0, "feedback": ""}]}
    for name, text in (("Chữ ký số là gì", "Chọn định nghĩa đúng của chữ ký số."),
                       ("Thiết bị ký số", "USB token dùng để làm gì?"),
                       ("Mật khẩu mạnh", "Mật khẩu nào mạnh nhất?")):
        create_question(category, QuestionData(qtype="single", name=name, text=text, data=options))
    quiz = Quiz(title="Kiểm tra chữ ký số", status="draft")
    db.session.add(quiz)
    db.session.commit()
    return quiz.id


@pytest.fixture
def lesson(app):
    from courses.authoring import create_course, create_lesson
    from training.extensions import db

    course = create_course(None, title="Chữ ký số", slug="chu-ky-so", status="published")
    lesson = create_lesson(course, None, title="Ký số văn bản", slug="ky-so", body_md="Mở văn bản cần ký.",
                           status="published")
    db.session.commit()
    return course.id, lesson.id


def _log_in(page, base, next_path):
    page.goto(f"{base}/auth/login?next={next_path}")
    page.get_by_label("Email").fill("giangvien@example.vn")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"**{next_path}")


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _rules(app):
    from quizzes.models import QuizRule
    from training.extensions import db

    with app.app_context():
        return [(rule.question_id, rule.mark) for rule in db.session.scalars(sa.select(QuizRule))]


def test_picker_finds_and_adds_a_question_as_you_type(app, live_server, phone, trainer, quiz_and_bank,
                                                      check_accessibility):
    _log_in(phone, live_server, f"/quizzes/manage/{quiz_and_bank}")
    search = phone.get_by_label("Từ khóa, mã ID hoặc #số câu hỏi")
    search.scroll_into_view_if_needed()
    assert phone.get_by_role("textbox", name=re.compile("Mã số câu hỏi")).count() == 0  # nothing to type an id in
    search.press_sequentially("chu ky", delay=30)  # no accents, no button pressed
    results = phone.locator("#picker-results")
    results.get_by_text("Tìm thấy 1 câu hỏi có thể thêm.").wait_for()
    assert results.locator(".picker-result strong").all_inner_texts() == ["Chữ ký số là gì"]
    assert "q=chu+ky" in phone.url  # the search survives a reload
    assert _no_horizontal_scroll(phone)
    assert check_accessibility(phone) == []

    results.get_by_label(re.compile("^Điểm")).fill("2")
    results.get_by_role("button", name=re.compile(r"^Thêm\s*:\s*Chữ ký số là gì$")).click()
    phone.get_by_text("Đã thêm câu hỏi cố định").wait_for()
    assert len(_rules(app)) == 1 and _rules(app)[0][1] == 2.0
    assert phone.locator("#picker-results").get_by_text("Đã có trong bài kiểm tra").is_visible()
    assert _no_horizontal_scroll(phone)
    assert check_accessibility(phone) == []


def test_picker_works_without_javascript(app, live_server, browser, trainer, quiz_and_bank):
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN", java_script_enabled=False)
    page = context.new_page()
    try:
        _log_in(page, live_server, f"/quizzes/manage/{quiz_and_bank}")
        page.get_by_label("Từ khóa, mã ID hoặc #số câu hỏi").fill("mat khau")
        page.get_by_role("button", name="Tìm câu hỏi").click()
        page.get_by_text("Tìm thấy 1 câu hỏi có thể thêm.").wait_for()
        page.get_by_role("button", name=re.compile(r"^Thêm\s*:\s*Mật khẩu mạnh$")).click()
        page.get_by_text("Đã thêm câu hỏi cố định").wait_for()
        assert len(_rules(app)) == 1
        assert _no_horizontal_scroll(page)
    finally:
        context.close()


def test_lesson_editor_previews_as_you_type_and_inserts_an_uploaded_picture(app, live_server, phone, trainer, lesson,
                                                                           check_accessibility, tmp_path):
    course_id, lesson_id = lesson
    _log_in(phone, live_server, f"/courses/manage/{course_id}/lessons/{lesson_id}")
    preview = phone.locator("#preview-body")
    preview.get_by_text("Mở văn bản cần ký.").wait_for()  # shown at once, with no button pressed
    text = phone.get_by_label("Nội dung bài học (Markdown)")
    text.click()
    phone.keyboard.press("Control+End")
    text.press_sequentially("\n\n## Bước hai\n\nBấm **Ký số**.", delay=10)
    preview.locator("h2", has_text="Bước hai").wait_for()
    assert preview.locator("strong").inner_text() == "Ký số"
    assert _no_horizontal_scroll(phone)
    assert check_accessibility(phone) == []

    picture = tmp_path / "nut-ky-so.png"
    picture.write_bytes(_png())
    phone.get_by_label("Tệp hình ảnh, video hoặc âm thanh").set_input_files(str(picture))
    phone.get_by_role("button", name="Tải lên và chèn vào bài").click()
    phone.get_by_text("Vui lòng nhập văn bản thay thế cho ảnh").wait_for()  # refused without alt text
    phone.get_by_label("Tệp hình ảnh, video hoặc âm thanh").set_input_files(str(picture))
    phone.get_by_label("Văn bản thay thế cho ảnh (bắt buộc với ảnh)").fill("Nút Ký số trên thanh công cụ")
    phone.get_by_role("button", name="Tải lên và chèn vào bài").click()
    phone.get_by_text("Đã tải lên “nut-ky-so.png”").wait_for()
    body = phone.get_by_label("Nội dung bài học (Markdown)").input_value()
    assert re.search(r"Bấm \*\*Ký số\*\*\.\n\n!\[Nút Ký số trên thanh công cụ\]\(/courses/media/[\w-]+\.png\)", body)
    image = phone.locator("#preview-body img")
    image.wait_for()
    assert image.get_attribute("alt") == "Nút Ký số trên thanh công cụ"
    assert phone.evaluate("document.querySelector('#preview-body img').naturalWidth") == 1200  # served
    assert _no_horizontal_scroll(phone)  # a 1200 px picture fits a 360 px screen
    assert check_accessibility(phone) == []

    phone.get_by_role("button", name="Lưu", exact=True).click()
    phone.get_by_text("Đã lưu bài học Ký số văn bản.").wait_for()
    phone.goto(f"{live_server}/courses/chu-ky-so/ky-so")
    learner_image = phone.locator("article img")
    assert learner_image.get_attribute("alt") == "Nút Ký số trên thanh công cụ"
    assert phone.evaluate("document.querySelector('article img').naturalWidth") == 1200
    assert _no_horizontal_scroll(phone)


def test_lesson_editor_refuses_a_too_large_file_before_sending(app, live_server, phone, trainer, lesson, tmp_path):
    course_id, lesson_id = lesson
    _log_in(phone, live_server, f"/courses/manage/{course_id}/lessons/{lesson_id}")
    big = tmp_path / "anh-lon.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(3 * 1024 * 1024))
    phone.get_by_label("Tệp hình ảnh, video hoặc âm thanh").set_input_files(str(big))
    phone.get_by_text("Tệp “anh-lon.png” quá lớn (3 MB): hình ảnh tối đa 2 MB.").wait_for()


def test_lesson_preview_works_without_javascript(app, live_server, browser, trainer, lesson):
    course_id, lesson_id = lesson
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN", java_script_enabled=False)
    page = context.new_page()
    try:
        _log_in(page, live_server, f"/courses/manage/{course_id}/lessons/{lesson_id}")
        assert not page.locator("#lesson-preview").is_visible()
        page.get_by_label("Nội dung bài học (Markdown)").fill("## Tóm tắt\n\nKý bằng **USB token**.")
        page.get_by_role("button", name="Xem trước").click()
        page.locator("#preview-body h2", has_text="Tóm tắt").wait_for()
        assert page.locator("#preview-body strong").inner_text() == "USB token"
        assert _no_horizontal_scroll(page)
    finally:
        context.close()
