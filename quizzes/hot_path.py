"""Exam day's hot path: an autosave, and a start in a sitting, sent with a bearer token, each answered
by one guarded statement instead of the general request pipeline.

On exam day a city's officials start together, then save an answer every half minute each. The general
pipeline (the identity loaded as an ORM object, the limiter's generic checks, the quiz, seat and attempt
loaded as objects, a savepoint, the attempt read again) cost 3 to 7 times the stack's own insert floor
per request (bench/exam_day.py). The before_request function here answers the common case itself:

- **Autosave** `PUT /api/v1/attempts/<id>/answers/<slot>`: a slot whose question, option ids and owner
  this process knows (read once per attempt, quizzes.attempts), an answer that passes the question
  type's own check (the same function as the full path), within the account's save rate; then the same
  guarded UPDATE as the full path.
- **A start** `POST /api/v1/quizzes/<id>/attempts`: one query (quizzes.sittings.start_facts) reads the
  sitting that may expect the learner with their prepared attempt, the quiz's settings and rules, the
  learner's attempts and the bank's revision, and checks the token (and finds its owner, when this
  process does not know it).
  - **In a sitting**, decided by the sitting's own rules: the same guarded UPDATE as start_in_sitting,
    which returns the questions rendered at preparation.
  - **A start that no sitting decides**, by the quiz's own rules (quizzes.attempts.plain_start and
    start_refusal, shared with start_or_resume): the questions are drawn as every start draws them
    (draw_slots, from the pools and versions the process keeps for the bank's revision) and stored in
    one statement.

The statements also check the bearer token (live, user active, no password change owed: the rule of
training.services.sessions, as SQL). Anything else, and any refusal by a statement, falls through to
the full path, which authenticates, decides and answers with its message in the user's language;
nothing was written, so nothing is done twice. Responses carry the same headers as every other (the
app's after_request functions still run) and the same rate counters apply (rate_refusal).
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from types import SimpleNamespace

from flask import current_app, g, jsonify, request
from limits import parse
from sqlalchemy.exc import IntegrityError

from quizzes.attempts import AttemptError, checked_response, create_drawn, remember_slots, slot_snapshot, store_checked
from quizzes.presenting import payload_of, plain_slots, prepared_body, questions_json
from quizzes.sittings import NO_SITTING, start_facts, start_prepared_view
from training.auth_setup import bearer_token
from training.errors import json_error
from training.extensions import db, limiter
from training.services.sessions import known_token, live_token_owner, record_token_use

SAVE_ENDPOINT = "quizzes_api.put_answer"
START_ENDPOINT = "quizzes_api.start_attempt"
START_RATE_LIMIT = "30 per minute"  # starts (and resumes) per account


def rate_refusal(scope: str, limit: str, user_id: int):
    """An account's rate for one kind of request, counted once per request in the limiter's shared
    storage (RATELIMIT_STORAGE_URI): None when allowed, else the 429 answer with Retry-After. The
    hot path and the views both ask here, so both count on the same counter."""
    flag = f"rate_counted_{scope}"
    if g.get(flag) or not limiter.enabled:
        return None
    setattr(g, flag, True)
    item = _limit(limit)
    if limiter.limiter.hit(item, scope, str(user_id)):
        return None
    reset_at, _remaining = limiter.limiter.get_window_stats(item, scope, str(user_id))
    response = json_error(429, None, "rate_limited")
    response.headers["Retry-After"] = str(max(1, int(reset_at - time.time()) + 1))
    return response


def save_rate_refusal(user_id: int):
    """The autosave's rate per account (ANSWER_SAVE_RATE_LIMIT)."""
    return rate_refusal("answer-save", current_app.config["ANSWER_SAVE_RATE_LIMIT"], user_id)


def start_rate_refusal(user_id: int):
    return rate_refusal("attempt-start", START_RATE_LIMIT, user_id)


_LIMITS: dict[str, object] = {}


def _limit(text: str):
    if text not in _LIMITS:
        _LIMITS[text] = parse(text)
    return _LIMITS[text]


def _token_owner() -> tuple[str, int] | None:
    """The bearer token's hash and its user's id, for a live token (None: the full path answers)."""
    return live_token_owner(bearer_token())


def hot_path():
    """before_request: answer an autosave or a start in a sitting when the hot path applies, else None."""
    if request.endpoint == SAVE_ENDPOINT and request.method == "PUT":
        return autosave()
    if request.endpoint == START_ENDPOINT and request.method == "POST":
        return start()
    return None


