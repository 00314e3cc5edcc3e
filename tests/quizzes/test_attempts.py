"""Attempts through the API and the pages: snapshot, autosave, resume, deadline, submit once, review."""
import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from quizzes.models import Attempt
from training.extensions import db
from training.models import CompetencyRecord

from tests.quizzes.helpers import make_quiz, right_answers


@pytest.fixture
def learner(make_user, org, auth):
    user = make_user("lan@example.vn", "Trần Thị Lan", unit=org["dept_a"], position=org["position"])
    auth.login("lan@example.vn")
    return user


def start(client, quiz):
    return client.post(f"/api/v1/quizzes/{quiz.id}/attempts")


def test_quiz_list_and_start_without_answer_key(client, learner):
    quiz = make_quiz()
    listed = client.get("/api/v1/quizzes").get_json()
    assert listed == [{"id": quiz.id, "title": "Kiểm tra chữ ký số", "competency": "digital_signature",
                       "opens_at": None, "closes_at": None, "time_limit_s": 1800, "attempts_left": 3}]
    response = start(client, quiz)
    assert response.status_code == 201
    body = response.get_json()
    assert len(body["questions"]) == 4 and body["answers"] == {}
    raw = json.dumps(body, ensure_ascii=False)
    for secret in ("fraction", "KHEN-", "SUA-", "GIAI-THICH", "feedback"):
        assert secret not in raw
    assert {q["type"] for q in body["questions"]} == {"single"}


def test_resume_returns_the_same_snapshot(client, learner):
    quiz = make_quiz()
    first = start(client, quiz).get_json()
    again = start(client, quiz)
    assert again.status_code == 200
    assert again.get_json()["questions"] == first["questions"]
    assert client.get(f"/api/v1/attempts/{first['attempt_id']}").get_json()["questions"] == first["questions"]


def test_random_draw_differs_between_attempts_but_not_within_one(client, learner):
    quiz = make_quiz(questions=12, draw=6, max_attempts=0)
    seen = set()
    for _ in range(4):
        payload = start(client, quiz).get_json()
        seen.add(tuple(q["text"] for q in payload["questions"]))
        assert client.get(f"/api/v1/attempts/{payload['attempt_id']}").get_json()["questions"] == payload["questions"]
        client.post(f"/api/v1/attempts/{payload['attempt_id']}/submit")
    assert len(seen) > 1


def test_autosave_then_submit_records_competency(client, learner):
    quiz = make_quiz(questions=12, draw=10)  # the granting policy's default minimum is 10 questions
    payload = start(client, quiz).get_json()
    attempt_id = payload["attempt_id"]
    for slot, option in right_answers(payload).items():
        saved = client.put(f"/api/v1/attempts/{attempt_id}/answers/{slot}", json={"response": option})
        assert saved.status_code == 200 and saved.get_json()["slot"] == slot
    state = client.get(f"/api/v1/attempts/{attempt_id}").get_json()
    assert {int(k): v for k, v in state["answers"].items()} == right_answers(payload)
    assert len(state["saved_at"]) == 10
    result = client.post(f"/api/v1/attempts/{attempt_id}/submit").get_json()
    assert result == {"state": "finished", "score": 10.0, "max_score": 10.0, "passed": True, "percent": 100.0}
    again = client.post(f"/api/v1/attempts/{attempt_id}/submit").get_json()
    assert again == result
    records = db.session.scalars(sa.select(CompetencyRecord)).all()
    assert len(records) == 1 and records[0].user_id == learner.id and records[0].score == 100.0
    assert records[0].expires_at.year == records[0].achieved_at.year + 2  # validity 24 months


def test_failed_attempt_records_no_competency(client, learner):
    quiz = make_quiz()
    payload = start(client, quiz).get_json()
    result = client.post(f"/api/v1/attempts/{payload['attempt_id']}/submit").get_json()
    assert result["passed"] is False and result["score"] == 0.0
    assert db.session.scalar(sa.select(sa.func.count(CompetencyRecord.id))) == 0


