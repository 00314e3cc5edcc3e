"""Attempts: start or resume, autosave, submit once, grade, enforce the time limit, renew competency.

An attempt is a snapshot: the question versions and option orders drawn when it starts are stored
in its slots, so a reload, a restart or a later edit of the bank never changes what was asked.
"""
from __future__ import annotations

import calendar
import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from quizzes.bank import GRADED_TYPES, plain_versions, stored_data, subtree_ids_of, version_data
from quizzes.bank_revision import revision_column
from quizzes.models import Attempt, AttemptSlot, Question, QuestionCategory, QuestionVersion, Quiz, QuizRule
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


def last_submitted(quiz: Quiz, user: User) -> datetime | None:
    if not quiz.attempt_delay_s:
        return None  # nothing waits on it
    return db.session.scalar(sa.select(sa.func.max(Attempt.submitted_at)).where(
        Attempt.quiz_id == quiz.id, Attempt.user_id == user.id))


def _wait_until(quiz, last: datetime | None) -> datetime | None:
    return last + timedelta(seconds=quiz.attempt_delay_s) if quiz.attempt_delay_s and last else None


def next_start_time(quiz: Quiz, user: User) -> datetime | None:
    """When the delay between attempts lets this learner start again (None: no wait)."""
    return _wait_until(quiz, last_submitted(quiz, user))


# --------------------------------------------------------------------------- drawing questions
@dataclass(frozen=True)
class DrawRule:
    """A quiz rule as the drawing reads it, from the ORM (rules_of) or from the start's one plain
    query (plain_start): `count` questions from a category and its subtree, or one fixed question."""

    id: int
    count: int
    mark: float
    question_id: int | None = None   # a fixed question…
    version_id: int | None = None    # …and its current version (None: nothing to ask)
    category_id: int | None = None
    category_path: str | None = None  # None: the rule's category is gone
    include_subcategories: bool = True


def rules_of(quiz: Quiz) -> list[DrawRule]:
    return [DrawRule(rule.id, rule.count, rule.mark, rule.question_id,
                     rule.question.current_version_id if rule.question is not None else None,
                     rule.category_id, rule.category.path if rule.category is not None else None,
                     rule.include_subcategories) for rule in quiz.rules]


def _pool_select(subtree: bool, skip_flagged: bool):
    """A rule's pool: (question id, current version id) of the visible graded questions, in one query
    with parameters `category` (or `path`, its subtree) and `today`. Built once per kind."""
    key = (subtree, skip_flagged)
    if key not in _POOL_SELECTS:
        questions, versions = Question.__table__, QuestionVersion.__table__
        stmt = sa.select(questions.c.id, questions.c.current_version_id).join(
            versions, questions.c.current_version_id == versions.c.id).where(
            questions.c.hidden.is_(False), versions.c.qtype.in_(GRADED_TYPES)).order_by(questions.c.id)
        if subtree:
            stmt = stmt.where(questions.c.category_id.in_(subtree_ids_of(sa.bindparam("path"))))
        else:
            stmt = stmt.where(questions.c.category_id == sa.bindparam("category"))
        if skip_flagged:
            from courses.legal import question_flagged

            # A question citing a text that changed since it was last checked stays out, in the same query.
            stmt = stmt.where(~question_flagged(questions.c.id, sa.bindparam("today", type_=sa.Date)))
        _POOL_SELECTS[key] = stmt
    return _POOL_SELECTS[key]


_POOL_SELECTS: dict[tuple[bool, bool], object] = {}


def _pool(rule: DrawRule, skip_flagged: bool, today: date | None = None) -> list[tuple[int, int]]:
    from courses.legal import today_in_vietnam

    params = {"path": rule.category_path, "category": rule.category_id}
    if skip_flagged:
        params["today"] = today or today_in_vietnam()
    return [tuple(row) for row in db.session.connection().execute(
        _pool_select(rule.include_subcategories, skip_flagged), params)]


