"""Blind learners on the demo quizzes: what a script that never reads a question scores.

    .venv/bin/python bench/blind_learner.py [--attempts 40] [--seed 1]

Builds the demo (`setup --demo`) in a temporary SQLite database, then for each published demo quiz
(20 questions drawn from its bank, as learners take it) runs `--attempts` attempts per strategy through
the attempt API (the test client, so ids, shuffling and grading are the real ones): by id order, first
and last option on screen, the longest option, and random guessing. Prints the mean score and the pass
rate per quiz and strategy, and the share of single-choice keys that are the longest option per bank.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STRATEGIES = ("first_id", "first_shown", "last_shown", "longest", "random")


def guess(question: dict, rng: random.Random):
    """Random guessing: one option picked uniformly (for matching, one per item)."""
    options = question["options"]
    if not options:
        return ""
    if question["type"] == "matching":
        return {item["id"]: rng.choice(options)["id"] for item in question["items"]}
    if question["type"] == "multi":
        return [rng.choice(options)["id"]]
    return rng.choice(options)["id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    from tests.quizzes.test_blind_learner import blind_response
    from training import create_app
    from training.extensions import db

    folder = tempfile.mkdtemp(prefix="blind-")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/blind.sqlite",
                      "DEMO_PASSWORD": "Blind-learner-2026",
                      "ANSWER_SAVE_RATE_LIMIT": "100000 per minute"})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["setup", "--demo"])
    assert result.exit_code == 0, result.output

    import sqlalchemy as sa

    from quizzes.models import Quiz
    from training.services.users import create_user

    with app.app_context():
        quizzes = [(q.id, q.title) for q in db.session.scalars(
            sa.select(Quiz).where(Quiz.status == "published").order_by(Quiz.id))]
        for quiz_id, _title in quizzes:
            db.session.get(Quiz, quiz_id).max_attempts = 0
            db.session.get(Quiz, quiz_id).attempt_delay_s = 0
        # One learner per round, so that no one meets the per-account limit on starting attempts.
        for n in range(args.attempts):
            create_user(f"blind{n}@load.example", "Người Làm Mò", password="Blind-learner-2026", roles=("learner",),
                        must_change_password=False)
        db.session.commit()

    scores = {(quiz_id, strategy): [] for quiz_id, _title in quizzes for strategy in STRATEGIES}
    passes = {key: 0 for key in scores}
    for n in range(args.attempts):
        client = app.test_client()
        login = client.post("/auth/login", data={"email": f"blind{n}@load.example", "password": "Blind-learner-2026"})
        assert login.status_code == 302
        for quiz_id, _title in quizzes:
            for strategy in STRATEGIES:
                payload = client.post(f"/api/v1/quizzes/{quiz_id}/attempts").get_json()
                attempt = payload["attempt_id"]
                for question in payload["questions"]:
                    response = guess(question, rng) if strategy == "random" else blind_response(strategy, question)
                    if response in ("", [], {}):
                        continue
                    client.put(f"/api/v1/attempts/{attempt}/answers/{question['slot']}", json={"response": response})
                outcome = client.post(f"/api/v1/attempts/{attempt}/submit").get_json()
                scores[(quiz_id, strategy)].append(outcome["percent"])
                passes[(quiz_id, strategy)] += bool(outcome["passed"])
    rows = [(title, strategy, statistics.mean(scores[(quiz_id, strategy)]),
             statistics.pstdev(scores[(quiz_id, strategy)]), passes[(quiz_id, strategy)], args.attempts)
            for quiz_id, title in quizzes for strategy in STRATEGIES]
    print(f"{'quiz':45} {'strategy':12} {'mean %':>7} {'sd':>5} {'passed':>7}")
    for title, strategy, mean, sd, passes, n in rows:
        print(f"{title[:45]:45} {strategy:12} {mean:7.1f} {sd:5.1f} {passes:>3}/{n}")
    print(f"\n(database in {folder}; {args.attempts} attempts per quiz and strategy)")
    os.environ.pop("DEMO_PASSWORD", None)


if __name__ == "__main__":
    main()
