"""Ward staffing (issue 20): populations, cover per duty, stand-ins, lending, fit reviews, the API."""
import html
import io
import re
import unicodedata
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from training.extensions import db
from training.models import AuditEntry, Competency, CompetencyRecord, OrgUnit
from training.services.sessions import create_api_token
from training.staffing.models import StaffingReview, StaffingReviewEntry, UnitPopulation

NOW = datetime.now(timezone.utc)
ALL = ("digital_signature", "e_documents", "info_security", "online_services", "ai")


def give(user, code, *, days_left=300, achieved_days_ago=30):
    competency = db.session.scalar(sa.select(Competency).where(Competency.code == code))
    db.session.add(CompetencyRecord(user_id=user.id, competency_id=competency.id,
                                    achieved_at=NOW - timedelta(days=achieved_days_ago),
                                    expires_at=NOW + timedelta(days=days_left), score=90.0))


def competencies(*codes):
    return list(db.session.scalars(sa.select(Competency).where(Competency.code.in_(codes))
                                   .order_by(Competency.sort_order)))


def population(unit, registered, actual, as_of=date(2025, 10, 1), source="Công an phường"):
    db.session.add(UnitPopulation(unit_id=unit.id, registered=registered, actual=actual, as_of=as_of, source=source))


@pytest.fixture
def city(org, make_unit, make_user, make_position):
    """HCM with three wards.

    Cầu Ông Lãnh (10,000 residents): Minh (office, everything; information security lapses in 20 days),
    Ánh (office, no information security, AI expired), Lan (justice, digital signature only), an HR
    officer and a learner without records. Bến Thành (5,000 residents): three office officials holding
    everything and Dũng, its only justice official. Sài Gòn (50,000 residents): Tâm, one office official.
    """
    ward_c = make_unit("HCM-SG", "Phường Sài Gòn", "ward", org["city"])
    office = org["position"]
    justice = make_position("CV-TP", "Chuyên viên Tư pháp - Hộ tịch",
                            competencies=competencies("digital_signature", "e_documents"))
    a, b = org["ward_a"], org["ward_b"]
    people = {
        "hr_ward": make_user("hr.ward@example.vn", "Phạm Thu Hà", roles=("hr",), unit=a),
        "hr_city": make_user("hr.city@example.vn", "Võ Quốc Bảo", roles=("hr",), unit=org["city"]),
        "hr_b": make_user("hr.b@example.vn", "Lý Văn Bình", roles=("hr",), unit=b),
        "admin": make_user("admin@example.vn", "Quản Trị Viên", roles=("admin",)),
        "learner": make_user("learner@example.vn", "Học Viên", unit=a, position=office),
        "minh": make_user("minh@example.vn", "Trần Văn Minh", unit=org["dept_a"], position=office),
        "anh": make_user("anh@example.vn", "Đặng Thị Ánh", unit=a, position=office),
        "lan": make_user("lan@example.vn", "Ngô Thị Lan", unit=a, position=justice),
        "bich": make_user("bich@example.vn", "Lê Thị Bích", unit=b, position=office),
        "an": make_user("an@example.vn", "Nguyễn Văn Ân", unit=b, position=office),
        "chi": make_user("chi@example.vn", "Hồ Thị Chi", unit=b, position=office),
        "dung": make_user("dung@example.vn", "Mai Văn Dũng", unit=b, position=justice),
        "tam": make_user("tam@example.vn", "Phan Thanh Tâm", unit=ward_c, position=office),
    }
    for code in ALL:
        give(people["minh"], code, days_left=20 if code == "info_security" else 300)
        for name in ("bich", "an", "chi", "tam"):
            give(people[name], code)
    for code in ("digital_signature", "e_documents", "online_services"):
        give(people["anh"], code)
    give(people["anh"], "ai", days_left=-5, achieved_days_ago=400)
    give(people["lan"], "digital_signature")
    give(people["dung"], "digital_signature")
    give(people["dung"], "e_documents")
    population(a, 9_000, 10_000)
    population(b, 5_000, None)
    population(ward_c, 48_000, 50_000)
    db.session.commit()
    return {**org, **people, "ward_c": ward_c, "office": office, "justice": justice}


def token_for(user):
    token, _row = create_api_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def page_text(response) -> str:
    """What a reader sees: the page without tags, scripts and charts, spaces collapsed."""
    body = response.get_data(as_text=True)
    body = re.sub(r"(?s)<(script|svg|head)\b.*?</\1>", " ", body)
    body = re.sub(r"(?s)<header\b.*?</header>", " ", body)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def section(text: str, start: str, end: str | None = None) -> str:
    tail = text[text.index(start):]
    return tail[:tail.index(end)] if end else tail


