"""HR exports (CSV, XLSX, PDF report), the HR API, and the OpenAPI document checked against real responses."""
import csv
import io
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from training.extensions import db
from training.models import AuditEntry, Competency, CompetencyRecord
from training.services.qualification import VIETNAM
from training.services.sessions import create_api_token

ALL = ("digital_signature", "e_documents", "info_security", "online_services", "ai")
AI_NAME = "Ứng dụng trí tuệ nhân tạo an toàn trong công việc"
NOW = datetime.now(timezone.utc)


def give(user, code, *, days_left=300, achieved_days_ago=30):
    competency = db.session.scalar(sa.select(Competency).where(Competency.code == code))
    db.session.add(CompetencyRecord(user_id=user.id, competency_id=competency.id,
                                    achieved_at=NOW - timedelta(days=achieved_days_ago),
                                    expires_at=NOW + timedelta(days=days_left), score=90.0))


@pytest.fixture
def staff(org, make_user):
    p = org["position"]
    people = {
        "hr_ward": make_user("hr.ward@example.vn", "Phạm Thu Hà", roles=("hr",), unit=org["ward_a"]),
        "hr_city": make_user("hr.city@example.vn", "Võ Quốc Bảo", roles=("hr",), unit=org["city"]),
        "admin": make_user("admin@example.vn", "Quản Trị Viên", roles=("admin",)),
        "learner": make_user("learner@example.vn", "Học Viên", unit=org["ward_a"], position=p),
        # Ward A (Cầu Ông Lãnh): one fully qualified, info_security soon expiring; one lacking it.
        "minh": make_user("minh@example.vn", "Trần Văn Minh", unit=org["dept_a"], position=p),
        "anh": make_user("anh@example.vn", "Đặng Thị Ánh", unit=org["ward_a"], position=p),
        # Ward B (Bến Thành)
        "bich": make_user("bich@example.vn", "Lê Thị Bích", unit=org["ward_b"], position=p),
        "an": make_user("an@example.vn", "Nguyễn Văn Ân", unit=org["ward_b"], position=p),
    }
    for code in ALL:
        give(people["minh"], code, days_left=20 if code == "info_security" else 300)
        give(people["bich"], code)
        if code == "ai":
            give(people["anh"], code, days_left=-5, achieved_days_ago=400)  # expired
        elif code != "info_security":
            give(people["anh"], code)
    db.session.commit()
    return people


def token_for(user):
    token, _row = create_api_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def read_csv(response):
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    assert b"\r\n" in raw
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def audit_entries():
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "hr.export")
                              .order_by(AuditEntry.id)).all()


