"""Trust: only competence earns a certificate, and a revoked certificate stays revoked.

Ids a learner sees carry no information; a trainer cannot mint competencies; revocation revokes the
records beneath; the database keeps one attempt in progress and one valid certificate, under races.
"""
import os
import re
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from certificates.issuing import issue_certificate
from certificates.models import Certificate
from quizzes.models import Attempt, AttemptSlot, Quiz
from training.extensions import db
from training.models import AuditEntry, Competency, CompetencyRecord, User

from tests.certificates.test_issuing import ALL, qualify, signing_identity  # noqa: F401 (autouse fixture)
from tests.quizzes.helpers import make_quiz, right_answers

on_postgresql = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                   reason="races are started in parallel on PostgreSQL")


@pytest.fixture
def official(make_user, org, auth):
    user = make_user("lan@example.vn", "Nguyễn Thị Hồng Nhung", unit=org["dept_a"], position=org["position"])
    auth.login("lan@example.vn")
    return user


def start(client, quiz):
    return client.post(f"/api/v1/quizzes/{quiz.id}/attempts")


def answer_all_right(client, payload):
    for slot, option in right_answers(payload).items():
        assert client.put(f"/api/v1/attempts/{payload['attempt_id']}/answers/{slot}",
                          json={"response": option}).status_code == 200
    return client.post(f"/api/v1/attempts/{payload['attempt_id']}/submit").get_json()


# --------------------------------------------------------------------------- ids carry no information
def test_option_ids_are_random_per_attempt_and_never_the_banks(official, client):
    quiz = make_quiz(questions=4, draw=4, shuffle_options=False, max_attempts=0)
    first = start(client, quiz).get_json()
    client.post(f"/api/v1/attempts/{first['attempt_id']}/submit")
    second = start(client, quiz).get_json()
    ids = lambda payload: [o["id"] for q in payload["questions"] for o in q["options"]]  # noqa: E731
    for payload in (first, second):
        assert not set(ids(payload)) & {"o1", "o2", "o3"}
        assert all(re.fullmatch(r"[a-z2-9]{8}", i) for i in ids(payload))
        assert len(set(ids(payload))) == len(ids(payload))
    assert not set(ids(first)) & set(ids(second))
    # Unshuffled, the right option is written first in every question; its id says nothing of that.
    for question in second["questions"]:
        assert question["options"][0]["text"].startswith("Đúng")


def test_matching_items_and_choices_share_nothing(official, client):
    from quizzes.bank import create_question, ensure_category
    from quizzes.models import QuizRule
    from quizzes.qdata import QuestionData

    competency = db.session.scalar(sa.select(Competency).where(Competency.code == "ai"))
    category = ensure_category(["Ghép đôi"], competency=competency)
    question = create_question(category, QuestionData(qtype="matching", name="Ghép", text="Ghép văn bản", data={
        "shuffle": False, "distractors": ["Bộ Tài chính"], "pairs": [
            {"id": "i1", "text": "Luật 20/2023/QH15", "answer": "Quốc hội"},
            {"id": "i2", "text": "Nghị định 68/2024/NĐ-CP", "answer": "Chính phủ"}]}))
    quiz = Quiz(title="Ghép đôi", status="published", pass_percent=70, competency=None)
    quiz.rules.append(QuizRule(position=1, question=question, count=1))
    db.session.add(quiz)
    db.session.commit()
    payload = start(client, quiz).get_json()
    shown = payload["questions"][0]
    items, options = [i["id"] for i in shown["items"]], [o["id"] for o in shown["options"]]
    assert not set(items + options) & {"i1", "i2", "a1", "a2", "a3"}
    # Match item k to option k (the old tell): no longer the key by construction, and answers still grade.
    by_text = {o["text"]: o["id"] for o in shown["options"]}
    right = {shown["items"][0]["id"]: by_text["Quốc hội"], shown["items"][1]["id"]: by_text["Chính phủ"]}
    assert client.put(f"/api/v1/attempts/{payload['attempt_id']}/answers/1", json={"response": right}).status_code \
        == 200
    assert client.get(f"/api/v1/attempts/{payload['attempt_id']}").get_json()["answers"] == {"1": right}
    assert client.post(f"/api/v1/attempts/{payload['attempt_id']}/submit").get_json()["score"] == 1.0
    slot = db.session.scalar(sa.select(AttemptSlot))
    assert slot.response == {"i1": "a1", "i2": "a2"}  # stored, graded and analysed in the bank's ids