# What this process keeps of the bank for plain starts, for one bank revision and one day in Vietnam
# (quizzes.bank_revision): the pools and the versions read, as draw_questions keeps them in `pools`.
_BANK_CACHE: tuple[tuple, dict] | None = None


def bank_cache(revision: int | None, today: date) -> dict | None:
    """The pools and versions kept for the bank at `revision` on `today`, to pass to draw_questions as
    `pools`; a new, empty one once either moves on. None without a revision (nothing is kept). Its
    size is bounded by the bank: at most one pool per category and one entry per current version."""
    global _BANK_CACHE
    if revision is None:
        return None
    key = (revision, today)
    cached = _BANK_CACHE
    if cached is None or cached[0] != key:
        cached = _BANK_CACHE = (key, {})
    return cached[1]


def draw_questions(quiz, rng: random.Random, pools: dict | None = None,
                   rules: list[DrawRule] | None = None, today: date | None = None) -> list[tuple[object, float]]:
    """The (version, mark) pairs an attempt asks, following the quiz rules; each version as plain
    values (quizzes.bank.plain_versions). `quiz` is a Quiz or the same settings (shuffle_questions,
    skip_flagged_questions); `rules` defaults to the quiz's own.

    `pools`, when given, keeps each pool and the versions read between calls: a sitting's preparation
    draws thousands of attempts from one query per rule, and exam day's plain starts draw from what
    their process keeps for the bank's revision (bank_cache). `today` defaults to today in Vietnam.
    """
    rules = rules_of(quiz) if rules is None else rules
    chosen: list[tuple[int, float]] = []
    used: set[int] = set()
    for rule in rules:
        if rule.question_id is not None:
            if rule.version_id is not None and rule.question_id not in used:
                chosen.append((rule.version_id, rule.mark))
                used.add(rule.question_id)
            continue
        if rule.category_path is None:
            continue
        # A pool is what its kind and category give, whichever rule asks (a rule may be edited).
        kind = ("pool", rule.include_subcategories, quiz.skip_flagged_questions,
                rule.category_path if rule.include_subcategories else rule.category_id)
        rule_pool = pools.get(kind) if pools is not None else None
        if rule_pool is None:
            rule_pool = _pool(rule, quiz.skip_flagged_questions, today)
            if pools is not None:
                pools[kind] = rule_pool
        pool = [(question_id, version_id) for question_id, version_id in rule_pool if question_id not in used]
        if len(pool) < rule.count:
            raise AttemptError(_("Ngân hàng câu hỏi không đủ câu cho bài kiểm tra này. Vui lòng báo giảng viên."),
                               409, "not_enough_questions")
        for question_id, version_id in rng.sample(pool, rule.count):
            chosen.append((version_id, rule.mark))
            used.add(question_id)
    if not chosen:
        raise AttemptError(_("Bài kiểm tra chưa có câu hỏi."), 409, "no_questions")
    if quiz.shuffle_questions:
        rng.shuffle(chosen)
    known = pools.setdefault("versions", {}) if pools is not None else {}
    missing = [version_id for version_id, _mark in chosen if version_id not in known]
    if missing:
        known.update(plain_versions(missing))
    return [(known[version_id], mark) for version_id, mark in chosen]


def _deadline(quiz: Quiz, started: datetime) -> datetime | None:
    deadline = started + timedelta(seconds=quiz.time_limit_s) if quiz.time_limit_s else None
    if quiz.closes_at is not None and (deadline is None or quiz.closes_at < deadline):
        deadline = quiz.closes_at
    return deadline


def draw_slots(quiz, rng: random.Random, pools: dict | None = None, rules: list[DrawRule] | None = None,
               today: date | None = None) -> list[tuple[int, object, float, dict]]:
    """What a new attempt asks, slot by slot: (slot number, version, mark, option order with public ids).

    One drawing for a start (either path) and for a sitting's preparation, so a prepared attempt is an
    attempt like any other.
    """
    slots = []
    for slot_number, (version, mark) in enumerate(draw_questions(quiz, rng, pools, rules, today), start=1):
        qtype = get_type(version.qtype)
        data = version_data(version)
        # Bank ids carry the authoring order (and so the key): the learner sees random ones.
        order = with_public_ids(qtype.initial_order(data if quiz.shuffle_options else _unshuffled(data), rng))
        slots.append((slot_number, version, mark, order))
    return slots


