"""The attempt API (DESIGN.md): the quiz page's autosave, offline clients and load tests use it."""
from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from quizzes import api_bp
from quizzes.attempts import (AttemptError, attempts_left, attempts_used, quizzes_open_to, save_answer_by_id,
                              start_or_resume, submit_attempt, touch_deadline)
from quizzes.hot_path import save_rate_refusal, start_rate_refusal
from quizzes.models import Attempt, Quiz
from quizzes.presenting import attempt_payload
from training.access import access, rate_key
from training.api.views import check_auth_mode
from training.errors import json_error
from training.extensions import csrf, db, limiter

csrf.exempt(api_bp)
api_bp.before_request(check_auth_mode)


def me():
    return current_user


def _error(exc: AttemptError):
    db.session.rollback()
    response = json_error(exc.status, str(exc), exc.code)
    if exc.retry_after:  # a sitting that has not started: come back then
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _my_attempt(attempt_id: int) -> Attempt | None:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != me().id or attempt.state == "prepared":
        return None  # another learner's attempt, or one drawn for a sitting not started, does not exist for me
    return attempt


def _iso(value):
    return value.isoformat() if value else None


@api_bp.route("/quizzes")
@access()
def list_quizzes():
    user = me()
    quizzes = quizzes_open_to(user)
    used = attempts_used(user, quizzes)  # two queries whatever the number of quizzes
    return jsonify([
        {"id": quiz.id, "title": quiz.title, "competency": quiz.competency.code if quiz.competency else None,
         "opens_at": _iso(quiz.opens_at), "closes_at": _iso(quiz.closes_at), "time_limit_s": quiz.time_limit_s,
         "attempts_left": attempts_left(quiz, user, used.get(quiz.id, 0))}
        for quiz in quizzes
    ])


@api_bp.route("/quizzes/<int:quiz_id>/attempts", methods=["POST"])
@access()
def start_attempt(quiz_id: int):
    """Start or resume. A start in a sitting by bearer token is usually answered before this view by
    quizzes.hot_path, by the sitting's rules and the same guarded statement."""
    refused = start_rate_refusal(me().id)
    if refused is not None:
        return refused
    quiz = db.session.get(Quiz, quiz_id)
    if quiz is None or quiz.status != "published":
        return json_error(404, _("Không có bài kiểm tra này."))
    try:
        attempt, created = start_or_resume(quiz, me())
    except AttemptError as exc:
        return _error(exc)
    payload = attempt_payload(attempt)  # from what is in memory, before the commit expires it
    db.session.commit()
    return jsonify(payload), 201 if created else 200


@api_bp.route("/attempts/<int:attempt_id>")
@access()
def get_attempt(attempt_id: int):
    attempt = _my_attempt(attempt_id)
    if attempt is None:
        return json_error(404)
    touch_deadline(attempt)
    payload = attempt_payload(attempt)
    if attempt.state == "finished":
        payload.update({"score": attempt.score, "max_score": attempt.max_score, "passed": attempt.passed})
    db.session.commit()
    return jsonify(payload)


@api_bp.route("/attempts/<int:attempt_id>/answers/<int:slot>", methods=["PUT"])
@access()
def put_answer(attempt_id: int, slot: int):
    """The autosave. Its common case (a bearer token and a slot this process knows) is answered
    before this view by quizzes.hot_path with the same checks and the same statement."""
    refused = save_rate_refusal(me().id)
    if refused is not None:
        return refused
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "response" not in body:
        return json_error(422, _("Cần gửi JSON dạng {\"response\": ...}."), "invalid")
    try:
        saved_at = save_answer_by_id(me().id, attempt_id, slot, body["response"])
    except AttemptError as exc:
        return _error(exc)
    db.session.commit()  # a 200 means the answer is in the database
    return jsonify({"slot": slot, "saved_at": saved_at.isoformat()})


@api_bp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@access()
@limiter.limit("30 per minute", key_func=rate_key)
def submit(attempt_id: int):
    attempt = _my_attempt(attempt_id)
    if attempt is None:
        return json_error(404)
    result = submit_attempt(attempt)
    db.session.commit()
    return jsonify({"state": "finished", "score": result.score, "max_score": result.max_score,
                    "passed": result.passed, "percent": result.percent})