# --------------------------------------------------------------------------- cover per duty
def test_city_lists_wards_at_risk_first(client, auth, city):
    auth.login("hr.city@example.vn")
    text = page_text(client.get("/hr/staffing/units/HCM"))
    wards = section(text, "Phường, xã theo mức rủi ro")
    # Cầu Ông Lãnh: nobody holds e-documents among justice officials; Bến Thành: two duties on Dũng alone;
    # Sài Gòn: five duties on Tâm alone, none uncovered.
    assert wards.index("Phường Cầu Ông Lãnh") < wards.index("Phường Sài Gòn") < wards.index("Phường Bến Thành")
    col = section(wards, "Phường Cầu Ông Lãnh", "Phường Sài Gòn")
    assert "Không ai đảm nhiệm: 1 nhiệm vụ" in col and "Chỉ 1 người: 3 nhiệm vụ" in col
    assert "Chỉ 1 người: 2 nhiệm vụ" in section(wards, "Phường Bến Thành")
    assert "3 phường, xã có nhiệm vụ chỉ 1 người đảm nhiệm" in text


def test_ward_names_duties_without_stand_in_and_who_could_be_trained(client, auth, city):
    auth.login("hr.ward@example.vn")
    response = client.get("/hr/staffing/units/HCM-COL")
    assert response.status_code == 200
    text = page_text(response)
    gaps = section(text, "Nhiệm vụ không có người dự phòng", "Tất cả nhiệm vụ")
    # The position with a duty nobody holds comes first.
    justice = section(gaps, "Chuyên viên Tư pháp - Hộ tịch", "Chuyên viên Văn phòng")
    assert "Văn bản điện tử: không ai đảm nhiệm" in justice
    assert "Chữ ký số: chỉ 1 người Ngô Thị Lan" in justice
    # Closest to qualifying first: Ánh and Minh already hold both, Ánh first by name; then Lan (one missing).
    stand_ins = section(justice, "Có thể bồi dưỡng làm người dự phòng:")
    assert stand_ins.index("Đặng Thị Ánh") < stand_ins.index("Trần Văn Minh") < stand_ins.index("Ngô Thị Lan")
    office = section(gaps, "Chuyên viên Văn phòng", "Có thể bồi dưỡng")
    assert "An toàn thông tin: chỉ 1 người Trần Văn Minh — hết hạn trong 30 ngày tới" in office
    assert "Ứng dụng trí tuệ nhân tạo an toàn trong công việc: chỉ 1 người Trần Văn Minh" in office
    assert "Chữ ký số" not in office  # Minh and Ánh both hold it
    # The ward's HR sees its own ward only: no way to look at the other wards' people from here.
    assert "Tìm người ở phường, xã khác" not in text


def test_cover_counts_now_and_30_60_90_days_ahead(client, auth, city):
    auth.login("hr.city@example.vn")
    body = client.get("/api/v1/units/HCM-COL/coverage", headers=token_for(city["hr_city"])).get_json()
    assert body["total"] == 1 and [w["code"] for w in body["wards"]] == ["HCM-COL"]
    ward = body["wards"][0]
    duties = {(d["position"], d["competency"]): d for d in ward["duties"]}
    info = duties["CV-VP", "info_security"]
    figures = (info["officials"], info["held"], info["held_in_30"], info["held_in_60"], info["held_in_90"])
    assert figures == (3, 1, 0, 0, 0)
    assert info["status"] == "single"
    signature = duties["CV-VP", "digital_signature"]
    assert (signature["held"], signature["held_in_90"], signature["status"]) == (2, 2, "covered")
    assert duties["CV-TP", "e_documents"]["status"] == "none"
    assert len(duties) == 7  # five office duties, two justice ones: only staffed positions are duties
    assert (ward["uncovered"], ward["single_points_of_failure"]) == (1, 3)
    assert ward["officials"] == 5 and ward["qualified"] == 1  # HR officer counted; only Minh qualifies
    assert ward["population"] == {"registered": 9000, "actual": 10000, "as_of": "2025-10-01",
                                  "source": "Công an phường"}
    assert ward["officials_per_1000"] == 0.5 and ward["qualified_per_1000"] == 0.1


def test_the_city_ranking_sql_counts_as_the_duty_rule_does(app, city):
    """ward_risks (one SQL aggregate) and cover_status over duty_cover (Python) agree for every ward."""
    from training.hr.overview import as_day
    from training.staffing import services

    day = as_day(None)
    wards = db.session.scalars(sa.select(OrgUnit).where(OrgUnit.parent_id == city["city"].id)).all()
    risks = services.ward_risks(city["city"].id, day)
    duties = services.duty_cover([w.id for w in wards], day)
    for ward in wards:
        mine = duties[ward.id]
        expected = (len(mine), sum(d.status == "none" for d in mine), sum(d.status == "single" for d in mine),
                    sum(services.cover_status(d.later[90]) != "covered" for d in mine))
        risk = risks[ward.id]
        assert (risk.duties, risk.uncovered, risk.single, risk.thin_90) == expected, ward.code
    assert risks[city["ward_a"].id].uncovered == 1