def start_refusal(quiz, used: int, last_submitted: datetime | None, now: datetime) -> AttemptError | None:
    """Why the quiz's own rules refuse a new attempt now (None: they allow it), for a learner who has
    started `used` attempts and last submitted at `last_submitted`. The one home of these rules, for
    the full path (start_or_resume) and exam day's hot path (plain_start) alike."""
    if not is_open(quiz, now):
        return AttemptError(_("Bài kiểm tra này hiện không mở."), 403, "closed")
    if quiz.max_attempts and used >= quiz.max_attempts:
        return AttemptError(_("Bạn đã dùng hết số lần làm bài cho phép."), 409, "no_attempts_left")
    wait_until = _wait_until(quiz, last_submitted)
    if wait_until is not None and now < wait_until:
        return AttemptError(_("Bạn cần chờ đến %(time)s mới được làm lại.",
                              time=wait_until.astimezone(timezone(timedelta(hours=7))).strftime("%H:%M %d/%m/%Y")),
                            409, "wait")
    return None


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
    # One count decides both the limit and the new number, so two parallel starts collide on the
    # unique (quiz, user, number) key instead of both slipping under the limit.
    used = attempt_count(quiz, user)
    refusal = start_refusal(quiz, used, last_submitted(quiz, user), now)
    if refusal is not None:
        raise refusal
    seed = secrets.randbits(48)
    rng = random.Random(seed)
    attempt = Attempt(quiz=quiz, user=user, number=used + 1, seed=seed, started_at=now,
                      deadline=_deadline(quiz, now))
    for slot_number, version, mark, order in draw_slots(quiz, rng):
        attempt.slots.append(AttemptSlot(slot=slot_number, question_version_id=version.id, max_mark=mark,
                                         order=order))
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
    # The slots hold version ids: the payload reads them with their questions in one plain query.
    db.session.expire(attempt, ["slots"])
    return attempt, True


# --------------------------------------------------------------------------- exam day's plain start
def plain_start_select(user):
    """The quiz's settings and rules, the learner's attempts so far and the bank's revision, in one
    query with parameters `quiz`, `now` and `token_hash`, for the learner `user` (a parameter, or an
    expression such as the token's owner); no row when the bearer token is not live
    (training.services.sessions.token_live_clause)."""
    quizzes, rules, attempts = Quiz.__table__, QuizRule.__table__, Attempt.__table__
    questions, categories = Question.__table__, QuestionCategory.__table__
    quiz = sa.bindparam("quiz")
    now = sa.bindparam("now", type_=attempts.c.started_at.type)
    mine = sa.and_(attempts.c.quiz_id == quiz, attempts.c.user_id == user)
    used = sa.select(sa.func.count()).select_from(attempts).where(mine, attempts.c.state != "prepared")
    last = sa.select(sa.func.max(attempts.c.submitted_at)).where(mine)
    busy = sa.exists(sa.select(attempts.c.id).where(mine, attempts.c.state == "in_progress"))
    return (sa.select(*(quizzes.c[name] for name in _PLAIN_QUIZ_FIELDS),
                      used.scalar_subquery().label("used"), last.scalar_subquery().label("last_submitted"),
                      busy.label("busy"), revision_column().label("bank_revision"),
                      rules.c.id.label("rule_id"), rules.c.count, rules.c.mark, rules.c.question_id,
                      questions.c.current_version_id, rules.c.category_id,
                      categories.c.path.label("category_path"), rules.c.include_subcategories)
            .select_from(quizzes).outerjoin(rules, rules.c.quiz_id == quizzes.c.id)
            .outerjoin(questions, questions.c.id == rules.c.question_id)
            .outerjoin(categories, categories.c.id == rules.c.category_id)
            .where(quizzes.c.id == quiz, token_live_clause(user, now))
            .order_by(rules.c.position, rules.c.id))