def test_the_quiz_page_shows_only_public_ids(official, client):
    quiz = make_quiz(questions=4, draw=4, shuffle_options=False)
    attempt_url = client.post(f"/quizzes/{quiz.id}/start").headers["Location"]
    page = client.get(attempt_url).get_data(as_text=True)
    assert 'value="o1"' not in page and 'value="o2"' not in page
    assert len(re.findall(r'type="radio" name="q\d+" value="[a-z2-9]{8}"', page)) == 6


def test_attempts_saved_before_opaque_ids_keep_working(official, client):
    """An attempt in progress from before the migration (no id map) gets one, and keeps it."""
    quiz = make_quiz(questions=4, draw=4)
    payload = start(client, quiz).get_json()
    db.session.remove()
    for slot in db.session.scalars(sa.select(AttemptSlot)):
        slot.order = {key: value for key, value in slot.order.items() if key != "ids"}
        slot.response = "o1" if slot.slot == 1 else None  # saved under the bank's id, as before
    db.session.commit()
    again = client.get(f"/api/v1/attempts/{payload['attempt_id']}").get_json()
    assert again["questions"] == client.get(f"/api/v1/attempts/{payload['attempt_id']}").get_json()["questions"]
    shown_first = next(o["id"] for o in again["questions"][0]["options"] if o["text"].startswith("Đúng"))
    assert again["answers"] == {"1": shown_first}


def test_the_migration_gives_attempts_in_progress_their_ids():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "training" / "migrations" / "versions" / "0007_trust.py"
    spec = importlib.util.spec_from_file_location("m0007", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    order = module._public_ids({"options": ["o2", "o1", "o3"], "items": []})
    assert set(order["ids"]) == {"o1", "o2", "o3"} and len(set(order["ids"].values())) == 3
    assert module._public_ids(order)["ids"] == order["ids"]  # idempotent


# --------------------------------------------------------------------------- granting policy
def test_a_zero_pass_mark_grants_nothing(official, client):
    quiz = make_quiz(questions=12, draw=10, pass_percent=0.0)
    payload = start(client, quiz).get_json()
    result = client.post(f"/api/v1/attempts/{payload['attempt_id']}/submit").get_json()
    assert result["passed"] is True and result["score"] == 0.0  # a pass by the quiz's own mark...
    assert db.session.scalar(sa.select(sa.func.count(CompetencyRecord.id))) == 0  # ...but no competency


def test_too_few_questions_grant_nothing(official, client):
    quiz = make_quiz(questions=4, draw=4)
    assert answer_all_right(client, start(client, quiz).get_json())["passed"] is True
    assert db.session.scalar(sa.select(sa.func.count(CompetencyRecord.id))) == 0


def test_trainer_cannot_set_a_low_pass_mark_on_a_granting_quiz(client, auth, make_user):
    make_user("gv@example.vn", roles=("trainer",))
    quiz = make_quiz(questions=12, draw=10)
    auth.login("gv@example.vn")
    form = {"title": quiz.title, "description": "", "course_id": "0", "competency_id": str(quiz.competency_id),
            "status": "published", "pass_percent": "10", "max_attempts": "3", "attempt_delay_min": "0",
            "grading_method": "highest", "questions_per_page": "5", "review_correctness": "after_submit",
            "review_right_answers": "after_close", "review_feedback": "after_submit", "shuffle_options": "y",
            "shuffle_questions": "y"}
    refused = client.post(f"/quizzes/manage/{quiz.id}", data=form)
    assert refused.status_code == 400
    assert "điểm đạt từ 70% trở lên" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Quiz, quiz.id).pass_percent == 70.0
    # Without a competency the same pass mark is a trainer's choice.
    form.update(competency_id="0")
    assert client.post(f"/quizzes/manage/{quiz.id}", data=form).status_code == 302
    # Changing which competency a quiz grants, or its pass mark, is audited with old and new values.
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "quiz.update"))
    assert entry.details["changes"]["pass_percent"] == {"old": 70.0, "new": 10.0}
    assert entry.details["changes"]["competency_id"]["new"] == 0


