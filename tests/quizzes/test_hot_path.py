"""Exam day's hot path (quizzes.hot_path): an autosave and a start in a sitting by bearer token are
answered before the views, by the same rules and guarded statements, and everything the hot path
cannot decide (a revoked token, a closed attempt, a bad answer, a sitting not open) reaches the full
path, which refuses in the learner's language and stores nothing.

Each test makes the views fail if they are reached where the hot path must answer, so a green test
here means the hot path did the work; and each refusal is checked in the database afterwards."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

import quizzes.api
from courses.assignments import today_in_vietnam
from quizzes.models import Attempt, AttemptSlot
from training.extensions import db
from training.models import ApiToken, User

from tests.quizzes.helpers import make_quiz, right_answers, statements_run
from tests.quizzes.test_sittings import move, prepared_attempt, quiz, sitting, user, ward  # noqa: F401 (fixtures)

PASSWORD = "Mat-khau-2025"


def now():
    return datetime.now(timezone.utc)


def bearer(client, email):
    token = client.post("/api/v1/token", json={"email": email, "password": PASSWORD}).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}, token


def views_must_not_run(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the full path ran where the hot path must answer")

    monkeypatch.setattr(quizzes.api, "save_answer_by_id", refuse)
    monkeypatch.setattr(quizzes.api, "start_or_resume", refuse)


def stored(attempt_id, slot):
    return db.session.scalar(sa.select(AttemptSlot.response).where(AttemptSlot.attempt_id == attempt_id,
                                                                    AttemptSlot.slot == slot))


@pytest.fixture
def started(app, ward):  # noqa: F811
    """binh's attempt of a plain quiz, started through the API with a bearer token."""
    quiz = make_quiz(questions=6, draw=4)
    client = app.test_client()
    headers, token = bearer(client, "binh@example.vn")
    payload = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers).get_json()
    return {"client": client, "headers": headers, "token": token, "payload": payload,
            "attempt_id": payload["attempt_id"], "answers": right_answers(payload)}


def test_autosave_by_token_is_stored_by_the_hot_path(started, monkeypatch):
    views_must_not_run(monkeypatch)
    client, headers, attempt_id = started["client"], started["headers"], started["attempt_id"]
    for slot, option in started["answers"].items():
        response = client.put(f"/api/v1/attempts/{attempt_id}/answers/{slot}", headers=headers,
                              json={"response": option})
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["slot"] == slot and response.get_json()["saved_at"]
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    read = client.get(f"/api/v1/attempts/{attempt_id}", headers=headers).get_json()
    assert read["answers"] == {str(slot): option for slot, option in started["answers"].items()}
    # Stored in the bank's ids, not in the public ids the learner sent.
    assert all(stored(attempt_id, slot) == "o1" for slot in started["answers"])


def test_a_revoked_token_saves_nothing_even_after_the_hot_path_knew_it(started):
    client, headers, attempt_id = started["client"], started["headers"], started["attempt_id"]
    (first, option), (second, other) = list(started["answers"].items())[:2]
    assert client.put(f"/api/v1/attempts/{attempt_id}/answers/{first}", headers=headers,
                      json={"response": option}).status_code == 200
    db.session.execute(sa.update(ApiToken).values(revoked_at=now()))
    db.session.commit()
    refused = client.put(f"/api/v1/attempts/{attempt_id}/answers/{second}", headers=headers,
                         json={"response": other})
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "invalid_token"
    assert stored(attempt_id, second) is None


@pytest.mark.parametrize("change", ["deactivated", "password_change"])
def test_an_account_stopped_meanwhile_saves_nothing(started, change):
    client, headers, attempt_id = started["client"], started["headers"], started["attempt_id"]
    (first, option), (second, other) = list(started["answers"].items())[:2]
    assert client.put(f"/api/v1/attempts/{attempt_id}/answers/{first}", headers=headers,
                      json={"response": option}).status_code == 200
    values = {"active": False} if change == "deactivated" else {"must_change_password": True}
    db.session.execute(sa.update(User).where(User.email == "binh@example.vn").values(**values))
    db.session.commit()
    refused = client.put(f"/api/v1/attempts/{attempt_id}/answers/{second}", headers=headers,
                         json={"response": other})
    assert refused.status_code in (401, 403)
    assert stored(attempt_id, second) is None