_PLAIN_QUIZ_FIELDS = ("id", "status", "opens_at", "closes_at", "max_attempts", "attempt_delay_s", "time_limit_s",
                      "only_in_sittings", "shuffle_questions", "shuffle_options", "skip_flagged_questions")


def quiz_settings(row) -> SimpleNamespace:
    """The quiz's settings from a row of plain_start_select, named as on Quiz."""
    return SimpleNamespace(**{name: getattr(row, name) for name in _PLAIN_QUIZ_FIELDS})


@dataclass
class PlainStart:
    """A start the quiz's own rules allow now, with what its drawing needs (plain_start)."""

    quiz: SimpleNamespace  # the quiz's settings, named as on Quiz
    rules: list[DrawRule]  # in order
    number: int
    bank_revision: int | None  # read in the same query (quizzes.bank_revision)


def plain_start(rows, now: datetime) -> PlainStart | None:
    """For exam day's hot path (quizzes.hot_path), from the rows of plain_start_select (read with the
    sitting that may expect the learner: quizzes.sittings.start_facts): a new attempt of a published
    quiz that no sitting decides, for a learner with no attempt in progress, by the quiz's own rules
    (start_refusal). None in every other case: start_or_resume then decides, and says why in the
    learner's language."""
    first = rows[0]
    quiz = quiz_settings(first)
    if first.busy or quiz.only_in_sittings or start_refusal(quiz, first.used, first.last_submitted, now) is not None:
        return None
    rules = [DrawRule(row.rule_id, row.count, row.mark, row.question_id, row.current_version_id, row.category_id,
                      row.category_path, row.include_subcategories) for row in rows if row.rule_id is not None]
    return PlainStart(quiz, rules, first.used + 1, first.bank_revision)


def create_drawn(start: PlainStart, user_id: int, now: datetime):
    """Draw and store the new attempt of a plain start, in progress, with plain inserts (no ORM):
    (attempt, slots), as plain values named like the ORM's. Raises IntegrityError when a parallel start
    of the learner came first (the unique number, or the one attempt in progress), AttemptError when
    the bank cannot fill the quiz. The caller commits."""
    from courses.legal import today_in_vietnam

    seed = secrets.randbits(48)
    today = today_in_vietnam()
    drawn = draw_slots(start.quiz, random.Random(seed), bank_cache(start.bank_revision, today), start.rules, today)
    deadline = _deadline(start.quiz, now)
    values = {"quiz_id": start.quiz.id, "user_id": user_id, "number": start.number, "seed": seed, "started_at": now,
              "deadline": deadline}
    rows = [{"slot": slot_number, "version": version.id, "mark": mark, "order": order}
            for slot_number, version, mark, order in drawn]
    attempt_id, slot_ids = _insert_drawn(db.session.connection(), values, rows)
    attempt = SimpleNamespace(id=attempt_id, quiz_id=start.quiz.id, state="in_progress", number=start.number,
                              started_at=now, deadline=deadline)
    return attempt, [SimpleNamespace(id=slot_ids[slot_number], slot=slot_number, order=order, max_mark=mark,
                                     response=None, saved_at=None, question_version=version)
                     for slot_number, version, mark, order in drawn]


def _insert_drawn(connection, values: dict, rows: list[dict]) -> tuple[int, dict[int, int]]:
    """Store an attempt in progress and its slots: (attempt id, {slot number: slot id}). On PostgreSQL
    one statement (the attempt in a data-modifying WITH, the slots from one JSON parameter), so a start
    pays one round trip and one short statement that the server prepares once; elsewhere two inserts."""
    if connection.dialect.name == "postgresql":
        found = connection.execute(_drawn_insert(), {**values, "slots": rows}).all()  # rows: never empty
        return found[0].attempt_id, {row.slot: row.id for row in found}
    attempts, slots = Attempt.__table__, AttemptSlot.__table__
    attempt_id = connection.execute(sa.insert(attempts).returning(attempts.c.id),
                                    {**values, "state": "in_progress"}).scalar_one()
    slot_ids = connection.execute(sa.insert(slots).returning(slots.c.id, sort_by_parameter_order=True), [
        {"attempt_id": attempt_id, "slot": row["slot"], "question_version_id": row["version"],
         "max_mark": row["mark"], "order": row["order"]} for row in rows]).scalars().all()
    return attempt_id, {row["slot"]: slot_id for row, slot_id in zip(rows, slot_ids)}


