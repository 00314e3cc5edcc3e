"""HR exports through a real request cycle, as a browser or gunicorn drives them.

The shared `app` fixture keeps one app context open for the whole test, so a request reuses it and
its teardown never runs; a streamed export that touched objects from the view then passed here and
failed for every user (DetachedInstanceError once the view had returned). The fixtures below build
the app per test and push a context only where the test itself reads or writes the database,
never around a client call (the Flask tutorial's way).
"""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from training import create_app
from training.extensions import db

PASSWORD = "Mat-khau-2025"
NOW = datetime.now(timezone.utc)
AI_NAME = "Ứng dụng trí tuệ nhân tạo an toàn trong công việc"
BOM = b"\xef\xbb\xbf"


@pytest.fixture
def fresh_app(database_url):
    """An app of its own, with no app context pushed: each request brings and tears down its own."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "DEMO_PASSWORD": None})
    yield app
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE questions SET current_version_id = NULL"))
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()


@pytest.fixture
def fresh_client(fresh_app):
    return fresh_app.test_client()


def _give(user, competency, *, days_left=300, achieved_days_ago=30):
    from training.models import CompetencyRecord

    db.session.add(CompetencyRecord(user_id=user.id, competency_id=competency.id,
                                    achieved_at=NOW - timedelta(days=achieved_days_ago),
                                    expires_at=NOW + timedelta(days=days_left), score=90.0))


@pytest.fixture
def ward(fresh_app):
    """A city with two wards and a department; HR accounts and officials. Returns plain values only:
    nothing of a session outlives the context that made it."""
    from training.models import Competency
    from training.services.competencies import seed_core_competencies
    from training.services.org import create_position, create_unit
    from training.services.users import create_user

    with fresh_app.app_context():
        seed_core_competencies()
        city = create_unit("HCM", "Thành phố Hồ Chí Minh", "city")
        ward_a = create_unit("HCM-COL", "Phường Cầu Ông Lãnh", "ward", city)
        ward_b = create_unit("HCM-BT", "Phường Bến Thành", "ward", city)
        dept = create_unit("HCM-COL-VP", "Văn phòng HĐND và UBND", "department", ward_a)
        position = create_position("CV-VP", "Chuyên viên Văn phòng")

        def user(email, name, roles=("learner",), unit=ward_a, position=position):
            return create_user(email, name, password=PASSWORD, roles=roles, unit=unit, position=position,
                               must_change_password=False)

        user("hr.ward@example.vn", "Phạm Thu Hà", ("hr",), ward_a, None)
        user("hr.city@example.vn", "Võ Quốc Bảo", ("hr",), city, None)
        user("admin@example.vn", "Quản Trị Viên", ("admin",), None, None)
        minh = user("minh@example.vn", "Trần Văn Minh", unit=dept)
        anh = user("anh@example.vn", "Đặng Thị Ánh")
        bich = user("bich@example.vn", "Lê Thị Bích", unit=ward_b)
        user("an@example.vn", "Nguyễn Văn Ân", unit=ward_b)
        competencies = {c.code: c for c in db.session.scalars(sa.select(Competency))}
        for code, competency in competencies.items():
            _give(minh, competency, days_left=20 if code == "info_security" else 300)
            _give(bich, competency)
            if code == "ai":
                _give(anh, competency, days_left=-5, achieved_days_ago=400)
            elif code != "info_security":
                _give(anh, competency)
        db.session.commit()
    return {"ward_a": "HCM-COL", "ward_b": "HCM-BT", "city": "HCM"}


def login(client, email):
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def audit_log(app):
    from training.models import AuditEntry

    with app.app_context():
        return [(e.target, dict(e.details)) for e in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "hr.export").order_by(AuditEntry.id))]


def csv_rows(raw: bytes) -> list[list[str]]:
    assert raw.startswith(BOM), raw[:20]
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


# --------------------------------------------------------------------------- CSV
@pytest.mark.parametrize("email, query, expected", [
    ("hr.ward@example.vn", "", {"Trần Văn Minh", "Đặng Thị Ánh", "Phạm Thu Hà"}),
    ("hr.city@example.vn", "", {"Trần Văn Minh", "Đặng Thị Ánh", "Phạm Thu Hà", "Lê Thị Bích", "Nguyễn Văn Ân",
                                "Võ Quốc Bảo"}),
    ("hr.city@example.vn", "unit=HCM-BT", {"Lê Thị Bích", "Nguyễn Văn Ân"}),
    ("admin@example.vn", "status=qualified", {"Trần Văn Minh", "Lê Thị Bích"}),
])
def test_csv_export_streams_for_every_scope(fresh_app, fresh_client, ward, email, query, expected):
    login(fresh_client, email)
    response = fresh_client.get("/hr/export/officials.csv?" + query)
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = csv_rows(response.get_data())  # consuming the stream is where the old code raised
    assert rows[0][:4] == ["Họ và tên", "Email", "Đơn vị", "Vị trí việc làm"] and rows[0][-1] == "Công chức số"
    assert {row[0] for row in rows[1:]} == expected
    by_name = {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}
    if "Trần Văn Minh" in by_name:
        minh = by_name["Trần Văn Minh"]
        assert minh["Đơn vị"] == "Văn phòng HĐND và UBND, Phường Cầu Ông Lãnh" and minh["Công chức số"] == "Có"
        assert minh["Vị trí việc làm"] == "Chuyên viên Văn phòng"
    if "Đặng Thị Ánh" in by_name:
        anh = by_name["Đặng Thị Ánh"]
        assert anh["An toàn thông tin"] == "Chưa đạt" and anh[AI_NAME] == "Hết hạn"
    entries = audit_log(fresh_app)
    assert len(entries) == 1 and entries[0][1]["format"] == "csv" and entries[0][1]["status"] == "done"
    assert entries[0][1]["rows"] == len(expected)


def test_csv_export_of_another_ward_is_refused_before_streaming(fresh_app, fresh_client, ward):
    login(fresh_client, "hr.ward@example.vn")
    assert fresh_client.get("/hr/export/officials.csv?unit=HCM-BT").status_code == 404
    bad = fresh_client.get("/hr/export/officials.csv?status=foo&q=minh")
    assert bad.status_code == 302 and "q=minh" in bad.headers["Location"]
    assert audit_log(fresh_app) == []


def test_a_crashed_csv_export_is_logged_as_failed_not_done(fresh_app, fresh_client, ward, monkeypatch):
    import training.hr.exports as exports

    def broken(ids, on=None):
        raise RuntimeError("database went away")

    monkeypatch.setattr(exports, "competency_states", broken)
    login(fresh_client, "hr.city@example.vn")
    with pytest.raises(RuntimeError):
        # The header has left, so the status is 200; the download breaks off instead of ending as a
        # complete-looking file.
        fresh_client.get("/hr/export/officials.csv").get_data()
    entries = audit_log(fresh_app)
    assert [details["status"] for _target, details in entries] == ["failed"]


def test_a_crashed_xlsx_export_is_a_500_logged_as_failed(fresh_app, fresh_client, ward, monkeypatch):
    import training.hr.exports as exports

    def broken(ids, on=None):
        raise RuntimeError("database went away")

    monkeypatch.setattr(exports, "competency_states", broken)
    login(fresh_client, "hr.city@example.vn")
    assert fresh_client.get("/hr/export/officials.xlsx").status_code == 500
    assert [details["status"] for _target, details in audit_log(fresh_app)] == ["failed"]


def test_an_abandoned_download_is_logged_as_interrupted(fresh_app, fresh_client, ward):
    login(fresh_client, "hr.city@example.vn")
    response = fresh_client.get("/hr/export/officials.csv")
    chunks = response.iter_encoded()
    assert next(chunks).startswith(BOM)
    response.close()  # the browser went away before the stream ended
    assert [details["status"] for _target, details in audit_log(fresh_app)] == ["interrupted"]


# --------------------------------------------------------------------------- XLSX
def test_xlsx_export_through_a_request(fresh_app, fresh_client, ward):
    from openpyxl import load_workbook

    login(fresh_client, "hr.ward@example.vn")
    response = fresh_client.get("/hr/export/officials.xlsx?competency=info_security&holding=no")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert re.search(r'filename="?cong-chuc-\d{8}\.xlsx', response.headers["Content-Disposition"])
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["Họ và tên", "Email", "Đơn vị", "Vị trí việc làm"] and AI_NAME in header
    names = {row[0].value for row in sheet.iter_rows(min_row=2)}
    assert names == {"Đặng Thị Ánh", "Phạm Thu Hà"}  # ward A, without a valid information security record
    (target, details), = audit_log(fresh_app)
    assert details == {"format": "xlsx", "filters": {"competency": "info_security", "holding": "no"},
                       "status": "done", "rows": 2}
    # What a caller (a job queue, say) can ask before choosing to stream or to queue an export.
    from training.hr.exports import OfficialsExport, count_officials
    from training.hr.officials_filter import parse_filters
    from training.models import OrgUnit

    with fresh_app.app_context():
        ward_id = db.session.scalar(sa.select(OrgUnit.id).where(OrgUnit.code == "HCM-COL"))
        filters = parse_filters({"competency": "info_security", "holding": "no"})
        assert count_officials(OfficialsExport(ward_id, filters)) == 2


# --------------------------------------------------------------------------- PDF
def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    assert data.startswith(b"%PDF-")
    return re.sub(r"\s+", " ", "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages))


def test_unit_report_lists_who_lacks_what_and_ends_with_the_signature_block(fresh_app, fresh_client, ward):
    from training.services.qualification import VIETNAM

    login(fresh_client, "hr.ward@example.vn")
    response = fresh_client.get("/hr/export/units/HCM-COL/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.get_data())
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
    assert "BÁO CÁO NĂNG LỰC SỐ CỦA CÁN BỘ, CÔNG CHỨC" in text
    # Who lacks what: Ánh misses information security, and AI has lapsed; Minh's information
    # security lapses within 30 days; Hà (no position) misses the core competencies.
    listing = text[text.index("Danh sách cán bộ, công chức còn thiếu"):]
    assert "Đặng Thị Ánh" in listing and "An toàn thông tin" in listing and "(hết hạn" in listing
    expiry = (NOW + timedelta(days=20)).astimezone(VIETNAM).strftime("%d/%m/%Y")
    assert "Trần Văn Minh" in listing and f"(đến {expiry})" in listing
    assert "Phạm Thu Hà" in listing
    assert "Lê Thị Bích" not in text  # another ward
    # The signature block closes the report.
    today = datetime.now(VIETNAM).date()
    month = f"{today.month:02d}" if today.month <= 2 else str(today.month)
    assert f"Cầu Ông Lãnh, ngày {today.day:02d} tháng {month} năm {today.year}" in text
    ending = text[text.index("NGƯỜI LẬP BIỂU") - 200:]
    for words in ("NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ", "(Ký, ghi rõ họ tên)", "(Ký tên, đóng dấu)", "Phạm Thu Hà"):
        assert words in ending
    assert text.rindex("THỦ TRƯỞNG ĐƠN VỊ") > text.rindex("Đặng Thị Ánh")
    (target, details), = audit_log(fresh_app)
    assert target == "HCM-COL" and details["format"] == "pdf" and details["status"] == "done"
    assert details["rows"] == 3  # Ánh, Minh, Hà


def test_scope_report_for_city_hr_and_admin(fresh_app, fresh_client, ward):
    login(fresh_client, "admin@example.vn")
    text = pdf_text(fresh_client.get("/hr/export/report.pdf").get_data())
    assert "Tất cả đơn vị" in text and "Nguyễn Văn Ân" in text and "Đặng Thị Ánh" in text
    fresh_client.post("/auth/logout")
    login(fresh_client, "hr.ward@example.vn")
    assert fresh_client.get("/hr/export/units/HCM-BT/report.pdf").status_code == 404
    own = pdf_text(fresh_client.get("/hr/export/report.pdf").get_data())
    assert "Phường Cầu Ông Lãnh" in own and "Nguyễn Văn Ân" not in own


def test_long_list_is_cut_into_pages_each_with_its_header(fresh_app, fresh_client, ward):
    from pypdf import PdfReader

    from training.models import OrgUnit, Position
    from training.services.users import create_user

    with fresh_app.app_context():
        unit = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "HCM-BT"))
        position = db.session.scalar(sa.select(Position))
        for i in range(150):
            create_user(f"p{i}@example.vn", f"Hoàng Thị Mỹ Duyên {i:03d}", unit=unit, position=position)
        db.session.commit()
    login(fresh_client, "hr.city@example.vn")
    data = fresh_client.get("/hr/export/units/HCM-BT/report.pdf").get_data()
    pages = [re.sub(r"\s+", " ", page.extract_text()) for page in PdfReader(io.BytesIO(data)).pages]
    listed = [page for page in pages if "Duyên" in page]
    assert len(listed) >= 3
    for page in listed:  # every page of the list carries the column headers
        assert "Năng lực còn thiếu" in page and "Họ và tên" in page
    assert all(f"Hoàng Thị Mỹ Duyên {i:03d}" in " ".join(pages) for i in range(150))
    assert "THỦ TRƯỞNG ĐƠN VỊ" in pages[-1]
    # No page of the list is left nearly empty by a table that did not fit.
    assert all(page.count("Duyên") >= 5 for page in listed[:-1])


# --------------------------------------------------------------------------- gaps
def test_gaps_exports_through_a_request(fresh_app, fresh_client, ward):
    from openpyxl import load_workbook

    login(fresh_client, "hr.city@example.vn")
    rows = csv_rows(fresh_client.get("/hr/export/gaps.csv?unit=HCM-COL").get_data())
    assert rows[0][:2] == ["Vị trí việc làm", "Số người"] and AI_NAME in rows[0]
    by_position = {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}
    office = by_position["Chuyên viên Văn phòng"]
    assert office["Số người"] == "2" and office["An toàn thông tin"] == "1" and office[AI_NAME] == "1"
    sheet = load_workbook(io.BytesIO(fresh_client.get("/hr/export/gaps.xlsx").get_data())).active
    cells = {row[0].value: [cell.value for cell in row] for row in sheet.iter_rows(min_row=2)}
    assert cells["Chuyên viên Văn phòng"][1] == 4
    assert fresh_client.get("/hr/export/gaps.csv?unit=NOPE").status_code == 404
    assert [details["format"] for _target, details in audit_log(fresh_app)] == ["csv", "xlsx"]


# --------------------------------------------------------------------------- links on every HR page
def export_links(page: str) -> dict[str, str]:
    """Visible text → href of the links in the page's download section."""
    section = page[page.index('class="exports"'):]
    section = section[:section.index("</section>")]
    return {re.sub(r"\s+", " ", text).strip(): href.replace("&amp;", "&")
            for href, text in re.findall(r'<a class="button secondary" href="([^"]+)">([^<]+)</a>', section)}