def test_publishing_a_granting_quiz_needs_enough_questions(client, auth, make_user, org):
    make_user("gv@example.vn", roles=("trainer",))
    auth.login("gv@example.vn")
    competency = db.session.scalar(sa.select(Competency).where(Competency.code == "ai"))
    form = {"title": "Kiểm tra AI", "description": "", "course_id": "0", "competency_id": str(competency.id),
            "status": "published", "pass_percent": "80", "max_attempts": "0", "attempt_delay_min": "0",
            "grading_method": "highest", "questions_per_page": "5", "review_correctness": "after_submit",
            "review_right_answers": "after_close", "review_feedback": "after_submit"}
    refused = client.post("/quizzes/manage/new", data=form)
    assert refused.status_code == 400 and "ít nhất 10 câu hỏi" in refused.get_data(as_text=True)
    form["status"] = "draft"
    assert client.post("/quizzes/manage/new", data=form).status_code == 302


def test_admin_sets_the_policy_and_it_is_audited(client, auth, make_user):
    make_user("admin@example.vn", roles=("admin",))
    auth.login("admin@example.vn")
    assert "Điểm đạt tối thiểu" in client.get("/admin/settings").get_data(as_text=True)
    bad = client.post("/admin/settings", data={"grant_min_pass_percent": "20", "grant_min_questions": "10"})
    assert bad.status_code == 400 and "Từ 50 đến 100." in bad.get_data(as_text=True)
    client.post("/admin/settings", data={"grant_min_pass_percent": "80", "grant_min_questions": "15"})
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "settings.update"))
    assert entry.details["changes"]["grant_min_pass_percent"] == {"old": 70, "new": 80}
    from quizzes.policy import policy

    assert policy() == (80.0, 15)


# --------------------------------------------------------------------------- revoked means revoked
def test_revoking_revokes_the_records_and_nothing_reissues_it(official, client, runner, make_user, org, auth):
    qualify(official)
    certificate = issue_certificate(official)
    db.session.commit()
    hr = make_user("hr@example.vn", "Lê Văn Hùng", roles=("hr",), unit=org["ward_a"])
    auth.logout()
    auth.login("hr@example.vn")
    client.post(f"/certificates/manage/{certificate.serial}", data={"reason": "Gian lận khi làm bài"})
    records = db.session.scalars(sa.select(CompetencyRecord)).all()
    assert len(records) == 5 and all(r.revoked_at is not None and r.revoked_by_id == hr.id for r in records)
    assert all("Gian lận khi làm bài" in r.revoked_reason for r in records)
    # Neither the cron nor a later pass of the old kind issues anything.
    assert "Đã cấp 0" in runner.invoke(args=["certificates", "issue"]).output
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 1