def autosave():
    """Store the answer and answer 200 when the hot path applies, else None."""
    known = _token_owner()
    if known is None:
        return None
    token_hash, user_id = known
    attempt_id, slot_number = request.view_args["attempt_id"], request.view_args["slot"]
    snapshot = slot_snapshot(attempt_id, slot_number, user_id)
    if snapshot is None:
        return None
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "response" not in body:
        return None
    try:
        response = checked_response(snapshot, body["response"])
    except (AttemptError, TypeError, ValueError, KeyError):
        return None  # the full path says what is wrong, in the learner's language
    refused = save_rate_refusal(user_id)
    if refused is not None:
        return refused
    now = datetime.now(timezone.utc)
    if not store_checked(snapshot, attempt_id, slot_number, response, now, token_hash=token_hash):
        db.session.rollback()
        return None  # closed, past its deadline, token revoked…: the full path decides and explains
    db.session.commit()  # a 200 means the answer is in the database
    return jsonify({"slot": slot_number, "saved_at": now.isoformat()})


def start():
    """Start the learner's attempt (201 with the attempt) when the hot path applies, else None: a
    prepared attempt in the sitting that decides, or else a new attempt drawn by the quiz's rules.

    A token this process has not seen lately is looked up by the deciding query itself, which then
    gives its owner and its last recorded use (the use is recorded as every lookup records it)."""
    known = known_token(bearer_token())
    if known is None:
        return None
    token_hash, user_id = known
    quiz_id = request.view_args["quiz_id"]
    now = datetime.now(timezone.utc)
    facts = start_facts(quiz_id, user_id, token_hash, now)
    seat, plain, found = facts if facts is not None else (None, None, None)
    if found is not None:
        record_token_use(found.token_id, token_hash, found.user_id, found.last_used_at, now)
        user_id = found.user_id
    if seat is NO_SITTING and plain is not None:
        return start_drawn(plain, user_id, now)
    if seat is None or seat is NO_SITTING:
        db.session.rollback()
        return None
    return start_in_sitting(seat, quiz_id, user_id, token_hash, now)


def start_in_sitting(seat, quiz_id: int, user_id: int, token_hash: str, now: datetime):
    """Start the learner's prepared attempt of a sitting. The rules are the sitting's own
    (quizzes.sittings.start_facts); the start is the same guarded UPDATE as start_in_sitting's,
    authenticating the token as it writes."""
    refused = start_rate_refusal(user_id)
    if refused is not None:
        db.session.rollback()
        return refused
    try:
        started, questions = start_prepared_view(seat.attempt_id, user_id, seat.number, now, seat.deadline,
                                                 token_hash)
    except IntegrityError:  # another attempt of the learner is in progress: the full path resumes it
        started, questions = False, None
    if not started:
        db.session.rollback()
        return None
    attempt = SimpleNamespace(id=seat.attempt_id, quiz_id=quiz_id, state="in_progress", number=seat.number,
                              started_at=now, deadline=seat.deadline)
    if questions is not None:  # rendered at preparation: nothing else to read
        body = prepared_body(attempt, questions)
        db.session.commit()
        return current_app.response_class(body, 201, mimetype="application/json")
    slots = plain_slots(seat.attempt_id)
    if slots is None:
        db.session.rollback()
        return None
    payload = payload_of(attempt, slots)
    db.session.commit()
    _remember(attempt.id, user_id, slots)
    return jsonify(payload), 201


def _remember(attempt_id: int, user_id: int, slots) -> None:
    """This process keeps what the learner's autosaves need, as a first save would read it."""
    remember_slots(attempt_id, user_id, [(slot.id, slot.slot, slot.question_version.qtype,
                                          slot.question_version.data, slot.order) for slot in slots])


def start_drawn(start, user_id: int, now: datetime):
    """Start a new attempt that no sitting decides, which the quiz's own rules allow (read with the
    token's check: quizzes.sittings.start_facts): the same drawing as every start, and plain inserts."""
    refused = start_rate_refusal(user_id)
    if refused is not None:
        db.session.rollback()
        return refused
    try:
        attempt, slots = create_drawn(start, user_id, now)
    except (IntegrityError, AttemptError):  # a parallel start came first, or the bank is short: the full path says
        db.session.rollback()
        return None
    body = prepared_body(attempt, questions_json(slots))  # as a sitting's start sends its prepared attempt
    db.session.commit()
    _remember(attempt.id, user_id, slots)
    return current_app.response_class(body, 201, mimetype="application/json")


def init_app(app) -> None:
    """Run first after the overload check (training.serving), before the identity is looked up."""
    functions = app.before_request_funcs.setdefault(None, [])
    from training.serving import _refuse_stale_requests

    place = functions.index(_refuse_stale_requests) + 1 if _refuse_stale_requests in functions else 0
    functions.insert(place, hot_path)