def test_closed_attempts_and_passed_deadlines_refuse_in_vietnamese(started):
    client, headers, attempt_id = started["client"], started["headers"], started["attempt_id"]
    (first, option), (second, other) = list(started["answers"].items())[:2]
    assert client.put(f"/api/v1/attempts/{attempt_id}/answers/{first}", headers=headers,
                      json={"response": option}).status_code == 200
    db.session.execute(sa.update(Attempt).where(Attempt.id == attempt_id).values(deadline=now() - timedelta(seconds=1)))
    db.session.commit()
    late = client.put(f"/api/v1/attempts/{attempt_id}/answers/{second}", headers=headers, json={"response": other})
    assert late.status_code == 409 and "Đã hết giờ làm bài" in late.get_json()["error"]["message"]
    assert stored(attempt_id, second) is None
    db.session.execute(sa.update(Attempt).where(Attempt.id == attempt_id).values(state="finished", deadline=None))
    db.session.commit()
    closed = client.put(f"/api/v1/attempts/{attempt_id}/answers/{second}", headers=headers, json={"response": other})
    assert closed.status_code == 409 and closed.get_json()["error"]["code"] == "finished"
    assert stored(attempt_id, second) is None


def test_a_bad_answer_and_another_learners_attempt_are_refused(started, app):
    client, headers, attempt_id = started["client"], started["headers"], started["attempt_id"]
    slot, option = next(iter(started["answers"].items()))
    assert client.put(f"/api/v1/attempts/{attempt_id}/answers/{slot}", headers=headers,
                      json={"response": option}).status_code == 200
    bad = client.put(f"/api/v1/attempts/{attempt_id}/answers/{slot}", headers=headers, json={"response": "o1"})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_response"
    assert stored(attempt_id, slot) == "o1"  # the earlier answer, in bank ids, stays
    other_headers, _token = bearer(app.test_client(), "an@example.vn")
    app.test_client().get("/api/v1/quizzes", headers=other_headers)  # an's token is now known to the process
    theirs = client.put(f"/api/v1/attempts/{attempt_id}/answers/{slot}", headers=other_headers,
                        json={"response": option})
    assert theirs.status_code == 404
    unknown = client.put(f"/api/v1/attempts/{attempt_id}/answers/99", headers=headers, json={"response": option})
    assert unknown.status_code == 404


def test_the_save_rate_counts_on_one_counter_for_both_paths(started, app):
    app.config["ANSWER_SAVE_RATE_LIMIT"] = "3 per minute"
    client, headers, attempt_id = started["client"], started["headers"], started["attempt_id"]
    slot, option = next(iter(started["answers"].items()))
    codes = [client.put(f"/api/v1/attempts/{attempt_id}/answers/{slot}", headers=headers,
                        json={"response": option}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = client.put(f"/api/v1/attempts/{attempt_id}/answers/{slot}", headers=headers, json={"response": option})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


# --------------------------------------------------------------------------- the start in a sitting
def test_a_start_in_a_sitting_by_token_is_the_hot_paths_and_matches_the_full_path(app, ward, quiz, sitting,  # noqa: F811
                                                                                  runner, monkeypatch):
    runner.invoke(args=["quizzes", "prepare-sittings"])
    start = now() - timedelta(seconds=5)
    move(sitting.id, start)
    prepared_id = prepared_attempt(sitting.id, "an@example.vn").id
    slots_before = db.session.scalar(sa.select(sa.func.count()).select_from(AttemptSlot))
    client = app.test_client()
    headers, _token = bearer(client, "an@example.vn")
    views_must_not_run(monkeypatch)
    response = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    payload = response.get_json()
    assert payload["attempt_id"] == prepared_id and payload["state"] == "in_progress" and payload["number"] == 1
    assert abs((datetime.fromisoformat(payload["deadline"]) - (start + timedelta(minutes=30))).total_seconds()) < 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttemptSlot)) == slots_before
    attempt = db.session.get(Attempt, prepared_id)
    assert attempt.state == "in_progress" and attempt.number == 1
    monkeypatch.undo()
    # The full path reads the same attempt the same way (same questions, options and public ids).
    again = client.get(f"/api/v1/attempts/{prepared_id}", headers=headers).get_json()
    assert again["questions"] == payload["questions"]
    assert client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers).status_code == 200  # resumes
    for slot, option in right_answers(payload).items():
        assert client.put(f"/api/v1/attempts/{prepared_id}/answers/{slot}", headers=headers,
                          json={"response": option}).status_code == 200
    assert client.post(f"/api/v1/attempts/{prepared_id}/submit", headers=headers).get_json()["passed"] is True