def test_stand_ins_with_as_much_missing_are_ranked_by_course_progress(app, client, auth, make_unit, make_user, city):
    from courses.models import LessonProgress
    from tests.courses.helpers import make_course

    ward = make_unit("HCM-TD", "Phường Tân Định", "ward", city["city"])
    holder = make_user(None, "Lê Văn Hùng", unit=ward, position=city["justice"])
    give(holder, "digital_signature")
    give(holder, "e_documents")
    make_user(None, "Nguyễn Văn An", unit=ward)
    yen = make_user(None, "Trần Thị Yến", unit=ward)
    course = make_course(slug="ky-so", title="Chữ ký số", lessons=4, competency=competencies("digital_signature")[0])
    for lesson in course.lessons[:2]:
        db.session.add(LessonProgress(user_id=yen.id, lesson_id=lesson.id, completed_at=NOW))
    db.session.commit()
    auth.login("hr.city@example.vn")
    text = page_text(client.get("/hr/staffing/units/HCM-TD"))
    stand_ins = section(text, "Có thể bồi dưỡng làm người dự phòng:")
    # Both lack both competencies; Yến is half-way through the signature course, so she comes first.
    assert stand_ins.index("Trần Thị Yến") < stand_ins.index("Nguyễn Văn An")
    assert "đã học 50% khóa học tương ứng" in stand_ins  # 2 of the 4 lessons (no course teaches e-documents)


# --------------------------------------------------------------------------- population
POPULATION_CSV = ("\ufeffMã đơn vị;Dân số theo đăng ký;Dân số thực tế;Ngày số liệu;Nguồn\r\n"
                  "HCM-COL;88.000;101.000;01/11/2025;Công an phường\r\n"
                  "hcm-bt;5 200;;2025-11-01;Thống kê\r\n")


def upload(client, data: bytes, name="so-dan.csv", dry_run=False):
    form = {"file": (io.BytesIO(data), name)}
    if dry_run:
        form["dry_run"] = "y"
    return client.post("/hr/staffing/population", data=form, content_type="multipart/form-data")


def test_population_file_adds_history_and_the_latest_counts(client, auth, city):
    auth.login("hr.city@example.vn")
    response = upload(client, POPULATION_CSV.encode("utf-8"))
    assert response.status_code == 200
    assert "Đã nhập số dân: 2 mới, 0 sửa, 0 không đổi." in page_text(response)
    rows = db.session.scalars(sa.select(UnitPopulation).where(UnitPopulation.unit_id == city["ward_a"].id)
                              .order_by(UnitPopulation.as_of)).all()
    assert [(r.registered, r.actual, r.as_of) for r in rows] == [(9000, 10000, date(2025, 10, 1)),
                                                                (88000, 101000, date(2025, 11, 1))]
    text = page_text(client.get("/hr/staffing/units/HCM-COL"))
    assert "Dân số thực tế 101.000" in text and "Công an phường, 01/11/2025" in text
    assert "Lịch sử số dân" in text and "10.000" in text  # the earlier figure stays in the history
    # The same unit, day and source again corrects the figure instead of adding one.
    again = upload(client, POPULATION_CSV.replace("101.000", "102.500").encode("utf-8"))
    assert "Đã nhập số dân: 0 mới, 1 sửa, 1 không đổi." in page_text(again)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnitPopulation)) == 5
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "staffing.population.import"))


def test_population_file_with_bad_lines_changes_nothing_and_says_why(client, auth, city):
    auth.login("hr.ward@example.vn")
    bad = ("Mã đơn vị,Dân số theo đăng ký,Dân số thực tế,Ngày số liệu,Nguồn\n"
           "HCM-COL,88000,101000,01/11/2025,Công an phường\n"
           "HCM-BT,5000,,01/11/2025,Thống kê\n"          # another ward: outside a ward HR's scope
           "HCM-COL,88.5,,01/11/2025,Thống kê\n"         # not a whole number
           "HCM-COL,88000,,31/02/2025,Thống kê\n"        # no such day
           "HCM-COL,88000,,01/01/2099,Thống kê\n"        # in the future
           "HCM-COL,,,01/11/2025,Thống kê\n"             # no figure at all
           "HCM-COL,88000,,01/11/2025,\n"                # no source
           "HCM-COL,1,,01/11/2025,công an phường\n")     # same unit, day and source as line 2
    response = upload(client, bad.encode("utf-8"))
    assert response.status_code == 400
    text = page_text(response)
    assert "7 dòng lỗi. Không có thay đổi nào được ghi." in text
    for line, reason in ((3, "không có đơn vị mã “HCM-BT” trong phạm vi của bạn"), (4, "phải là số người"),
                         (5, "phải là ngày dạng 01/10/2025"), (6, "ở tương lai"), (7, "cần ít nhất một"),
                         (8, "thiếu nguồn số liệu"), (9, "trùng đơn vị, ngày và nguồn với dòng 2")):
        assert re.search(rf"\b{line} [^|]*?{re.escape(reason)}", text), (line, reason)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnitPopulation)) == 3


