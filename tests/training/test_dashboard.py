"""HR overview: counts against a hand-built org, expiring windows on their day boundaries, charts,
drill-down, gaps by position, candidates, scope, and the official page's sections.

HR's figures are about a day in Vietnam: a record expiring on that day no longer counts, one expiring
within N days of it is "expiring" (the kept counts of training.hr.counts bucket records by day)."""
import re
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from training.extensions import db
from training.models import Competency, CompetencyRecord, User

NOW = datetime.now(timezone.utc).replace(microsecond=0)
LONG = NOW + timedelta(days=400)
CODES = ("digital_signature", "e_documents", "info_security", "online_services", "ai")
AI_NAME = "Ứng dụng trí tuệ nhân tạo an toàn trong công việc"


def _competency(code):
    return db.session.scalar(sa.select(Competency).where(Competency.code == code))


def _record(user, code, expires=LONG, achieved=None, revoked=None):
    db.session.add(CompetencyRecord(user_id=user.id, competency_id=_competency(code).id,
                                    achieved_at=achieved or NOW - timedelta(days=10), expires_at=expires,
                                    revoked_at=revoked, score=90.0))


@pytest.fixture
def hr_org(org, make_unit, make_position, make_user):
    """Two wards of a city, departments, two positions and officials with telling records."""
    city, ward_a, ward_b, vp = org["city"], org["ward_a"], org["ward_b"], org["dept_a"]
    kt = make_unit("HCM-COL-KT", "Phòng Kinh tế", "department", ward_a)
    p1 = org["position"]  # requires all five core competencies, "ai" included
    p2 = make_position("CV-HCC", "Chuyên viên một cửa", [_competency("e_documents"), _competency("info_security")])
    people = {
        "a1": make_user("a1@example.vn", "Trần Văn Minh", unit=vp, position=p1),
        "a2": make_user("a2@example.vn", "Lê Thị Bích", unit=vp, position=p1),
        "a3": make_user("a3@example.vn", "Phạm Quốc Dũng", unit=kt, position=p2),
        "a4": make_user("a4@example.vn", "Đỗ Thị Hằng", unit=ward_a, position=p2),
        "a5": make_user("a5@example.vn", "Võ Văn Tài", unit=kt, position=p1),
        "hr_ward": make_user("hr.ward@example.vn", "Nguyễn Thị Hân", roles=("hr",), unit=ward_a),
        "hr_city": make_user("hr.city@example.vn", "Phạm Quốc Bảo", roles=("hr",), unit=city),
        "admin": make_user("admin@example.vn", "Trương Minh Khoa", roles=("admin",)),
        "b1": make_user("b1@example.vn", "Huỳnh Minh Khoa", unit=ward_b, position=p1),
        "b2": make_user("b2@example.vn", "Bùi Thị Lan", unit=ward_b),
        "b3": make_user("b3@example.vn", "Ngô Gia Huy", unit=ward_b, position=p2),
    }
    for code in CODES:
        _record(people["a1"], code)
        _record(people["a5"], code)
        _record(people["b1"], code, expires=NOW + timedelta(days=90) if code == "ai" else LONG)
        if code != "info_security":
            _record(people["a2"], code)
    _record(people["a2"], "info_security", expires=NOW)  # expires today: no longer held today
    _record(people["a3"], "e_documents")
    _record(people["a3"], "info_security", expires=NOW + timedelta(days=30))  # the last day of the 30-day window
    _record(people["a4"], "e_documents", expires=NOW + timedelta(days=31))  # the day after it: outside
    _record(people["a4"], "info_security", revoked=NOW - timedelta(days=1))
    _record(people["b1"], "digital_signature", expires=NOW + timedelta(days=10))  # renewed: not expiring
    _record(people["b3"], "e_documents")
    _record(people["b3"], "info_security", achieved=NOW + timedelta(days=1))  # not yet achieved
    people["a5"].active = False
    db.session.commit()
    return {**org, "kt": kt, "p1": p1, "p2": p2, "people": people}


