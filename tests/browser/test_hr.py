"""A ward HR officer on a 360 px phone: the dashboard's charts fit, the exports are there and work."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.browser

NOW = datetime.now(timezone.utc)
PASSWORD = "Mat-khau-2025"
NAMES = ("Nguyễn Thị Hồng Nhung", "Lê Văn Đức", "Phạm Minh Châu", "Trần Thị Ánh Tuyết")


@pytest.fixture
def ward_office(make_user, org):
    """A ward HR officer and four officials, two of them in a department; competencies gained two
    months ago, so the trend is zero for ten months and not zero for the last ones."""
    from training.extensions import db
    from training.models import Competency, CompetencyRecord

    make_user("hr.ward@example.vn", "Phạm Thu Hà", roles=("hr",), unit=org["ward_a"])
    people = [make_user(None, name, unit=org["dept_a"] if i % 2 else org["ward_a"], position=org["position"])
              for i, name in enumerate(NAMES)]
    competencies = db.session.scalars(sa.select(Competency)).all()
    for person in people[:2]:
        for competency in competencies:
            db.session.add(CompetencyRecord(user_id=person.id, competency_id=competency.id,
                                            achieved_at=NOW - timedelta(days=62), expires_at=NOW + timedelta(days=300),
                                            score=90.0))
    db.session.commit()
    return org


def _login(page, base, next_url):
    page.goto(f"{base}/auth/login?next={next_url}")
    page.get_by_label("Email").fill("hr.ward@example.vn")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"**{next_url}")


def _downloaded(download) -> bytes:
    with open(download.path(), "rb") as handle:
        return handle.read()


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _boxes(page, selector) -> list[dict]:
    """Where each element is drawn, relative to the viewport, and its text."""
    return page.eval_on_selector_all(selector, """els => els.map(el => {
        const r = el.getBoundingClientRect();
        return {left: r.left, right: r.right, width: r.width, text: el.textContent.trim()};
    })""")


def test_ward_dashboard_charts_fit_a_phone(live_server, phone, ward_office, check_accessibility):
    _login(phone, live_server, "/hr/")
    assert "Phường Cầu Ông Lãnh" in phone.locator("h1").inner_text()
    assert _no_horizontal_scroll(phone)
    width = phone.evaluate("window.innerWidth")

    # Nothing a chart writes is off the side of the screen (in a box scrolled sideways, say).
    texts = _boxes(phone, "svg.chart text")
    assert texts and [t for t in texts if t["left"] < 0 or t["right"] > width] == []

    cells = _boxes(phone, "svg.heatmap g.cell rect")
    assert len(cells) == 2 * 5  # the ward's own officials and its department, five competencies each
    assert all(0 <= cell["left"] and cell["right"] <= width for cell in cells), cells
    heads = _boxes(phone, "svg.heatmap .column-head")
    assert [head["text"][-1] for head in heads] == ["1", "2", "3", "4", "5"]
    assert all(0 <= head["left"] and head["right"] <= width for head in heads)

    months = _boxes(phone, "svg.trend g.month")
    assert len(months) == 12
    assert all(0 <= month["left"] and month["right"] <= width for month in months), months
    # The only months that are not zero are the last ones: on screen, their values written.
    values = [box["text"] for box in _boxes(phone, "svg.trend .value")]
    assert values[:9] == ["0"] * 9 and values[-1] == "40"  # 2 of the ward's 5 officials (HR included)
    labels = _boxes(phone, "svg.trend .label")
    assert len(labels) == 12 and all(0 <= label["left"] and label["right"] <= width for label in labels)
    # The same numbers are offered as tables next to the charts.
    assert phone.get_by_text("Xem dạng bảng").count() == 3
    assert check_accessibility(phone) == []


def test_ward_hr_downloads_the_csv_from_the_dashboard(live_server, phone, ward_office, check_accessibility):
    _login(phone, live_server, "/hr/")
    csv_link = phone.get_by_role("link", name="Tải danh sách cán bộ, công chức (CSV)")
    xlsx_link = phone.get_by_role("link", name="Tải danh sách cán bộ, công chức (Excel)")
    pdf_link = phone.get_by_role("link", name="Tải báo cáo đơn vị (PDF)")
    for link in (csv_link, xlsx_link, pdf_link):
        assert link.is_visible()
    with phone.expect_download() as download:
        csv_link.click()
    data = _downloaded(download.value)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Họ và tên,Email,Đơn vị,Vị trí việc làm")
    for name in NAMES:
        assert name in text
    assert download.value.suggested_filename.endswith(".csv")

    xlsx = phone.request.get(live_server + xlsx_link.get_attribute("href"))
    assert xlsx.status == 200 and xlsx.body()[:2] == b"PK"
    pdf = phone.request.get(live_server + pdf_link.get_attribute("href"))
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF-")


def test_filtered_list_exports_what_it_shows(live_server, phone, ward_office, check_accessibility):
    _login(phone, live_server, "/hr/officials")
    phone.get_by_label("Họ tên hoặc email").fill("nhung")
    phone.get_by_role("button", name="Lọc").click()
    phone.wait_for_url("**q=nhung**")
    assert _no_horizontal_scroll(phone)
    link = phone.get_by_role("link", name="Tải danh sách cán bộ, công chức (CSV)")
    assert "q=nhung" in link.get_attribute("href")
    with phone.expect_download() as download:
        link.click()
    text = _downloaded(download.value).decode("utf-8-sig")
    assert "Nguyễn Thị Hồng Nhung" in text and "Lê Văn Đức" not in text
    assert check_accessibility(phone) == []


def test_gaps_page_links_say_what_they_show(live_server, phone, ward_office, check_accessibility):
    _login(phone, live_server, "/hr/gaps")
    assert _no_horizontal_scroll(phone)
    links = phone.locator("table.gaps a")
    assert links.count() == 5  # two officials of the position lack each competency
    for i in range(links.count()):
        label, shown = links.nth(i).get_attribute("aria-label"), links.nth(i).inner_text()
        assert shown == "2 thiếu" and label.startswith(shown) and "Chuyên viên Văn phòng" in label
    for name in ("Tải bảng thiếu hụt (CSV)", "Tải bảng thiếu hụt (Excel)", "Tải báo cáo đơn vị (PDF)"):
        assert phone.get_by_role("link", name=name).is_visible()
    with phone.expect_download() as download:
        phone.get_by_role("link", name="Tải bảng thiếu hụt (CSV)").click()
    text = _downloaded(download.value).decode("utf-8-sig")
    assert "Chuyên viên Văn phòng" in text
    assert check_accessibility(phone) == []


def test_unit_page_exports_follow_its_filters(live_server, phone, ward_office, check_accessibility):
    _login(phone, live_server, "/hr/units/HCM-COL")
    phone.get_by_label("Chuẩn công chức số", exact=True).select_option("not_qualified")
    phone.get_by_role("button", name="Lọc").click()
    phone.wait_for_url("**status=not_qualified**")
    assert _no_horizontal_scroll(phone)
    with phone.expect_download() as download:
        phone.get_by_role("link", name="Tải danh sách cán bộ, công chức (CSV)").click()
    text = _downloaded(download.value).decode("utf-8-sig")
    assert "Phạm Minh Châu" in text and "Nguyễn Thị Hồng Nhung" not in text  # she qualifies
    assert check_accessibility(phone) == []
