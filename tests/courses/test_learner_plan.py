"""The learner's home is a plan; holding a competency completes its assignment; the learner is told
of assignments, results, certificates and competencies about to lapse; the no-position rule is one."""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from courses.assignments import today_in_vietnam
from courses.models import Assignment, Notification, OutboxEmail
from training.extensions import db
from training.models import Competency, CompetencyRecord

from tests.courses.helpers import make_course
from tests.quizzes.helpers import make_quiz, right_answers


def record(user, code, days_left=300, achieved_days_ago=10):
    now = datetime.now(timezone.utc)
    competency = db.session.scalar(sa.select(Competency).where(Competency.code == code))
    db.session.add(CompetencyRecord(user_id=user.id, competency_id=competency.id,
                                    achieved_at=now - timedelta(days=achieved_days_ago),
                                    expires_at=now + timedelta(days=days_left), score=90))
    db.session.commit()


def pass_quiz(client, quiz):
    payload = client.post(f"/api/v1/quizzes/{quiz.id}/attempts").get_json()
    for slot, option in right_answers(payload).items():
        client.put(f"/api/v1/attempts/{payload['attempt_id']}/answers/{slot}", json={"response": option})
    return client.post(f"/api/v1/attempts/{payload['attempt_id']}/submit").get_json()


def test_home_is_a_plan_with_one_obvious_next_action(client, auth, make_user, org):
    lan = make_user("lan@example.vn", "Trần Thị Lan", unit=org["dept_a"], position=org["position"])
    competency = db.session.scalar(sa.select(Competency).where(Competency.code == "digital_signature"))
    course = make_course(competency=competency, lessons=3)
    make_quiz(questions=12, draw=10)
    db.session.add(Assignment(course=course, unit=org["ward_a"], due_on=today_in_vietnam() + timedelta(days=5)))
    db.session.commit()
    auth.login("lan@example.vn")
    home = client.get("/").get_data(as_text=True)
    assert "Việc tiếp theo" in home and "Đã đạt 0/5 năng lực bắt buộc" in home
    # The assigned competency comes first: its course, progress, quiz, due date and the next step.
    assert 'class="button next-action" href="/courses/chu-ky-so-co-ban/bai-1"' in home
    assert "Bắt đầu học" in home and "0/3 bài" in home and "Kiểm tra chữ ký số" in home
    assert "Hạn hoàn thành" in home
    assert home.index("Chữ ký số") < home.index("Văn bản điện tử")
    assert lan.position is not None


def test_passing_the_quiz_completes_the_assignment_everywhere(client, auth, make_user, org):
    make_user("hr.ward@example.vn", "Nguyễn Thị Hân", roles=("hr",), unit=org["ward_a"])
    make_user("lan@example.vn", "Trần Thị Lan", unit=org["dept_a"], position=org["position"])
    competency = db.session.scalar(sa.select(Competency).where(Competency.code == "digital_signature"))
    course = make_course(competency=competency, lessons=7)
    quiz = make_quiz(questions=12, draw=10)
    assignment = Assignment(course=course, unit=org["dept_a"], due_on=today_in_vietnam() + timedelta(days=5))
    db.session.add(assignment)
    db.session.commit()
    auth.login("lan@example.vn")
    assert pass_quiz(client, quiz)["passed"] is True
    home = client.get("/").get_data(as_text=True)
    assert "Đã đạt 1/5" in home
    catalogue = client.get("/courses/").get_data(as_text=True)
    assert "Đã đạt năng lực" in catalogue and "Đã hoàn thành" in catalogue  # 0/7 lessons, yet done
    auth.logout()
    auth.login("hr.ward@example.vn")
    done = client.get(f"/courses/assignments/{assignment.id}?state=done").get_data(as_text=True)
    assert "Trần Thị Lan" in done
    assert "<td>1/1</td>" in client.get("/courses/assignments").get_data(as_text=True)


def test_an_assignment_that_requires_the_lessons_is_not_done_by_the_quiz(client, auth, make_user, org):
    make_user("lan@example.vn", "Trần Thị Lan", unit=org["dept_a"], position=org["position"])
    competency = db.session.scalar(sa.select(Competency).where(Competency.code == "digital_signature"))
    course = make_course(competency=competency, lessons=1)
    quiz = make_quiz(questions=12, draw=10)
    assignment = Assignment(course=course, unit=org["dept_a"], requires_lessons=True,
                            due_on=today_in_vietnam() + timedelta(days=5))
    db.session.add(assignment)
    db.session.commit()
    auth.login("lan@example.vn")
    pass_quiz(client, quiz)
    from courses.assignments import assignment_counts

    assert assignment_counts(assignment)["done"] == 0
    client.post(f"/courses/{course.slug}/bai-1/done")
    assert assignment_counts(assignment)["done"] == 1