# --------------------------------------------------------------------------- services
def test_competency_columns_include_the_fifth(hr_org):
    from training.hr.overview import competency_columns

    assert [c.code for c in competency_columns()] == list(CODES)


def test_city_rows_count_each_ward_subtree(hr_org):
    from training.hr.overview import summary

    result = summary(hr_org["city"], NOW)
    rows, total = result.rows, result.total
    assert [(r.unit.code, r.direct) for r in rows] == [("HCM", True), ("HCM-BT", False), ("HCM-COL", False)]
    direct, ward_b, ward_a = rows
    assert (direct.officials, direct.qualified) == (1, 0)
    assert (ward_a.officials, ward_a.qualified) == (5, 2)  # the inactive official is not counted
    assert ward_a.held == {"digital_signature": 2, "e_documents": 4, "info_security": 2,
                           "online_services": 2, "ai": 2}
    assert ward_a.expiring["info_security"] == {30: 1, 60: 1, 90: 1}
    assert ward_a.expiring["e_documents"] == {30: 0, 60: 1, 90: 1}
    assert (ward_b.officials, ward_b.qualified) == (3, 1)
    assert ward_b.held == {"digital_signature": 1, "e_documents": 2, "info_security": 1,
                           "online_services": 1, "ai": 1}  # Huy's record is dated tomorrow: not yet
    assert ward_b.expiring["ai"] == {30: 0, 60: 0, 90: 1}
    assert ward_b.expiring["digital_signature"] == {30: 0, 60: 0, 90: 0}  # renewed already
    assert (total.unit.code, total.officials, total.qualified) == ("HCM", 9, 3)
    assert total.held["e_documents"] == 6


def test_ward_rows_are_departments_plus_direct_officials(hr_org):
    from training.hr.overview import summary

    result = summary(hr_org["ward_a"], NOW)
    assert [(r.unit.code, r.direct, r.officials, r.qualified) for r in result.rows] == [
        ("HCM-COL", True, 2, 0), ("HCM-COL-KT", False, 1, 1), ("HCM-COL-VP", False, 2, 1)]
    assert result.total.officials == 5
    # Admin: the top-level units.
    everything = summary(None, NOW)
    assert [r.unit.code for r in everything.rows] == ["HCM"] and everything.total.officials == 9


def test_record_dated_tomorrow_counts_from_tomorrow(hr_org, client):
    """A record dated in the future counts from its day; the first HR request that day recounts it."""
    from training.hr import upkeep
    from training.hr.overview import summary

    b3 = hr_org["people"]["b3"]
    tomorrow = NOW + timedelta(days=1)
    assert summary(hr_org["ward_b"], NOW).total.held["info_security"] == 1
    original = upkeep.utcnow
    upkeep.utcnow = lambda: tomorrow
    try:
        _login(client, "hr.city@example.vn")
        page = client.get("/hr/units/HCM-BT?status=qualified").get_data(as_text=True)
        assert b3.full_name in page[page.index('id="officials"'):]
        assert summary(hr_org["ward_b"], tomorrow).total.held["info_security"] == 2
    finally:
        upkeep.utcnow = original


def test_overdue_assignments_per_unit(hr_org):
    from courses.assignments import today_in_vietnam
    from courses.models import Assignment, CourseProgress
    from tests.courses.helpers import make_course
    from training.hr.overview import summary

    people = hr_org["people"]
    today = today_in_vietnam(NOW)
    first = make_course()
    second = make_course(slug="an-toan-thong-tin", title="An toàn thông tin")
    db.session.add_all([
        Assignment(course=first, unit=hr_org["ward_a"], due_on=today - timedelta(days=1)),
        Assignment(course=second, position=hr_org["p1"], due_on=today - timedelta(days=1)),
        Assignment(course=first, user=people["b2"], due_on=today - timedelta(days=1), cancelled_at=NOW),
        Assignment(course=first, user=people["b3"], due_on=today),  # due today: not late yet
        CourseProgress(user_id=people["a1"].id, course_id=first.id, completed_at=NOW),
    ])
    db.session.commit()
    result = summary(hr_org["city"], NOW)
    assert {r.unit.code: r.overdue_assignments for r in result.rows} == {"HCM": 0, "HCM-BT": 1, "HCM-COL": 5}
    assert result.total.overdue_assignments == 6
    assert [r.overdue_assignments for r in summary(hr_org["ward_a"], NOW).rows] == [2, 1, 2]


