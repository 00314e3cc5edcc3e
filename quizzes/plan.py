"""What the learner's plan (training.services.plan) shows about quizzes: for each competency, the
quiz that grants it, whether it is open, the attempts left, an attempt to resume, the best grade, and
the learner's exam sitting of it (start time and lobby link) when there is one."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from quizzes.attempts import attempts_left, finished_attempts, in_progress_attempt, is_open, quiz_grade
from quizzes.models import Quiz
from quizzes.sittings import my_sittings
from training.extensions import db
from training.models import User


def quiz_plan(user: User, competency_ids: list[int], now: datetime) -> dict:
    result: dict = {}
    quizzes = db.session.scalars(sa.select(Quiz).where(
        Quiz.status == "published", Quiz.competency_id.in_(competency_ids)).order_by(Quiz.title)).all()
    seats = my_sittings(user, now) if quizzes else {}
    for quiz in quizzes:
        current = in_progress_attempt(quiz, user)
        seat = seats.get(quiz.id)
        info = {"title": quiz.title, "url": f"/quizzes/{quiz.id}", "open": is_open(quiz, now),
                "attempts_left": attempts_left(quiz, user), "grade": quiz_grade(quiz, user),
                "attempted": bool(finished_attempts(quiz, user)),
                "in_progress_url": f"/quizzes/attempts/{current.id}" if current is not None else None,
                "sitting": {"starts_at": seat.sitting.starts_at, "url": f"/quizzes/sittings/{seat.sitting.id}/lobby"}
                if seat is not None and current is None else None}
        known = result.get(quiz.competency_id, {}).get("quiz")
        # One quiz per competency: the one in progress, else one with a sitting, else an open one, else the first.
        if known is None or (info["in_progress_url"] and not known["in_progress_url"]) \
                or (info["sitting"] and not known["sitting"] and not known["in_progress_url"]) \
                or (info["open"] and not known["open"] and not known["in_progress_url"] and not known["sitting"]):
            result[quiz.competency_id] = {"quiz": info}
    return result


def register(app) -> None:
    app.extensions.setdefault("plan_providers", []).append(quiz_plan)
