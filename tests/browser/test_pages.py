"""The pages that matter, in a real browser on a 360 px phone: usable, reflowing, accessible."""
import pytest

pytestmark = pytest.mark.browser


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_login_by_keyboard_on_a_phone(live_server, phone, make_user, org, check_accessibility):
    make_user("lan@example.vn", "Trần Thị Lan", unit=org["ward_a"], position=org["position"])
    phone.goto(f"{live_server}/auth/login")
    assert phone.locator("h1").inner_text() == "Đăng nhập"
    assert _no_horizontal_scroll(phone)
    assert check_accessibility(phone) == []
    # The first Tab reaches the skip link, and it becomes visible.
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.className") == "skip-link"
    phone.get_by_label("Email").fill("lan@example.vn")
    phone.get_by_label("Mật khẩu").fill("Mat-khau-2025")
    phone.get_by_label("Mật khẩu").press("Enter")
    phone.wait_for_url(f"{live_server}/")
    assert "Xin chào, Trần Thị Lan" in phone.locator("h1").inner_text()
    assert _no_horizontal_scroll(phone)
    assert check_accessibility(phone) == []


def test_wrong_password_message_is_announced(live_server, phone, make_user):
    make_user("lan@example.vn")
    phone.goto(f"{live_server}/auth/login")
    phone.get_by_label("Email").fill("lan@example.vn")
    phone.get_by_label("Mật khẩu").fill("sai-mat-khau")
    phone.get_by_role("button", name="Đăng nhập").click()
    alert = phone.get_by_role("alert")
    assert "Email hoặc mật khẩu không đúng." in alert.inner_text()


def test_admin_officials_list_on_a_phone(live_server, phone, make_user, org, check_accessibility):
    make_user("admin@example.vn", "Quản Trị", roles=("admin",), unit=org["city"])
    for name in ("Nguyễn Thị Hồng Nhung", "Lê Văn Đức", "Phạm Minh Châu"):
        make_user(None, name, unit=org["ward_a"], position=org["position"])
    phone.goto(f"{live_server}/auth/login?next=/admin/users")
    phone.get_by_label("Email").fill("admin@example.vn")
    phone.get_by_label("Mật khẩu").fill("Mat-khau-2025")
    phone.get_by_role("button", name="Đăng nhập").click()
    phone.wait_for_url("**/admin/users")
    phone.get_by_label("Họ tên hoặc email").fill("nhung")
    phone.get_by_role("button", name="Lọc").click()
    rows = phone.locator("tbody tr")
    assert rows.count() == 1 and "Nguyễn Thị Hồng Nhung" in rows.first.inner_text()
    assert _no_horizontal_scroll(phone)
    assert check_accessibility(phone) == []
    phone.goto(f"{live_server}/admin/roster")
    assert check_accessibility(phone) == []
    phone.goto(f"{live_server}/lang/en?next=/admin/users")
    assert phone.locator("html").get_attribute("lang") == "en"


def test_learner_follows_an_assigned_course_on_a_phone(live_server, phone, make_user, org, check_accessibility):
    from datetime import timedelta

    from courses.assignments import today_in_vietnam
    from courses.models import Assignment
    from training.extensions import db
    from tests.courses.helpers import make_course

    make_user("lan@example.vn", "Trần Thị Lan", unit=org["dept_a"], position=org["position"])
    course = make_course(lessons=2)
    db.session.add(Assignment(course=course, unit=org["ward_a"], due_on=today_in_vietnam() + timedelta(days=5)))
    db.session.commit()
    phone.goto(f"{live_server}/auth/login?next=/courses/")
    phone.get_by_label("Email").fill("lan@example.vn")
    phone.get_by_label("Mật khẩu").fill("Mat-khau-2025")
    phone.get_by_role("button", name="Đăng nhập").click()
    phone.wait_for_url("**/courses/")
    assert check_accessibility(phone) == []
    phone.get_by_role("link", name="Chữ ký số cơ bản").click()
    phone.get_by_role("link", name="Bắt đầu học").click()
    assert phone.locator("h1").inner_text() == "Bài 1"
    assert _no_horizontal_scroll(phone)
    assert check_accessibility(phone) == []
    phone.get_by_role("button", name="Đánh dấu đã học xong và sang bài tiếp").click()
    assert phone.locator("h1").inner_text() == "Bài 2"
    phone.get_by_role("button", name="Đánh dấu đã học xong").click()
    assert "Chúc mừng! Bạn đã hoàn thành khóa học" in phone.get_by_role("status").first.inner_text()
    assert "Tiến độ: 2/2 bài" in phone.content()