def test_bad_answers_are_refused(client, learner):
    quiz = make_quiz()
    attempt_id = start(client, quiz).get_json()["attempt_id"]
    wrong_shape = client.put(f"/api/v1/attempts/{attempt_id}/answers/1", json={"response": ["o1", "o2"]})
    assert wrong_shape.status_code == 422 and wrong_shape.get_json()["error"]["code"] == "invalid_response"
    assert client.put(f"/api/v1/attempts/{attempt_id}/answers/1", data="x").status_code == 422
    assert client.put(f"/api/v1/attempts/{attempt_id}/answers/99", json={"response": "o1"}).status_code == 404
    # The bank's own ids mean nothing to the API: only the ids this attempt showed are answers.
    for bank_id in ("o1", "o2", "o9"):
        refused = client.put(f"/api/v1/attempts/{attempt_id}/answers/1", json={"response": bank_id})
        assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "invalid_response"


def test_answers_after_deadline_or_submission_get_409(client, learner):
    quiz = make_quiz()
    payload = start(client, quiz).get_json()
    attempt_id = payload["attempt_id"]
    first = {q["slot"]: q["options"][0]["id"] for q in payload["questions"]}
    client.put(f"/api/v1/attempts/{attempt_id}/answers/1", json={"response": first[1]})
    attempt = db.session.get(Attempt, attempt_id)
    attempt.deadline = datetime.now(timezone.utc) - timedelta(seconds=1)
    db.session.commit()
    late = client.put(f"/api/v1/attempts/{attempt_id}/answers/2", json={"response": first[2]})
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "deadline_passed"
    # Opening it submits it automatically with what was saved, in the ids the learner was shown.
    state = client.get(f"/api/v1/attempts/{attempt_id}").get_json()
    assert state["state"] == "finished" and state["answers"] == {"1": first[1]}
    assert state["questions"] == payload["questions"]
    again = client.put(f"/api/v1/attempts/{attempt_id}/answers/2", json={"response": first[2]})
    assert again.status_code == 409


def test_close_overdue_command(client, learner, runner):
    quiz = make_quiz()
    attempt_id = start(client, quiz).get_json()["attempt_id"]
    attempt = db.session.get(Attempt, attempt_id)
    attempt.deadline = datetime.now(timezone.utc) - timedelta(minutes=1)
    db.session.commit()
    result = runner.invoke(args=["quizzes", "close-overdue"])
    assert "Đã tự động nộp 1 bài làm" in result.output
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.state == "finished" and attempt.auto_submitted


def test_attempt_limit_and_other_learners(client, learner, make_user, auth):
    quiz = make_quiz(max_attempts=1)
    attempt_id = start(client, quiz).get_json()["attempt_id"]
    client.post(f"/api/v1/attempts/{attempt_id}/submit")
    refused = start(client, quiz)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "no_attempts_left"
    auth.logout()
    make_user("binh@example.vn")
    token = client.post("/api/v1/token", json={"email": "binh@example.vn", "password": "Mat-khau-2025"}).get_json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert client.get(f"/api/v1/attempts/{attempt_id}", headers=headers).status_code == 404
    assert client.post(f"/api/v1/attempts/{attempt_id}/submit", headers=headers).status_code == 404
    assert client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers).status_code == 201


def test_session_writes_need_the_csrf_header(app, make_user, org):
    app.config["WTF_CSRF_ENABLED"] = True
    make_user("lan@example.vn")
    quiz = make_quiz()
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/auth/login", data={"email": "lan@example.vn", "password": "Mat-khau-2025", "csrf_token": token})
    # Logging in rotates the CSRF token: the page the learner sees next carries the new one.
    import re

    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/quizzes/").get_data(as_text=True))[1]
    assert client.post(f"/api/v1/quizzes/{quiz.id}/attempts").status_code == 400
    assert client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers={"X-CSRFToken": token}).status_code == 201


