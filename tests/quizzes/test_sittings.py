"""Exam sittings (ca thi): HR schedules a ward's exam, attempts are prepared ahead, learners wait in a
lobby and start together with one UPDATE each, late joiners get the time the sitting says, HR follows
the sitting live, and parallel starts leave one attempt in progress."""
import os
import re
import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from quizzes.models import Attempt, AttemptSlot, Quiz, Sitting, SittingMember
from quizzes.sittings import ends_at
from training.extensions import db
from training.models import AuditEntry, User

from tests.quizzes.helpers import make_quiz, right_answers, statements_run

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
PASSWORD = "Mat-khau-2025"
on_postgresql = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                   reason="races are started in parallel on PostgreSQL")


def now():
    return datetime.now(timezone.utc)


@pytest.fixture
def ward(org, make_user):
    """Ward A: its HR officer and three officials (one in its department); ward B: one official."""
    people = {
        "hr": make_user("hr@example.vn", "Phạm Thu Hà", roles=("hr",), unit=org["ward_a"]),
        "an": make_user("an@example.vn", "Nguyễn Văn An", unit=org["ward_a"], position=org["position"]),
        "binh": make_user("binh@example.vn", "Lê Thị Bình", unit=org["dept_a"], position=org["position"]),
        "chi": make_user("chi@example.vn", "Trần Minh Chi", unit=org["ward_a"]),
        "dung": make_user("dung@example.vn", "Võ Văn Dũng", unit=org["ward_b"], position=org["position"]),
    }
    return {**org, **people}


@pytest.fixture
def quiz(ward):
    return make_quiz(questions=6, draw=4, time_limit_s=1800, max_attempts=3)


def client_for(app, email):
    client = app.test_client()
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, email
    return client


def local(moment):
    return moment.astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M")


def schedule(client, quiz, **fields):
    data = {"quiz_id": quiz.id, "title": "", "starts_at": local(now() + timedelta(minutes=10)),
            "join_window_min": 15, "time_limit_min": 30, "late_policy": "remaining", "target": "unit",
            "unit_id": 0, "position_id": 0, "emails": ""}
    data.update(fields)
    return client.post("/quizzes/sittings/new", data=data)


def only_sitting() -> Sitting:
    return db.session.scalars(sa.select(Sitting)).one()


def move(sitting_id, starts_at):
    """Move a sitting in time (the form refuses a start in the past, as it should)."""
    sitting = db.session.get(Sitting, sitting_id)
    sitting.starts_at = starts_at
    sitting.ends_at = ends_at(starts_at, sitting.join_window_s, sitting.time_limit_s, sitting.late_policy)
    db.session.commit()


@pytest.fixture
def sitting(app, ward, quiz):
    """A sitting for ward A's subtree, in ten minutes, scheduled by the ward's HR officer."""
    response = schedule(client_for(app, "hr@example.vn"), quiz, unit_id=ward["ward_a"].id)
    assert response.status_code == 302, response.get_data(as_text=True)
    return only_sitting()


def user(email) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def prepared_attempt(sitting_id, email) -> Attempt | None:
    return db.session.scalar(sa.select(Attempt).join(SittingMember, SittingMember.attempt_id == Attempt.id)
                             .where(SittingMember.sitting_id == sitting_id, SittingMember.user_id == user(email).id))


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --------------------------------------------------------------------------- scheduling
def test_hr_schedules_a_sitting_for_the_ward_subtree(app, ward, quiz):
    hr = client_for(app, "hr@example.vn")
    start = now() + timedelta(hours=2)
    response = schedule(hr, quiz, unit_id=ward["ward_a"].id, title="Ca sáng", starts_at=local(start))
    assert response.status_code == 302
    page = hr.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ca sáng" in page and "Kiểm tra chữ ký số" in page
    assert local(start)[11:] in page  # the start is shown in Vietnam time (HH:MM)
    sitting = only_sitting()
    assert sitting.starts_at.tzinfo is not None and sitting.starts_at.utcoffset() == timedelta(0)
    assert local(sitting.starts_at) == local(start)
    members = db.session.scalars(sa.select(User.email).join(SittingMember, SittingMember.user_id == User.id)).all()
    # Everyone of the ward and its department (the HR officer too), nobody of ward B.
    assert sorted(members) == ["an@example.vn", "binh@example.vn", "chi@example.vn", "hr@example.vn"]
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "sitting.create"))
    assert entry is not None and entry.details["members"] == 4 and entry.details["late_policy"] == "remaining"


