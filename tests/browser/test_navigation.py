"""The header on a 360 px phone: brand and a "Menu" button, every link one tap away, with and
without JavaScript, by keyboard; inline links on a desktop; the language switch as a POST."""
import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.browser

LEARNER_LINKS = ["Trang của tôi", "Khóa học", "Bài kiểm tra", "Chứng nhận", "Nhắc việc", "Tài khoản và đăng nhập"]
TRAINER_LINKS = ["Soạn bài giảng", "Ngân hàng câu hỏi", "Quản lý bài kiểm tra"]
HR_LINKS = ["Tổng quan", "Cán bộ, công chức", "Giao khóa học", "Quản lý chứng nhận"]
ADMIN_LINKS = LEARNER_LINKS + TRAINER_LINKS + HR_LINKS + ["Quản trị"]
BUTTONS = ["Đăng xuất", "English"]


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _log_in(page, live_server, email, next_path="/"):
    page.goto(f"{live_server}/auth/login?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill("Mat-khau-2025")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server}{next_path}")


def _nav(page):
    return page.get_by_role("navigation", name="Điều hướng chính")


def _stored_locale(app, email):
    from training.extensions import db
    from training.models import User

    with app.app_context():  # a fresh session: what the server committed
        return db.session.scalar(sa.select(User.locale).where(User.email == email))


@pytest.mark.parametrize("roles, links", [(("learner",), LEARNER_LINKS), (("admin",), ADMIN_LINKS)],
                         ids=["learner", "admin"])
def test_phone_header_is_one_line_and_the_menu_shows_every_link(live_server, phone, make_user, org,
                                                                 check_accessibility, roles, links):
    make_user("lan@example.vn", "Trần Thị Lan", roles=roles, unit=org["ward_a"], position=org["position"])
    _log_in(phone, live_server, "lan@example.vn")
    header = phone.locator("header.site-header").bounding_box()
    assert header["height"] < 0.25 * 740 and header["height"] < 90  # one row: brand and "Menu"
    menu = phone.get_by_role("button", name="Menu")
    assert menu.is_visible() and menu.get_attribute("aria-expanded") == "false"
    assert not _nav(phone).get_by_role("link", name=links[-1], exact=True).is_visible()
    assert _no_horizontal_scroll(phone)
    assert check_accessibility(phone) == []

    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    for name in links:
        assert _nav(phone).get_by_role("link", name=name, exact=True).is_visible(), name
    for name in BUTTONS:
        assert _nav(phone).get_by_role("button", name=name, exact=True).is_visible(), name
    assert _no_horizontal_scroll(phone)
    assert check_accessibility(phone) == []

    _nav(phone).get_by_role("link", name=links[-1], exact=True).click()
    phone.wait_for_load_state()
    assert phone.get_by_role("button", name="Menu").get_attribute("aria-expanded") == "false"


def test_phone_menu_by_keyboard(live_server, phone, make_user, org):
    make_user("lan@example.vn", "Trần Thị Lan", unit=org["ward_a"], position=org["position"])
    _log_in(phone, live_server, "lan@example.vn")
    phone.keyboard.press("Tab")  # the skip link
    phone.keyboard.press("Tab")  # the brand
    phone.keyboard.press("Tab")
    menu = phone.get_by_role("button", name="Menu")
    assert phone.evaluate("document.activeElement.textContent.trim()") == "Menu"
    assert phone.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"  # focus visible

    phone.keyboard.press("Enter")
    assert menu.get_attribute("aria-expanded") == "true"
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.textContent.trim()") == "Trang của tôi"
    phone.keyboard.press("Escape")
    assert menu.get_attribute("aria-expanded") == "false"
    assert phone.evaluate("document.activeElement.textContent.trim()") == "Menu"  # focus not lost
    assert not _nav(phone).get_by_role("link", name="Trang của tôi").is_visible()

    phone.keyboard.press("Space")
    assert menu.get_attribute("aria-expanded") == "true"
    phone.keyboard.press("Space")
    assert menu.get_attribute("aria-expanded") == "false"


def test_phone_menu_and_language_switch_work_without_javascript(app, live_server, browser, make_user, org):
    app.config["WTF_CSRF_ENABLED"] = True  # the real forms post their tokens
    make_user("lan@example.vn", "Trần Thị Lan", unit=org["ward_a"], position=org["position"])
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN",
                                  java_script_enabled=False)
    page = context.new_page()
    try:
        _log_in(page, live_server, "lan@example.vn", "/courses/")
        assert page.locator("header.site-header").bounding_box()["height"] < 90
        assert not _nav(page).get_by_role("link", name="Khóa học", exact=True).is_visible()
        page.locator("summary", has_text="Menu").click()  # <details> opens with no script at all
        assert _nav(page).get_by_role("link", name="Khóa học", exact=True).is_visible()
        assert _no_horizontal_scroll(page)

        _nav(page).get_by_role("button", name="English").click()
        page.wait_for_url(f"{live_server}/courses/")  # back on the same page
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.locator("summary").inner_text() == "Menu"
        assert _stored_locale(app, "lan@example.vn") == "en"  # a POST from the header saves the choice
        page.locator("summary").click()
        page.get_by_role("navigation", name="Main navigation").get_by_role("button", name="Tiếng Việt").click()
        page.wait_for_url(f"{live_server}/courses/")
        assert page.locator("html").get_attribute("lang") == "vi"
        assert _stored_locale(app, "lan@example.vn") == "vi"
    finally:
        context.close()


def test_old_language_link_changes_only_the_session(app, live_server, phone, make_user, org):
    make_user("lan@example.vn", "Trần Thị Lan", unit=org["ward_a"], position=org["position"])
    _log_in(phone, live_server, "lan@example.vn")
    phone.goto(f"{live_server}/lang/en?next=/courses/")
    assert phone.url == f"{live_server}/courses/"
    assert phone.locator("html").get_attribute("lang") == "en"
    assert _stored_locale(app, "lan@example.vn") is None


def test_desktop_links_are_inline(live_server, browser, make_user, org, check_accessibility):
    make_user("admin@example.vn", "Quản Trị", roles=("admin",), unit=org["city"])
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    page = context.new_page()
    try:
        _log_in(page, live_server, "admin@example.vn")
        assert not page.get_by_role("button", name="Menu").is_visible()
        boxes = [_nav(page).get_by_role("link", name=name, exact=True).bounding_box() for name in ADMIN_LINKS]
        assert all(box is not None for box in boxes)  # shown without opening anything
        assert boxes[0]["y"] == boxes[1]["y"] and boxes[1]["x"] > boxes[0]["x"]  # side by side
        rows = {round(box["y"]) for box in boxes}
        assert len(rows) <= 3  # not one link per line
        assert _no_horizontal_scroll(page)
        assert check_accessibility(page) == []
    finally:
        context.close()
