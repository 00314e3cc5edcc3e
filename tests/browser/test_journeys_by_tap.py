"""Issue 15's test of done: each role does its job on a phone from the address of the site alone,
tapping links and buttons, never typing a URL or an id."""
from datetime import timedelta

import pytest

from tests.browser.test_navigation import _nav, _no_horizontal_scroll


def _sign_in_from_the_front_page(page, live_server, email):
    page.goto(live_server)  # the site's address, nothing more
    page.locator("main").get_by_role("link", name="Đăng nhập").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill("Mat-khau-2025")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()


def _menu(page, link):
    page.get_by_role("button", name="Menu").click()
    _nav(page).get_by_role("link", name=link, exact=True).click()
    page.wait_for_load_state()


@pytest.fixture
def learner_plan(make_user, org):
    import sqlalchemy as sa

    from courses.assignments import today_in_vietnam
    from courses.models import Assignment
    from training.extensions import db
    from training.models import Competency
    from tests.courses.helpers import make_course
    from tests.quizzes.helpers import make_quiz

    make_user("lan@example.vn", "Trần Thị Lan", unit=org["dept_a"], position=org["position"])
    competency = db.session.scalar(sa.select(Competency).where(Competency.code == "digital_signature"))
    course = make_course(lessons=2, competency=competency)
    quiz = make_quiz(questions=12, draw=10, competency_code="digital_signature")
    db.session.add(Assignment(course=course, unit=org["ward_a"], due_on=today_in_vietnam() + timedelta(days=5)))
    db.session.commit()
    return course, quiz


def test_learner_goes_from_the_plan_through_the_course_to_the_quiz_by_tapping(live_server, phone, learner_plan,
                                                                              check_accessibility):
    course, quiz = learner_plan
    _sign_in_from_the_front_page(phone, live_server, "lan@example.vn")
    assert "Xin chào, Trần Thị Lan" in phone.locator("h1").inner_text()
    assert _no_horizontal_scroll(phone) and check_accessibility(phone) == []

    phone.locator("a.next-action").click()  # the plan's one obvious next action
    phone.wait_for_load_state()
    assert phone.locator("h1").inner_text() == "Bài 1"
    phone.get_by_role("button", name="Đánh dấu đã học xong và sang bài tiếp").click()
    phone.get_by_role("button", name="Đánh dấu đã học xong").click()
    assert "Chúc mừng! Bạn đã hoàn thành khóa học" in phone.get_by_role("status").first.inner_text()

    _menu(phone, "Trang của tôi")
    plan = phone.locator("li.plan-item", has_text=course.title)
    assert "2/2 bài" in plan.inner_text()
    plan.get_by_role("link", name=quiz.title).click()
    phone.wait_for_load_state()
    assert phone.locator("h1").inner_text().strip() == quiz.title
    phone.get_by_role("button", name="Bắt đầu làm bài").click()
    phone.wait_for_load_state()
    assert "/attempts/" in phone.url
    assert _no_horizontal_scroll(phone)


def test_trainer_reaches_a_quiz_settings_page_from_the_menu(live_server, phone, make_user, org):
    from tests.quizzes.helpers import make_quiz

    make_user("gv@example.vn", "Đỗ Văn Giảng", roles=("trainer",), unit=org["city"])
    quiz = make_quiz()
    _sign_in_from_the_front_page(phone, live_server, "gv@example.vn")
    _menu(phone, "Quản lý bài kiểm tra")
    phone.get_by_role("link", name=quiz.title, exact=True).click()
    phone.wait_for_load_state()
    assert f"/quizzes/manage/{quiz.id}" in phone.url
    assert phone.locator("h1").inner_text().strip() == quiz.title
    assert _no_horizontal_scroll(phone)


def test_ward_hr_reaches_the_officials_list_and_its_export_from_the_menu(live_server, phone, make_user, org):
    make_user("hr.a@example.vn", "Phạm Thu Hà", roles=("hr",), unit=org["ward_a"])
    make_user("lan@example.vn", "Trần Thị Lan", unit=org["dept_a"], position=org["position"])
    _sign_in_from_the_front_page(phone, live_server, "hr.a@example.vn")
    _menu(phone, "Cán bộ, công chức")
    assert "Trần Thị Lan" in phone.content()
    with phone.expect_download() as download:
        phone.get_by_role("link", name="Tải danh sách cán bộ, công chức (CSV)").click()
    assert download.value.suggested_filename.endswith(".csv")


def test_admin_reaches_the_roster_import_from_the_menu(live_server, phone, make_user, org):
    make_user("admin@example.vn", "Quản Trị", roles=("admin",), unit=org["city"])
    _sign_in_from_the_front_page(phone, live_server, "admin@example.vn")
    _menu(phone, "Quản trị")
    phone.get_by_role("link", name="Nhập danh sách", exact=True).first.click()
    phone.wait_for_load_state()
    assert "/admin/roster" in phone.url
    assert _no_horizontal_scroll(phone)