def test_population_dry_run_xlsx_and_hostile_files(client, auth, city):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Danh sách số dân"])  # a title row above the header
    sheet.append(["Mã đơn vị", "Dân số thực tế", "Ngày số liệu", "Nguồn"])
    sheet.append(["HCM-SG", 51000, datetime(2025, 12, 1), "Thống kê thành phố"])
    data = io.BytesIO()
    workbook.save(data)
    auth.login("hr.city@example.vn")
    checked = upload(client, data.getvalue(), "so-dan.xlsx", dry_run=True)
    assert checked.status_code == 200 and "chỉ kiểm tra, chưa ghi" in page_text(checked)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnitPopulation)) == 3
    done = upload(client, data.getvalue(), "so-dan.xlsx")
    assert "1 mới" in page_text(done)
    figure = db.session.scalar(sa.select(UnitPopulation).where(UnitPopulation.as_of == date(2025, 12, 1)))
    assert (figure.registered, figure.actual, figure.source) == (None, 51000, "Thống kê thành phố")
    for data, name, message in ((b"PK\x03\x04broken", "x.xlsx", "Không đọc được tệp XLSX"),
                                ("Mã đơn vị;Nguồn\r\nHCM-COL;x\r\n".encode("utf-8"), "x.csv",
                                 "Không tìm thấy dòng tiêu đề"),
                                (b"Ma don vi;Dan so thuc te;Ngay so lieu;Nguon\r\n"
                                 b"HCM-COL;1;01/11/2025;Th\xf4ng k\xea\r\n",  # Windows-1258, as old Excel saves it
                                 "x.csv", "không được mã hóa UTF-8"),
                                (b"\x00" * 10, "x.pdf", "Chỉ nhận tệp .csv hoặc .xlsx")):
        response = upload(client, data, name)
        assert response.status_code == 400 and message in page_text(response), name


def test_population_cli_is_all_or_nothing(runner, city, tmp_path):
    good = tmp_path / "so-dan.csv"
    good.write_text(POPULATION_CSV, encoding="utf-8")
    result = runner.invoke(args=["staffing", "import-population", str(good), "--dry-run"])
    assert result.exit_code == 0 and "Sẽ nhập: 2 mới" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnitPopulation)) == 3
    bad = tmp_path / "loi.csv"
    bad.write_text(POPULATION_CSV + "NOPE;1;;01/11/2025;X\r\n", encoding="utf-8")
    result = runner.invoke(args=["staffing", "import-population", str(bad)])
    assert result.exit_code == 1 and "Dòng 4: không có đơn vị mã “NOPE”" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnitPopulation)) == 3
    assert runner.invoke(args=["staffing", "import-population", str(good)]).exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnitPopulation)) == 5


def test_per_1000_residents_sorted_charted_and_under_staffed_marked(client, auth, city):
    auth.login("hr.city@example.vn")
    response = client.get("/hr/staffing/units/HCM/per-1000")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<svg" in body and ' style="' not in body  # the chart is server-drawn, no inline style (CSP)
    table = section(page_text(response), "Cán bộ, công chức trên 1.000 dân theo phường, xã Phường, xã")
    # Qualified per 1,000: Sài Gòn 1/50,000 = 0.02; Cầu Ông Lãnh 1/10,000 = 0.1; Bến Thành 4/5,000 = 0.8.
    assert table.index("Phường Sài Gòn") < table.index("Phường Cầu Ông Lãnh") < table.index("Phường Bến Thành")
    assert re.search(r"Phường Sài Gòn Thiếu người so với dân số 0,02 0,02 1 1 48\.000 50\.000", table)
    assert re.search(r"Phường Bến Thành Nhiều người so với dân số 1,00 0,80 5 4 5\.000 — ", table)
    by_officials = page_text(client.get("/hr/staffing/units/HCM/per-1000?sort=officials"))
    assert "Ít cán bộ trên 1.000 dân nhất trước" in by_officials
    assert client.get("/hr/staffing/units/HCM/per-1000?sort=%00&page=x").status_code == 200


# --------------------------------------------------------------------------- lending
def test_lending_over_staffed_wards_first_and_marks_who_would_leave_a_gap(client, auth, city):
    auth.login("hr.city@example.vn")
    office = page_text(client.get(f"/hr/staffing/units/HCM-COL/lend?position={city['office'].id}"))
    # Bến Thành has three office officials for 5,000 residents, Sài Gòn one for 50,000: Bến Thành first.
    assert office.index("Phường Bến Thành") < office.index("Phường Sài Gòn")
    tam = section(office, "Phan Thanh Tâm")
    assert "Chuyển đi sẽ để lại nhiệm vụ không ai đảm nhiệm" in tam
    assert "Là người duy nhất ở vị trí Chuyên viên Văn phòng tại phường, xã của mình." in tam
    bich = section(office, "Lê Thị Bích", "Phường Sài Gòn")
    assert "Chuyển đi không để lại nhiệm vụ thiếu người" in section(bich, "Lê Thị Bích", "Hồ Thị Chi")
    assert "Đang đảm nhiệm ở phường, xã của mình: Chữ ký số (cùng 2 người khác)" in bich
    justice = page_text(client.get(f"/hr/staffing/units/HCM-COL/lend?position={city['justice'].id}"))
    dung = section(justice, "Mai Văn Dũng")
    assert "Chuyển đi sẽ để lại nhiệm vụ không ai đảm nhiệm: Chữ ký số, Văn bản điện tử" in dung
    # Those whose move leaves no gap come before Dũng, though he holds the very position.
    assert justice.index("Lê Thị Bích") < justice.index("Mai Văn Dũng")
    assert "Ngô Thị Lan" not in justice  # the ward's own people are not lent to it