def test_a_position_narrows_the_sitting(app, ward, quiz):
    assert schedule(client_for(app, "hr@example.vn"), quiz, unit_id=ward["ward_a"].id,
                    position_id=ward["position"].id).status_code == 302
    members = db.session.scalars(sa.select(User.email).join(SittingMember, SittingMember.user_id == User.id)).all()
    assert sorted(members) == ["an@example.vn", "binh@example.vn"]


def test_a_sitting_for_officials_named_by_email(app, ward, quiz):
    response = schedule(client_for(app, "hr@example.vn"), quiz, target="people",
                        emails="AN@example.vn\nchi@example.vn; an@example.vn")
    assert response.status_code == 302
    members = db.session.scalars(sa.select(User.email).join(SittingMember, SittingMember.user_id == User.id)).all()
    assert sorted(members) == ["an@example.vn", "chi@example.vn"]


@pytest.mark.parametrize("fields, message", [
    ({"starts_at": "past"}, "đã qua; hãy chọn một thời điểm sắp tới"),
    ({"starts_at": ""}, "Vui lòng nhập giờ bắt đầu"),
    ({"join_window_min": 30, "time_limit_min": 20}, "thời gian cho phép vào muộn phải ngắn hơn thời gian làm bài"),
    ({"join_window_min": 0}, "Từ 1 đến 240 phút."),
    ({"target": "people", "emails": "dung@example.vn\nkhongco@example.vn"},
     "trong phạm vi của bạn: dung@example.vn, khongco@example.vn"),
    ({"target": "people", "emails": ""}, "Hãy nhập email của ít nhất một cán bộ."),
    ({"unit_id": "ward_b"}, "Vui lòng chọn một giá trị trong danh sách."),
])
def test_scheduling_refuses_bad_input_with_a_clear_message(app, ward, quiz, fields, message):
    hr = client_for(app, "hr@example.vn")
    fields = dict(fields)
    if fields.get("starts_at") == "past":
        fields["starts_at"] = local(now() - timedelta(minutes=5))
    if fields.get("unit_id") == "ward_b":
        fields["unit_id"] = ward["ward_b"].id  # outside this HR officer's scope
    response = schedule(hr, quiz, **{"unit_id": ward["ward_a"].id, **fields})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(Sitting) == 0 and count(SittingMember) == 0


def test_a_quiz_without_a_time_limit_needs_the_sittings_own(app, ward, make_user):
    quiz = make_quiz(time_limit_s=None)
    hr = client_for(app, "hr@example.vn")
    response = schedule(hr, quiz, unit_id=ward["ward_a"].id, time_limit_min="")
    assert response.status_code == 400
    assert "Vui lòng nhập thời gian làm bài của ca thi (phút)." in response.get_data(as_text=True)
    assert schedule(hr, quiz, unit_id=ward["ward_a"].id, time_limit_min=45).status_code == 302
    assert only_sitting().time_limit_s == 45 * 60


def test_left_empty_the_time_limit_is_the_quizs(app, ward, quiz):
    assert schedule(client_for(app, "hr@example.vn"), quiz, unit_id=ward["ward_a"].id,
                    time_limit_min="").status_code == 302
    assert only_sitting().time_limit_s == quiz.time_limit_s == 1800


def test_a_sitting_after_the_quiz_closes_is_refused(app, ward):
    quiz = make_quiz(closes_at=now() + timedelta(minutes=20))
    response = schedule(client_for(app, "hr@example.vn"), quiz, unit_id=ward["ward_a"].id)
    assert response.status_code == 400
    assert "trước khi ca thi kết thúc" in response.get_data(as_text=True)


def test_one_learner_is_not_in_two_overlapping_sittings_of_a_quiz(app, ward, quiz, sitting):
    hr = client_for(app, "hr@example.vn")
    response = schedule(hr, quiz, target="people", emails="binh@example.vn",
                        starts_at=local(sitting.starts_at + timedelta(minutes=5)))
    assert response.status_code == 400
    assert "Lê Thị Bình" in response.get_data(as_text=True)
    later = schedule(hr, quiz, target="people", emails="binh@example.vn",
                     starts_at=local(sitting.starts_at + timedelta(hours=3)))
    assert later.status_code == 302