def test_heatmap_shares(hr_org):
    from training.hr.overview import competency_columns, heatmap_from_rows, summary

    heat = heatmap_from_rows(summary(hr_org["city"], NOW).rows, competency_columns())
    assert [c.code for c in heat.competencies] == list(CODES)
    ward_a, ward_b = hr_org["ward_a"].id, hr_org["ward_b"].id
    assert heat.share[ward_a, "e_documents"] == pytest.approx(0.8)
    assert heat.share[ward_b, "e_documents"] == pytest.approx(2 / 3)
    assert heat.share[ward_b, "ai"] == pytest.approx(1 / 3)
    assert heat.officials[ward_a] == 5 and heat.direct_unit_id == hr_org["city"].id


@pytest.fixture
def clock(monkeypatch):
    """HR's clock (the day figures are about, when month-end snapshots are taken), set by the test:
    requested before `org` so that everything the test writes happens at the test's own moments."""
    from training.hr import upkeep

    now = {"at": datetime(2025, 11, 20, 3, tzinfo=timezone.utc)}
    monkeypatch.setattr(upkeep, "utcnow", lambda: now["at"])
    return now


def test_qualified_trend_follows_the_history(clock, org, make_position, make_user):
    """Each finished month is what was true at its end (the snapshot taken before the first change
    after it); the current month is today."""
    from training.hr.overview import qualified_trend

    utc = timezone.utc
    position = make_position("CV-HCC", "Chuyên viên một cửa", [_competency("e_documents"),
                                                               _competency("info_security")])
    early = make_user("o1@example.vn", "Trần Văn Minh", unit=org["ward_a"], position=position)
    late = make_user("o2@example.vn", "Lê Thị Bích", unit=org["ward_a"], position=position)
    clock["at"] = datetime(2025, 12, 10, 2, tzinfo=utc)
    for code in ("e_documents", "info_security"):
        _record(early, code, achieved=clock["at"], expires=datetime(2027, 1, 1, tzinfo=utc))
    db.session.commit()
    clock["at"] = datetime(2026, 2, 20, 2, tzinfo=utc)
    for code in ("e_documents", "info_security"):
        ends = datetime(2026, 3, 10, tzinfo=utc) if code == "info_security" else datetime(2027, 1, 1, tzinfo=utc)
        _record(late, code, achieved=clock["at"], expires=ends)
    db.session.commit()
    clock["at"] = datetime(2026, 3, 15, 5, tzinfo=utc)
    trend = qualified_trend(org["city"], date(2026, 3, 15), months=5)
    assert trend == [(date(2025, 11, 30), 0.0), (date(2025, 12, 31), 0.5), (date(2026, 1, 31), 0.5),
                     (date(2026, 2, 28), 1.0), (date(2026, 3, 15), 0.5)]
    assert len(qualified_trend(org["city"], date(2026, 3, 15))) == 12
    # A move after a month's end leaves that month as it was: Bích's move to ward B in March does
    # not rewrite ward A's February.
    late.unit = org["ward_b"]
    db.session.commit()
    assert qualified_trend(org["ward_a"], date(2026, 3, 15), months=2) == [(date(2026, 2, 28), 1.0),
                                                                         (date(2026, 3, 15), 1.0)]
    assert qualified_trend(org["ward_b"], date(2026, 3, 15), months=2) == [(date(2026, 2, 28), 0.0),
                                                                         (date(2026, 3, 15), 0.0)]