def test_the_hot_path_leaves_the_sittings_refusals_to_the_full_path(app, ward, quiz, sitting, runner):  # noqa: F811
    runner.invoke(args=["quizzes", "prepare-sittings"])
    client = app.test_client()
    headers, _token = bearer(client, "an@example.vn")
    early = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers)
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "sitting_not_started"
    assert "Ca thi chưa bắt đầu" in early.get_json()["error"]["message"] and early.headers["Retry-After"]
    move(sitting.id, now() - timedelta(minutes=16))  # the 15-minute join window has closed
    late = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers)
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "sitting_closed"
    assert prepared_attempt(sitting.id, "an@example.vn").state == "prepared"


def start_with_a_revoked_token(app, quiz_id):
    """an's start of the quiz after the process has seen an's token and the token was revoked."""
    client = app.test_client()
    headers, _token = bearer(client, "an@example.vn")
    client.get("/api/v1/quizzes", headers=headers)  # the process knows the token
    db.session.execute(sa.update(ApiToken).values(revoked_at=now()))
    db.session.commit()
    return client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers)


def test_a_revoked_token_starts_nothing(app, ward, quiz, sitting, runner):  # noqa: F811
    runner.invoke(args=["quizzes", "prepare-sittings"])
    move(sitting.id, now() - timedelta(seconds=5))
    assert start_with_a_revoked_token(app, quiz.id).status_code == 401
    assert prepared_attempt(sitting.id, "an@example.vn").state == "prepared"


def test_the_start_rate_counts_on_one_counter_for_both_paths(app, ward, quiz, sitting, runner):  # noqa: F811
    runner.invoke(args=["quizzes", "prepare-sittings"])
    move(sitting.id, now() - timedelta(seconds=5))
    client = app.test_client()
    headers, _token = bearer(client, "an@example.vn")
    codes = [client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers).status_code for _ in range(31)]
    assert codes[0] == 201 and set(codes[1:30]) == {200} and codes[30] == 429
    assert user("an@example.vn") is not None


# --------------------------------------------------------------------------- a start no sitting decides
def test_a_plain_start_by_token_is_the_hot_paths_and_matches_the_full_path(app, ward, monkeypatch):  # noqa: F811
    quiz = make_quiz(questions=6, draw=4, time_limit_s=1800)
    client = app.test_client()
    headers, _token = bearer(client, "an@example.vn")
    views_must_not_run(monkeypatch)
    before = now()
    response = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    payload = response.get_json()
    assert payload["state"] == "in_progress" and payload["number"] == 1 and len(payload["questions"]) == 4
    assert abs((datetime.fromisoformat(payload["deadline"]) - (before + timedelta(minutes=30))).total_seconds()) < 5
    assert len({q["text"] for q in payload["questions"]}) == 4  # no question twice
    for question in payload["questions"]:
        assert not any(option["id"].startswith("o") and option["id"][1:].isdigit() for option in question["options"])
    attempt = db.session.get(Attempt, payload["attempt_id"])
    assert attempt.state == "in_progress" and attempt.user.email == "an@example.vn" and len(attempt.slots) == 4
    # This process kept what the autosave needs: the first saves are the hot path's too.
    answers = right_answers(payload)
    for slot, option in answers.items():
        assert client.put(f"/api/v1/attempts/{attempt.id}/answers/{slot}", headers=headers,
                          json={"response": option}).status_code == 200
    monkeypatch.undo()
    again = client.get(f"/api/v1/attempts/{attempt.id}", headers=headers).get_json()
    assert again["questions"] == payload["questions"]
    assert again["answers"] == {str(slot): option for slot, option in answers.items()}
    assert client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers).status_code == 200  # resumes
    assert client.post(f"/api/v1/attempts/{attempt.id}/submit", headers=headers).get_json()["passed"] is True