def test_learners_cannot_schedule_or_follow_sittings(app, ward, sitting):
    learner = client_for(app, "an@example.vn")
    assert learner.get("/quizzes/sittings/").status_code == 403
    assert learner.get("/quizzes/sittings/new").status_code == 403
    assert learner.get(f"/quizzes/sittings/{sitting.id}").status_code == 403


# --------------------------------------------------------------------------- preparation
def test_preparation_is_idempotent_and_draws_like_a_start(app, ward, sitting, runner):
    result = runner.invoke(args=["quizzes", "prepare-sittings"])
    assert result.exit_code == 0, result.output
    assert "4/4 bài làm đã chuẩn bị" in result.output and "Xong: 4 bài làm mới cho 1 ca thi." in result.output
    attempts = db.session.scalars(sa.select(Attempt)).all()
    assert len(attempts) == 4 and {a.state for a in attempts} == {"prepared"}
    assert count(AttemptSlot) == 4 * 4
    for slot in db.session.scalars(sa.select(AttemptSlot)):
        assert sorted(slot.order["options"]) == ["o1", "o2", "o3"]
        assert set(slot.order["ids"]) == {"o1", "o2", "o3"}  # opaque ids drawn ahead, like a start's
        assert not set(slot.order["ids"].values()) & {"o1", "o2", "o3"}
    assert db.session.get(Sitting, sitting.id).prepared_at is not None

    again = runner.invoke(args=["quizzes", "prepare-sittings"])
    assert again.exit_code == 0, again.output
    assert "không có bài làm nào cần chuẩn bị" in again.output and "Xong: 0 bài làm mới" in again.output
    assert count(Attempt) == 4 and count(AttemptSlot) == 16


def test_preparation_picks_up_a_newcomer_and_skips_far_sittings(app, ward, sitting, runner, make_user):
    runner.invoke(args=["quizzes", "prepare-sittings"])
    make_user("moi@example.vn", "Đỗ Thị Mới", unit=ward["dept_a"])
    result = runner.invoke(args=["quizzes", "prepare-sittings"])
    assert "1/1 bài làm đã chuẩn bị" in result.output
    assert prepared_attempt(sitting.id, "moi@example.vn").state == "prepared"
    move(sitting.id, now() + timedelta(days=3))
    assert "Xong: 0 bài làm mới cho 0 ca thi." in runner.invoke(args=["quizzes", "prepare-sittings"]).output


def test_hr_prepares_on_demand_from_the_sitting_page(app, ward, sitting):
    hr = client_for(app, "hr@example.vn")
    response = hr.post(f"/quizzes/sittings/{sitting.id}/prepare", follow_redirects=True)
    assert "Đã chuẩn bị thêm 4 bài làm." in response.get_data(as_text=True)
    assert count(Attempt) == 4
    assert "Đã chuẩn bị thêm 0 bài làm." in hr.post(f"/quizzes/sittings/{sitting.id}/prepare",
                                                     follow_redirects=True).get_data(as_text=True)


def test_a_prepared_attempt_is_nobodys_before_the_start(app, ward, quiz, sitting, runner):
    runner.invoke(args=["quizzes", "prepare-sittings"])
    attempt_id = prepared_attempt(sitting.id, "an@example.vn").id
    learner = client_for(app, "an@example.vn")
    assert learner.get(f"/api/v1/attempts/{attempt_id}").status_code == 404
    assert learner.get(f"/quizzes/attempts/{attempt_id}").status_code == 404
    assert learner.put(f"/api/v1/attempts/{attempt_id}/answers/1", json={"response": "x"}).status_code in (404, 409)
    assert learner.post(f"/api/v1/attempts/{attempt_id}/submit").status_code == 404
    # Drawn is not used: the attempt limit and the HR official page count only started attempts.
    listed = {q["id"]: q for q in learner.get("/api/v1/quizzes").get_json()}
    assert listed[quiz.id]["attempts_left"] == 3
    official = client_for(app, "hr@example.vn").get(f"/hr/officials/{user('an@example.vn').id}")
    assert official.status_code == 200 and "Kiểm tra chữ ký số" not in official.get_data(as_text=True)


