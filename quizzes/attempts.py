"""Attempts: start or resume, autosave, submit once, grade, enforce the time limit, renew competency.

An attempt is a snapshot: the question versions and option orders drawn when it starts are stored
in its slots, so a reload, a restart or a later edit of the bank never changes what was asked.
"""
from __future__ import annotations

import calendar
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from quizzes.bank import GRADED_TYPES, subtree_ids, version_data
from quizzes.models import Attempt, AttemptSlot, Question, QuestionVersion, Quiz
from quizzes.opaque import UnknownId, ensure_public_ids, to_bank, with_public_ids
from quizzes.qdata import QuestionData
from quizzes.qtypes import get_type
from training.extensions import db
from training.models import CompetencyRecord, User
from training.services.sessions import token_live_clause


class AttemptError(Exception):
    """A request about an attempt that cannot be honoured. `status` is the HTTP status it maps to."""

    def __init__(self, message: str, status: int = 409, code: str = "conflict", retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after  # seconds, sent as Retry-After (a sitting that has not started yet)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year = moment.year + month // 12
    month = month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


# --------------------------------------------------------------------------- availability
def is_open(quiz: Quiz, now: datetime) -> bool:
    return (quiz.status == "published" and (quiz.opens_at is None or quiz.opens_at <= now)
            and (quiz.closes_at is None or now < quiz.closes_at))


def finished_attempts(quiz: Quiz, user: User) -> list[Attempt]:
    return list(db.session.scalars(sa.select(Attempt).where(
        Attempt.quiz_id == quiz.id, Attempt.user_id == user.id, Attempt.state == "finished")
        .order_by(Attempt.number)))


def attempt_count(quiz: Quiz, user: User) -> int:
    """Attempts started (a sitting's prepared attempt is not one until it starts)."""
    return db.session.scalar(sa.select(sa.func.count(Attempt.id)).where(
        Attempt.quiz_id == quiz.id, Attempt.user_id == user.id, Attempt.state != "prepared")) or 0


def attempts_used(user: User, quizzes) -> dict[int, int]:
    """Attempts started per quiz, for a list of quizzes in one query (as `attempt_count` counts them)."""
    ids = [quiz.id for quiz in quizzes]
    if not ids:
        return {}
    return dict(db.session.execute(
        sa.select(Attempt.quiz_id, sa.func.count(Attempt.id))
        .where(Attempt.user_id == user.id, Attempt.quiz_id.in_(ids), Attempt.state != "prepared")
        .group_by(Attempt.quiz_id)).all())


def attempts_left(quiz: Quiz, user: User, used: int | None = None) -> int | None:
    """None means unlimited. `used`, when known (from `attempts_used`), saves the count."""
    if not quiz.max_attempts:
        return None
    return max(0, quiz.max_attempts - (attempt_count(quiz, user) if used is None else used))


def in_progress_attempt(quiz: Quiz, user: User) -> Attempt | None:
    return db.session.scalar(sa.select(Attempt).where(
        Attempt.quiz_id == quiz.id, Attempt.user_id == user.id, Attempt.state == "in_progress")
        .options(selectinload(Attempt.slots).joinedload(AttemptSlot.question_version)))


def quizzes_open_to(user: User, now: datetime | None = None) -> list[Quiz]:
    now = now or now_utc()
    quizzes = db.session.scalars(sa.select(Quiz).where(Quiz.status == "published")
                                 .options(joinedload(Quiz.competency)).order_by(Quiz.title))
    return [quiz for quiz in quizzes if is_open(quiz, now)]


def next_start_time(quiz: Quiz, user: User) -> datetime | None:
    """When the delay between attempts lets this learner start again (None: no wait)."""
    if not quiz.attempt_delay_s:
        return None
    last = db.session.scalar(sa.select(sa.func.max(Attempt.submitted_at)).where(
        Attempt.quiz_id == quiz.id, Attempt.user_id == user.id))
    return last + timedelta(seconds=quiz.attempt_delay_s) if last else None


# --------------------------------------------------------------------------- drawing questions
def draw_questions(quiz: Quiz, rng: random.Random, pools: dict | None = None) -> list[tuple[QuestionVersion, float]]:
    """The (version, mark) pairs an attempt asks, following the quiz rules.

    `pools`, when given, keeps each rule's pool between calls: a sitting's preparation draws thousands
    of attempts from one query per rule.
    """
    chosen: list[tuple[QuestionVersion, float]] = []
    used: set[int] = set()
    for rule in quiz.rules:
        if rule.question_id is not None:
            question = rule.question
            if question is not None and question.current_version is not None and question.id not in used:
                chosen.append((question.current_version, rule.mark))
                used.add(question.id)
            continue
        if rule.category is None:
            continue
        rule_pool = pools.get(rule.id) if pools is not None else None
        if rule_pool is None:
            # The pool with each question's current version, in one query (not one per drawn question).
            stmt = sa.select(Question.id, QuestionVersion).join(
                QuestionVersion, Question.current_version_id == QuestionVersion.id).where(
                Question.hidden.is_(False), QuestionVersion.qtype.in_(GRADED_TYPES)).order_by(Question.id)
            if rule.include_subcategories:
                stmt = stmt.where(Question.category_id.in_(subtree_ids(rule.category)))
            else:
                stmt = stmt.where(Question.category_id == rule.category_id)
            if quiz.skip_flagged_questions:
                from courses.legal import question_flagged

                # A question citing a text that changed since it was last checked stays out, in the same query.
                stmt = stmt.where(~question_flagged(Question.id))
            rule_pool = [tuple(row) for row in db.session.execute(stmt)]
            if pools is not None:
                pools[rule.id] = rule_pool
        pool = [(question_id, version) for question_id, version in rule_pool if question_id not in used]
        if len(pool) < rule.count:
            raise AttemptError(_("Ngân hàng câu hỏi không đủ câu cho bài kiểm tra này. Vui lòng báo giảng viên."),
                               409, "not_enough_questions")
        for question_id, version in rng.sample(pool, rule.count):
            chosen.append((version, rule.mark))
            used.add(question_id)
    if not chosen:
        raise AttemptError(_("Bài kiểm tra chưa có câu hỏi."), 409, "no_questions")
    if quiz.shuffle_questions:
        rng.shuffle(chosen)
    return chosen


def _deadline(quiz: Quiz, started: datetime) -> datetime | None:
    deadline = started + timedelta(seconds=quiz.time_limit_s) if quiz.time_limit_s else None
    if quiz.closes_at is not None and (deadline is None or quiz.closes_at < deadline):
        deadline = quiz.closes_at
    return deadline


def draw_slots(quiz: Quiz, rng: random.Random,
               pools: dict | None = None) -> list[tuple[int, QuestionVersion, float, dict]]:
    """What a new attempt asks, slot by slot: (slot number, version, mark, option order with public ids).

    One drawing for a start and for a sitting's preparation, so a prepared attempt is an attempt like
    any other.
    """
    slots = []
    for slot_number, (version, mark) in enumerate(draw_questions(quiz, rng, pools), start=1):
        qtype = get_type(version.qtype)
        data = version_data(version)
        # Bank ids carry the authoring order (and so the key): the learner sees random ones.
        order = with_public_ids(qtype.initial_order(data if quiz.shuffle_options else _unshuffled(data), rng))
        slots.append((slot_number, version, mark, order))
    return slots


def start_or_resume(quiz: Quiz, user: User, now: datetime | None = None) -> tuple[Attempt, bool]:
    """Resume the learner's attempt in progress, or start a new one. Returns (attempt, created).

    While an exam sitting of the quiz expects the learner, the sitting decides (quizzes.sittings):
    its prepared attempt starts in the join window, and the start is refused before and after it.
    Raises AttemptError when the quiz is closed, the attempts are used up, or the delay between
    attempts has not passed. Flushes; the caller commits.
    """
    from quizzes.sittings import start_in_sitting  # sittings build on this module

    now = now or now_utc()
    current = in_progress_attempt(quiz, user)
    if current is not None:
        if current.deadline is not None and now >= current.deadline:
            submit_attempt(current, now, auto=True)
        else:
            return current, False
    in_sitting = start_in_sitting(quiz, user, now)
    if in_sitting is not None:
        return in_sitting
    if not is_open(quiz, now):
        raise AttemptError(_("Bài kiểm tra này hiện không mở."), 403, "closed")
    # One count decides both the limit and the new number, so two parallel starts collide on the
    # unique (quiz, user, number) key instead of both slipping under the limit.
    used = attempt_count(quiz, user)
    if quiz.max_attempts and used >= quiz.max_attempts:
        raise AttemptError(_("Bạn đã dùng hết số lần làm bài cho phép."), 409, "no_attempts_left")
    wait_until = next_start_time(quiz, user)
    if wait_until is not None and now < wait_until:
        raise AttemptError(_("Bạn cần chờ đến %(time)s mới được làm lại.",
                             time=wait_until.astimezone(timezone(timedelta(hours=7))).strftime("%H:%M %d/%m/%Y")),
                           409, "wait")
    seed = secrets.randbits(48)
    rng = random.Random(seed)
    attempt = Attempt(quiz=quiz, user=user, number=used + 1, seed=seed, started_at=now,
                      deadline=_deadline(quiz, now))
    for slot_number, version, mark, order in draw_slots(quiz, rng):
        attempt.slots.append(AttemptSlot(slot=slot_number, question_version=version, max_mark=mark, order=order))
    savepoint = db.session.begin_nested()
    try:
        db.session.add(attempt)
        db.session.flush()
    except IntegrityError:
        # A parallel request took this attempt number first: resume what it created.
        savepoint.rollback()
        existing = in_progress_attempt(quiz, user)
        if existing is None:
            raise AttemptError(_("Bạn đã dùng hết số lần làm bài cho phép."), 409, "no_attempts_left")
        return existing, False
    savepoint.commit()
    return attempt, True


def _unshuffled(q):
    """The question with option shuffling switched off (the quiz setting overrides the question's)."""
    data = dict(q.data)
    data["shuffle"] = False
    q.data = data
    return q


# --------------------------------------------------------------------------- answering
_NOT_AN_ANSWER = object()  # what no question type accepts: asks the type for its own "wrong shape" message


def get_slot(attempt: Attempt, slot_number: int) -> AttemptSlot:
    for slot in attempt.slots:
        if slot.slot == slot_number:
            return slot
    raise AttemptError(_("Không có câu số %(n)d trong bài làm này.", n=slot_number), 404, "not_found")


def ensure_open_for_answers(attempt: Attempt, now: datetime) -> None:
    if attempt.state != "in_progress":
        raise AttemptError(_("Bài làm đã nộp; không thể sửa câu trả lời."), 409, "finished")
    if attempt.deadline is not None and now >= attempt.deadline:
        raise AttemptError(_("Đã hết giờ làm bài; câu trả lời không được ghi nhận."), 409, "deadline_passed")


def save_answer(attempt: Attempt, slot_number: int, response, now: datetime | None = None) -> AttemptSlot:
    """Store one answer (the last write wins), given in the public ids the learner was shown.

    Raises AttemptError 409 when closed, 422 when malformed or naming an id the slot never showed.
    """
    now = now or now_utc()
    ensure_open_for_answers(attempt, now)
    slot = get_slot(attempt, slot_number)
    qtype = get_type(slot.question_version.qtype)
    data = version_data(slot.question_version)
    try:
        response = to_bank(qtype.name, response, ensure_public_ids(slot))
    except UnknownId:
        raise AttemptError(qtype.check_response(data, _NOT_AN_ANSWER) or _("Câu trả lời không hợp lệ."),
                           422, "invalid_response") from None
    if response is not None and response != "" and response != [] and response != {}:
        problem = qtype.check_response(data, response)
        if problem:
            raise AttemptError(problem, 422, "invalid_response")
    slot.response = response
    slot.saved_at = now
    db.session.flush()
    return slot


def save_answer_by_id(user_id: int, attempt_id: int, slot_number: int, response,
                      now: datetime | None = None) -> datetime:
    """The autosave: store one answer of the learner's attempt, given in public ids; returns saved_at.

    The hot path of exam day, so it reads one row (the slot with its attempt and question) and writes
    one, under a guard the database evaluates: the UPDATE happens only while the attempt is still in
    progress and before its deadline, and on PostgreSQL it holds a share lock on the attempt row, so a
    submission waits for it or it waits for the submission (then finds it finished). A save refused
    here is never stored later. Raises AttemptError: 404 not mine / no such slot, 409 closed, 422 bad.
    """
    now = now or now_utc()
    cached = _SLOT_SNAPSHOTS.get((attempt_id, slot_number))
    if cached is not None and cached.user_id == user_id:
        # The slot's question, option ids and owner never change: only the guarded UPDATE is needed.
        # Anything unexpected (a database rebuilt under a long-lived process) falls back to reading.
        try:
            return _store_answer(cached, attempt_id, slot_number, response, now)
        except (AttemptError, TypeError, ValueError, KeyError):
            _SLOT_SNAPSHOTS.pop((attempt_id, slot_number), None)
    row = next((r for r in _attempt_slots(attempt_id) if r.slot == slot_number), None)
    if row is None or row.user_id != user_id:
        owner = db.session.scalar(sa.select(Attempt.user_id).where(Attempt.id == attempt_id))
        if owner == user_id:
            raise AttemptError(_("Không có câu số %(n)d trong bài làm này.", n=slot_number), 404, "not_found")
        raise AttemptError(_("Không tìm thấy bài làm này."), 404, "not_found")
    if row.state == "prepared":  # drawn for a sitting that has not started: not the learner's yet
        raise AttemptError(_("Không tìm thấy bài làm này."), 404, "not_found")
    if row.state != "in_progress":
        raise AttemptError(_("Bài làm đã nộp; không thể sửa câu trả lời."), 409, "finished")
    if row.deadline is not None and now >= row.deadline:
        raise AttemptError(_("Đã hết giờ làm bài; câu trả lời không được ghi nhận."), 409, "deadline_passed")
    ids = (row.order or {}).get("ids")
    if ids is None:  # an attempt from before opaque ids: draw them the slow way, once
        attempt = db.session.get(Attempt, attempt_id)
        ids = ensure_public_ids(get_slot(attempt, slot_number))
        db.session.flush()
    snapshot = _SlotSnapshot(row.id, user_id, row.qtype, row.data or {}, ids)
    _SLOT_SNAPSHOTS[(attempt_id, slot_number)] = snapshot
    return _store_answer(snapshot, attempt_id, slot_number, response, now)


def _attempt_slots(attempt_id: int) -> list:
    """Every slot of an attempt with its owner, state and question (one query), keeping what an
    autosave needs of each in this process: the learner then saves the attempt's other answers
    without reading it again, in whichever server process their requests land."""
    rows = db.session.execute(
        sa.select(AttemptSlot.id, AttemptSlot.slot, AttemptSlot.order, Attempt.user_id, Attempt.state,
                  Attempt.deadline, QuestionVersion.qtype, QuestionVersion.data)
        .join(Attempt, Attempt.id == AttemptSlot.attempt_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptSlot.question_version_id)
        .where(AttemptSlot.attempt_id == attempt_id)).all()
    if len(_SLOT_SNAPSHOTS) + len(rows) >= _SLOT_SNAPSHOTS_MAX:
        _SLOT_SNAPSHOTS.clear()
    for row in rows:
        ids = (row.order or {}).get("ids")
        if ids is not None and row.state in ("in_progress", "prepared"):
            _SLOT_SNAPSHOTS[(attempt_id, row.slot)] = _SlotSnapshot(row.id, row.user_id, row.qtype, row.data or {}, ids)
    return rows


@dataclass(frozen=True)
class _SlotSnapshot:
    slot_id: int
    user_id: int
    qtype: str
    data: dict
    ids: dict


# What an autosave needs of a slot, kept per process: it is fixed when the attempt starts.
_SLOT_SNAPSHOTS: dict[tuple[int, int], _SlotSnapshot] = {}
_SLOT_SNAPSHOTS_MAX = 200_000


def checked_response(snapshot: _SlotSnapshot, response):
    """The learner's answer in the bank's ids, checked against the slot's question; AttemptError 422."""
    qtype = get_type(snapshot.qtype)
    data = QuestionData(qtype=snapshot.qtype, name="", text="", data=snapshot.data)
    try:
        response = to_bank(qtype.name, response, snapshot.ids)
    except UnknownId:
        raise AttemptError(qtype.check_response(data, _NOT_AN_ANSWER) or _("Câu trả lời không hợp lệ."),
                           422, "invalid_response") from None
    if response is not None and response != "" and response != [] and response != {}:
        problem = qtype.check_response(data, response)
        if problem:
            raise AttemptError(problem, 422, "invalid_response")
    return response


def _guarded_update(by_token: bool):
    """The one statement that stores an answer: it changes the slot only while its attempt belongs to
    the user, is in progress and before its deadline, holding a share lock on the attempt row on
    PostgreSQL (a submission waits for it, or it waits for the submission and then finds it finished).
    With `by_token`, the same statement also requires the bearer token to be live and its user active
    and not held to a password change, so that the hot path (quizzes.hot_path) needs no other query.
    Built once per kind, on the tables: SQLAlchemy then compiles it once and keeps its cache key."""
    slots, attempts = AttemptSlot.__table__, Attempt.__table__
    now = sa.bindparam("now", type_=attempts.c.deadline.type)
    owner = sa.select(attempts.c.id)
    conditions = [attempts.c.id == sa.bindparam("attempt"), attempts.c.user_id == sa.bindparam("user_id"),
                  attempts.c.state == "in_progress", sa.or_(attempts.c.deadline.is_(None), attempts.c.deadline > now)]
    if by_token:
        conditions.append(token_live_clause(attempts.c.user_id, now))
    still_open = sa.exists(owner.where(*conditions).with_for_update(read=True, of=attempts))
    return (sa.update(slots)
            .where(slots.c.id == sa.bindparam("slot_id"), slots.c.attempt_id == sa.bindparam("attempt"),
                   slots.c.slot == sa.bindparam("slot_number"), still_open)
            .values(response=sa.bindparam("new_response", type_=slots.c.response.type), saved_at=now))


_UPDATES = {False: _guarded_update(False), True: _guarded_update(True)}


def store_checked(snapshot: _SlotSnapshot, attempt_id: int, slot_number: int, response, now: datetime,
                  token_hash: str | None = None) -> bool:
    """Run the guarded UPDATE for an answer already checked; True when it was stored (flushes nothing)."""
    params = {"slot_id": snapshot.slot_id, "attempt": attempt_id, "slot_number": slot_number,
              "user_id": snapshot.user_id, "now": now, "new_response": response}
    if token_hash is not None:
        params["token_hash"] = token_hash
    return db.session.connection().execute(_UPDATES[token_hash is not None], params).rowcount == 1


def _store_answer(snapshot: _SlotSnapshot, attempt_id: int, slot_number: int, response, now: datetime) -> datetime:
    response = checked_response(snapshot, response)
    if not store_checked(snapshot, attempt_id, slot_number, response, now):
        state, deadline = db.session.execute(sa.select(Attempt.state, Attempt.deadline)
                                             .where(Attempt.id == attempt_id)).one_or_none() or (None, None)
        if state is None:
            raise AttemptError(_("Không tìm thấy bài làm này."), 404, "not_found")
        if state == "in_progress" and deadline is not None and now >= deadline:
            raise AttemptError(_("Đã hết giờ làm bài; câu trả lời không được ghi nhận."), 409, "deadline_passed")
        raise AttemptError(_("Bài làm đã nộp; không thể sửa câu trả lời."), 409, "finished")
    return now


def slot_snapshot(attempt_id: int, slot_number: int, user_id: int) -> _SlotSnapshot | None:
    """What an autosave needs of the user's slot (the hot path's only knowledge of it), read once per
    attempt and process; None when it is not theirs. It decides nothing: the guarded UPDATE checks the
    owner, state and deadline again."""
    found = _SLOT_SNAPSHOTS.get((attempt_id, slot_number))
    if found is None or found.user_id != user_id:
        _attempt_slots(attempt_id)
        found = _SLOT_SNAPSHOTS.get((attempt_id, slot_number))
    return found if found is not None and found.user_id == user_id else None


# --------------------------------------------------------------------------- submitting
@dataclass
class Result:
    score: float
    max_score: float
    percent: float
    passed: bool


def _claim(attempt: Attempt) -> bool:
    """Atomically move an attempt from in progress to finished; True for the one request that did.

    The conditional UPDATE takes the row lock, so a parallel submit waits, then finds nothing to
    claim and reads the result instead: grading happens once, on SQLite and PostgreSQL alike.
    """
    claimed = db.session.execute(
        sa.update(Attempt).where(Attempt.id == attempt.id, Attempt.state == "in_progress")
        .values(state="finished").execution_options(synchronize_session=False))
    return claimed.rowcount == 1


def _reread(attempt: Attempt) -> Attempt:
    return db.session.scalar(sa.select(Attempt).where(Attempt.id == attempt.id)
                             .options(selectinload(Attempt.slots).joinedload(AttemptSlot.question_version))
                             .execution_options(populate_existing=True))


def submit_attempt(attempt: Attempt, now: datetime | None = None, auto: bool = False) -> Result:
    """Grade and close an attempt; submitting again returns the same result and grades nothing twice."""
    now = now or now_utc()
    if not _claim(attempt):
        attempt = _reread(attempt)
        return Result(attempt.score or 0, attempt.max_score or 0, attempt.percent or 0, bool(attempt.passed))
    attempt = _reread(attempt)
    score = max_score = 0.0
    for slot in attempt.slots:
        version = slot.question_version
        grade = get_type(version.qtype).grade(version_data(version), slot.response)
        slot.fraction = max(0.0, min(1.0, grade.fraction))
        slot.mark = round(slot.fraction * slot.max_mark, 7)
        slot.feedback = list(grade.feedback)
        score += slot.mark
        max_score += slot.max_mark
    attempt.score = round(score, 4)
    attempt.max_score = round(max_score, 4)
    attempt.percent = round(100 * score / max_score, 2) if max_score else 0.0
    attempt.passed = attempt.percent + 1e-9 >= attempt.quiz.pass_percent
    attempt.submitted_at = min(now, attempt.deadline) if (auto and attempt.deadline) else now
    attempt.auto_submitted = auto
    db.session.flush()
    record = record_competency(attempt) if attempt.passed else None
    _notify_result(attempt, record)
    return Result(attempt.score, attempt.max_score, attempt.percent, attempt.passed)


def _notify_result(attempt: Attempt, record: CompetencyRecord | None) -> None:
    """The learner hears the result in the app and by e-mail, once per attempt."""
    from flask_babel import lazy_gettext as _l

    from courses.notify import notify

    quiz, percent = attempt.quiz, attempt.percent
    if record is not None:
        body = lambda: _l("Bạn đạt %(p)s%% bài “%(title)s”; năng lực “%(name)s” được ghi nhận.",  # noqa: E731
                          p=f"{percent:g}", title=quiz.title, name=quiz.competency.name_vi)
    elif attempt.passed:
        body = lambda: _l("Bạn đạt %(p)s%% bài “%(title)s”.", p=f"{percent:g}", title=quiz.title)  # noqa: E731
    else:
        body = lambda: _l("Bạn được %(p)s%%, chưa đạt mức %(need)s%% của bài “%(title)s”. Hãy ôn lại bài học "  # noqa: E731
                          "rồi làm lại.", p=f"{percent:g}", need=f"{quiz.pass_percent:g}", title=quiz.title)
    notify(attempt.user, (lambda: _l("Kết quả bài kiểm tra: đạt")) if attempt.passed else
           (lambda: _l("Kết quả bài kiểm tra: chưa đạt")), body, f"/quizzes/attempts/{attempt.id}/review",
           key=f"attempt:{attempt.id}")


def record_competency(attempt: Attempt) -> CompetencyRecord | None:
    """A passed attempt creates (or renews, as a newer record) the official's competency record, when
    the quiz meets the granting policy and the attempt began after any revocation of that competency."""
    competency = attempt.quiz.competency
    if competency is None:
        return None
    from quizzes.policy import attempt_may_grant

    if not attempt_may_grant(attempt):
        return None  # below the granting policy: a pass, but no competency
    last_revoked = db.session.scalar(sa.select(sa.func.max(CompetencyRecord.revoked_at)).where(
        CompetencyRecord.user_id == attempt.user_id, CompetencyRecord.competency_id == competency.id))
    if last_revoked is not None and attempt.started_at < last_revoked:
        return None  # revoked means revoked: only an attempt started after the revocation earns it back
    achieved = attempt.submitted_at
    record = CompetencyRecord(user_id=attempt.user_id, competency_id=competency.id, achieved_at=achieved,
                              expires_at=add_months(achieved, competency.validity_months), score=attempt.percent,
                              evidence_url=f"/quizzes/attempts/{attempt.id}/review", source="quiz")
    db.session.add(record)
    db.session.flush()
    from flask import current_app

    for hook in current_app.extensions.get("competency_hooks", []):
        hook(record)
    return record


def close_overdue(now: datetime | None = None) -> int:
    """Submit every attempt whose deadline has passed, with what was saved. Returns how many."""
    now = now or now_utc()
    overdue = list(db.session.scalars(sa.select(Attempt).where(
        Attempt.state == "in_progress", Attempt.deadline.is_not(None), Attempt.deadline <= now)))
    for attempt in overdue:
        submit_attempt(attempt, now, auto=True)
    return len(overdue)


def touch_deadline(attempt: Attempt, now: datetime | None = None) -> Attempt:
    """Submit an overdue attempt on access (the learner sees it finished with what was saved)."""
    now = now or now_utc()
    if attempt.state == "in_progress" and attempt.deadline is not None and now >= attempt.deadline:
        submit_attempt(attempt, now, auto=True)
        db.session.refresh(attempt)
    return attempt


# --------------------------------------------------------------------------- grades and review
def quiz_grade(quiz: Quiz, user: User) -> float | None:
    """The learner's grade for the quiz (percent) by the quiz's grading method."""
    attempts = finished_attempts(quiz, user)
    if not attempts:
        return None
    values = [a.percent or 0.0 for a in attempts]
    if quiz.grading_method == "last":
        return values[-1]
    if quiz.grading_method == "first":
        return values[0]
    if quiz.grading_method == "average":
        return round(sum(values) / len(values), 2)
    return max(values)


def review_allows(attempt: Attempt, what: str, now: datetime | None = None) -> bool:
    """May the learner see `what` ("correctness", "right_answers", "feedback") of this attempt now?"""
    now = now or now_utc()
    if attempt.state != "finished":
        return False
    when = getattr(attempt.quiz, f"review_{what}")
    if when == "after_submit":
        return True
    if when == "after_close":
        return attempt.quiz.closes_at is not None and now >= attempt.quiz.closes_at
    return False
