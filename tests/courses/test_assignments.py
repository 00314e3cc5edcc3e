"""HR assigns courses to a person, a position or a unit subtree; late joiners are included."""
from datetime import timedelta

import sqlalchemy as sa

from courses.assignments import today_in_vietnam
from courses.models import Assignment
from training.extensions import db

from tests.courses.helpers import make_course


def due(days=7):
    return (today_in_vietnam() + timedelta(days=days)).isoformat()


def setup_hr(make_user, org):
    return make_user("hr.ward@example.vn", "Nguyễn Thị Hân", roles=("hr",), unit=org["ward_a"])


def test_ward_hr_assigns_a_course_to_the_ward(client, auth, make_user, org):
    setup_hr(make_user, org)
    course = make_course()
    early = make_user("a@example.vn", "Trần Văn An", unit=org["dept_a"], position=org["position"])
    make_user("b@example.vn", "Lê Thị Bích", unit=org["ward_b"])
    auth.login("hr.ward@example.vn")
    response = client.post("/courses/assignments/new", data={
        "course_id": course.id, "target": "group", "unit_id": org["ward_a"].id, "position_id": 0,
        "due_on": due(), "note": "Hoàn thành trước buổi giao ban."})
    assert response.status_code == 302
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Trần Văn An" in detail and "Lê Thị Bích" not in detail
    # An official who joins the ward later is assigned too and sees it in their catalogue.
    make_user("moi@example.vn", "Phạm Văn Mới", unit=org["ward_a"])
    assignment = db.session.scalar(sa.select(Assignment))
    assert "Phạm Văn Mới" in client.get(f"/courses/assignments/{assignment.id}").get_data(as_text=True)
    auth.logout()
    auth.login("moi@example.vn")
    assert "Hạn " in client.get("/courses/").get_data(as_text=True)
    assert early is not None


def test_position_narrows_a_unit_assignment(client, auth, make_user, make_position, org):
    setup_hr(make_user, org)
    course = make_course()
    other_position = make_position("VT", "Văn thư")
    make_user("a@example.vn", "Trần Văn An", unit=org["dept_a"], position=org["position"])
    make_user("v@example.vn", "Đỗ Thị Văn Thư", unit=org["dept_a"], position=other_position)
    auth.login("hr.ward@example.vn")
    response = client.post("/courses/assignments/new", data={
        "course_id": course.id, "target": "group", "unit_id": org["ward_a"].id,
        "position_id": other_position.id, "due_on": due()})
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đỗ Thị Văn Thư" in detail and "Trần Văn An" not in detail


def test_finished_and_late_are_shown(client, auth, make_user, org):
    setup_hr(make_user, org)
    course = make_course(lessons=1)
    make_user("a@example.vn", "Trần Văn An", unit=org["dept_a"])
    make_user("b@example.vn", "Võ Thị Bé", unit=org["dept_a"])
    assignment = Assignment(course=course, unit=org["ward_a"], due_on=today_in_vietnam() - timedelta(days=1))
    db.session.add(assignment)
    db.session.commit()
    auth.login("a@example.vn")
    client.post(f"/courses/{course.slug}/bai-1/done")
    auth.logout()
    auth.login("hr.ward@example.vn")
    late = client.get(f"/courses/assignments/{assignment.id}?state=late").get_data(as_text=True)
    assert "Võ Thị Bé" in late and "Trần Văn An" not in late
    done = client.get(f"/courses/assignments/{assignment.id}?state=done").get_data(as_text=True)
    assert "Trần Văn An" in done and "Võ Thị Bé" not in done
    listing = client.get("/courses/assignments").get_data(as_text=True)
    # Every active official of the ward is assigned, the ward's HR officer included (the HR dashboard
    # counts the same people): one of three finished, two late. Matched as whole cells so that no date
    # on the page can satisfy it.
    assert "<td>1/3</td>" in listing and "<td>2</td>" in listing


def test_ward_hr_cannot_assign_outside_its_ward(client, auth, make_user, org):
    setup_hr(make_user, org)
    course = make_course()
    make_user("b@example.vn", "Lê Thị Bích", unit=org["ward_b"])
    auth.login("hr.ward@example.vn")
    other_ward = client.post("/courses/assignments/new", data={
        "course_id": course.id, "target": "group", "unit_id": org["ward_b"].id, "position_id": 0, "due_on": due()})
    assert other_ward.status_code == 400 and "Lựa chọn không hợp lệ." in other_ward.get_data(as_text=True)
    person = client.post("/courses/assignments/new", data={
        "course_id": course.id, "target": "person", "email": "b@example.vn", "unit_id": org["ward_a"].id,
        "position_id": 0, "due_on": due()})
    assert person.status_code == 400
    assert "Không có cán bộ với email này trong phạm vi của bạn." in person.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == 0


def test_bad_due_dates_are_refused(client, auth, make_user, org):
    setup_hr(make_user, org)
    course = make_course()
    auth.login("hr.ward@example.vn")
    past = client.post("/courses/assignments/new", data={
        "course_id": course.id, "target": "group", "unit_id": org["ward_a"].id, "position_id": 0,
        "due_on": (today_in_vietnam() - timedelta(days=1)).isoformat()})
    assert past.status_code == 400 and "Hạn hoàn thành không được ở trong quá khứ." in past.get_data(as_text=True)
    garbage = client.post("/courses/assignments/new", data={
        "course_id": course.id, "target": "group", "unit_id": org["ward_a"].id, "position_id": 0, "due_on": "mai"})
    assert garbage.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == 0


def test_other_wards_assignment_is_not_visible(client, auth, make_user, org):
    setup_hr(make_user, org)
    course = make_course()
    assignment = Assignment(course=course, unit=org["ward_b"], due_on=today_in_vietnam())
    db.session.add(assignment)
    db.session.commit()
    auth.login("hr.ward@example.vn")
    assert client.get(f"/courses/assignments/{assignment.id}").status_code == 404
    assert course.title not in client.get("/courses/assignments").get_data(as_text=True)


def test_cancel_assignment(client, auth, make_user, org):
    setup_hr(make_user, org)
    course = make_course()
    make_user("a@example.vn", "Trần Văn An", unit=org["dept_a"])
    assignment = Assignment(course=course, unit=org["ward_a"], due_on=today_in_vietnam())
    db.session.add(assignment)
    db.session.commit()
    auth.login("hr.ward@example.vn")
    client.post(f"/courses/assignments/{assignment.id}/cancel")
    db.session.refresh(assignment)
    assert assignment.cancelled_at is not None
    auth.logout()
    auth.login("a@example.vn")
    assert "Hạn " not in client.get("/courses/").get_data(as_text=True)