# --------------------------------------------------------------------------- the API around the window
def test_before_the_start_the_api_says_when_to_come_back(app, ward, quiz, sitting):
    learner = client_for(app, "an@example.vn")
    response = learner.post(f"/api/v1/quizzes/{quiz.id}/attempts")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "sitting_not_started"
    assert "Ca thi chưa bắt đầu" in response.get_json()["error"]["message"]
    assert response.headers["Retry-After"] == "300"  # ten minutes away: capped
    move(sitting.id, now() + timedelta(seconds=90))
    soon = learner.post(f"/api/v1/quizzes/{quiz.id}/attempts")
    assert soon.status_code == 409 and 85 <= int(soon.headers["Retry-After"]) <= 90
    assert count(Attempt) == 0 or {a.state for a in db.session.scalars(sa.select(Attempt))} == {"prepared"}


def test_in_the_window_the_prepared_attempt_starts_without_a_new_row(app, ward, quiz, sitting, runner):
    runner.invoke(args=["quizzes", "prepare-sittings"])
    prepared = prepared_attempt(sitting.id, "an@example.vn")
    prepared_id, slots_before, attempts_before = prepared.id, count(AttemptSlot), count(Attempt)
    start = now() - timedelta(seconds=5)
    move(sitting.id, start)
    learner = client_for(app, "an@example.vn")
    response = learner.post(f"/api/v1/quizzes/{quiz.id}/attempts")
    assert response.status_code == 201
    payload = response.get_json()
    assert payload["attempt_id"] == prepared_id and len(payload["questions"]) == 4
    assert count(AttemptSlot) == slots_before and count(Attempt) == attempts_before
    deadline = datetime.fromisoformat(payload["deadline"])
    assert abs((deadline - (start + timedelta(minutes=30))).total_seconds()) < 1
    attempt = db.session.get(Attempt, prepared_id)
    assert attempt.state == "in_progress" and attempt.number == 1 and attempt.started_at > start
    # Starting again resumes it, and the learner can answer and submit as always.
    again = learner.post(f"/api/v1/quizzes/{quiz.id}/attempts")
    assert again.status_code == 200 and again.get_json()["attempt_id"] == prepared_id
    for slot, option in right_answers(payload).items():
        assert learner.put(f"/api/v1/attempts/{prepared_id}/answers/{slot}",
                           json={"response": option}).status_code == 200
    assert learner.post(f"/api/v1/attempts/{prepared_id}/submit").get_json()["passed"] is True
    closed = learner.post(f"/api/v1/quizzes/{quiz.id}/attempts")
    assert closed.status_code == 409 and closed.get_json()["error"]["code"] == "sitting_closed"


def test_the_start_is_one_update(app, ward, quiz, sitting, runner):
    from quizzes.attempts import start_or_resume

    runner.invoke(args=["quizzes", "prepare-sittings"])
    move(sitting.id, now() - timedelta(seconds=5))
    learner, quiz = user("an@example.vn"), db.session.get(Quiz, quiz.id)
    with statements_run() as statements:
        attempt, created = start_or_resume(quiz, learner)
    db.session.commit()
    assert created and attempt.state == "in_progress" and len(attempt.slots) == 4
    verbs = [s.split(None, 1)[0].upper() for s in statements]
    writes = [verb for verb in verbs if verb in ("INSERT", "UPDATE", "DELETE")]
    assert writes == ["UPDATE"], statements


def test_an_unprepared_learner_is_prepared_and_started_at_once(app, ward, quiz, sitting):
    move(sitting.id, now() - timedelta(seconds=5))
    response = client_for(app, "chi@example.vn").post(f"/api/v1/quizzes/{quiz.id}/attempts")
    assert response.status_code == 201
    assert prepared_attempt(sitting.id, "chi@example.vn").state == "in_progress"
    assert count(Attempt) == 1