def test_a_plain_start_draws_fixed_questions_and_rules_like_the_full_path(app, ward, monkeypatch):  # noqa: F811
    from quizzes.bank import create_question, ensure_category
    from quizzes.models import QuizRule

    from tests.quizzes.helpers import single

    quiz = make_quiz(questions=5, draw=3, shuffle_questions=False)
    fixed = create_question(ensure_category(["Công chức số", "Cố định"]), single(99))
    quiz.rules.insert(0, QuizRule(position=0, question=fixed, count=1, mark=2.0))
    db.session.commit()
    client = app.test_client()
    headers, _token = bearer(client, "an@example.vn")
    views_must_not_run(monkeypatch)
    payload = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers).get_json()
    assert [q["mark"] for q in payload["questions"]] == [2.0, 1.0, 1.0, 1.0]  # the rules' order, unshuffled
    first = db.session.scalar(sa.select(AttemptSlot).where(AttemptSlot.attempt_id == payload["attempt_id"],
                                                           AttemptSlot.slot == 1))
    assert first.question_version_id == fixed.current_version_id


@pytest.mark.parametrize("setting, code", [
    ({"closes_at": "past"}, "closed"),
    ({"status": "draft"}, None),
    ({"max_attempts": 1}, "no_attempts_left"),
    ({"attempt_delay_s": 3600}, "wait"),
    ({"only_in_sittings": True}, "sitting_only"),
    ({"draw": 9}, "not_enough_questions"),
])
def test_the_plain_start_leaves_every_refusal_to_the_full_path(app, ward, setting, code):  # noqa: F811
    quiz = make_quiz(questions=6, draw=setting.get("draw", 4), max_attempts=setting.get("max_attempts", 3),
                     attempt_delay_s=setting.get("attempt_delay_s", 0))
    client = app.test_client()
    headers, _token = bearer(client, "an@example.vn")
    if setting.get("max_attempts") or setting.get("attempt_delay_s"):
        first = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers).get_json()
        client.post(f"/api/v1/attempts/{first['attempt_id']}/submit", headers=headers)
    if setting.get("closes_at"):
        db.session.execute(sa.update(type(quiz)).values(closes_at=now() - timedelta(minutes=1)))
    if setting.get("status"):
        db.session.execute(sa.update(type(quiz)).values(status="draft"))
    if setting.get("only_in_sittings"):
        db.session.execute(sa.update(type(quiz)).values(only_in_sittings=True))
    db.session.commit()
    attempts_before = db.session.scalar(sa.select(sa.func.count()).select_from(Attempt))
    refused = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers)
    assert refused.status_code in (403, 404, 409), refused.get_data(as_text=True)
    if code is not None:
        assert refused.get_json()["error"]["code"] == code
    assert refused.get_json()["error"]["message"]  # said to the learner, in Vietnamese
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attempt)) == attempts_before


def test_a_revoked_token_starts_no_plain_attempt(app, ward):  # noqa: F811
    quiz = make_quiz(questions=6, draw=4)
    assert start_with_a_revoked_token(app, quiz.id).status_code == 401
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attempt).where(Attempt.quiz_id == quiz.id)) == 0


on_postgresql = pytest.mark.skipif(not __import__("os").environ.get("TEST_DATABASE_URL"),
                                   reason="parallel requests are tested on PostgreSQL")


@on_postgresql
@pytest.mark.parametrize("max_attempts", [1, 3])
def test_parallel_plain_starts_by_token_make_one_attempt(app, ward, max_attempts):  # noqa: F811
    import threading

    quiz_id = make_quiz(questions=6, draw=4, max_attempts=max_attempts).id
    headers, _token = bearer(app.test_client(), "an@example.vn")
    db.session.remove()
    barrier, codes = threading.Barrier(6), []

    def run():
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            codes.append(client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers).status_code)
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(codes) == 6 and codes.count(201) == 1 and set(codes) <= {200, 201}, codes
    states = db.session.scalars(sa.select(Attempt.state).where(Attempt.quiz_id == quiz_id)).all()
    assert states == ["in_progress"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttemptSlot)
                             .join(Attempt, Attempt.id == AttemptSlot.attempt_id)
                             .where(Attempt.quiz_id == quiz_id)) == 4


