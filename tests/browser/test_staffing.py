"""City HR on a 360 px phone, on the demo city, answers issue 20's three questions, each in a couple of
taps from the HR overview: which wards have a duty held by one person only, which wards have the
fewest qualified officials per 1,000 residents, and who could cover a gap from another ward."""
import re

import pytest

pytestmark = pytest.mark.browser

PASSWORD = "Mat-khau-2025"


@pytest.fixture
def demo_city(app):
    from training.extensions import db
    from training.services.competencies import seed_core_competencies
    from training.services.demo import load_demo

    seed_core_competencies()
    load_demo(PASSWORD)
    db.session.commit()


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _fits(page, selector) -> bool:
    """Every element matched is drawn inside the viewport's width."""
    return page.eval_on_selector_all(selector, """els => els.every(el => {
        const r = el.getBoundingClientRect(); return r.left >= 0 && r.right <= window.innerWidth + 1; })""")


def _check(page, check_accessibility):
    assert _no_horizontal_scroll(page), page.url
    assert check_accessibility(page) == [], page.url


def test_city_hr_answers_the_three_questions_on_a_phone(live_server, phone, demo_city, check_accessibility):
    phone.goto(f"{live_server}/auth/login?next=/hr/")
    phone.get_by_label("Email").fill("hr.city@demo.example")
    phone.get_by_label("Mật khẩu").fill(PASSWORD)
    phone.get_by_role("button", name="Đăng nhập").click()
    phone.wait_for_url("**/hr/")

    # 1. Which wards have a duty held by one person only? One tap from the overview.
    phone.get_by_role("link", name="Người đảm nhiệm nhiệm vụ").first.click()
    phone.wait_for_url("**/hr/staffing/units/HCM")
    assert "Thành phố Hồ Chí Minh" in phone.locator("h1").inner_text()
    summary = phone.locator(".cards li").nth(1).inner_text()
    assert re.search(r"\d+\s*phường, xã có nhiệm vụ chỉ 1 người đảm nhiệm", summary)
    first = phone.locator("#wards ~ ol > li").first
    first_ward = first.locator("h3").inner_text()
    assert "Chỉ 1 người:" in first.inner_text() or "Không ai đảm nhiệm:" in first.inner_text()
    _check(phone, check_accessibility)

    # 2. Which wards have the fewest qualified officials per 1,000 residents? One tap more, sorted and charted.
    phone.get_by_role("link", name="Cán bộ trên 1.000 dân").first.click()
    phone.wait_for_url("**/per-1000")
    rows = phone.locator("table.overview tbody tr")
    assert rows.count() == 10
    rates = [float(rows.nth(i).locator("td").nth(1).inner_text().replace(",", ".")) for i in range(rows.count())]
    assert rates == sorted(rates)  # fewest first
    assert phone.locator("svg.per-thousand g.bar").count() == 10
    assert _fits(phone, "svg.per-thousand text") and _fits(phone, "svg.per-thousand rect")
    assert "Thiếu người so với dân số" in phone.locator("table.overview").inner_text()
    _check(phone, check_accessibility)

    # 3. Who could cover a gap from another ward? The ward most at risk, then the lending link of a position.
    phone.go_back()
    phone.get_by_role("link", name=first_ward).click()
    phone.wait_for_url("**/hr/staffing/units/HCM-*")
    assert "Nhiệm vụ không có người dự phòng" in phone.locator("main").inner_text()
    assert "Có thể bồi dưỡng làm người dự phòng:" in phone.locator("main").inner_text()
    _check(phone, check_accessibility)
    lend = phone.get_by_role("link", name=re.compile("^Tìm người ở phường, xã khác cho vị trí")).first
    position = lend.inner_text().split("cho vị trí", 1)[1].strip()
    lend.click()
    phone.wait_for_url("**/lend?position=*")
    main = phone.locator("main").inner_text()
    assert f"Vị trí cần người: {position} tại {first_ward}." in main
    wards = phone.locator("main section.plan-item h2")
    assert wards.count() >= 1 and first_ward not in [wards.nth(i).inner_text() for i in range(wards.count())]
    candidates = phone.locator("main section.plan-item ul.plan > li")
    effects = phone.locator("main section.plan-item li.move-effect")
    assert candidates.count() >= 1 and effects.count() == candidates.count()  # what each move does at home
    assert all(text.startswith("Chuyển đi") for text in effects.all_inner_texts())
    _check(phone, check_accessibility)


def test_ward_hr_review_decision_and_exports_on_a_phone(live_server, phone, demo_city, check_accessibility):
    phone.goto(f"{live_server}/auth/login?next=/hr/staffing/reviews")
    phone.get_by_label("Email").fill("hr.ward@demo.example")
    phone.get_by_label("Mật khẩu").fill(PASSWORD)
    phone.get_by_role("button", name="Đăng nhập").click()
    phone.wait_for_url("**/hr/staffing/reviews")
    _check(phone, check_accessibility)
    assert phone.get_by_label("Đơn vị rà soát (tên hoặc mã)").input_value() == "HCM-CAUONGLANH"
    phone.get_by_role("button", name="Mở đợt rà soát").click()
    phone.wait_for_url("**/hr/staffing/reviews/*")
    assert "Đã mở đợt rà soát Phường Cầu Ông Lãnh" in phone.locator("main").inner_text()
    _check(phone, check_accessibility)

    phone.get_by_role("link", name=re.compile("^Ghi quyết định cho")).first.click()
    _check(phone, check_accessibility)
    phone.get_by_label("Giữ nguyên vị trí").check()
    phone.get_by_label("Ghi chú").fill("Đã trao đổi với trưởng phòng")
    phone.get_by_role("button", name="Lưu quyết định").click()
    phone.wait_for_url("**/hr/staffing/reviews/*#entry-*")
    assert "Giữ nguyên vị trí. Đã trao đổi với trưởng phòng" in phone.locator("main").inner_text()

    with phone.expect_download() as download:
        phone.get_by_role("link", name="Tải kết quả rà soát để ký (PDF)").click()
    with open(download.value.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"

    # The ward's own page and the population form, read and usable the same way.
    phone.get_by_role("link", name="Người đảm nhiệm nhiệm vụ").first.click()
    phone.wait_for_url("**/hr/staffing/units/HCM-CAUONGLANH")
    assert "Dân số thực tế" in phone.locator("main").inner_text()
    _check(phone, check_accessibility)
    phone.get_by_role("link", name="Nhập số dân").first.click()
    phone.wait_for_url("**/hr/staffing/population")
    _check(phone, check_accessibility)
    phone.get_by_role("button", name="Nhập số dân").click()  # no file chosen: told so, nothing written
    assert "Vui lòng chọn tệp." in phone.locator("main").inner_text()