@pytest.mark.parametrize("policy, expected_minutes_left", [("remaining", 20), ("full", 30)])
def test_a_late_joiner_gets_the_time_the_sitting_says(app, ward, quiz, policy, expected_minutes_left):
    hr = client_for(app, "hr@example.vn")
    assert schedule(hr, quiz, unit_id=ward["ward_a"].id, late_policy=policy).status_code == 302
    sitting = only_sitting()
    move(sitting.id, now() - timedelta(minutes=10))  # the join window (15 min) is still open
    response = client_for(app, "binh@example.vn").post(f"/api/v1/quizzes/{quiz.id}/attempts")
    assert response.status_code == 201
    left = datetime.fromisoformat(response.get_json()["deadline"]) - now()
    assert abs(left.total_seconds() - expected_minutes_left * 60) < 5


def test_after_the_join_window_starts_are_refused_until_the_sitting_ends(app, ward, quiz, sitting):
    learner = client_for(app, "an@example.vn")
    move(sitting.id, now() - timedelta(minutes=16))
    response = learner.post(f"/api/v1/quizzes/{quiz.id}/attempts")
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "sitting_closed"
    # Once the sitting is over, the quiz's own rules apply again (it is open to anyone here)...
    move(sitting.id, now() - timedelta(hours=2))
    assert learner.post(f"/api/v1/quizzes/{quiz.id}/attempts").status_code == 201


def test_a_quiz_kept_to_sittings_refuses_everyone_else(app, ward, quiz, sitting, make_user):
    make_user("trainer@example.vn", "Giảng Viên", roles=("trainer",))
    trainer = client_for(app, "trainer@example.vn")
    assert trainer.post(f"/quizzes/sittings/only/{quiz.id}", data={"only": "1"}).status_code == 302
    assert db.session.get(Quiz, quiz.id).only_in_sittings is True
    outsider = client_for(app, "dung@example.vn").post(f"/api/v1/quizzes/{quiz.id}/attempts")
    assert outsider.status_code == 403 and outsider.get_json()["error"]["code"] == "sitting_only"
    page = client_for(app, "dung@example.vn").get(f"/quizzes/{quiz.id}").get_data(as_text=True)
    assert "chỉ làm trong ca thi" in page
    # A member in the window starts as usual.
    move(sitting.id, now() - timedelta(seconds=5))
    assert client_for(app, "an@example.vn").post(f"/api/v1/quizzes/{quiz.id}/attempts").status_code == 201


def test_learners_outside_the_sitting_are_unaffected(app, ward, quiz, sitting):
    move(sitting.id, now() + timedelta(minutes=1))
    assert client_for(app, "dung@example.vn").post(f"/api/v1/quizzes/{quiz.id}/attempts").status_code == 201


# --------------------------------------------------------------------------- the lobby
def test_the_lobby_waits_then_moves_the_learner_into_the_attempt(app, ward, quiz, sitting):
    learner = client_for(app, "an@example.vn")
    response = learner.get(f"/quizzes/sittings/{sitting.id}/lobby")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Còn 9 phút" in page or "Còn 10 phút" in page
    assert local(sitting.starts_at)[11:] in page
    assert 30 <= int(response.headers["Refresh"]) <= 300
    assert "<script>" not in page and "http-equiv" not in page
    attempt = prepared_attempt(sitting.id, "an@example.vn")
    assert attempt is not None and attempt.state == "prepared"  # drawn when the lobby first opened
    member = db.session.scalar(sa.select(SittingMember).where(SittingMember.attempt_id == attempt.id))
    assert member.lobby_at is not None
    attempt_id = attempt.id

    move(sitting.id, now() + timedelta(seconds=20))
    assert 20 <= int(learner.get(f"/quizzes/sittings/{sitting.id}/lobby").headers["Refresh"]) <= 31

    member.lobby_at = now() - timedelta(minutes=5)  # as long as they waited
    db.session.commit()
    move(sitting.id, now() - timedelta(seconds=1))
    moved = learner.get(f"/quizzes/sittings/{sitting.id}/lobby")
    assert moved.status_code == 302 and moved.headers["Location"].endswith(f"/quizzes/attempts/{attempt_id}")
    assert learner.get(moved.headers["Location"]).status_code == 200
    assert db.session.get(Attempt, attempt_id).state == "in_progress"


