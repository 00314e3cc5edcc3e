"""`flask --app training generate`: synthetic officials, records and attempts at tiny sizes."""
import csv
from collections import Counter

import pytest
import sqlalchemy as sa

from quizzes.attempts import add_months
from quizzes.models import Attempt, AttemptSlot, Question
from training.extensions import db
from training.models import ApiToken, Competency, CompetencyRecord, OrgUnit, User

from tests.quizzes.helpers import make_quiz

PASSWORD = "Thu-nghiem-2025"


def generate(runner, *args):
    return runner.invoke(args=["generate", "--password", PASSWORD, *args])


def generated_users():
    return db.session.scalars(sa.select(User).where(User.email.like("%@load.example")).order_by(User.id)).all()


def wipe():
    """Empty every table (what the app fixture does between tests), keeping the schema."""
    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE questions SET current_version_id = NULL"))
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def quiz(app):
    return make_quiz(questions=6, draw=4)  # published, 3 attempts allowed, 4 questions drawn from 6


def test_generates_units_officials_records_and_attempts(runner, quiz, tmp_path):
    result = generate(runner, "--units", "3", "--officials", "20", "--attempts", "30", "--seed", "7",
                      "--tokens-out", str(tmp_path / "tokens.csv"))
    assert result.exit_code == 0, result.output
    assert "20 cán bộ, công chức" in result.output and "30 bài làm" in result.output
    assert "dòng/giây" in result.output

    city = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "GEN"))
    wards = db.session.scalars(sa.select(OrgUnit).where(OrgUnit.parent_id == city.id).order_by(OrgUnit.code)).all()
    assert [w.code for w in wards] == ["GEN-0001", "GEN-0002", "GEN-0003"]
    assert all(w.name in (f"Phường Thử nghiệm {w.code[4:]}", f"Xã Thử nghiệm {w.code[4:]}") for w in wards)
    assert all(w.path == f"{city.path}{w.id}/" and w.depth == 1 for w in wards)

    users = generated_users()
    assert [u.email for u in users] == [f"official{i}@load.example" for i in range(1, 21)]
    assert all(u.unit_id in {w.id for w in wards} and u.position is not None for u in users)
    assert all(u.roles == {"learner"} and u.active and not u.must_change_password for u in users)
    assert users[0].search_name and users[0].sort_key

    records = db.session.scalars(sa.select(CompetencyRecord)).all()
    assert records
    validity = {c.id: c.validity_months for c in db.session.scalars(sa.select(Competency))}
    assert all(r.expires_at == add_months(r.achieved_at, validity[r.competency_id]) for r in records)

    attempts = db.session.scalars(sa.select(Attempt)).all()
    assert len(attempts) == 30 and {a.state for a in attempts} == {"finished"}
    per_learner = Counter((a.quiz_id, a.user_id) for a in attempts)
    assert max(per_learner.values()) <= quiz.max_attempts - 1  # everyone keeps an attempt to take
    for (quiz_id, user_id), count in per_learner.items():
        numbers = sorted(a.number for a in attempts if a.user_id == user_id)
        assert numbers == list(range(1, count + 1))
    bank = set(db.session.scalars(sa.select(Question.current_version_id)))
    for attempt in attempts:
        assert [s.slot for s in attempt.slots] == [1, 2, 3, 4]
        assert {s.question_version_id for s in attempt.slots} <= bank
        assert attempt.score == pytest.approx(sum(s.mark for s in attempt.slots))
        assert attempt.passed == (attempt.percent >= quiz.pass_percent)
        assert attempt.started_at < attempt.submitted_at
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttemptSlot)) == 120


def test_attempts_capped_so_everyone_can_still_take_the_quiz(runner, quiz):
    result = generate(runner, "--units", "1", "--officials", "4", "--attempts", "50", "--seed", "5")
    assert result.exit_code == 0, result.output
    assert "Chỉ tạo 8 bài làm" in result.output  # 4 officials x (3 allowed - 1 kept)
    counts = Counter(db.session.scalars(sa.select(Attempt.user_id)))
    assert sorted(counts.values()) == [2, 2, 2, 2]


def test_generated_official_logs_in_and_takes_a_quiz(app, runner, client, auth, quiz, tmp_path):
    tokens_file = tmp_path / "tokens.csv"
    result = generate(runner, "--units", "3", "--officials", "20", "--attempts", "30", "--seed", "7",
                      "--tokens-out", str(tokens_file))
    assert result.exit_code == 0, result.output

    response = auth.login("official3@load.example", PASSWORD)
    assert response.status_code == 302 and "/auth/login" not in response.headers["Location"]
    started = client.post(f"/api/v1/quizzes/{quiz.id}/attempts")
    assert started.status_code == 201 and len(started.get_json()["questions"]) == 4

    with open(tokens_file, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["email", "token"]
    assert [row[0] for row in rows[1:]] == [f"official{i}@load.example" for i in range(1, 21)]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 20
    email, token = rows[5]
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=headers).get_json()["email"] == email
    listed = api.get("/api/v1/quizzes", headers=headers).get_json()
    assert [q["id"] for q in listed] == [quiz.id] and listed[0]["attempts_left"] >= 1
    assert api.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers).status_code == 201


def test_same_seed_same_units_and_names(app, runner):
    def run(seed: str) -> dict:
        result = generate(runner, "--units", "3", "--officials", "20", "--seed", seed)
        assert result.exit_code == 0, result.output
        people = {u.email: (u.full_name, u.unit.code, u.unit.name) for u in generated_users()}
        wipe()
        return people

    first = run("11")
    assert first == run("11")
    assert first != run("12")


def test_refuses_a_second_city_unless_append(runner, quiz):
    assert generate(runner, "--units", "3", "--officials", "20", "--seed", "1").exit_code == 0
    again = generate(runner, "--units", "3", "--officials", "20", "--seed", "1")
    assert again.exit_code != 0 and "Đã có dữ liệu thử nghiệm" in again.output and "--append" in again.output
    assert len(generated_users()) == 20

    more = generate(runner, "--units", "1", "--officials", "5", "--attempts", "5", "--append", "--seed", "2")
    assert more.exit_code == 0, more.output
    emails = [u.email for u in generated_users()]
    assert emails[-5:] == [f"official{i}@load.example" for i in range(21, 26)]
    assert db.session.scalar(sa.select(OrgUnit.id).where(OrgUnit.code == "GEN-0004")) is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attempt)) == 5


def test_weak_password_refused_and_nothing_created(runner, app):
    result = runner.invoke(args=["generate", "--units", "2", "--officials", "3", "--password", "123"])
    assert result.exit_code != 0 and "Lỗi:" in result.output
    assert generated_users() == [] and db.session.scalar(sa.select(OrgUnit.id)) is None


def test_without_quizzes_says_no_attempts_were_made(runner, app):
    result = generate(runner, "--units", "2", "--officials", "5", "--attempts", "10", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "Không có bài kiểm tra nào dùng được" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attempt)) == 0
    assert len(generated_users()) == 5


def test_draft_quizzes_are_used_when_none_is_published(runner, app):
    make_quiz(questions=6, draw=4, status="draft")
    result = generate(runner, "--units", "2", "--officials", "5", "--attempts", "8", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "nháp" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attempt)) == 8
