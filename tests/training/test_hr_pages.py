"""HR pages a person can use at national scale: a unit field that searches (without JavaScript too),
lists that page on the server and say "more than" instead of counting a country, pages of units
that stay small, and exports too large for a request made by a job with a download link."""
import re

import pytest
import sqlalchemy as sa

from training.extensions import db
from training.models import AuditEntry


@pytest.fixture
def people(org, make_user):
    return {
        "hr_city": make_user("hr.city@example.vn", "Phạm Quốc Bảo", roles=("hr",), unit=org["city"]),
        "hr_ward": make_user("hr.ward@example.vn", "Nguyễn Thị Hân", roles=("hr",), unit=org["ward_a"]),
        "a": make_user("a@example.vn", "Trần Văn Minh", unit=org["dept_a"], position=org["position"]),
        "b": make_user("b@example.vn", "Lê Thị Bích", unit=org["ward_b"], position=org["position"]),
    }


def listing(page: str) -> str:
    return page[page.index("<tbody>"):]


def test_unit_field_is_a_search_box_not_a_list_of_every_unit(client, auth, people):
    auth.login("hr.city@example.vn")
    page = client.get("/hr/officials").get_data(as_text=True)
    assert re.search(r'<input id="unit" name="unit" type="search"[^>]*data-unit-search="/hr/unit-search"', page)
    assert '<select id="unit"' not in page and 'js/hr_units.js' in page
    assert '<label for="unit">' in page
    gaps = client.get("/hr/gaps").get_data(as_text=True)
    assert '<select id="unit"' not in gaps and '<select id="c-unit"' not in gaps and 'id="c-unit"' in gaps


def test_a_unit_typed_without_diacritics_is_found_without_javascript(client, auth, people):
    auth.login("hr.city@example.vn")
    page = client.get("/hr/officials?unit=ben+thanh").get_data(as_text=True)
    assert "Lê Thị Bích" in listing(page) and "Trần Văn Minh" not in listing(page)
    assert 'value="HCM-BT"' in page  # the field now holds the unit's code, and so do the export links
    assert "/hr/export/officials.csv?unit=HCM-BT" in page


def test_a_unit_name_matching_several_offers_them(client, auth, people):
    auth.login("hr.city@example.vn")
    page = client.get("/hr/officials?unit=phuong&status=not_qualified").get_data(as_text=True)
    assert "Có nhiều đơn vị khớp" in page and "Chọn đơn vị" in page
    assert "unit=HCM-COL" in page and "unit=HCM-BT" in page and "status=not_qualified" in page
    assert 'value="phuong"' in page  # what was typed stays in the field
    assert "Lê Thị Bích" in listing(page) and "Trần Văn Minh" in listing(page)  # nothing filtered yet


def test_typeahead_answers_within_my_scope(client, auth, people):
    auth.login("hr.ward@example.vn")
    items = client.get("/hr/unit-search?q=phuong").get_json()["items"]
    assert [item["code"] for item in items] == ["HCM-COL"]
    assert client.get("/hr/unit-search?q=ben+thanh").get_json()["items"] == []
    department = client.get("/hr/unit-search?q=van+phong").get_json()["items"]
    assert department == [{"code": "HCM-COL-VP", "name": "Văn phòng HĐND và UBND", "type": "department",
                           "parent": "Phường Cầu Ông Lãnh"}]
    auth.logout()
    auth.login("hr.city@example.vn")
    codes = [item["code"] for item in client.get("/hr/unit-search?q=hcm-b").get_json()["items"]]
    assert codes == ["HCM-BT"]
    assert client.get("/hr/unit-search?q=").get_json() == {"items": []}


def test_a_long_list_says_more_than_instead_of_counting(client, auth, org, make_user, people, monkeypatch):
    from training.hr import officials_filter

    monkeypatch.setattr(officials_filter, "PAGE_COUNT_CAP", 3)
    for n in range(30):
        make_user(f"x{n}@example.vn", "Hoàng Thị Yến", unit=org["ward_b"])
    auth.login("hr.city@example.vn")
    page = client.get("/hr/officials?q=yen").get_data(as_text=True)  # a name search: counted, up to the cap
    assert "Tổng số: hơn 3" in page and "Trang 1" in page and "Trang 1 /" not in page
    assert 'rel="next"' in page
    second = client.get("/hr/officials?q=yen&page=2").get_data(as_text=True)
    assert "Hoàng Thị Yến" in listing(second)
    # The kept counts know an unfiltered total exactly: no "more than" there.
    assert "Tổng số: 34" in client.get("/hr/officials").get_data(as_text=True)


def test_a_city_of_many_wards_is_shown_a_page_of_units_at_a_time(client, auth, make_unit, make_user):
    city = make_unit("NUOC", "Cả nước", "city")
    for n in range(60):
        ward = make_unit(f"NUOC-{n:02d}", f"Xã Thử nghiệm có tên khá dài số {n:02d}", "commune", city)
        make_user(f"o{n}@example.vn", "Trần Văn Minh", unit=ward)
    make_user("hr.all@example.vn", roles=("hr",), unit=city)
    auth.login("hr.all@example.vn")
    page = client.get("/hr/")
    assert page.status_code == 200 and len(page.get_data()) < 100_000
    text = page.get_data(as_text=True)
    assert "trang 1 / 3" in text and "Xã Thử nghiệm có tên khá dài số 24" in text
    assert "số 25" not in text
    unit_page = client.get("/hr/units/NUOC?rows_page=3")
    assert len(unit_page.get_data()) < 100_000 and "số 59" in unit_page.get_data(as_text=True)


def test_a_large_report_is_made_by_a_job_with_a_download_link(client, auth, people, monkeypatch):
    from training.hr import export_views

    monkeypatch.setattr(export_views, "TABLE_ROWS_INLINE", 1)  # the city has two wards: "large"
    auth.login("hr.city@example.vn")
    response = client.get("/hr/export/units/HCM/report.pdf")
    assert response.status_code == 302
    job_url = response.headers["Location"]
    assert re.search(r"/jobs/\d+$", job_url)
    job_page = client.get(job_url).get_data(as_text=True)  # no REDIS_URL: it ran inline, it is done
    download = re.search(r'href="(/jobs/\d+/download)"', job_page).group(1)
    pdf = client.get(download)
    assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF-")
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "hr.export")).one()
    assert entry.target == "HCM" and entry.details["format"] == "pdf" and entry.details["job_id"]
    # A ward's report is still drawn in the request.
    assert client.get("/hr/export/units/HCM-COL/report.pdf").get_data().startswith(b"%PDF-")


def test_a_large_officials_export_is_made_by_a_job(app, client, auth, people):
    app.config["EXPORT_JOB_MIN_ROWS"] = 2
    auth.login("hr.city@example.vn")
    response = client.get("/hr/export/officials.csv?status=not_qualified")
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    job_page = client.get(response.headers["Location"]).get_data(as_text=True)
    body = client.get(re.search(r'href="(/jobs/\d+/download)"', job_page).group(1)).get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert "Trần Văn Minh" in text and "Lê Thị Bích" in text and "Phạm Quốc Bảo" in text