def test_editing_an_answered_question_creates_a_version(client, learner):
    from quizzes.bank import question_data, update_question
    from quizzes.models import Question

    quiz = make_quiz(questions=4, draw=4)
    payload = start(client, quiz).get_json()
    answers = right_answers(payload)
    for slot, option in answers.items():
        client.put(f"/api/v1/attempts/{payload['attempt_id']}/answers/{slot}", json={"response": option})
    for question in db.session.scalars(sa.select(Question)):
        data = question_data(question)
        for option in data.data["options"]:  # the trainer now says the first wrong option is right
            option["fraction"] = 1.0 if option["id"] == "o2" else 0.0
        update_question(question, data)
    db.session.commit()
    assert all(len(q.versions) == 2 for q in db.session.scalars(sa.select(Question)))
    result = client.post(f"/api/v1/attempts/{payload['attempt_id']}/submit").get_json()
    assert result["score"] == 4.0  # graded against the versions the attempt saw


# --------------------------------------------------------------------------- the pages (no JavaScript)
def right_answers_on_page(page: str) -> dict[int, str]:
    """Slot -> the value of the radio button whose label starts "Đúng", read from the page's HTML."""
    import re

    found = {}
    for slot, value in re.findall(r'name="q(\d+)" value="([^"]+)"[^>]*> <span>Đúng', page):
        found[int(slot)] = value
    return found


def test_page_flow_without_javascript(client, learner):
    quiz = make_quiz(questions=4, draw=4)
    response = client.post(f"/quizzes/{quiz.id}/start")
    attempt_url = response.headers["Location"]
    page = client.get(attempt_url).get_data(as_text=True)
    assert "Trang 1 / 2" in page and "Câu 1" in page and "Câu 2" in page
    for secret in ("KHEN-", "SUA-", "GIAI-THICH"):
        assert secret not in page
    right = right_answers_on_page(page)
    form = {"page": "1", "action": "next", "q1-present": "1", "q2-present": "1", "q1": right[1], "q2": right[2]}
    assert client.post(attempt_url, data=form).headers["Location"].endswith("page=2")
    # The tab closes; coming back shows the saved answers checked.
    page1 = client.get(attempt_url + "?page=1").get_data(as_text=True)
    assert page1.count("checked") == 2 and "Đã lưu lúc" in page1
    right = right_answers_on_page(client.get(attempt_url + "?page=2").get_data(as_text=True))
    form = {"page": "2", "action": "finish", "q3-present": "1", "q4-present": "1", "q3": right[3]}
    summary = client.post(attempt_url, data=form).headers["Location"]
    summary_page = client.get(summary).get_data(as_text=True)
    assert "Chưa trả lời" in summary_page  # question 4
    review = client.post(f"{attempt_url}/submit", follow_redirects=True).get_data(as_text=True)
    assert "3 / 4" in review.replace(".0", "") and "(75.0%)" in review
    assert "Đạt" in review
    # Feedback is allowed after submit, the right answers only after the quiz closes (it never does here).
    assert "KHEN-" in review and "Đáp án đúng" not in review


def test_bad_numeric_input_on_the_page_is_explained(client, learner):
    quiz = make_quiz(questions=2, draw=2)
    client.post(f"/quizzes/{quiz.id}/start")
    attempt = db.session.scalar(sa.select(Attempt))
    response = client.post(f"/quizzes/attempts/{attempt.id}", data={"page": "1", "action": "next",
                                                                     "q1-present": "1", "q1": "o77"})
    assert response.status_code == 422
    assert "Hãy chọn một phương án" in response.get_data(as_text=True)


def test_review_shows_right_answers_after_close(client, learner):
    quiz = make_quiz(questions=2, draw=2)
    payload = start(client, quiz).get_json()
    client.post(f"/api/v1/attempts/{payload['attempt_id']}/submit")
    quiz.closes_at = datetime.now(timezone.utc) - timedelta(minutes=1)
    db.session.commit()
    review = client.get(f"/quizzes/attempts/{payload['attempt_id']}/review").get_data(as_text=True)
    assert "Đáp án đúng" in review and "Đúng 1" in review