def test_ward_hr_cannot_see_other_wards_people_to_lend(client, auth, city):
    auth.login("hr.ward@example.vn")
    response = client.get(f"/hr/staffing/units/HCM-COL/lend?position={city['office'].id}")
    assert response.status_code == 200
    text = page_text(response)
    assert "Chỉ cán bộ tổ chức cấp thành phố" in text
    assert "Lê Thị Bích" not in text and "Phường Bến Thành" not in text
    assert client.get("/hr/staffing/units/HCM-COL/lend?position=abc").status_code == 302


def _lending_as_before(ward, position, day, start, per_page, batch, scan_max):
    """The lending order and walk as they were in Python before the ranking moved to SQL (issue 20):
    every other ward of the city sorted by officials in the position beyond the city's ratio, then
    walked in batches; holders read one ward at a time from people_of."""
    from training.staffing.models import UnitPopulation
    from training.staffing.services import people_of, position_officials, wards_condition

    wards = list(db.session.scalars(sa.select(OrgUnit).where(wards_condition(ward.parent_id), OrgUnit.id != ward.id)))
    figures = {}
    for figure in db.session.scalars(sa.select(UnitPopulation).order_by(UnitPopulation.as_of, UnitPopulation.id)):
        figures[figure.unit_id] = figure.residents  # the latest day, then the last entered, wins
    in_position = {unit_id: n for (unit_id, _p), (n, _q) in
                   position_officials([w.id for w in wards], day, position.id).items()}
    known = [w for w in wards if figures.get(w.id)]
    residents = sum(figures[w.id] for w in known)
    total_known = sum(in_position.get(w.id, 0) for w in known)
    average = sum(in_position.values()) / len(wards) if wards else 0.0

    def expected(w):
        if figures.get(w.id) and residents:
            return total_known * figures[w.id] / residents
        return average

    order = sorted(wards, key=lambda w: (-(in_position.get(w.id, 0) - expected(w)), w.sort_key, w.code))
    required = {c.id for c in position.required_competencies}
    holders = {w.id: {p.id for p in people_of(w, day) if required <= p.held} for w in order}
    start = min(max(start, 0), len(order))
    found, index = [], start
    while index < len(order) and len(found) < per_page and index - start < scan_max:
        part = order[index:index + batch]
        for offset, w in enumerate(part):
            if holders[w.id]:
                found.append((w.code, in_position.get(w.id, 0), expected(w), holders[w.id]))
            if len(found) >= per_page:
                index += offset + 1
                break
        else:
            index += len(part)
    return found, (index if index < len(order) else None), start, index - start


@pytest.mark.parametrize("sizes", [(3, 4, 12), (8, 40, 400)])
def test_lending_pages_the_same_wards_as_the_python_ranking(monkeypatch, make_unit, make_user, city, sizes):
    """Ranked in SQL with a limit, the pages (wards, order, figures, candidates, `start` and the next
    one) are those of the former ranking in Python, across the limit and the scan cap, with wards of
    equal standing (same name, no population, no one in the position) ordered by name then code."""
    from training.hr.overview import as_day
    from training.staffing import lending as module

    per_page, batch, scan_max = sizes
    monkeypatch.setattr(module, "LEND_WARDS_PER_PAGE", per_page)
    monkeypatch.setattr(module, "LEND_BATCH", batch)
    monkeypatch.setattr(module, "LEND_SCAN_MAX", scan_max)
    office = city["office"]
    for i in range(30):
        # Names repeat (the same sort key: code decides); a population is missing, zero, corrected or kept.
        ward = make_unit(f"HCM-X{i:02d}", f"Phường {i % 7}", "ward", city["city"])
        home = make_unit(f"HCM-X{i:02d}-VP", "Văn phòng", "department", ward) if i % 6 == 0 else ward
        for j in range(i % 4):
            official = make_user(f"x{i}.{j}@example.vn", f"Cán Bộ {j} {i}", unit=home if j else ward,
                                 position=office if (i + j) % 5 else None, password=None)
            for code in (ALL if (i + j) % 3 else ALL[:2]):
                give(official, code)
            if i % 9 == 4 and j == 1:
                official.active = False
        if i % 5 == 1:
            population(ward, 0, None)
        elif i % 5 in (2, 3):
            population(ward, 1000 * (i % 7 + 1), None, as_of=date(2024, 1, 1))
            population(ward, 1000 * (i % 7 + 1), 1500 * (i % 3 + 1), source="Thống kê")
            population(ward, None, 700 * (i % 4 + 1), source="Công an")  # the same day, entered last: kept
        elif i % 5 == 4:
            population(ward, 3000 + 100 * i, None)
    for code in ("HCM-Y9", "HCM-Y1", "HCM-Y5"):  # equal in everything but the code, made out of its order
        twin = make_unit(code, "Phường Song Sinh", "ward", city["city"])
        for j in range(2):
            official = make_user(f"{code.lower()}.{j}@example.vn", f"Cán Bộ {code} {j}", unit=twin, position=office,
                                 password=None)
            for competency in ALL:
                give(official, competency)
    db.session.commit()
    day = as_day(None)
    ward = city["ward_a"]
    pages, start = 0, 0
    while start is not None:
        before, next_start, shown_start, scanned = _lending_as_before(ward, office, day, start, per_page, batch,
                                                                      scan_max)
        result = module.lending(ward, office, day, start)
        assert (result.start, result.next_start, result.scanned) == (shown_start, next_start, scanned)
        assert [(w.line.unit.code, w.in_position, w.expected) for w in result.wards] == \
            [(code, n, expected) for code, n, expected, _holders in before]
        for w, (_code, _n, _e, holders) in zip(result.wards, before):
            shown = {c.person.id for c in w.candidates}
            assert shown <= holders and len(shown) + w.more == len(holders)
            assert w.line.population is None or w.line.population.unit_id == w.line.unit.id
        pages += 1
        start = next_start
    assert pages >= (3 if per_page == 3 else 1)
    for odd in (-5, 10_000):
        assert module.lending(ward, office, day, odd).start == _lending_as_before(
            ward, office, day, odd, per_page, batch, scan_max)[2]