def test_every_hr_page_links_to_its_exports(fresh_app, fresh_client, ward):
    with fresh_app.app_context():
        from training.models import Position

        position_id = db.session.scalar(sa.select(Position.id))
    login(fresh_client, "hr.city@example.vn")
    dashboard = export_links(fresh_client.get("/hr/").get_data(as_text=True))
    assert dashboard == {"Tải danh sách cán bộ, công chức (CSV)": "/hr/export/officials.csv",
                         "Tải danh sách cán bộ, công chức (Excel)": "/hr/export/officials.xlsx",
                         "Tải báo cáo đơn vị (PDF)": "/hr/export/units/HCM/report.pdf"}

    unit = export_links(fresh_client.get("/hr/units/HCM-COL?status=not_qualified&q=anh").get_data(as_text=True))
    csv_url = unit["Tải danh sách cán bộ, công chức (CSV)"]
    assert "unit=HCM-COL" in csv_url and "status=not_qualified" in csv_url and "q=anh" in csv_url
    assert unit["Tải báo cáo đơn vị (PDF)"] == "/hr/export/units/HCM-COL/report.pdf"
    names = {row[0] for row in csv_rows(fresh_client.get(csv_url).get_data())[1:]}
    assert names == {"Đặng Thị Ánh"}

    listing = export_links(fresh_client.get(f"/hr/officials?unit=HCM-BT&position={position_id}")
                           .get_data(as_text=True))
    xlsx_url = listing["Tải danh sách cán bộ, công chức (Excel)"]
    assert "unit=HCM-BT" in xlsx_url and f"position={position_id}" in xlsx_url
    assert fresh_client.get(xlsx_url).status_code == 200

    gaps = export_links(fresh_client.get("/hr/gaps?unit=HCM-COL").get_data(as_text=True))
    assert gaps["Tải bảng thiếu hụt (CSV)"] == "/hr/export/gaps.csv?unit=HCM-COL"
    assert gaps["Tải báo cáo đơn vị (PDF)"] == "/hr/export/units/HCM-COL/report.pdf"

    lacking = export_links(fresh_client.get(f"/hr/gaps/officials?position={position_id}&competency=info_security"
                                            "&unit=HCM-COL").get_data(as_text=True))
    names = {row[0] for row in csv_rows(fresh_client.get(lacking["Tải danh sách này (CSV)"]).get_data())[1:]}
    assert names == {"Đặng Thị Ánh"}


def test_gap_links_name_starts_with_what_they_show(fresh_client, ward):
    """WCAG 2.5.3: a speech-input user says the visible words; they must be in the link's name."""
    login(fresh_client, "hr.city@example.vn")
    page = fresh_client.get("/hr/gaps").get_data(as_text=True)
    links = re.findall(r'<a href="/hr/gaps/officials[^"]*" aria-label="([^"]*)">([^<]*)</a>', page)
    assert links and len(links) == page.count('href="/hr/gaps/officials')
    for label, shown in links:
        assert label.startswith(shown + ":") and "Chuyên viên Văn phòng" in label


def test_a_refused_unit_is_left_out_of_the_export_links(fresh_client, ward):
    login(fresh_client, "hr.ward@example.vn")
    page = fresh_client.get("/hr/officials?unit=HCM-BT&q=an").get_data(as_text=True)
    assert "trong phạm vi của bạn" in page  # the list says why it ignored the unit
    links = export_links(page)
    assert links["Tải danh sách cán bộ, công chức (CSV)"] == "/hr/export/officials.csv?q=an"
    assert all("HCM-BT" not in url and fresh_client.get(url).status_code == 200 for url in links.values())