# --------------------------------------------------------------------------- questions rendered ahead
@pytest.mark.parametrize("rendered_ahead", [True, False])
def test_a_prepared_start_sends_the_questions_rendered_at_preparation(app, ward, quiz, sitting, runner,  # noqa: F811
                                                                      monkeypatch, rendered_ahead):
    import quizzes.hot_path

    runner.invoke(args=["quizzes", "prepare-sittings"])
    move(sitting.id, now() - timedelta(seconds=5))
    prepared_id = prepared_attempt(sitting.id, "an@example.vn").id
    view = db.session.scalar(sa.select(Attempt.prepared_view).where(Attempt.id == prepared_id))
    assert view and len(__import__("json").loads(view)) == 4
    if rendered_ahead:
        def must_not_read(*args):
            raise AssertionError("the slots were read although their view was rendered at preparation")

        monkeypatch.setattr(quizzes.hot_path, "plain_slots", must_not_read)
    else:  # an attempt prepared by the previous release: its slots are read as before
        db.session.execute(sa.update(Attempt).where(Attempt.id == prepared_id).values(prepared_view=None))
        db.session.commit()
    client = app.test_client()
    headers, _token = bearer(client, "an@example.vn")
    views_must_not_run(monkeypatch)
    response = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers)
    assert response.status_code == 201 and response.mimetype == "application/json", response.get_data(as_text=True)
    payload = response.get_json()
    assert payload["attempt_id"] == prepared_id and payload["state"] == "in_progress" and payload["number"] == 1
    assert payload["answers"] == {} and payload["saved_at"] == {} and len(payload["questions"]) == 4
    assert response.headers["Cache-Control"] == "no-store"
    monkeypatch.undo()
    again = client.get(f"/api/v1/attempts/{prepared_id}", headers=headers).get_json()
    assert {key: value for key, value in again.items()} == payload
    for slot, option in right_answers(payload).items():
        assert client.put(f"/api/v1/attempts/{prepared_id}/answers/{slot}", headers=headers,
                          json={"response": option}).status_code == 200
    assert client.post(f"/api/v1/attempts/{prepared_id}/submit", headers=headers).get_json()["passed"] is True


# --------------------------------------------------------------------------- the bank's revision
def bank_revision():
    from quizzes.models import BankRevision

    return db.session.scalar(sa.select(BankRevision.revision).where(BankRevision.id == 1))


def test_every_change_to_what_a_quiz_draws_from_moves_the_bank_revision(app, ward):  # noqa: F811
    """The triggers of quizzes.bank_revision, on each watched table, for the ORM's writes and plain SQL
    alike; a change elsewhere leaves the revision where it was."""
    from courses.models import LegalText, LegalTextChange, QuestionCheck, QuestionCitation
    from quizzes.bank import update_question
    from quizzes.bank_revision import WATCHED
    from quizzes.models import Question, QuestionCategory, Quiz

    from tests.quizzes.helpers import single

    make_quiz(questions=2, draw=2)
    question = db.session.scalars(sa.select(Question).order_by(Question.id)).first()
    seen = [bank_revision()]
    assert seen[0] is not None

    def moved(change):
        change()
        db.session.commit()
        seen.append(bank_revision())
        return seen[-1] != seen[-2]

    text = LegalText(number="118/2025/NĐ-CP", key="118/2025/nđ-cp", kind="Nghị định", title="Một cửa")
    changes = {
        "question_versions": lambda: update_question(question, single(7)),  # no attempt used it: edited in place
        "questions": lambda: db.session.execute(sa.update(Question).where(Question.id == question.id)
                                                .values(hidden=True)),
        "question_categories": lambda: db.session.execute(sa.update(QuestionCategory).values(description="Mới")),
        "question_citations": lambda: db.session.add(QuestionCitation(question_id=question.id, number="1/2025/TT",
                                                                      key="1/2025/tt", origin="added")),
        "question_legal_checks": lambda: db.session.execute(sa.update(QuestionCheck).values(checked_by_id=None)),
        "legal_texts": lambda: db.session.add(text),
        "legal_text_changes": lambda: text.changes.append(LegalTextChange(kind="amended", by_number="2/2026/NĐ-CP",
                                                                          changed_on=today_in_vietnam())),
    }
    assert set(changes) == set(WATCHED)
    for table in WATCHED:
        assert moved(changes[table]), table
    assert moved(lambda: db.session.execute(sa.delete(Question).where(Question.id == question.id)))
    assert not moved(lambda: db.session.execute(sa.update(Quiz).values(title="Tên khác")))
    assert not moved(lambda: db.session.execute(sa.update(User).values(full_name="Tên khác")))