# --------------------------------------------------------------------------- scope
def test_scope_ward_sees_itself_city_sees_its_wards(client, auth, city):
    auth.login("hr.ward@example.vn")
    assert client.get("/hr/staffing/").headers["Location"].endswith("/hr/staffing/units/HCM-COL")
    for path in ("/hr/staffing/units/HCM-BT", "/hr/staffing/units/HCM", "/hr/staffing/units/HCM/per-1000",
                 "/hr/staffing/units/HCM-BT/lend?position=1", "/hr/staffing/units/NOPE"):
        assert client.get(path).status_code == 404, path
    auth.logout()
    auth.login("hr.b@example.vn")
    assert "Mai Văn Dũng" in page_text(client.get("/hr/staffing/units/HCM-BT"))
    assert client.get("/hr/staffing/units/HCM-COL").status_code == 404
    auth.logout()
    auth.login("learner@example.vn")
    assert client.get("/hr/staffing/units/HCM-COL").status_code == 403
    assert client.get("/hr/staffing/population").status_code == 403
    auth.logout()
    auth.login("admin@example.vn")
    assert "Thành phố Hồ Chí Minh" in page_text(client.get("/hr/staffing/"))


# --------------------------------------------------------------------------- API
def test_coverage_api_pages_a_city_and_keeps_to_scope(client, city):
    from tests.training.test_hr_exports_api import check

    hr = token_for(city["hr_city"])
    body = client.get("/api/v1/units/HCM/coverage?per_page=2", headers=hr).get_json()
    assert body["unit"]["code"] == "HCM" and body["windows"] == [30, 60, 90]
    assert (body["total"], body["pages"], body["per_page"]) == (3, 2, 2)
    assert [w["code"] for w in body["wards"]] == ["HCM-BT", "HCM-COL"]  # Vietnamese order: Bến, Cầu, Sài
    second = client.get("/api/v1/units/HCM/coverage?per_page=2&page=2", headers=hr).get_json()
    assert [w["code"] for w in second["wards"]] == ["HCM-SG"]
    assert second["wards"][0]["single_points_of_failure"] == 5 and second["wards"][0]["uncovered"] == 0

    ward = token_for(city["hr_ward"])
    for path, status, code in (("/api/v1/units/HCM-BT/coverage", 404, "not_found"),
                               ("/api/v1/units/HCM/coverage", 404, "not_found"),
                               ("/api/v1/units/HCM-COL/coverage?per_page=0", 422, "invalid"),
                               ("/api/v1/units/HCM-COL/coverage?page=%C2%B2", 422, "invalid")):
        response = client.get(path, headers=ward)
        assert response.status_code == status and response.get_json()["error"]["code"] == code, path
    assert client.get("/api/v1/units/HCM-COL/coverage", headers=token_for(city["learner"])).status_code == 403
    assert client.get("/api/v1/units/HCM-COL/coverage").status_code == 401

    document = client.get("/api/v1/openapi.json").get_json()
    path = "/api/v1/units/{code}/coverage"
    assert path in document["paths"]
    for response in (client.get("/api/v1/units/HCM/coverage", headers=hr),
                     client.get("/api/v1/units/HCM-COL-VP/coverage", headers=hr),
                     client.get("/api/v1/units/NOPE/coverage", headers=hr),
                     client.get("/api/v1/units/HCM/coverage?per_page=500", headers=hr),
                     client.get("/api/v1/units/HCM/coverage", headers=token_for(city["learner"]))):
        check(document, path, "get", response)


def test_coverage_api_by_session(client, auth, city):
    auth.login("hr.ward@example.vn")
    response = client.get("/api/v1/units/HCM-COL/coverage")
    assert response.status_code == 200 and response.get_json()["wards"][0]["uncovered"] == 1


# --------------------------------------------------------------------------- position fit review
@pytest.fixture
def courses_for_all(app, city):
    from tests.courses.helpers import make_course

    made = {}
    for n, competency in enumerate(db.session.scalars(sa.select(Competency).order_by(Competency.sort_order))):
        made[competency.code] = make_course(slug=f"khoa-{n}", title=f"Khóa {competency.name_vi}", lessons=2,
                                            competency=competency)
    return made