def test_a_late_joiner_presses_the_button(app, ward, quiz, sitting):
    move(sitting.id, now() - timedelta(minutes=3))
    learner = client_for(app, "binh@example.vn")
    page = learner.get(f"/quizzes/sittings/{sitting.id}/lobby")
    assert page.status_code == 200 and "Vào làm bài" in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(Attempt.state)) == "prepared"  # not started by opening a link
    started = learner.post(f"/quizzes/sittings/{sitting.id}/lobby")
    assert started.status_code == 302 and "/quizzes/attempts/" in started.headers["Location"]
    assert db.session.scalar(sa.select(Attempt.state)) == "in_progress"


def test_the_lobby_is_only_for_those_expected(app, ward, sitting):
    response = client_for(app, "dung@example.vn").get(f"/quizzes/sittings/{sitting.id}/lobby")
    assert response.status_code == 404
    assert "Bạn không có tên trong ca thi này." in response.get_data(as_text=True)


def test_the_plan_and_the_quiz_page_link_the_lobby(app, ward, quiz, sitting):
    learner = client_for(app, "an@example.vn")
    lobby = f"/quizzes/sittings/{sitting.id}/lobby"
    home = learner.get("/").get_data(as_text=True)
    assert "Ca thi lúc" in home and lobby in home
    quiz_page = learner.get(f"/quizzes/{quiz.id}").get_data(as_text=True)
    assert "Vào phòng chờ" in quiz_page and lobby in quiz_page
    assert lobby not in client_for(app, "dung@example.vn").get(f"/quizzes/{quiz.id}").get_data(as_text=True)


# --------------------------------------------------------------------------- HR live
def _cards(page: str) -> dict:
    return {label.strip(): int(n) for n, label in re.findall(r"<strong>(\d+)</strong>\s*([^<]+)</a>", page)}


def test_hr_sees_who_is_in_the_lobby_started_submitted_and_absent(app, ward, quiz, sitting):
    client_for(app, "an@example.vn").get(f"/quizzes/sittings/{sitting.id}/lobby")    # waiting
    client_for(app, "binh@example.vn").get(f"/quizzes/sittings/{sitting.id}/lobby")  # will start
    client_for(app, "chi@example.vn").get(f"/quizzes/sittings/{sitting.id}/lobby")   # will submit
    hr = client_for(app, "hr@example.vn")
    before = hr.get(f"/quizzes/sittings/{sitting.id}")
    assert before.headers["Refresh"] and before.headers["Cache-Control"] == "no-store"
    assert _cards(before.get_data(as_text=True)) == {"Có tên dự thi": 4, "Đang ở phòng chờ": 3, "Đang làm bài": 0,
                                                     "Đã nộp bài": 0, "Chưa vào": 1}
    move(sitting.id, now() - timedelta(seconds=5))
    assert client_for(app, "binh@example.vn").post(f"/api/v1/quizzes/{quiz.id}/attempts").status_code == 201
    chi = client_for(app, "chi@example.vn")
    attempt_id = chi.post(f"/api/v1/quizzes/{quiz.id}/attempts").get_json()["attempt_id"]
    chi.post(f"/api/v1/attempts/{attempt_id}/submit")
    page = hr.get(f"/quizzes/sittings/{sitting.id}").get_data(as_text=True)
    assert _cards(page) == {"Có tên dự thi": 4, "Đang ở phòng chờ": 1, "Đang làm bài": 1, "Đã nộp bài": 1,
                            "Chưa vào": 1}
    absent = hr.get(f"/quizzes/sittings/{sitting.id}?status=absent").get_data(as_text=True)
    assert "Phạm Thu Hà" in absent and "Nguyễn Văn An" not in absent and "Lê Thị Bình" not in absent
    lobby = hr.get(f"/quizzes/sittings/{sitting.id}?status=lobby").get_data(as_text=True)
    assert "Nguyễn Văn An" in lobby and "Trần Minh Chi" not in lobby
    move(sitting.id, now() - timedelta(minutes=20))  # the window is over: the absent are absent
    assert "Vắng mặt" in hr.get(f"/quizzes/sittings/{sitting.id}").get_data(as_text=True)