def test_a_warm_plain_start_reads_no_pool_and_no_version(app, ward, monkeypatch):  # noqa: F811
    quiz = make_quiz(questions=4, draw=4)  # the first start reads every version the second draws
    first = app.test_client()
    first_headers, _token = bearer(first, "an@example.vn")
    second = app.test_client()
    second_headers, _token = bearer(second, "binh@example.vn")
    assert first.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=first_headers).status_code == 201
    views_must_not_run(monkeypatch)
    with statements_run() as statements:
        response = second.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=second_headers)
    assert response.status_code == 201
    assert not [s for s in statements if s.startswith("SELECT questions.id") or "FROM question_versions" in s], \
        statements
    # One query decides (the sitting, the quiz and its rules, the learner's attempts, the token) ...
    assert [s for s in statements if s.startswith("SELECT") and "quiz_sittings" in s and "quiz_rules" in s]
    assert not [s for s in statements if s.startswith("SELECT quiz_sittings") or s.startswith("SELECT quiz_rules")]
    # ... and on PostgreSQL one statement stores the attempt with its slots.
    if db.engine.dialect.name == "postgresql":
        assert len([s for s in statements if s.startswith(("INSERT", "WITH"))]) == 1, statements
    assert len(response.get_json()["questions"]) == 4


@pytest.mark.parametrize("token_state", ["live", "revoked", "must_change_password"])
def test_a_start_by_a_token_this_process_has_not_seen_finds_its_owner_in_the_deciding_query(
        app, ward, monkeypatch, token_state):  # noqa: F811
    from training.models.user import secret_hash
    from training.services import sessions

    quiz = make_quiz(questions=4, draw=4)
    client = app.test_client()
    headers, token = bearer(client, "an@example.vn")
    owner = db.session.scalar(sa.select(User.id).where(User.email == "an@example.vn"))
    long_ago = now() - timedelta(days=1)
    db.session.execute(sa.update(ApiToken).where(ApiToken.token_hash == secret_hash(token))
                       .values(last_used_at=long_ago,
                               revoked_at=now() if token_state == "revoked" else None))
    if token_state == "must_change_password":
        db.session.execute(sa.update(User).where(User.id == owner).values(must_change_password=True))
    db.session.commit()
    sessions._OWNERS.clear()  # a worker that has not seen this token
    if token_state == "live":
        views_must_not_run(monkeypatch)
    with statements_run() as statements:
        response = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers)
    used = db.session.scalar(sa.select(ApiToken.last_used_at).where(ApiToken.token_hash == secret_hash(token)))
    attempts = db.session.scalars(sa.select(Attempt.user_id).where(Attempt.quiz_id == quiz.id)).all()
    if token_state != "live":  # the full path refuses, in the learner's language, and nothing starts
        assert response.status_code == (401 if token_state == "revoked" else 403), response.get_json()
        assert response.get_json()["error"]["message"]
        assert attempts == []
        if token_state == "revoked":  # nobody's token any more
            assert sessions.recent_token_owner(secret_hash(token)) is None
        return
    assert response.status_code == 201, response.get_json()
    assert attempts == [owner]
    # The deciding query found the owner: no lookup of the token before it ...
    assert not [s for s in statements if s.startswith("SELECT api_tokens.id")], statements
    # ... and the token's use is recorded and its owner remembered, as a lookup does.
    assert used > long_ago + timedelta(hours=23)
    assert sessions.recent_token_owner(secret_hash(token)) == owner


def hide_the_last(questions):
    from quizzes.models import Question

    db.session.execute(sa.update(Question).where(Question.id == questions[-1]).values(hidden=True))


def move_the_last(questions):
    from quizzes.bank import create_category
    from quizzes.models import Question

    elsewhere = create_category("Danh mục khác")
    db.session.execute(sa.update(Question).where(Question.id == questions[-1]).values(category_id=elsewhere.id))


def flag_the_last(questions):
    """The last question cites a decree that is amended today, after the question was last checked."""
    from courses.legal import citation_key
    from courses.models import LegalText, LegalTextChange, QuestionCheck, QuestionCitation

    today = today_in_vietnam()
    key = citation_key("118/2025/NĐ-CP")
    db.session.add(QuestionCitation(question_id=questions[-1], number="118/2025/NĐ-CP", key=key, origin="added"))
    db.session.execute(sa.delete(QuestionCheck).where(QuestionCheck.question_id == questions[-1]))
    db.session.add(QuestionCheck(question_id=questions[-1], checked_on=today - timedelta(days=60)))
    text = LegalText(number="118/2025/NĐ-CP", key=key, kind="Nghị định", title="Một cửa")
    db.session.add(text)
    db.session.commit()
    return text