# --------------------------------------------------------------------------- races
# SQLite serialises writers, so races are a PostgreSQL matter (the production database).
on_postgresql = pytest.mark.skipif(not __import__("os").environ.get("TEST_DATABASE_URL"),
                                   reason="parallel requests are tested on PostgreSQL")

def _parallel(app, n, fn):
    barrier = threading.Barrier(n)
    results = []

    def run():
        with app.app_context():
            client = app.test_client()
            client.post("/auth/login", data={"email": "lan@example.vn", "password": "Mat-khau-2025"})
            barrier.wait()
            results.append(fn(client))
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@on_postgresql
def test_parallel_submits_grade_once(app, learner, client):
    quiz = make_quiz(questions=12, draw=10)
    payload = start(client, quiz).get_json()
    for slot, option in right_answers(payload).items():
        client.put(f"/api/v1/attempts/{payload['attempt_id']}/answers/{slot}", json={"response": option})
    db.session.remove()
    results = _parallel(app, 6, lambda c: c.post(f"/api/v1/attempts/{payload['attempt_id']}/submit").status_code)
    assert results.count(200) == 6
    assert db.session.scalar(sa.select(sa.func.count(CompetencyRecord.id))) == 1


@on_postgresql
def test_parallel_starts_respect_the_attempt_limit(app, learner):
    quiz = make_quiz(max_attempts=1)
    quiz_id = quiz.id
    db.session.remove()
    results = _parallel(app, 6, lambda c: c.post(f"/api/v1/quizzes/{quiz_id}/attempts").status_code)
    assert set(results) <= {200, 201, 409} and results.count(201) == 1
    assert db.session.scalar(sa.select(sa.func.count(Attempt.id))) == 1


def test_any_json_shape_for_any_question_type_is_a_422_not_a_500(client, learner):
    """What a client can send: every JSON shape against every kind of question."""
    from quizzes.bank import create_question, ensure_category
    from quizzes.models import Quiz, QuizRule
    from quizzes.qdata import QuestionData

    category = ensure_category(["Hình dạng"])
    questions = [
        create_question(category, QuestionData(qtype="truefalse", name="TF", text="Đúng hay sai?",
                                               data={"correct": True})),
        create_question(category, QuestionData(qtype="matching", name="Ghép", text="Ghép", data={
            "shuffle": True, "distractors": ["C"], "pairs": [{"id": "i1", "text": "a", "answer": "A"},
                                                             {"id": "i2", "text": "b", "answer": "B"}]})),
        create_question(category, QuestionData(qtype="multi", name="Nhiều", text="Chọn", data={"options": [
            {"id": "o1", "text": "x", "fraction": 0.5}, {"id": "o2", "text": "y", "fraction": 0.5},
            {"id": "o3", "text": "z", "fraction": -1}]})),
        create_question(category, QuestionData(qtype="numerical", name="Số", text="Bao nhiêu?",
                                               data={"answers": [{"value": 3, "tolerance": 0, "fraction": 1}]})),
        create_question(category, QuestionData(qtype="shortanswer", name="Ngắn", text="Gì?",
                                               data={"answers": [{"text": "có", "fraction": 1}]})),
    ]
    quiz = Quiz(title="Hình dạng", status="published", pass_percent=70)
    for n, question in enumerate(questions, start=1):
        quiz.rules.append(QuizRule(position=n, question=question, count=1))
    db.session.add(quiz)
    db.session.commit()
    payload = start(client, quiz).get_json()
    shapes = [[1], {"a": [1]}, {"x": {"y": 1}}, [[1]], 1.5, True, None, "", {}, [], "khong-co", [None], {"": ""},
              {"k": None}, 10**40, "x" * 10000]
    for question in payload["questions"]:
        for shape in shapes:
            response = client.put(f"/api/v1/attempts/{payload['attempt_id']}/answers/{question['slot']}",
                                   json={"response": shape})
            assert response.status_code in (200, 422), (question["type"], shape, response.get_json())