def _drawn_insert_select():
    attempts, slots = Attempt.__table__, AttemptSlot.__table__
    new = (sa.insert(attempts).values(
        quiz_id=sa.bindparam("quiz_id"), user_id=sa.bindparam("user_id"), number=sa.bindparam("number"),
        state="in_progress", seed=sa.bindparam("seed"),
        started_at=sa.bindparam("started_at", type_=attempts.c.started_at.type),
        deadline=sa.bindparam("deadline", type_=attempts.c.deadline.type))
        .returning(attempts.c.id).cte("new_attempt"))
    drawn = sa.func.json_to_recordset(sa.bindparam("slots", type_=sa.JSON)).table_valued(
        sa.column("slot", sa.Integer), sa.column("version", sa.Integer), sa.column("mark", sa.Float),
        sa.column("order", sa.JSON)).render_derived("drawn", with_types=True)
    return (sa.insert(slots).from_select(
        ["attempt_id", "slot", "question_version_id", "max_mark", "order"],
        sa.select(new.c.id, drawn.c.slot, drawn.c.version, drawn.c.mark, drawn.c.order)
        .select_from(new).join(drawn, sa.true()))
        .returning(slots.c.attempt_id, slots.c.id, slots.c.slot).add_cte(new, nest_here=True))


_DRAWN_INSERT = None


def _drawn_insert():
    global _DRAWN_INSERT
    if _DRAWN_INSERT is None:
        _DRAWN_INSERT = _drawn_insert_select()
    return _DRAWN_INSERT


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
    snapshot = _SlotSnapshot(row.id, user_id, row.qtype, stored_data(row.data), ids)
    _SLOT_SNAPSHOTS[(attempt_id, slot_number)] = snapshot
    return _store_answer(snapshot, attempt_id, slot_number, response, now)


def _attempt_slots(attempt_id: int) -> list:
    """Every slot of an attempt with its owner, state and question (one query), keeping what an
    autosave needs of each in this process: the learner then saves the attempt's other answers
    without reading it again, in whichever server process their requests land."""
    slots, attempts, versions = AttemptSlot.__table__, Attempt.__table__, QuestionVersion.__table__
    rows = db.session.connection().execute(
        sa.select(slots.c.id, slots.c.slot, slots.c.order, attempts.c.user_id, attempts.c.state, attempts.c.deadline,
                  versions.c.qtype, sa.cast(versions.c.data, sa.Text).label("data"))
        .join(attempts, attempts.c.id == slots.c.attempt_id)
        .join(versions, versions.c.id == slots.c.question_version_id)
        .where(slots.c.attempt_id == attempt_id)).all()
    remember_slots(attempt_id, rows[0].user_id if rows else None,
                   [(row.id, row.slot, row.qtype, stored_data(row.data), row.order) for row in rows
                    if row.state in ("in_progress", "prepared")])
    return rows


def remember_slots(attempt_id: int, user_id: int, slots) -> None:
    """Keep in this process what an autosave needs of an attempt's slots: (slot id, slot number,
    question type, question data, order with public ids) each. Fixed once the attempt is drawn."""
    if len(_SLOT_SNAPSHOTS) + len(slots) >= _SLOT_SNAPSHOTS_MAX:
        _SLOT_SNAPSHOTS.clear()
    for slot_id, slot_number, qtype, data, order in slots:
        ids = (order or {}).get("ids")
        if ids is not None:
            _SLOT_SNAPSHOTS[(attempt_id, slot_number)] = _SlotSnapshot(slot_id, user_id, qtype, data or {}, ids)


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