def open_review(client, unit="HCM-COL", as_of="2027-07-01"):
    return client.post("/hr/staffing/reviews", data={"unit": unit, "as_of": as_of, "note": "Đợt 1",
                                                     "csrf_token": csrf(client, "/hr/staffing/reviews")})


def csrf(client, path) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(path).get_data(as_text=True))
    return match.group(1) if match else ""


def test_review_verdicts_decisions_and_assignment_in_one_step(client, auth, city, courses_for_all):
    from courses.models import Assignment

    auth.login("hr.city@example.vn")
    response = open_review(client, as_of=(date.today() + timedelta(days=1)).isoformat())
    assert response.status_code == 302
    review = db.session.scalar(sa.select(StaffingReview))
    assert (review.unit_code, review.officials, review.status) == ("HCM-COL", 5, "open")
    entries = {e.full_name: e for e in db.session.scalars(sa.select(StaffingReviewEntry))}
    assert entries["Trần Văn Minh"].verdict == "fits"
    assert entries["Đặng Thị Ánh"].verdict == "fits_after_training"  # lacks 2 of 5, both taught
    assert entries["Đặng Thị Ánh"].missing == ["info_security", "ai"]
    assert entries["Học Viên"].verdict == "does_not_fit"  # holds nothing of 5
    assert entries["Phạm Thu Hà"].verdict == "does_not_fit" and entries["Phạm Thu Hà"].position_id is None
    assert entries["Ngô Thị Lan"].verdict == "fits_after_training"  # justice: 1 of 2 missing

    text = page_text(client.get(f"/hr/staffing/reviews/{review.id}"))
    anh = section(text, "Đặng Thị Ánh", "Ngô Thị Lan")
    assert "Phù hợp sau khi học: Khóa An toàn thông tin; Khóa Ứng dụng trí tuệ nhân tạo" in anh
    assert "Chưa phù hợp: chưa được bố trí vị trí việc làm" in section(text, "Phạm Thu Hà")

    anh_entry = entries["Đặng Thị Ánh"]
    path = f"/hr/staffing/reviews/{review.id}/entries/{anh_entry.id}"
    due = (date.today() + timedelta(days=60)).isoformat()
    response = client.post(path, data={"decision": "train", "due_on": due, "course": "0", "move_position": "0",
                                       "move_unit": "", "note": "Học trong quý", "csrf_token": csrf(client, path)})
    assert response.status_code == 302
    assignments = db.session.scalars(sa.select(Assignment).where(Assignment.user_id == city["anh"].id)).all()
    assert sorted(a.course.title for a in assignments) == ["Khóa An toàn thông tin",
                                                           "Khóa Ứng dụng trí tuệ nhân tạo an toàn trong công việc"]
    assert all(a.due_on.isoformat() == due for a in assignments)
    entry = db.session.get(StaffingReviewEntry, anh_entry.id)
    assert entry.decision == "train" and sorted(entry.assignment_ids) == sorted(a.id for a in assignments)

    # A move needs somewhere to go; a bad unit is refused with a message and nothing is saved.
    lan = entries["Ngô Thị Lan"]
    path = f"/hr/staffing/reviews/{review.id}/entries/{lan.id}"
    refused = client.post(path, data={"decision": "move", "move_unit": "Không có phường này", "move_position": "0",
                                      "course": "0", "csrf_token": csrf(client, path)})
    assert refused.status_code == 400 and "Không có đơn vị" in page_text(refused)
    moved = client.post(path, data={"decision": "move", "move_unit": "HCM-BT", "move_position": str(city["office"].id),
                                    "course": "0", "csrf_token": csrf(client, path)})
    assert moved.status_code == 302
    assert db.session.get(StaffingReviewEntry, lan.id).move_text == "Phường Bến Thành — Chuyên viên Văn phòng"
    # Training by a past date is refused, and no assignment is left behind.
    path = f"/hr/staffing/reviews/{review.id}/entries/{entries['Học Viên'].id}"
    past = client.post(path, data={"decision": "train", "due_on": "2020-01-01", "course": "0", "move_position": "0",
                                   "csrf_token": csrf(client, path)})
    assert past.status_code == 400 and "không được ở trong quá khứ" in page_text(past)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)
                             .where(Assignment.user_id == city["learner"].id)) == 0

    # Closed: the decisions are the record and cannot change.
    closed = client.post(f"/hr/staffing/reviews/{review.id}/close",
                         data={"csrf_token": csrf(client, f"/hr/staffing/reviews/{review.id}")})
    assert closed.status_code == 302
    path = f"/hr/staffing/reviews/{review.id}/entries/{entries['Trần Văn Minh'].id}"
    client.post(path, data={"decision": "keep", "course": "0", "move_position": "0", "csrf_token": csrf(client, path)})
    assert db.session.get(StaffingReviewEntry, entries["Trần Văn Minh"].id).decision is None
    actions = [a.action for a in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]
    assert actions.count("staffing.review.decide") == 2
    assert "staffing.review.open" in actions and "staffing.review.close" in actions