def test_learners_are_told_of_assignments_results_certificates_and_expiry(app, client, auth, make_user, org,
                                                                         runner, tmp_path):
    from certificates.issuing import issue_certificate, revoke_certificate
    from certificates.signing import make_dev_identity

    app.config.update(CERT_P12_PATH=str(tmp_path / "id.p12"), CERT_P12_PASSPHRASE="pw",
                      PUBLIC_BASE_URL="https://ccs.example.vn")
    make_dev_identity(app.config["CERT_P12_PATH"], "pw")
    make_user("hr.ward@example.vn", "Nguyễn Thị Hân", roles=("hr",), unit=org["ward_a"])
    lan = make_user("lan@example.vn", "Trần Thị Lan", unit=org["dept_a"], position=org["position"])
    course = make_course()
    auth.login("hr.ward@example.vn")
    client.post("/courses/assignments/new", data={
        "course_id": course.id, "target": "person", "email": "lan@example.vn", "unit_id": org["ward_a"].id,
        "position_id": 0, "due_on": (today_in_vietnam() + timedelta(days=7)).isoformat()})
    auth.logout()
    quiz = make_quiz(questions=12, draw=10)
    for code in ("e_documents", "info_security", "online_services", "ai"):
        record(lan, code)
    record(lan, "ai", days_left=20, achieved_days_ago=700)  # about to lapse, but a newer one lasts: no warning
    auth.login("lan@example.vn")
    pass_quiz(client, quiz)
    titles = [n.title for n in db.session.scalars(sa.select(Notification).order_by(Notification.id))]
    assert titles[0] == "Khóa học mới được giao: Chữ ký số cơ bản"
    assert "Kết quả bài kiểm tra: đạt" in titles
    assert "Bạn được cấp giấy chứng nhận công chức số" in titles  # the pass completed the set
    from certificates.models import Certificate

    certificate = issue_certificate(lan) or db.session.scalar(sa.select(Certificate))
    revoke_certificate(certificate, None, "Kiểm tra lại hồ sơ")
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.title.like("Giấy chứng nhận % đã bị thu hồi"))) == 1
    # Expiry: 30 days ahead, once per record, only for the record that matters.
    record(lan, "online_services", days_left=400)
    competency = db.session.scalar(sa.select(Competency).where(Competency.code == "e_documents"))
    soon = CompetencyRecord(user_id=lan.id, competency_id=competency.id, score=90,
                            achieved_at=datetime.now(timezone.utc) - timedelta(days=700),
                            expires_at=datetime.now(timezone.utc) + timedelta(days=12))
    db.session.add(soon)
    db.session.flush()
    for existing in db.session.scalars(sa.select(CompetencyRecord).where(
            CompetencyRecord.competency_id == competency.id, CompetencyRecord.id != soon.id)):
        existing.revoked_at = datetime.now(timezone.utc)  # so the one about to lapse is all she holds
    db.session.commit()
    first = runner.invoke(args=["reminders", "send"])
    second = runner.invoke(args=["reminders", "send"])
    assert "Đã báo 1 năng lực sắp hết hiệu lực" in first.output and "sắp hết hiệu lực" not in second.output
    assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.title == "Năng lực “Văn bản điện tử” sắp hết hiệu lực")) == 1
    assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id)).where(
        OutboxEmail.to_email == "lan@example.vn")) >= 5


def test_no_position_is_decided_once_and_shown_the_same_everywhere(client, auth, make_user, org):
    make_user("hr.ward@example.vn", roles=("hr",), unit=org["ward_a"])
    nobody = make_user("vo@example.vn", "Võ Văn Chưa Xếp", unit=org["ward_a"], position=None)
    auth.login("vo@example.vn")
    me = client.get("/api/v1/me").get_json()
    required = sorted(c["code"] for c in me["competencies"] if c["required"])
    assert required == sorted(db.session.scalars(sa.select(Competency.code).where(Competency.is_core)))
    assert "Đã đạt 0/5" in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login("hr.ward@example.vn")
    page = client.get(f"/hr/officials/{nobody.id}").get_data(as_text=True)
    assert page.count(">Có<") == 5  # every core competency "required" on the HR page too