# --------------------------------------------------------------------------- CSV / XLSX
def test_csv_for_excel_with_diacritics_and_states(client, auth, staff):
    auth.login("hr.city@example.vn")
    response = client.get("/hr/export/officials.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response)
    header = rows[0]
    assert header[:4] == ["Họ và tên", "Email", "Đơn vị", "Vị trí việc làm"] and header[-1] == "Công chức số"
    assert AI_NAME in header and len(header) == 4 + 5 + 1
    by_name = {row[0]: dict(zip(header, row)) for row in rows[1:]}
    minh, anh = by_name["Trần Văn Minh"], by_name["Đặng Thị Ánh"]
    assert minh["Đơn vị"] == "Văn phòng HĐND và UBND, Phường Cầu Ông Lãnh"
    assert minh["Vị trí việc làm"] == "Chuyên viên Văn phòng" and minh["Công chức số"] == "Có"
    expected = (NOW + timedelta(days=20)).astimezone(VIETNAM).date().isoformat()
    assert minh["An toàn thông tin"] == expected
    assert anh["An toàn thông tin"] == "Chưa đạt" and anh[AI_NAME] == "Hết hạn" and anh["Công chức số"] == "Không"
    assert {"Lê Thị Bích", "Nguyễn Văn Ân"} <= set(by_name)
    # Vietnamese order: by given name, a < â (Ánh < Ân < Bích < ... < Minh).
    names = [row[0] for row in rows[1:]]
    assert names.index("Đặng Thị Ánh") < names.index("Nguyễn Văn Ân") < names.index("Lê Thị Bích") \
        < names.index("Trần Văn Minh")


def test_csv_filters_match_the_list_filters(client, auth, staff):
    auth.login("hr.city@example.vn")

    def names(query):
        return {row[0] for row in read_csv(client.get("/hr/export/officials.csv?" + query))[1:]}

    assert names("competency=info_security&holding=no&unit=HCM-COL") == {"Đặng Thị Ánh", "Học Viên", "Phạm Thu Hà"}
    assert names("status=qualified") == {"Trần Văn Minh", "Lê Thị Bích"}
    assert names("status=not_qualified&unit=HCM-BT") == {"Nguyễn Văn Ân"}
    assert names("expiring=30") == {"Trần Văn Minh"}
    assert names("expiring=30&competency=ai") == set()
    assert names("q=dang thi anh") == {"Đặng Thị Ánh"}  # without diacritics
    assert names("q=Ánh") == {"Đặng Thị Ánh"}


def test_bad_export_filter_goes_back_to_the_list_with_a_message(client, auth, staff):
    auth.login("hr.city@example.vn")
    response = client.get("/hr/export/officials.csv?status=foo&q=minh")
    assert response.status_code == 302 and "q=minh" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "qualified" in page and "not_qualified" in page
    assert audit_entries() == []


def test_xlsx_header_frozen_widths_dates(client, auth, staff):
    from openpyxl import load_workbook

    auth.login("hr.ward@example.vn")
    response = client.get("/hr/export/officials.xlsx?unit=HCM-COL")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["Họ và tên", "Email", "Đơn vị", "Vị trí việc làm"] and header[-1] == "Công chức số"
    competency_headers = header[4:-1]
    assert len(competency_headers) == 5 and AI_NAME in competency_headers and "Chữ ký số" in competency_headers
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    letters = [cell.column_letter for cell in sheet[1]]
    assert all(sheet.column_dimensions[letter].width and sheet.column_dimensions[letter].width > 8
               for letter in letters)
    assert sheet.column_dimensions["C"].width >= len("Văn phòng HĐND và UBND, Phường Cầu Ông Lãnh")
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert set(rows) == {"Trần Văn Minh", "Đặng Thị Ánh", "Học Viên", "Phạm Thu Hà"}  # only ward A
    minh = rows["Trần Văn Minh"]
    info = minh[header.index("An toàn thông tin")]
    assert info.is_date and info.value.date() == (NOW + timedelta(days=20)).astimezone(VIETNAM).date()
    assert rows["Đặng Thị Ánh"][header.index(AI_NAME)].value == "Hết hạn"


def test_formula_like_names_stay_text(client, auth, staff, make_user, org):
    make_user("evil@example.vn", "=HYPERLINK(\"http://x\")", unit=org["ward_a"])
    auth.login("hr.ward@example.vn")
    rows = read_csv(client.get("/hr/export/officials.csv?q=evil"))
    assert rows[1][0].startswith("'=")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(client.get("/hr/export/officials.xlsx?q=evil").get_data())).active
    assert sheet["A2"].data_type == "s"


# --------------------------------------------------------------------------- PDF
def pdf_text(data: bytes, tmp_path) -> str | None:
    try:
        from pypdf import PdfReader
    except ImportError:
        PdfReader = None
    if PdfReader is not None:
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    if shutil.which("pdftotext"):
        path = tmp_path / "report.pdf"
        path.write_bytes(data)
        return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return None