def test_only_an_attempt_started_after_the_revocation_earns_it_back(official, client, auth, make_user, org):
    qualify(official)
    certificate = issue_certificate(official)
    db.session.commit()
    quiz = make_quiz(questions=12, draw=10, max_attempts=0)
    before = start(client, quiz).get_json()  # started before the revocation...
    from certificates.issuing import revoke_certificate

    revoke_certificate(certificate, None, "Kiểm tra lại")
    db.session.commit()
    assert answer_all_right(client, before)["passed"] is True  # ...and passed after it: not enough
    assert db.session.scalar(sa.select(sa.func.count(CompetencyRecord.id))
                             .where(CompetencyRecord.revoked_at.is_(None))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 1
    after = start(client, quiz).get_json()
    assert answer_all_right(client, after)["passed"] is True
    fresh = db.session.scalars(sa.select(CompetencyRecord).where(CompetencyRecord.revoked_at.is_(None))).all()
    assert [r.competency.code for r in fresh] == ["digital_signature"]
    # One competency back is not the five the certificate rested on: still no new certificate.
    assert issue_certificate(official) is None


# --------------------------------------------------------------------------- invariants in the database
def test_the_database_refuses_a_second_attempt_in_progress(official, client):
    quiz = make_quiz()
    start(client, quiz)
    db.session.add(Attempt(quiz_id=quiz.id, user_id=official.id, number=2, state="in_progress"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_database_refuses_a_second_valid_certificate(official):
    qualify(official)
    certificate = issue_certificate(official)
    db.session.commit()
    db.session.add(Certificate(serial="CCS-2026-DUPL-ICAT-E000", user_id=official.id, holder_name="x",
                               competencies=[], expires_at=certificate.expires_at, pdf=b"%PDF-"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    # Nor a revoked one that still calls itself current.
    certificate.revoked_at = datetime.now(timezone.utc)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def _parallel(app, n, fn):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run(index):
        with app.app_context():
            try:
                barrier.wait()
                results.append(fn(index))
            except Exception as exc:  # reported by the assertion below, not swallowed
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
def test_parallel_starts_after_a_deadline_leave_one_attempt_in_progress(app, official, client):
    quiz = make_quiz(max_attempts=0)
    attempt_id = start(client, quiz).get_json()["attempt_id"]
    attempt = db.session.get(Attempt, attempt_id)
    attempt.deadline = datetime.now(timezone.utc) - timedelta(seconds=1)
    db.session.commit()
    quiz_id = quiz.id
    db.session.remove()

    def start_one(_index):
        client = app.test_client()
        client.post("/auth/login", data={"email": "lan@example.vn", "password": "Mat-khau-2025"})
        return client.post(f"/api/v1/quizzes/{quiz_id}/attempts").status_code

    results = _parallel(app, 6, start_one)
    assert set(results) <= {200, 201}
    states = db.session.scalars(sa.select(Attempt.state).where(Attempt.quiz_id == quiz_id)).all()
    assert states.count("in_progress") == 1 and states.count("finished") == 1


@on_postgresql
def test_parallel_issuers_give_one_certificate(app, official):
    qualify(official)
    official_id = official.id
    db.session.remove()

    def issue_one(_index):
        certificate = issue_certificate(db.session.get(User, official_id))
        db.session.commit()
        return certificate.serial if certificate else None

    results = _parallel(app, 6, issue_one)
    assert len([r for r in results if r]) == 1
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 1


@on_postgresql
def test_the_pass_hook_and_the_cron_together_give_one_certificate(app, official, client, runner):
    qualify(official, skip=("digital_signature",))
    quiz = make_quiz(questions=12, draw=10)
    payload = start(client, quiz).get_json()
    for slot, option in right_answers(payload).items():
        client.put(f"/api/v1/attempts/{payload['attempt_id']}/answers/{slot}", json={"response": option})
    # Make the record appear first, so the cron can see it while the hook runs.
    competency = db.session.scalar(sa.select(Competency).where(Competency.code == "digital_signature"))
    now = datetime.now(timezone.utc)
    db.session.add(CompetencyRecord(user_id=official.id, competency_id=competency.id, achieved_at=now,
                                    expires_at=now + timedelta(days=300), score=100))
    db.session.commit()
    attempt_id = payload["attempt_id"]
    db.session.remove()

    def submit():
        client = app.test_client()
        client.post("/auth/login", data={"email": "lan@example.vn", "password": "Mat-khau-2025"})
        return client.post(f"/api/v1/attempts/{attempt_id}/submit").status_code

    def cron():
        return app.test_cli_runner().invoke(args=["certificates", "issue"]).exit_code

    barrier_results = _parallel(app, 4, lambda index: submit() if index % 2 else cron())
    assert set(barrier_results) <= {0, 200}
    valid = db.session.scalar(sa.select(sa.func.count(Certificate.id)).where(Certificate.revoked_at.is_(None)))
    assert valid == 1
    assert {c.code for c in db.session.scalars(sa.select(Competency))} >= set(ALL)
