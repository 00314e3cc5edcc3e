"""The learner path: catalogue, course page, lessons, mark as done, resume, page weight."""
from datetime import timedelta

import sqlalchemy as sa

from courses.assignments import today_in_vietnam
from courses.models import Assignment, CourseProgress
from training.extensions import db

from tests.courses.helpers import make_course


def login_learner(auth, make_user, org):
    user = make_user("lan@example.vn", "Trần Thị Lan", unit=org["dept_a"], position=org["position"])
    auth.login("lan@example.vn")
    return user


def test_catalogue_lists_assigned_courses_first_with_due_dates(client, auth, make_user, org):
    user = login_learner(auth, make_user, org)
    make_course("a-khac", "A. Khóa tự chọn")
    assigned = make_course("z-duoc-giao", "Z. Khóa được giao")
    due = today_in_vietnam() + timedelta(days=10)
    db.session.add(Assignment(course=assigned, unit=org["ward_a"], due_on=due))
    db.session.commit()
    page = client.get("/courses/").get_data(as_text=True)
    assert page.index("Z. Khóa được giao") < page.index("A. Khóa tự chọn")
    assert f"Hạn {due.strftime('%d/%m/%Y')}" in page
    assert user is not None


def test_follow_a_course_end_to_end(client, auth, make_user, org):
    user = login_learner(auth, make_user, org)
    make_course()
    page = client.get("/courses/chu-ky-so-co-ban").get_data(as_text=True)
    assert "Bắt đầu học" in page and "Tiến độ: 0/3 bài" in page
    assert client.get("/courses/chu-ky-so-co-ban/resume").headers["Location"].endswith("/bai-1")
    lesson = client.get("/courses/chu-ky-so-co-ban/bai-1").get_data(as_text=True)
    assert "Nội dung bài 1." in lesson and "Bài 1/3" in lesson and 'rel="next"' in lesson
    response = client.post("/courses/chu-ky-so-co-ban/bai-1/done")
    assert response.headers["Location"].endswith("/courses/chu-ky-so-co-ban/bai-2")
    # Leave in the middle of lesson 2, come back later: resume lands on lesson 2.
    client.get("/courses/chu-ky-so-co-ban/bai-2")
    assert client.get("/courses/chu-ky-so-co-ban/resume").headers["Location"].endswith("/bai-2")
    assert "Học tiếp: Bài 2" in client.get("/courses/chu-ky-so-co-ban").get_data(as_text=True)
    client.post("/courses/chu-ky-so-co-ban/bai-2/done")
    final = client.post("/courses/chu-ky-so-co-ban/bai-3/done", follow_redirects=True).get_data(as_text=True)
    assert "Chúc mừng! Bạn đã hoàn thành khóa học" in final
    progress = db.session.scalar(sa.select(CourseProgress).where(CourseProgress.user_id == user.id))
    assert progress.completed_at is not None


def test_undo_mark_done(client, auth, make_user, org):
    login_learner(auth, make_user, org)
    make_course()
    client.post("/courses/chu-ky-so-co-ban/bai-1/done")
    client.post("/courses/chu-ky-so-co-ban/bai-1/done", data={"undo": "1"})
    assert "Tiến độ: 0/3 bài" in client.get("/courses/chu-ky-so-co-ban").get_data(as_text=True)


def test_drafts_and_unknown_pages_are_not_found(client, auth, make_user, org):
    login_learner(auth, make_user, org)
    make_course("nhap", "Bản nháp", status="draft")
    make_course()
    assert client.get("/courses/nhap").status_code == 404
    assert client.get("/courses/khong-co").status_code == 404
    assert client.get("/courses/chu-ky-so-co-ban/khong-co").status_code == 404
    assert "Bản nháp" not in client.get("/courses/").get_data(as_text=True)


def test_learner_pages_stay_under_100_kb_with_css(client, auth, make_user, org, runner):
    from training.services.competencies import seed_core_competencies

    seed_core_competencies()
    db.session.commit()
    assert runner.invoke(args=["courses", "sync"]).exit_code == 0
    login_learner(auth, make_user, org)
    with client.get("/static/css/app.css") as css_response:
        css = len(css_response.data)
    pages = ["/courses/", "/courses/chu-ky-so", "/courses/an-toan-thong-tin/nhan-dien-lua-dao-gia-mao"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200
        assert len(response.data) + css < 100_000, url


def test_home_links_to_courses(client, auth, make_user, org):
    login_learner(auth, make_user, org)
    assert 'href="/courses/"' in client.get("/").get_data(as_text=True)