def test_pdf_report_of_a_ward_with_diacritics(client, auth, staff, tmp_path):
    auth.login("hr.city@example.vn")
    response = client.get("/hr/export/units/HCM/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    data = response.get_data()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    text = pdf_text(data, tmp_path)
    if text is None:
        pytest.skip("no PDF text extractor (pypdf or pdftotext) installed")
    flat = re.sub(r"\s+", " ", text)
    for expected in ("Thành phố Hồ Chí Minh", "Phường Cầu Ông Lãnh", "Phường Bến Thành", "An toàn thông tin",
                     "Bản đồ nhiệt"):
        assert expected in flat
    ward = pdf_text(client.get("/hr/export/units/HCM-COL/report.pdf").get_data(), tmp_path)
    assert "Phường Cầu Ông Lãnh" in re.sub(r"\s+", " ", ward)


def test_pdf_falls_back_to_helvetica_without_fonts(app, client, auth, staff, tmp_path):
    app.config["REPORT_FONT_DIR"] = str(tmp_path / "no-fonts")
    auth.login("hr.ward@example.vn")
    response = client.get("/hr/export/units/HCM-COL/report.pdf")
    assert response.status_code == 200 and response.get_data().startswith(b"%PDF-")


# --------------------------------------------------------------------------- scope and audit
def test_ward_hr_cannot_export_another_ward(client, auth, staff):
    auth.login("hr.ward@example.vn")
    assert client.get("/hr/export/officials.csv?unit=HCM-BT").status_code == 404
    assert client.get("/hr/export/officials.xlsx?unit=HCM-BT").status_code == 404
    assert client.get("/hr/export/units/HCM-BT/report.pdf").status_code == 404
    assert client.get("/hr/export/units/HCM/report.pdf").status_code == 404  # the city is above the ward
    assert client.get("/hr/export/units/NOPE/report.pdf").status_code == 404
    everything = {row[0] for row in read_csv(client.get("/hr/export/officials.csv"))[1:]}
    assert "Trần Văn Minh" in everything and not everything & {"Lê Thị Bích", "Nguyễn Văn Ân"}
    assert audit_entries()[-1].details["format"] == "csv"


def test_learner_cannot_export(client, auth, staff):
    auth.login("learner@example.vn")
    assert client.get("/hr/export/officials.csv").status_code == 403
    assert client.get("/hr/export/units/HCM-COL/report.pdf").status_code == 403


def test_every_export_is_audited_and_shown_to_admin(client, auth, staff):
    auth.login("hr.city@example.vn")
    client.get("/hr/export/officials.csv?unit=HCM-BT&status=qualified").get_data()
    client.get("/hr/export/officials.xlsx?competency=info_security&holding=no")
    client.get("/hr/export/units/HCM-COL/report.pdf")
    entries = audit_entries()
    assert [e.details["format"] for e in entries] == ["csv", "xlsx", "pdf"]
    assert all(e.actor_id == staff["hr_city"].id for e in entries)
    assert entries[0].details["filters"] == {"unit": "HCM-BT", "status": "qualified"}
    assert entries[1].details["filters"] == {"competency": "info_security", "holding": "no"}
    assert entries[2].target == "HCM-COL"
    auth.logout()
    auth.login("admin@example.vn")
    page = client.get("/admin/audit?action=hr.export").get_data(as_text=True)
    assert page.count("hr.export") >= 3 and "hr.city@example.vn" in page and "HCM-BT" in page


# --------------------------------------------------------------------------- API
def test_api_officials_scoped_and_paginated(client, staff):
    headers = token_for(staff["hr_ward"])
    body = client.get("/api/v1/officials", headers=headers).get_json()
    names = [item["full_name"] for item in body["items"]]
    assert names == ["Đặng Thị Ánh", "Phạm Thu Hà", "Trần Văn Minh", "Học Viên"]  # by given name
    assert body["total"] == 4 and body["page"] == 1 and body["pages"] == 1
    minh = next(item for item in body["items"] if item["full_name"] == "Trần Văn Minh")
    assert minh["unit"] == "HCM-COL-VP" and minh["unit_name"] == "Văn phòng HĐND và UBND"
    assert minh["position"] == "CV-VP" and minh["qualified"] is True
    states = {c["code"]: c["state"] for c in minh["competencies"]}
    assert states == {"digital_signature": "held", "e_documents": "held", "info_security": "expiring",
                      "online_services": "held", "ai": "held"}
    anh = next(item for item in body["items"] if item["full_name"] == "Đặng Thị Ánh")
    anh_states = {c["code"]: (c["state"], c["expires_at"]) for c in anh["competencies"]}
    assert anh_states["info_security"] == ("missing", None) and anh_states["ai"][0] == "expired"

    page2 = client.get("/api/v1/officials?per_page=3&page=2", headers=headers).get_json()
    assert page2["total"] == 4 and page2["pages"] == 2 and page2["per_page"] == 3 and len(page2["items"]) == 1
    page1 = client.get("/api/v1/officials?per_page=3", headers=headers).get_json()
    assert {i["id"] for i in page1["items"]}.isdisjoint({i["id"] for i in page2["items"]})

    qualified = client.get("/api/v1/officials?status=qualified", headers=headers).get_json()
    assert [i["full_name"] for i in qualified["items"]] == ["Trần Văn Minh"]
    lacking = client.get("/api/v1/officials?unit=HCM-COL&status=not_qualified&competency=info_security&holding=no",
                         headers=headers).get_json()
    assert {i["full_name"] for i in lacking["items"]} == {"Đặng Thị Ánh", "Phạm Thu Hà", "Học Viên"}


def test_api_city_hr_sees_both_wards_in_vietnamese_order(client, staff):
    body = client.get("/api/v1/officials?status=qualified", headers=token_for(staff["hr_city"])).get_json()
    assert [i["full_name"] for i in body["items"]] == ["Lê Thị Bích", "Trần Văn Minh"]
    only_b = client.get("/api/v1/officials?unit=HCM-BT", headers=token_for(staff["hr_city"])).get_json()
    assert {i["full_name"] for i in only_b["items"]} == {"Lê Thị Bích", "Nguyễn Văn Ân"}


def test_api_scope_and_errors(client, staff):
    ward = token_for(staff["hr_ward"])

    def error(url, headers, status):
        response = client.get(url, headers=headers)
        assert response.status_code == status, (url, response.get_data(as_text=True))
        body = response.get_json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
        return body["error"]

    assert error("/api/v1/officials?unit=HCM-BT", ward, 404)["code"] == "not_found"
    assert error("/api/v1/units/HCM-BT/summary", ward, 404)["code"] == "not_found"
    assert error("/api/v1/units/HCM/summary", ward, 404)["code"] == "not_found"
    assert error("/api/v1/units/NOPE/summary", ward, 404)["code"] == "not_found"
    assert error("/api/v1/officials?unit=NOPE", ward, 404)["code"] == "not_found"
    assert "qualified" in error("/api/v1/officials?status=foo", ward, 422)["message"]
    assert error("/api/v1/officials?page=0", ward, 422)["code"] == "invalid"
    assert error("/api/v1/officials?page=abc", ward, 422)["code"] == "invalid"
    assert error("/api/v1/officials?per_page=201", ward, 422)["code"] == "invalid"
    assert error("/api/v1/officials?expiring=45", ward, 422)["code"] == "invalid"
    assert error("/api/v1/officials?competency=nope", ward, 422)["code"] == "invalid"
    assert error("/api/v1/officials", token_for(staff["learner"]), 403)["code"] == "forbidden"
    assert error("/api/v1/units/HCM-COL/summary", token_for(staff["learner"]), 403)["code"] == "forbidden"
    assert error("/api/v1/officials", {}, 401)["code"] == "unauthorized"
    assert error("/api/v1/officials", {"Authorization": "Bearer wrong"}, 401)["code"] == "invalid_token"
    assert client.get("/api/v1/officials?page=9", headers=ward).get_json()["items"] == []
    # Odd input is refused or harmless, never a 500.
    for query in ("page=%C2%B2", "page=99999999999999999999", "per_page=-1", "expiring=%C2%B3%C2%B0",
                  "position=99999999999", "position=%C2%B2"):
        assert client.get("/api/v1/officials?" + query, headers=ward).status_code == 422, query
    for query in ("q=%00minh", "unit=HCM-COL%00", "position=999999999&q=" + "a" * 5000):
        assert client.get("/api/v1/officials?" + query, headers=ward).status_code in (200, 404, 422), query


def test_api_session_login_works_too(client, auth, staff):
    auth.login("hr.ward@example.vn")
    assert client.get("/api/v1/units/HCM-COL/summary").status_code == 200


def test_api_unit_summary(client, staff):
    city = token_for(staff["hr_city"])
    body = client.get("/api/v1/units/HCM/summary", headers=city).get_json()
    assert body["unit"] == {"code": "HCM", "name": "Thành phố Hồ Chí Minh", "type": "city"}
    # Officials: everyone active attached to a unit of the city (HR accounts included).
    assert body["officials"] == 7 and body["qualified"] == 2
    assert body["qualified_share"] == pytest.approx(2 / 7, abs=1e-4)
    competencies = {c["code"]: c for c in body["competencies"]}
    assert list(competencies) == list(ALL)
    assert competencies["ai"]["name"] == AI_NAME
    assert competencies["info_security"] == {"code": "info_security", "name": "An toàn thông tin", "held": 2,
                                             "expiring_30": 1, "expiring_60": 1, "expiring_90": 1}
    assert competencies["ai"]["held"] == 2  # Ánh's AI record has expired
    children = {c["code"]: c for c in body["children"]}
    assert children == {
        "HCM-COL": {"code": "HCM-COL", "name": "Phường Cầu Ông Lãnh", "officials": 4, "qualified": 1},
        "HCM-BT": {"code": "HCM-BT", "name": "Phường Bến Thành", "officials": 2, "qualified": 1},
    }
    ward = client.get("/api/v1/units/HCM-COL/summary", headers=token_for(staff["hr_ward"])).get_json()
    assert ward["officials"] == 4 and [c["code"] for c in ward["children"]] == ["HCM-COL-VP"]


# --------------------------------------------------------------------------- OpenAPI
def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def test_openapi_lists_every_api_route(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            routes.setdefault(_openapi_path(rule.rule), set()).update(rule.methods - {"HEAD", "OPTIONS"})
    documented = {path: {m.upper() for m in item} for path, item in document["paths"].items()}
    assert documented == routes
    for path, item in document["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path
            assert operation["responses"]


def _validator(document, schema):
    from jsonschema import Draft202012Validator

    root = {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": document["components"],
            "allOf": [schema]}
    Draft202012Validator.check_schema(root)
    return Draft202012Validator(root)


def check(document, path, method, response):
    """The response's body must fit the schema the document gives for that status."""
    operation = document["paths"][path][method]
    status = str(response.status_code)
    assert status in operation["responses"], (path, method, status)
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    errors = list(_validator(document, schema).iter_errors(response.get_json()))
    assert errors == [], (path, method, status, [e.message for e in errors])


def test_openapi_matches_real_responses(client, staff):
    from certificates.models import Certificate
    from tests.quizzes.helpers import make_quiz

    document = client.get("/api/v1/openapi.json").get_json()
    for name, schema in document["components"]["schemas"].items():
        _validator(document, schema)  # every schema is valid JSON Schema 2020-12
    check(document, "/api/v1/openapi.json", "get", client.get("/api/v1/openapi.json"))

    hr = token_for(staff["hr_city"])
    check(document, "/api/v1/officials", "get", client.get("/api/v1/officials", headers=hr))
    check(document, "/api/v1/officials", "get", client.get("/api/v1/officials?per_page=2&page=2", headers=hr))
    check(document, "/api/v1/officials", "get", client.get("/api/v1/officials?status=foo", headers=hr))
    check(document, "/api/v1/officials", "get", client.get("/api/v1/officials?unit=NOPE", headers=hr))
    check(document, "/api/v1/officials", "get", client.get("/api/v1/officials"))
    check(document, "/api/v1/officials", "get",
          client.get("/api/v1/officials", headers=token_for(staff["learner"])))
    check(document, "/api/v1/units/{code}/summary", "get", client.get("/api/v1/units/HCM/summary", headers=hr))
    check(document, "/api/v1/units/{code}/summary", "get", client.get("/api/v1/units/HCM-COL-VP/summary",
                                                                       headers=hr))
    check(document, "/api/v1/units/{code}/summary", "get", client.get("/api/v1/units/NOPE/summary", headers=hr))
    check(document, "/api/v1/me", "get", client.get("/api/v1/me", headers=hr))
    check(document, "/api/v1/me", "get", client.get("/api/v1/me", headers={"Authorization": "Bearer nope"}))

    check(document, "/api/v1/token", "post",
          client.post("/api/v1/token", json={"email": "minh@example.vn", "password": "Mat-khau-2025"}))
    check(document, "/api/v1/token", "post", client.post("/api/v1/token", json={"email": "minh@example.vn"}))
    check(document, "/api/v1/token", "post",
          client.post("/api/v1/token", json={"email": "minh@example.vn", "password": "sai"}))

    learner = token_for(staff["minh"])
    quiz = make_quiz()
    check(document, "/api/v1/quizzes", "get", client.get("/api/v1/quizzes", headers=learner))
    started = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=learner)
    check(document, "/api/v1/quizzes/{quiz_id}/attempts", "post", started)
    check(document, "/api/v1/quizzes/{quiz_id}/attempts", "post",
          client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=learner))  # resumed: 200
    check(document, "/api/v1/quizzes/{quiz_id}/attempts", "post",
          client.post("/api/v1/quizzes/999999/attempts", headers=learner))
    attempt = started.get_json()
    attempt_id, question = attempt["attempt_id"], attempt["questions"][0]
    answer = client.put(f"/api/v1/attempts/{attempt_id}/answers/{question['slot']}", headers=learner,
                        json={"response": question["options"][0]["id"]})
    check(document, "/api/v1/attempts/{attempt_id}/answers/{slot}", "put", answer)
    check(document, "/api/v1/attempts/{attempt_id}/answers/{slot}", "put",
          client.put(f"/api/v1/attempts/{attempt_id}/answers/{question['slot']}", headers=learner, json={}))
    check(document, "/api/v1/attempts/{attempt_id}", "get",
          client.get(f"/api/v1/attempts/{attempt_id}", headers=learner))
    check(document, "/api/v1/attempts/{attempt_id}/submit", "post",
          client.post(f"/api/v1/attempts/{attempt_id}/submit", headers=learner))
    check(document, "/api/v1/attempts/{attempt_id}", "get",
          client.get(f"/api/v1/attempts/{attempt_id}", headers=learner))  # finished: with the score
    check(document, "/api/v1/attempts/{attempt_id}/answers/{slot}", "put",
          client.put(f"/api/v1/attempts/{attempt_id}/answers/{question['slot']}", headers=learner,
                     json={"response": question["options"][0]["id"]}))  # 409 after submission
    check(document, "/api/v1/attempts/{attempt_id}", "get", client.get("/api/v1/attempts/999999", headers=learner))

    minh = staff["minh"]
    snapshot = [{"code": "ai", "name": AI_NAME, "score": 90.0, "achieved_at": NOW.isoformat(),
                 "expires_at": (NOW + timedelta(days=300)).isoformat()}]
    db.session.add(Certificate(serial="CCS-2026-TEST-0001", user_id=minh.id, unit_id=minh.unit_id,
                               holder_name=minh.full_name, unit_name="Phường Cầu Ông Lãnh", competencies=snapshot,
                               issued_at=NOW, expires_at=NOW + timedelta(days=300), revoked_at=NOW,
                               revoked_reason="Thử nghiệm", is_current=False, pdf=b"%PDF-"))
    db.session.commit()
    check(document, "/api/v1/certificates/{serial}", "get", client.get("/api/v1/certificates/CCS-2026-TEST-0001"))
    check(document, "/api/v1/certificates/{serial}", "get", client.get("/api/v1/certificates/CCS-NONE"))


# --------------------------------------------------------------------------- report and chart helpers
def test_report_date_line_follows_decree_30():
    from datetime import date

    from training.hr.report_pdf import date_line

    assert date_line("Cầu Ông Lãnh", date(2026, 2, 5)) == "Cầu Ông Lãnh, ngày 05 tháng 02 năm 2026"
    assert date_line("Cầu Ông Lãnh", date(2026, 7, 14)) == "Cầu Ông Lãnh, ngày 14 tháng 7 năm 2026"
    assert date_line("Bến Thành", date(2026, 12, 1)) == "Bến Thành, ngày 01 tháng 12 năm 2026"


def test_report_place_is_the_ward_without_its_title(org, make_unit):
    from training.hr.report_pdf import place_name

    assert place_name(org["ward_a"]) == "Cầu Ông Lãnh"
    assert place_name(org["dept_a"]) == "Cầu Ông Lãnh"  # a department dates its report at its ward
    assert place_name(org["city"]) == "Hồ Chí Minh"
    assert place_name(make_unit("Q3-P5", "Phường 5", "ward", org["city"])) == "Phường 5"  # a number keeps its title
    assert place_name(None) == "…………"


def test_charts_fit_a_phone_column(hr_chart_data):
    from training.hr.charts import PHONE_WIDTH, bars_svg, heatmap_svg, trend_svg

    heat, rows, trend = hr_chart_data
    for svg in (heatmap_svg(heat, lambda unit, direct: unit.name), bars_svg(rows, lambda unit, direct: unit.name),
                trend_svg(trend)):
        width = float(re.search(r'viewBox="0 0 ([\d.]+) ', str(svg)).group(1))
        assert width <= PHONE_WIDTH
        xs = [float(x) for x in re.findall(r'<text x="([\d.-]+)"', str(svg))]
        assert xs and min(xs) >= 0 and max(xs) <= width
    months = re.findall(r'<text [^>]*class="label">(\d\d)</text>', str(trend_svg(trend)))
    assert len(months) == 12
    values = re.findall(r'<text [^>]*class="value">(\d+)</text>', str(trend_svg(trend)))
    assert values[-1] != "0" and values[0] == "0"  # the only non-zero months are written too


@pytest.fixture
def hr_chart_data(staff, org):
    from training.hr.overview import competency_columns, heatmap_from_rows, qualified_trend, summary

    rows = summary(org["city"]).rows
    return heatmap_from_rows(rows, competency_columns()), rows, qualified_trend(org["city"])
