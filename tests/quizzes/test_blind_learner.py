"""A learner who never reads a question must score at chance on every shipped bank, and never pass.

Each demo quiz (one per bank in quizzes/content/) is set to ask its whole bank; a blind learner then
answers through the attempt API by id order, by position on screen, or by option length, and the score
is compared with random guessing computed from the bank itself. This is the check that keeps keys
out of ids, positions and lengths as banks are edited.
"""
from __future__ import annotations

import math
import re
from html import unescape

import pytest
import sqlalchemy as sa

from quizzes.bank import version_data
from quizzes.models import Question, QuestionVersion, Quiz
from training.extensions import db

# How far above chance a blind strategy may land by luck before the bank is called test-wise: the
# id and position strategies are random draws, so a few standard deviations of random guessing.
SIGMAS = 3.5


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]*>", " ", html or ""))).strip()


def chance(qtype: str, data: dict) -> tuple[float, float]:
    """(mean, variance) of the fraction earned by picking one option uniformly at random."""
    if qtype in ("single", "multi"):
        values = [max(0.0, float(o.get("fraction") or 0)) for o in data.get("options", [])]
    elif qtype == "truefalse":
        values = [1.0, 0.0]
    elif qtype == "matching":
        answers = {p.get("answer", "").strip() for p in data.get("pairs", []) if p.get("answer")}
        answers |= {d.strip() for d in data.get("distractors") or [] if d and d.strip()}
        p = 1 / max(1, len(answers))
        items = max(1, len([x for x in data.get("pairs", []) if x.get("text")]))
        return p, p * (1 - p) / items
    else:  # short answer, numerical: nothing to pick from
        return 0.0, 0.0
    mean = sum(values) / len(values)
    return mean, sum(v * v for v in values) / len(values) - mean * mean


def blind_response(strategy: str, question: dict):
    """What a learner who reads no question sends for it."""
    options, items = question["options"], question.get("items") or []
    if not options:
        return ""  # short answer: nothing to pick
    by_id = sorted(options, key=lambda o: o["id"])
    if strategy == "first_id":
        chosen = by_id[0]
    elif strategy == "first_shown":
        chosen = options[0]
    elif strategy == "last_shown":
        chosen = options[-1]
    else:  # "longest"
        chosen = max(options, key=lambda o: len(plain(o["text"])))
    if question["type"] == "multi":
        return [chosen["id"]]
    if question["type"] == "matching":
        if strategy == "first_id":  # the old tell: item k with choice k, in id order
            return {item["id"]: by_id[n % len(by_id)]["id"]
                    for n, item in enumerate(sorted(items, key=lambda i: i["id"]))}
        if strategy in ("first_shown", "last_shown"):
            return {item["id"]: options[n % len(options)]["id"] for n, item in enumerate(items)}
        return {item["id"]: chosen["id"] for item in items}
    return chosen["id"]


@pytest.fixture
def demo_quizzes(app, make_position):
    """The shipped banks imported as `setup --demo` does, each quiz asking its whole bank."""
    from quizzes.cli import load_demo_quizzes

    make_position()  # seeds the competencies
    # The blind learner saves every answer of all five banks within one minute, far faster than a
    # person; the per-minute save limit is not what this test is about.
    app.config["ANSWER_SAVE_RATE_LIMIT"] = "100000 per minute"
    load_demo_quizzes()
    quizzes = list(db.session.scalars(sa.select(Quiz).order_by(Quiz.id)))
    assert len(quizzes) == 5
    for quiz in quizzes:
        rule = quiz.rules[0]
        pool = db.session.scalar(sa.select(sa.func.count(Question.id)).where(Question.category_id == rule.category_id))
        rule.count = pool
        quiz.max_attempts = 0
        quiz.time_limit_s = None
    db.session.commit()
    return quizzes


def bank_chance(quiz: Quiz) -> tuple[float, float]:
    """Random guessing over the whole bank: (expected percent, its standard deviation in percent)."""
    versions = db.session.scalars(sa.select(QuestionVersion).join(
        Question, Question.current_version_id == QuestionVersion.id).where(
        Question.category_id == quiz.rules[0].category_id)).all()
    means, variances = zip(*(chance(v.qtype, version_data(v).data) for v in versions))
    n = len(versions)
    return 100 * sum(means) / n, 100 * math.sqrt(sum(variances)) / n


@pytest.mark.parametrize("strategy", ["first_id", "first_shown", "last_shown", "longest"])
def test_blind_learners_score_at_chance_and_never_pass(demo_quizzes, make_user, client, auth, strategy):
    make_user("mu@example.vn", "Lê Văn Mù")
    auth.login("mu@example.vn")
    report = []
    for quiz in demo_quizzes:
        payload = client.post(f"/api/v1/quizzes/{quiz.id}/attempts").get_json()
        attempt = payload["attempt_id"]
        for question in payload["questions"]:
            response = blind_response(strategy, question)
            if response in ("", [], {}):
                continue
            saved = client.put(f"/api/v1/attempts/{attempt}/answers/{question['slot']}", json={"response": response})
            assert saved.status_code == 200, saved.get_json()
        result = client.post(f"/api/v1/attempts/{attempt}/submit").get_json()
        mean, sd = bank_chance(quiz)
        report.append((quiz.title, result["percent"], mean, sd))
        assert not result["passed"], report
        assert result["percent"] <= mean + SIGMAS * sd, (strategy, report)