def test_rebuild_recounts_past_months_from_the_records(clock, org, make_position, make_user, runner):
    from training.hr.overview import qualified_trend

    utc = timezone.utc
    position = make_position("CV-HCC", "Chuyên viên một cửa", [_competency("e_documents")])
    person = make_user("o1@example.vn", "Trần Văn Minh", unit=org["ward_a"], position=position)
    make_user("o2@example.vn", "Lê Thị Bích", unit=org["ward_a"], position=position)
    _record(person, "e_documents", achieved=datetime(2025, 12, 10, tzinfo=utc),
            expires=datetime(2026, 2, 10, tzinfo=utc))
    db.session.commit()  # written on 20 November with past-dated achievements: history is not yet known
    clock["at"] = datetime(2026, 3, 15, 5, tzinfo=utc)
    result = runner.invoke(args=["hr", "rebuild-counts"])
    assert result.exit_code == 0, result.output
    assert "Đã dựng lại số liệu nhân sự" in result.output
    assert qualified_trend(org["city"], date(2026, 3, 15), months=5) == [
        (date(2025, 11, 30), 0.0), (date(2025, 12, 31), 0.5), (date(2026, 1, 31), 0.5), (date(2026, 2, 28), 0.0),
        (date(2026, 3, 15), 0.0)]


def test_kept_figures_agree_with_the_rule_on_coming_days(hr_org, make_position, make_user, monkeypatch):
    """Nothing happens at midnight: on each coming day (after the recount of records dated that
    day, which the first HR request of the day makes) the kept figures equal a recount by the rule."""
    from training.hr import upkeep
    from training.hr.counts import unit_figures
    from training.hr.officials_filter import subtree_ids
    from training.hr.overview import as_day
    from training.services.qualification import qualified_condition

    empty = make_position("KHAC", "Vị trí không yêu cầu gì", [])
    make_user("none@example.vn", "Lý Văn Nam", unit=hr_org["ward_b"], position=empty)
    for person in ("b2", "hr_ward"):  # no position: the core competencies are required
        for code in CODES:
            _record(hr_org["people"][person], code, expires=NOW + timedelta(days=45))
    db.session.commit()
    today = as_day(NOW)
    for days in (0, 1, 20, 31, 44, 45, 95):
        day = today + timedelta(days=days)
        monkeypatch.setattr(upkeep, "utcnow", lambda days=days: NOW + timedelta(days=days))
        upkeep.catch_up(db.session)
        db.session.commit()
        for root in (hr_org["city"], hr_org["ward_a"], hr_org["ward_b"]):
            expected = db.session.scalar(sa.select(sa.func.count(User.id)).where(
                User.active.is_(True), User.unit_id.in_(subtree_ids(root)), qualified_condition(day)))
            assert unit_figures([(root.id, False)], day)[root.id, False].qualified == expected, (root.code, day)


def _names(selection, page=1):
    from training.hr.officials_filter import page_of_officials

    return [u.full_name for u in page_of_officials(selection, page).items]


def test_position_gaps_lacking_and_candidates(hr_org):
    from training.hr.gaps import position_gaps
    from training.hr.officials_filter import (OfficialFilters, candidates_condition, select_officials,
                                              with_extra)

    people, p1, p2 = hr_org["people"], hr_org["p1"], hr_org["p2"]
    gaps = {gap.position.code: gap for gap in position_gaps(hr_org["city"], NOW)}
    assert gaps["CV-VP"].officials == 3 and [c.code for c in gaps["CV-VP"].required] == list(CODES)
    assert gaps["CV-VP"].lacking == {"digital_signature": 0, "e_documents": 0, "info_security": 1,
                                     "online_services": 0, "ai": 0}
    assert gaps["CV-HCC"].officials == 3 and gaps["CV-HCC"].lacking == {"e_documents": 0, "info_security": 2}
    assert position_gaps(hr_org["ward_a"], NOW)[0].lacking == {"e_documents": 0, "info_security": 1}

    def lacking(root):
        return _names(select_officials(root, OfficialFilters(position=str(p2.id), competency="info_security",
                                                             holding="no"), NOW))

    assert lacking(hr_org["city"]) == ["Đỗ Thị Hằng", "Ngô Gia Huy"]
    assert lacking(hr_org["ward_a"]) == ["Đỗ Thị Hằng"]

    def candidates(position, root):
        selection = select_officials(root, OfficialFilters(), NOW)
        return _names(with_extra(selection, *candidates_condition(position, selection.day)))

    # Whoever holds e-documents and information security could take a one-stop-shop desk.
    assert candidates(p2, hr_org["city"]) == ["Phạm Quốc Dũng", "Huỳnh Minh Khoa", "Trần Văn Minh"]
    assert candidates(p1, hr_org["ward_a"]) == ["Trần Văn Minh"]
    assert people["a5"].full_name not in candidates(p1, None)  # inactive