def test_review_exports_xlsx_and_pdf_with_signature_block(client, auth, city, courses_for_all, tmp_path):
    from openpyxl import load_workbook

    from tests.training.test_hr_exports_api import pdf_text

    auth.login("hr.city@example.vn")
    open_review(client)
    review = db.session.scalar(sa.select(StaffingReview))
    response = client.get(f"/hr/staffing/reviews/{review.id}/export.xlsx")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("STT", "Họ và tên", "Email", "Đơn vị", "Vị trí việc làm")
    minh = next(row for row in rows if row[1] == "Trần Văn Minh")
    assert minh[3] == "Văn phòng HĐND và UBND, Phường Cầu Ông Lãnh"
    # Judged on 1 July 2027, Minh's information security (lapsing in 20 days) no longer counts.
    assert minh[7] == "An toàn thông tin" and minh[8] == "Phù hợp sau khi học: Khóa An toàn thông tin"
    assert len(rows) == 6
    pdf = client.get(f"/hr/staffing/reviews/{review.id}/export.pdf")
    assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF-")
    text = unicodedata.normalize("NFC", " ".join((pdf_text(pdf.get_data(), tmp_path) or "").split()))
    for expected in ("NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ", "Phường Cầu Ông Lãnh", "Đặng Thị Ánh",
                     "Võ Quốc Bảo", "Nghị định số 361/2025/NĐ-CP"):
        assert expected in text
    exports = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "staffing.review.export")).all()
    assert sorted(e.details["format"] for e in exports) == ["pdf", "xlsx"]


def test_reviews_keep_to_scope_and_size(client, auth, city, monkeypatch):
    auth.login("hr.city@example.vn")
    open_review(client, unit="HCM")
    review = db.session.scalar(sa.select(StaffingReview))
    assert review.officials == 12  # everyone attached to a unit of the city (the admin is not)
    auth.logout()
    auth.login("hr.ward@example.vn")
    assert client.get(f"/hr/staffing/reviews/{review.id}").status_code == 404
    assert client.get(f"/hr/staffing/reviews/{review.id}/export.pdf").status_code == 404
    refused = open_review(client, unit="HCM-BT")
    assert refused.status_code == 400 and "Không có đơn vị “HCM-BT” trong phạm vi của bạn" in page_text(refused)
    monkeypatch.setattr("training.staffing.review.MAX_REVIEW_OFFICIALS", 3)
    too_big = open_review(client, unit="HCM-COL")
    assert too_big.status_code == 400 and "tối đa 3 người" in page_text(too_big)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffingReview)) == 1
    control = open_review(client, unit="HCM-COL\x00")
    assert control.status_code == 400 and "ký tự không hợp lệ" in page_text(control)
    bad_day = open_review(client, as_of="31/02/2027")
    assert bad_day.status_code == 400 and "Ngày không hợp lệ" in page_text(bad_day)


# --------------------------------------------------------------------------- demo and generate
def test_demo_wards_have_populations_once(app):
    from training.services.competencies import seed_core_competencies
    from training.services.demo import load_demo

    seed_core_competencies()
    load_demo("Mat-khau-2025")
    load_demo(None)
    db.session.commit()
    figures = db.session.scalars(sa.select(UnitPopulation)).all()
    assert len(figures) == 10
    banco = next(f for f in figures if f.unit.code == "HCM-BANCO")
    assert (banco.registered, banco.actual) == (88_000, 101_000)


def test_generate_gives_wards_populations_some_over_and_under_staffed(runner, app):
    result = runner.invoke(args=["generate", "--password", "Thu-nghiem-2025", "--units", "40", "--officials",
                                 "400", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "Số dân: 40 phường, xã" in result.output
    wards = db.session.scalars(sa.select(OrgUnit).where(OrgUnit.code.like("GEN-%"))).all()
    figures = {f.unit_id: f for f in db.session.scalars(sa.select(UnitPopulation))}
    assert set(figures) == {w.id for w in wards}
    staff = dict(db.session.execute(sa.text(
        "SELECT unit_id, COUNT(*) FROM users WHERE email LIKE '%@load.example' GROUP BY unit_id")).all())
    per_official = [figures[w.id].actual / staff[w.id] for w in wards if staff.get(w.id)]
    assert min(per_official) < 700 and max(per_official) > 2000  # over- and under-staffed wards exist


def test_odd_addresses_never_fail(client, auth, city):
    auth.login("hr.city@example.vn")
    for path in ("/hr/staffing/units/%00", "/hr/staffing/units/HCM?page=99999999999999", "/hr/staffing/units/HCM?page=-3",
                 "/hr/staffing/units/HCM/per-1000?sort=name&page=%C2%B2", "/hr/staffing/units/HCM-COL/lend?position=1"
                 "&start=999999999", "/hr/staffing/units/HCM-COL/lend?position=99999999999", "/hr/staffing/reviews/999999",
                 "/hr/staffing/reviews?page=abc", "/hr/staffing/reviews/1/entries/1", "/hr/staffing/population/template.csv",
                 "/api/v1/units/%00/coverage", "/api/v1/units/HCM/coverage?page=99999"):
        response = client.get(path)
        assert response.status_code in (200, 302, 400, 404, 422), (path, response.status_code)
    template = client.get("/hr/staffing/population/template.csv").get_data()
    assert template.startswith("\ufeff".encode()) and "Dân số thực tế".encode() in template