def test_hr_sees_only_its_scope(app, ward, quiz, make_user):
    make_user("hr.b@example.vn", "Hồ Thị Bến", roles=("hr",), unit=ward["ward_b"])
    make_user("hr.city@example.vn", "Đinh Văn Thành", roles=("hr",), unit=ward["city"])
    city = client_for(app, "hr.city@example.vn")
    assert schedule(city, quiz, unit_id=ward["city"].id).status_code == 302
    sitting = only_sitting()
    assert _cards(city.get(f"/quizzes/sittings/{sitting.id}").get_data(as_text=True))["Có tên dự thi"] == 7
    # Ward A's HR follows the city sitting for its own officials only, and may not cancel it.
    ward_a = client_for(app, "hr@example.vn")
    page = ward_a.get(f"/quizzes/sittings/{sitting.id}").get_data(as_text=True)
    assert _cards(page)["Có tên dự thi"] == 4 and "Võ Văn Dũng" not in page and "Hủy ca thi" not in page
    assert ward_a.post(f"/quizzes/sittings/{sitting.id}/cancel").status_code == 403
    # A sitting of ward A alone does not exist for ward B's HR.
    assert schedule(ward_a, quiz, unit_id=ward["ward_a"].id,
                    starts_at=local(now() + timedelta(days=2))).status_code == 302
    ward_a_sitting = db.session.scalar(sa.select(Sitting).where(Sitting.unit_id == ward["ward_a"].id))
    ward_b = client_for(app, "hr.b@example.vn")
    assert ward_b.get(f"/quizzes/sittings/{ward_a_sitting.id}").status_code == 404
    listing = ward_b.get("/quizzes/sittings/").get_data(as_text=True)
    assert f"/quizzes/sittings/{ward_a_sitting.id}\"" not in listing
    assert f"/quizzes/sittings/{sitting.id}\"" in listing


def test_cancelling_removes_the_prepared_attempts(app, ward, quiz, sitting, runner):
    runner.invoke(args=["quizzes", "prepare-sittings"])
    assert count(Attempt) == 4
    hr = client_for(app, "hr@example.vn")
    assert hr.post(f"/quizzes/sittings/{sitting.id}/cancel").status_code == 302
    assert count(Attempt) == 0 and count(AttemptSlot) == 0
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "sitting.cancel")) is not None
    learner = client_for(app, "an@example.vn")
    assert "đã bị hủy" in learner.get(f"/quizzes/sittings/{sitting.id}/lobby").get_data(as_text=True)
    assert learner.post(f"/api/v1/quizzes/{quiz.id}/attempts").status_code == 201  # the quiz's own rules again


# --------------------------------------------------------------------------- races (PostgreSQL)
def _parallel(app, n, fn):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run(index):
        with app.app_context():
            try:
                barrier.wait()
                results.append(fn(index))
            except Exception as exc:  # reported by the assertion below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


@on_postgresql
@pytest.mark.parametrize("prepared", [True, False])
def test_parallel_starts_give_one_attempt_in_progress(app, ward, quiz, sitting, runner, prepared):
    if prepared:
        runner.invoke(args=["quizzes", "prepare-sittings"])
    move(sitting.id, now() - timedelta(seconds=5))
    quiz_id = quiz.id
    clients = [client_for(app, "an@example.vn") for _ in range(6)]
    db.session.remove()
    results = _parallel(app, 6, lambda i: clients[i].post(f"/api/v1/quizzes/{quiz_id}/attempts"))
    assert sorted(r.status_code for r in results) == [200, 200, 200, 200, 200, 201]
    assert len({r.get_json()["attempt_id"] for r in results}) == 1
    learner_id = user("an@example.vn").id
    states = db.session.scalars(sa.select(Attempt.state).where(Attempt.user_id == learner_id)).all()
    assert states.count("in_progress") == 1 and "finished" not in states


@on_postgresql
def test_parallel_preparations_draw_each_attempt_once(app, ward, sitting):
    from quizzes.sittings import prepare_sitting

    sitting_id = sitting.id
    db.session.remove()

    def prepare(_index):
        prepare_sitting(db.session.get(Sitting, sitting_id))
        db.session.commit()

    _parallel(app, 3, prepare)
    assert count(Attempt) == 4 and count(AttemptSlot) == 16
    linked = db.session.scalars(sa.select(SittingMember.attempt_id)).all()
    assert None not in linked and sorted(linked) == sorted(db.session.scalars(sa.select(Attempt.id)))