def test_quiz_answers_survive_a_closed_tab_and_a_dropped_connection(live_server, browser, make_user, org,
                                                                    check_accessibility):
    import sqlalchemy as sa

    from quizzes.models import AttemptSlot
    from training.extensions import db
    from tests.quizzes.helpers import make_quiz

    make_user("lan@example.vn", "Trần Thị Lan", unit=org["dept_a"], position=org["position"])
    quiz = make_quiz(questions=4, draw=4, questions_per_page=4, shuffle_options=False)
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{live_server}/auth/login?next=/quizzes/{quiz.id}")
    page.get_by_label("Email").fill("lan@example.vn")
    page.get_by_label("Mật khẩu").fill("Mat-khau-2025")
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("button", name="Bắt đầu làm bài").click()
    page.wait_for_url("**/quizzes/attempts/*")
    assert check_accessibility(page) == []
    # Answer question 1: the script saves it at once.
    first = page.locator("#slot-1")
    first.locator("input[type=radio]").first.check()
    first.locator(".save-state").filter(has_text="Đã lưu lúc").wait_for()
    attempt_url = page.url
    page.close()  # the tab is closed halfway
    page = context.new_page()
    page.goto(attempt_url)
    assert page.locator("#slot-1 input[type=radio]").first.is_checked()
    # The connection drops: the answer waits in the browser and the page says so.
    context.set_offline(True)
    page.locator("#slot-2 input[type=radio]").first.check()
    page.locator("#slot-2 .save-state").filter(has_text="Chưa gửi được").wait_for()
    assert db.session.scalar(sa.select(AttemptSlot.response).where(AttemptSlot.slot == 2)) is None
    context.set_offline(False)
    page.locator("#slot-2 .save-state").filter(has_text="Đã lưu lúc").wait_for(timeout=40000)
    db.session.expire_all()
    saved = dict(db.session.execute(sa.select(AttemptSlot.slot, AttemptSlot.response)).all())
    assert saved[1] == "o1" and saved[2] == "o1"
    context.close()


def test_verification_page_from_the_qr_code_on_a_phone(app, live_server, phone, make_user, org, tmp_path,
                                                        check_accessibility):
    from datetime import datetime, timedelta, timezone

    import sqlalchemy as sa

    from certificates.issuing import issue_certificate
    from certificates.signing import make_dev_identity
    from training.extensions import db
    from training.models import Competency, CompetencyRecord

    app.config.update(CERT_P12_PATH=str(tmp_path / "id.p12"), CERT_P12_PASSPHRASE="pw")
    make_dev_identity(app.config["CERT_P12_PATH"], "pw")
    official = make_user("lan@example.vn", "Nguyễn Thị Hồng Nhung", unit=org["dept_a"], position=org["position"])
    now = datetime.now(timezone.utc)
    for competency in db.session.scalars(sa.select(Competency)):
        db.session.add(CompetencyRecord(user_id=official.id, competency_id=competency.id, score=90,
                                        achieved_at=now - timedelta(days=3), expires_at=now + timedelta(days=300)))
    db.session.commit()
    certificate = issue_certificate(official)
    db.session.commit()
    phone.goto(f"{live_server}/verify/{certificate.serial}")
    assert "HỢP LỆ" in phone.get_by_role("status").inner_text()
    assert "Nguyễn Thị Hồng Nhung" in phone.content()
    assert _no_horizontal_scroll(phone)
    assert check_accessibility(phone) == []
    from certificates.issuing import revoke_certificate

    revoke_certificate(certificate, None, "Thử thu hồi: lý do nội bộ của phòng nhân sự")
    db.session.commit()
    phone.reload()
    assert "ĐÃ THU HỒI" in phone.get_by_role("status").inner_text()
    assert "lý do nội bộ" not in phone.content()  # HR's reason is never public