@pytest.mark.parametrize("change", ["hidden", "moved", "flagged"])
def test_a_plain_start_draws_from_the_bank_as_it_is_now(app, ward, change):  # noqa: F811
    """A process that kept the pool of a three-question bank must not draw from it once a question has
    left the pool: the start is then refused (the bank is short), as the full path refuses it."""
    from courses.models import LegalTextChange
    from quizzes.models import Question

    quiz = make_quiz(questions=3, draw=3, skip_flagged_questions=True)
    questions = db.session.scalars(sa.select(Question.id).order_by(Question.id)).all()
    text = flag_the_last(questions) if change == "flagged" else None
    first = app.test_client()
    headers, _token = bearer(first, "an@example.vn")
    assert first.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers).status_code == 201
    if change == "hidden":
        hide_the_last(questions)
    elif change == "moved":
        move_the_last(questions)
    else:  # only the register changes: the decree is amended
        db.session.add(LegalTextChange(text_id=text.id, kind="amended", by_number="309/2026/NĐ-CP",
                                       changed_on=today_in_vietnam()))
    db.session.commit()
    second = app.test_client()
    headers, _token = bearer(second, "binh@example.vn")
    refused = second.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "not_enough_questions"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attempt)) == 1


def test_a_plain_start_draws_a_new_question_and_a_new_version_at_once(app, ward, monkeypatch):  # noqa: F811
    from quizzes.bank import create_question, update_question
    from quizzes.models import Question

    from tests.quizzes.helpers import single

    quiz = make_quiz(questions=3, draw=3)
    questions = db.session.scalars(sa.select(Question).order_by(Question.id)).all()
    first = app.test_client()
    headers, _token = bearer(first, "an@example.vn")
    assert first.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers).status_code == 201
    hide_the_last([question.id for question in questions])
    added = create_question(questions[0].category, single(8))
    update_question(questions[0], single(9))  # its version was drawn: the edit is a new version
    db.session.commit()
    second = app.test_client()
    headers, _token = bearer(second, "binh@example.vn")
    views_must_not_run(monkeypatch)
    payload = second.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers).get_json()
    drawn = set(db.session.scalars(sa.select(AttemptSlot.question_version_id)
                                   .where(AttemptSlot.attempt_id == payload["attempt_id"])))
    db.session.expire_all()
    assert drawn == {questions[0].current_version_id, questions[1].current_version_id, added.current_version_id}
    assert "Câu hỏi số 9" in " ".join(question["text"] for question in payload["questions"])


# --------------------------------------------------------------------------- a start's questions as JSON
def test_a_slot_as_json_is_its_view_for_every_question_of_the_courses_and_moodles_file():
    """presenting.slot_json (what a start sends) equals slot_view (what every read shows) for every
    question type, shuffled or not, in the public ids the slot drew."""
    import json
    import random
    from pathlib import Path
    from types import SimpleNamespace

    from quizzes.bank import GRADED_TYPES
    from quizzes.formats import parse_gift
    from quizzes.opaque import with_public_ids
    from quizzes.presenting import questions_json, slot_json, slot_view
    from quizzes.qtypes import get_type

    from tests.conftest import shared_dir

    files = sorted(Path("quizzes/content").glob("*.gift")) + [shared_dir() / "fixtures/gift/questions.gift.txt"]
    questions = [parsed.question for path in files
                 for parsed in parse_gift(path.read_bytes(), ["Mặc định"]).questions]
    rng = random.Random(7)
    slots, kinds = [], set()
    for number, q in enumerate(questions, start=1):
        if q.qtype not in GRADED_TYPES:
            continue
        kinds.add(q.qtype)
        version = SimpleNamespace(id=-number, question_id=number, qtype=q.qtype, name=q.name, text=q.text,
                                  text_format=q.text_format, general_feedback=q.general_feedback,
                                  default_mark=q.default_mark, penalty=q.penalty, data=q.data)
        order = with_public_ids(get_type(q.qtype).initial_order(q, rng))
        slot = SimpleNamespace(slot=number, order=order, max_mark=rng.choice([1.0, 2.5]), response=None,
                               saved_at=None, question_version=version)
        assert json.loads(slot_json(slot)) == slot_view(slot), q.text
        slots.append(slot)
    assert kinds == set(GRADED_TYPES)
    assert json.loads(questions_json(slots)) == [slot_view(slot) for slot in slots]