# --------------------------------------------------------------------------- charts
def test_cell_colours_keep_text_contrast():
    from training.hr.charts import cell_colours, contrast

    for step in range(101):
        fill, text = cell_colours(step / 100)
        assert contrast(fill, text) >= 4.5, (step, fill, text)


def test_heatmap_svg_writes_the_shares(hr_org):
    from training.hr.charts import heatmap_svg
    from training.hr.overview import competency_columns, heatmap_from_rows, summary

    heat = heatmap_from_rows(summary(hr_org["city"], NOW).rows, competency_columns())
    svg = str(heatmap_svg(heat, lambda unit, direct: unit.name))
    assert 'role="img"' in svg and "aria-label=" in svg and "<title" in svg and "<desc" in svg
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    for share in ("80%", "67%", "33%", "40%", "0%"):
        assert share in texts
    assert AI_NAME in svg


# --------------------------------------------------------------------------- pages
def _login(client, email):
    client.post("/auth/login", data={"email": email, "password": "Mat-khau-2025"})


def test_city_dashboard_page(client, hr_org):
    _login(client, "hr.city@example.vn")
    response = client.get("/hr/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Phường Cầu Ông Lãnh" in page and "Phường Bến Thành" in page
    assert page.count(AI_NAME) >= 3  # table header, heat map, its table
    assert page.count("Xem dạng bảng") == 3 and page.count('role="img"') == 3
    assert 'href="/hr/units/HCM-COL"' in page
    assert "Tổng quan" in page  # the navigation link


def test_ward_hr_sees_only_their_ward(client, hr_org):
    _login(client, "hr.ward@example.vn")
    page = client.get("/hr/").get_data(as_text=True)
    assert "Phòng Kinh tế" in page and "Phường Bến Thành" not in page
    assert client.get("/hr/units/HCM-BT").status_code == 404
    assert client.get("/hr/units/HCM").status_code == 404
    assert client.get("/hr/units/HCM-COL-KT").status_code == 200
    gaps = client.get("/hr/gaps").get_data(as_text=True)
    assert "2 thiếu" not in gaps and "1 thiếu" in gaps
    refused = client.get("/hr/gaps?unit=HCM-BT").get_data(as_text=True)
    assert "trong phạm vi của bạn" in refused and "2 thiếu" not in refused
    p2 = hr_org["p2"].id
    lacking = client.get(f"/hr/gaps/officials?position={p2}&competency=info_security").get_data(as_text=True)
    assert "Đỗ Thị Hằng" in lacking and "Ngô Gia Huy" not in lacking
    outside = client.get(f"/hr/gaps/officials?position={p2}&competency=info_security&unit=HCM-BT")
    assert outside.status_code == 302
    candidates = client.get(f"/hr/gaps/candidates?position={p2}").get_data(as_text=True)
    assert "Phạm Quốc Dũng" in candidates and "Huỳnh Minh Khoa" not in candidates


def test_drill_down_city_ward_department_official(client, hr_org):
    _login(client, "hr.city@example.vn")
    ward = client.get("/hr/units/HCM-COL").get_data(as_text=True)
    assert 'href="/hr/units/HCM-COL-VP"' in ward and "Đỗ Thị Hằng (trực tiếp)" not in ward
    assert "Phường Cầu Ông Lãnh (trực tiếp)" in ward
    department = client.get("/hr/units/HCM-COL-VP").get_data(as_text=True)
    assert 'href="/hr/units/HCM-COL"' in department  # the breadcrumb back up
    a1 = hr_org["people"]["a1"]
    assert f'href="/hr/officials/{a1.id}"' in department and "Phạm Quốc Dũng" not in department


@pytest.mark.parametrize("query, present, absent", [
    ("competency=info_security&holding=no", ["Lê Thị Bích", "Đỗ Thị Hằng", "Nguyễn Thị Hân"],
     ["Trần Văn Minh", "Phạm Quốc Dũng"]),
    ("status=qualified", ["Trần Văn Minh", "Phạm Quốc Dũng"], ["Lê Thị Bích", "Đỗ Thị Hằng"]),
    ("status=not_qualified", ["Lê Thị Bích", "Đỗ Thị Hằng"], ["Trần Văn Minh", "Phạm Quốc Dũng"]),
    ("expiring=30", ["Phạm Quốc Dũng"], ["Đỗ Thị Hằng", "Trần Văn Minh"]),
    ("expiring=60", ["Phạm Quốc Dũng", "Đỗ Thị Hằng"], ["Trần Văn Minh"]),
    ("expiring=60&competency=e_documents", ["Đỗ Thị Hằng"], ["Phạm Quốc Dũng"]),
    ("q=do+thi+hang", ["Đỗ Thị Hằng"], ["Lê Thị Bích"]),
    ("q=Đỗ", ["Đỗ Thị Hằng"], ["Lê Thị Bích"]),
    ("unit=HCM-COL-KT", ["Phạm Quốc Dũng"], ["Trần Văn Minh", "Võ Văn Tài"]),
    ("position=__p2__", ["Phạm Quốc Dũng", "Đỗ Thị Hằng"], ["Trần Văn Minh"]),
])
def test_unit_officials_filters(client, hr_org, query, present, absent):
    # The page measures from the request's own clock, later than NOW: move the boundary case inside 60 days.
    a4 = hr_org["people"]["a4"]
    db.session.execute(sa.update(CompetencyRecord).where(CompetencyRecord.user_id == a4.id,
                                                         CompetencyRecord.expires_at > NOW)
                       .values(expires_at=NOW + timedelta(days=45)))
    db.session.commit()
    _login(client, "hr.ward@example.vn")
    query = query.replace("__p2__", str(hr_org["p2"].id))
    page = client.get(f"/hr/units/HCM-COL?{query}").get_data(as_text=True)
    listing = page[page.index('id="officials"'):]
    for name in present:
        assert name in listing, (query, name)
    for name in absent:
        assert name not in listing, (query, name)


def test_unit_list_is_in_vietnamese_order_and_paginated(client, hr_org, make_user):
    for n in range(30):
        make_user(f"extra{n}@example.vn", "Trần Thị Yến", unit=hr_org["ward_b"])
    make_user("anh@example.vn", "Lê Thị Ánh", unit=hr_org["ward_b"])
    _login(client, "hr.city@example.vn")
    page = client.get("/hr/units/HCM-BT").get_data(as_text=True)
    listing = page[page.index('id="officials"'):]
    assert "Trang 1 / 2" in listing and "Tổng số: 34" in listing
    # By given name, in Vietnamese order: Ánh, Huy, Khoa, Lan, Yến.
    order = [listing.index(name) for name in ("Lê Thị Ánh", "Ngô Gia Huy", "Huỳnh Minh Khoa", "Bùi Thị Lan",
                                               "Trần Thị Yến")]
    assert order == sorted(order)
    second = client.get("/hr/units/HCM-BT?page=2").get_data(as_text=True)
    assert "Trang 2 / 2" in second and "Bùi Thị Lan" not in second[second.index('id="officials"'):]


def test_bad_input_is_refused_without_error(client, hr_org):
    _login(client, "hr.city@example.vn")
    assert client.get("/hr/units/NOPE").status_code == 404
    assert client.get("/hr/gaps/officials?position=abc&competency=x").status_code == 302
    assert client.get("/hr/gaps/candidates?position=999999").status_code == 302
    page = client.get("/hr/units/HCM?expiring=7&status=maybe&position=x&competency=zzz&window=5")
    assert page.status_code == 200


def test_admin_sees_every_unit(client, hr_org):
    _login(client, "admin@example.vn")
    page = client.get("/hr/").get_data(as_text=True)
    assert "Tất cả đơn vị" in page and 'href="/hr/units/HCM"' in page
    assert client.get("/hr/units/HCM-BT").status_code == 200


def test_official_page_shows_competencies_and_sections(client, hr_org):
    from certificates.models import Certificate
    from courses.assignments import today_in_vietnam
    from courses.models import Assignment, CourseProgress
    from quizzes.models import Attempt
    from tests.courses.helpers import make_course
    from tests.quizzes.helpers import make_quiz

    people = hr_org["people"]
    course = make_course()
    quiz = make_quiz()
    db.session.add_all([
        Assignment(course=course, unit=hr_org["ward_a"], due_on=today_in_vietnam() + timedelta(days=5)),
        CourseProgress(user_id=people["a1"].id, course_id=course.id, completed_at=NOW),
        Attempt(quiz_id=quiz.id, user_id=people["a1"].id, number=1, state="finished", started_at=NOW,
                submitted_at=NOW, score=8.0, max_score=10.0, percent=80.0, passed=True),
        Certificate(serial="CCS-2026-TEST-AAAA-BBBB", user_id=people["a1"].id, unit_id=hr_org["dept_a"].id,
                    holder_name="Trần Văn Minh", issued_at=NOW, expires_at=LONG, pdf=b"%PDF"),
    ])
    db.session.commit()
    _login(client, "hr.ward@example.vn")
    page = client.get(f"/hr/officials/{people['a1'].id}").get_data(as_text=True)
    assert AI_NAME in page and "Đạt chuẩn" in page
    assert "Khóa học được giao" in page and "Chữ ký số cơ bản" in page and "Đã hoàn thành" in page
    assert "Bài kiểm tra đã làm" in page and "Kiểm tra chữ ký số" in page and "80%" in page
    assert "CCS-2026-TEST-AAAA-BBBB" in page and "Còn hiệu lực" in page
    # An official without a record still sees every competency, each one missing.
    bare = client.get(f"/hr/officials/{people['hr_ward'].id}").get_data(as_text=True)
    assert bare.count("Chưa đạt") >= 5 and AI_NAME in bare
    expiring = client.get(f"/hr/officials/{people['a3'].id}").get_data(as_text=True)
    assert "Sắp hết hạn" in expiring


def test_many_units_are_shown_a_page_at_a_time(client, auth, make_user, make_unit, monkeypatch):
    """A country's thousands of communes: the overview pages its unit rows instead of one huge page."""
    from training.hr import overview

    monkeypatch.setattr(overview, "UNIT_ROWS_PER_PAGE", 2)
    city = make_unit("NUOC", "Cả nước", "city")
    for n in range(5):
        make_unit(f"NUOC-{n}", f"Xã Thử {n}", "commune", city)
    make_user("hr.all@example.vn", roles=("hr",), unit=city)
    auth.login("hr.all@example.vn")
    first = client.get("/hr/").get_data(as_text=True)
    assert "Xã Thử 0" in first and "Xã Thử 4" not in first  # the city's own row comes first
    assert "trang 1 / 3" in first
    last = client.get("/hr/?rows_page=3").get_data(as_text=True)
    assert "Xã Thử 4" in last and "Xã Thử 0" not in last
