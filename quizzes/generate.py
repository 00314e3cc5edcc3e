"""`flask --app training generate`: synthetic data at national scale for benchmarks and load tests.

Like Moodle's tool_generator: a city "GEN" with --units wards and communes, officials
`official<i>@load.example` sharing one password, competency records and two years of finished
attempts on the quizzes that exist, and optionally a CSV of API tokens for a load test.

Speed comes from doing the slow things once and the many things in bulk: the password is hashed
once, question responses, grades and option orders are worked out once per question version, ids
are reserved in blocks, and rows go in with PostgreSQL COPY (psycopg) or, on other databases,
SQLAlchemy Core executemany in chunks. Everything happens in one transaction: a failure leaves
nothing behind.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import random
import secrets
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.security import generate_password_hash

from quizzes.attempts import add_months
from quizzes.bank import GRADED_TYPES, subtree_ids, version_data
from quizzes.models import Attempt, AttemptSlot, Question, QuestionVersion, Quiz
from quizzes.opaque import with_public_ids
from quizzes.qtypes import get_type
from training.extensions import db
from training.models import ApiToken, Competency, CompetencyRecord, OrgUnit, Position, User, UserRole
from training.services.demo import DEPARTMENTS, random_name
from training.services.org import create_position, create_unit, get_unit_by_code
from training.services.users import AccountError, check_password_strength, generate_password
from training.vntext import collation_key, fold, name_sort_key, nfc

CITY_CODE = "GEN"
CITY_NAME = "Thành phố Thử nghiệm"
EMAIL_DOMAIN = "load.example"
EMAIL_PREFIX = "official"
CHUNK = 10_000             # rows per executemany / per COPY batch of the small tables
ATTEMPT_CHUNK = 5_000      # attempts (and their slots) generated and written per batch
BLANK = (None, 0.0, "[]", 0.0)  # an unanswered slot: response, fraction, feedback, mark
RECORD_CORRELATION = 0.7   # how strongly one person's competencies go together (0: independent)
RENEWAL_SHARE = 0.75       # of expired records, how many were renewed with a newer one
HISTORY_DAYS = 730         # "two years" of competency records and attempts
GENERIC_POSITIONS = (
    ("GEN-CV", "Chuyên viên (thử nghiệm)"),
    ("GEN-VT", "Văn thư (thử nghiệm)"),
    ("GEN-HCC", "Chuyên viên một cửa (thử nghiệm)"),
)


class GenerateError(click.ClickException):
    """A request the generator refuses; the message is for the operator."""

    def format_message(self) -> str:
        return f"Lỗi: {self.message}"


def vn_number(n: int | float) -> str:
    """12345 -> "12.345" (Vietnamese thousands separator)."""
    return f"{int(n):,}".replace(",", ".")


def vn_duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} phút {secs} giây" if minutes else f"{seconds:.1f} giây"


# --------------------------------------------------------------------------- bulk writing
class BulkWriter:
    """Reserve ids in blocks and write rows fast: COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self) -> None:
        self.connection = db.session.connection()
        self.postgres = self.connection.dialect.name == "postgresql"
        self.rows = 0
        self._executor: ThreadPoolExecutor | None = None
        self._pending: Future | None = None
        if self.postgres and self.connection.execute(sa.text(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
            # The rows are consistent by construction (every id they point at exists), so the
            # per-row foreign-key triggers, half the cost of a COPY, are skipped for this
            # transaction only. Without superuser rights they run, and loading is slower.
            self.connection.execute(sa.text("SET LOCAL session_replication_role = replica"))

    def reserve_ids(self, table: sa.Table, count: int) -> int:
        """The first of `count` consecutive ids nobody else will be given; the caller inserts them."""
        if count <= 0:
            return 0
        self.wait()
        if self.postgres:
            # One statement moves the sequence past the whole block.
            last = self.connection.execute(sa.text(
                "SELECT setval(pg_get_serial_sequence(:t, 'id'), nextval(pg_get_serial_sequence(:t, 'id')) + :n - 1)"),
                {"t": table.name, "n": count}).scalar_one()
            return last - count + 1
        # SQLite gives a new row max(id) + 1, and this transaction holds the only write lock.
        return (self.connection.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0) + 1

    def write(self, table: sa.Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """Insert `rows` (tuples in `columns` order; JSON columns as JSON text)."""
        self.wait()
        self._write(table, columns, rows)

    def write_in_background(self, table: sa.Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """Start writing `rows` and return; on PostgreSQL the server works while Python makes the next batch.

        Only one write is in flight, and every other use of the connection waits for it first.
        """
        self.wait()
        if not self.postgres:
            self._write(table, columns, rows)
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generate-copy")
        self._pending = self._executor.submit(self._write, table, columns, rows)

    def wait(self) -> None:
        """Block until the background write is done (and raise what it raised)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            if self._executor is not None:
                self._executor.shutdown()
                self._executor = None

    def _write(self, table: sa.Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        self.rows += len(rows)
        if self.postgres:
            cursor = self.connection.connection.driver_connection.cursor()
            names = ", ".join(f'"{name}"' for name in columns)
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.close()
            return
        plain = _plain_table(table)
        for start in range(0, len(rows), CHUNK):
            self.connection.execute(sa.insert(plain), [dict(zip(columns, row)) for row in rows[start:start + CHUNK]])


_PLAIN_TABLES: dict[str, sa.Table] = {}


def _plain_table(table: sa.Table) -> sa.Table:
    """The table with its JSON columns as plain text, so pre-serialised JSON is stored as it is."""
    if table.name not in _PLAIN_TABLES:
        _PLAIN_TABLES[table.name] = sa.Table(table.name, sa.MetaData(), *[
            sa.Column(column.name, sa.Text if isinstance(column.type, sa.JSON) else column.type)
            for column in table.columns])
    return _PLAIN_TABLES[table.name]


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- quizzes
@dataclass
class VersionPlan:
    """Everything an attempt slot needs about a question version, computed once."""

    id: int
    right: tuple            # (response JSON, fraction, feedback JSON)
    wrong: tuple
    orders: list[str]       # a few option orders (JSON) drawn the way an attempt draws them


@dataclass
class QuizPlan:
    id: int
    title: str
    pass_percent: float
    time_limit_s: int | None
    shuffle_questions: bool
    # (pool, how many to draw); a pool entry is (version id, orders, right, wrong, mark), where right
    # and wrong are (response JSON, fraction, feedback JSON, mark earned)
    rules: list[tuple[list[tuple], int]]
    cap: int                # attempts per learner we may generate and still leave one to take
    window: tuple[datetime, datetime]
    size: int = 0           # slots per attempt
    max_score: float = 0.0


def _responses(version: QuestionVersion) -> tuple[tuple, tuple]:
    """A right and a wrong response for the version, each with the grade the question type gives it."""
    q = version_data(version)
    qtype = get_type(version.qtype)
    view = qtype.right_answer_view(q)
    right = wrong = None
    if version.qtype in ("single", "truefalse", "multi"):
        right_ids = list(view.get("option_ids") or [])
        if version.qtype == "truefalse":
            all_ids = ["true", "false"]
        else:
            all_ids = [o["id"] for o in q.data.get("options") or [] if isinstance(o, dict) and "id" in o]
        wrong_ids = [i for i in all_ids if i not in right_ids]
        if version.qtype == "multi":
            right, wrong = right_ids, wrong_ids[:1]
        else:
            right = right_ids[0] if right_ids else None
            wrong = wrong_ids[0] if wrong_ids else None
    elif version.qtype == "matching":
        right = {pair["item_id"]: pair["option_id"] for pair in view.get("pairs", [])}
        wrong = {}
    elif version.qtype == "shortanswer":
        full = [a.get("text") for a in q.data.get("answers") or []
                if isinstance(a, dict) and isinstance(a.get("text"), str) and (a.get("fraction") or 0) >= 1 - 1e-6]
        right = full[0].replace("\\*", "*").replace("*", "") if full else None
        wrong = "không biết"
    elif version.qtype == "numerical":
        full = [a.get("value") for a in q.data.get("answers") or []
                if isinstance(a, dict) and (a.get("fraction") or 0) >= 1 - 1e-6 and a.get("value") is not None]
        right = str(full[0]) if full else None
        wrong = "-987654321"

    def graded(response) -> tuple:
        grade = qtype.grade(q, response)
        fraction = max(0.0, min(1.0, grade.fraction))
        return _json(response), fraction, _json(list(grade.feedback))

    return graded(right), graded(wrong)


def _version_plan(version: QuestionVersion, shuffle_options: bool, rng: random.Random) -> VersionPlan:
    q = version_data(version)
    if not shuffle_options:
        q.data = {**q.data, "shuffle": False}
    qtype = get_type(version.qtype)
    # Finished synthetic history: a few orders per version, each with its own public ids.
    orders = [_json(with_public_ids(qtype.initial_order(q, rng))) for _ in range(4)]
    right, wrong = _responses(version)
    return VersionPlan(version.id, right, wrong, orders)


def _entry(version: VersionPlan, mark: float) -> tuple:
    right, wrong = version.right, version.wrong
    return (version.id, version.orders, right + (round(right[1] * mark, 7),), wrong + (round(wrong[1] * mark, 7),),
            mark)


def plan_quizzes(rng: random.Random, now: datetime) -> tuple[list[QuizPlan], list[str]]:
    """The quizzes attempts can be generated for, and a note for each one left out.

    Published quizzes when there are any; otherwise the quizzes that exist (drafts), as said.
    """
    notes = []
    quizzes = list(db.session.scalars(sa.select(Quiz).where(Quiz.status == "published").order_by(Quiz.id)))
    if not quizzes:
        quizzes = list(db.session.scalars(sa.select(Quiz).order_by(Quiz.id)))
        if quizzes:
            notes.append("Chưa có bài kiểm tra nào được công bố: tạo bài làm cho các bài kiểm tra nháp.")
    plans: list[QuizPlan] = []
    cache: dict[tuple[int, bool], VersionPlan] = {}

    def plan_of(version: QuestionVersion, shuffle: bool) -> VersionPlan:
        if (version.id, shuffle) not in cache:
            cache[(version.id, shuffle)] = _version_plan(version, shuffle, rng)
        return cache[(version.id, shuffle)]

    for quiz in quizzes:
        rules, used, short = [], set(), False
        for rule in quiz.rules:
            if rule.question_id is not None:
                question = rule.question
                if question is not None and question.current_version is not None and question.id not in used:
                    rules.append(([_entry(plan_of(question.current_version, quiz.shuffle_options), rule.mark)], 1))
                    used.add(question.id)
                continue
            if rule.category is None:
                continue
            stmt = (sa.select(QuestionVersion, Question.id)
                    .join(Question, Question.current_version_id == QuestionVersion.id)
                    .where(Question.hidden.is_(False), QuestionVersion.qtype.in_(GRADED_TYPES))
                    .order_by(Question.id))
            if rule.include_subcategories:
                stmt = stmt.where(Question.category_id.in_(subtree_ids(rule.category)))
            else:
                stmt = stmt.where(Question.category_id == rule.category_id)
            pool = [(version, qid) for version, qid in db.session.execute(stmt) if qid not in used]
            if len(pool) < rule.count:
                short = True
                break
            used.update(qid for _, qid in pool)  # draw_questions never repeats a question across rules
            rules.append(([_entry(plan_of(version, quiz.shuffle_options), rule.mark) for version, _ in pool],
                          rule.count))
        if short or not rules:
            notes.append(f"Bỏ qua “{quiz.title}”: ngân hàng câu hỏi không đủ câu cho đề.")
            continue
        # Leave every learner at least one attempt, so they can all still take the quiz.
        cap = quiz.max_attempts - 1 if quiz.max_attempts else 3
        if cap <= 0:
            notes.append(f"Bỏ qua “{quiz.title}”: chỉ cho làm một lần, để dành lượt đó cho người học.")
            continue
        end = now - timedelta(seconds=max(3600, quiz.attempt_delay_s or 0))
        start = now - timedelta(days=HISTORY_DAYS)
        if quiz.opens_at is not None and quiz.opens_at > start:
            start = quiz.opens_at
        if quiz.closes_at is not None and quiz.closes_at < end:
            end = quiz.closes_at
        if start >= end:
            start, end = now - timedelta(days=HISTORY_DAYS), now - timedelta(hours=1)
        plan = QuizPlan(quiz.id, quiz.title, quiz.pass_percent, quiz.time_limit_s, quiz.shuffle_questions, rules,
                        cap, (start, end))
        plan.size = sum(count for _, count in rules)
        plan.max_score = sum(pool[0][4] * count for pool, count in rules)  # a rule gives each question its mark
        plans.append(plan)
    return plans, notes


# --------------------------------------------------------------------------- the run
@dataclass
class Summary:
    units: int = 0
    officials: int = 0
    records: int = 0
    attempts: int = 0
    slots: int = 0
    tokens: int = 0
    rows: int = 0
    notes: list[str] = field(default_factory=list)


def _progress(length: int, label: str):
    return click.progressbar(length=length, label=label, show_pos=True, width=30)


def _existing_max_index() -> int:
    """The highest i of official<i>@load.example already in the database (0 when none)."""
    best = 0
    suffix = f"@{EMAIL_DOMAIN}"
    for email in db.session.scalars(sa.select(User.email).where(User.email.like(f"{EMAIL_PREFIX}%{suffix}"))):
        digits = email[len(EMAIL_PREFIX):-len(suffix)]
        if digits.isdigit():
            best = max(best, int(digits))
    return best


def _create_units(writer: BulkWriter, rng: random.Random, count: int, departments: int,
                  now: datetime) -> tuple[OrgUnit, list[int], list[list[int]], int]:
    """The city (created, or found with --append) and `count` new wards/communes under it.

    Returns (city, new ward ids, the ids officials of each ward are placed in, units created).
    """
    city = get_unit_by_code(CITY_CODE)
    created = 0
    if city is None:
        city = create_unit(CITY_CODE, CITY_NAME, "city")
        created += 1
    existing = [code for code in db.session.scalars(sa.select(OrgUnit.code).where(OrgUnit.parent_id == city.id))]
    numbers = [int(code[len(CITY_CODE) + 1:]) for code in existing if code[len(CITY_CODE) + 1:].isdigit()]
    first_number = max(numbers, default=0) + 1
    width = max(4, len(str(first_number + count - 1)))
    table = OrgUnit.__table__
    columns = ("id", "code", "name", "unit_type", "parent_id", "path", "depth", "sort_key", "created_at")
    first_id = writer.reserve_ids(table, count * (1 + departments))
    wards, homes, rows = [], [], []
    next_id = first_id
    for n in range(first_number, first_number + count):
        kind, word = ("ward", "Phường") if rng.random() < 0.21 else ("commune", "Xã")
        code, name = f"{CITY_CODE}-{n:0{width}d}", f"{word} Thử nghiệm {n:0{width}d}"
        ward_id, next_id = next_id, next_id + 1
        ward_path = f"{city.path}{ward_id}/"
        rows.append((ward_id, code, name, kind, city.id, ward_path, city.depth + 1, collation_key(name), now))
        wards.append(ward_id)
        home = []
        for dept_code, dept_name in DEPARTMENTS[:departments]:
            dept_id, next_id = next_id, next_id + 1
            rows.append((dept_id, f"{code}-{dept_code}", dept_name, "department", ward_id, f"{ward_path}{dept_id}/",
                         city.depth + 2, collation_key(dept_name), now))
            home.append(dept_id)
        homes.append(home or [ward_id])
    writer.write(table, columns, rows)
    return city, wards, homes, created + len(rows)


def _positions() -> list[int]:
    ids = list(db.session.scalars(sa.select(Position.id).order_by(Position.id)))
    if not ids:
        ids = [create_position(code, name).id for code, name in GENERIC_POSITIONS]
    return ids


def generate(*, units: int, officials: int, attempts: int, password: str, seed: int, append: bool,
             departments: int = 0, tokens_out: str | None = None) -> Summary:
    """Create the synthetic city, officials, competency records, attempts and tokens; flushes, never commits."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    summary = Summary()
    if get_unit_by_code(CITY_CODE) is not None and not append:
        raise GenerateError(f"Đã có dữ liệu thử nghiệm (đơn vị {CITY_CODE}). Dùng --append để thêm vào, "
                            "hoặc tạo trên một cơ sở dữ liệu mới.")
    writer = BulkWriter()
    try:
        summary = _generate(writer, summary, now, units=units, officials=officials, attempts=attempts,
                            password=password, seed=seed, departments=departments, tokens_out=tokens_out)
    finally:
        writer.close()
    # The rows went in behind the ORM's back: HR's kept figures are recounted from them, in this transaction.
    from training.hr.rebuild import rebuild_counts

    rebuild_counts(db.session)
    return summary


def _generate(writer: BulkWriter, summary: Summary, now: datetime, *, units: int, officials: int, attempts: int,
              password: str, seed: int, departments: int, tokens_out: str | None) -> Summary:
    people_rng = random.Random(f"{seed}:people")

    # Units ----------------------------------------------------------------
    city, wards, homes, summary.units = _create_units(writer, people_rng, units, departments, now)
    if not wards:
        homes = _leaf_units(city)  # --append --units 0: the wards already there
    if officials and not homes:
        raise GenerateError(f"Không có phường, xã nào dưới {CITY_CODE} để xếp cán bộ; hãy dùng --units N.")
    positions = _positions()

    # Officials --------------------------------------------------------------
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    password_hash = generate_password_hash(password, method=method)  # once, shared by every row
    first_index = _existing_max_index() + 1
    user_table = User.__table__
    first_user = writer.reserve_ids(user_table, officials)
    weights = [people_rng.uniform(0.5, 1.5) for _ in homes]  # wards of different sizes
    user_home = people_rng.choices(range(len(homes)), weights=weights, k=officials)
    names: dict[str, tuple[str, str]] = {}
    user_units: list[int] = []
    user_columns = ("id", "email", "full_name", "sort_key", "search_name", "unit_id", "position_id", "active",
                    "password_hash", "must_change_password", "locale", "created_at", "last_login_at")
    emails: list[str] = []
    with _progress(officials, "Cán bộ, công chức") as bar:
        for start in range(0, officials, CHUNK):
            rows, roles = [], []
            for i in range(start, min(officials, start + CHUNK)):
                name = nfc(random_name(people_rng))
                if name not in names:
                    names[name] = (name_sort_key(name), fold(name))
                unit_id = people_rng.choice(homes[user_home[i]])
                user_id = first_user + i
                email = f"{EMAIL_PREFIX}{first_index + i}@{EMAIL_DOMAIN}"
                emails.append(email)
                user_units.append(unit_id)
                created = now - timedelta(days=HISTORY_DAYS + people_rng.randrange(365))
                rows.append((user_id, email, name, names[name][0], names[name][1], unit_id,
                             people_rng.choice(positions), True, password_hash, False, None, created, None))
                roles.append((user_id, "learner"))
            writer.write(user_table, user_columns, rows)
            writer.write(UserRole.__table__, ("user_id", "role"), roles)
            bar.update(len(rows))
    summary.officials = officials

    # Populations (issue 20) ------------------------------------------------
    if wards:
        summary.notes.append(_populations(writer, random.Random(f"{seed}:population"), wards, user_home, now))

    # Competency records ----------------------------------------------------
    summary.records = _competency_records(writer, random.Random(f"{seed}:records"), first_user, user_units, now)

    # Attempts ------------------------------------------------------------------
    if attempts:
        plans, notes = plan_quizzes(random.Random(f"{seed}:orders"), now)
        summary.notes.extend(notes)
        if not plans:
            summary.notes.append("Không có bài kiểm tra nào dùng được: không tạo bài làm.")
        elif officials:
            summary.attempts, summary.slots = _attempts(writer, seed, plans, first_user, officials, attempts,
                                                        summary)
        else:
            summary.notes.append("Không tạo cán bộ mới (--officials 0): không tạo bài làm.")

    # Tokens -------------------------------------------------------------------
    if tokens_out:
        summary.tokens = _tokens(writer, tokens_out, first_user, emails, now)
    db.session.flush()
    summary.rows = writer.rows
    return summary


POPULATION_SOURCE = "Dữ liệu mẫu (generate)"
RESIDENTS_PER_OFFICIAL = (900, 1400)  # a ward staffed as its population asks
UNDER_STAFFED = (2200, 3500)          # residents per official where a ward is short of people
OVER_STAFFED = (350, 650)             # ... and where it has more than its population needs
STAFFING_SKEW = 0.15                  # share of wards under-staffed, and again over-staffed


def _populations(writer: BulkWriter, rng: random.Random, wards: list[int], user_home: list[int],
                 now: datetime) -> str:
    """A population for each new ward (registered and actual, counted on the first of this month),
    following its officials, with some wards under- and some over-staffed against it so that the
    staffing pages have something to show. Returns the line the command prints about them."""
    from training.staffing.models import UnitPopulation

    staff = [0] * len(wards)
    for home in user_home:
        if home < len(staff):
            staff[home] += 1
    table = UnitPopulation.__table__
    first_id = writer.reserve_ids(table, len(wards))
    as_of = now.date().replace(day=1)
    rows, under, over = [], 0, 0
    for n, (ward_id, officials) in enumerate(zip(wards, staff)):
        draw = rng.random()
        if draw < STAFFING_SKEW:
            per_official, under = UNDER_STAFFED, under + 1
        elif draw < 2 * STAFFING_SKEW:
            per_official, over = OVER_STAFFED, over + 1
        else:
            per_official = RESIDENTS_PER_OFFICIAL
        actual = max(officials, 1) * rng.randint(*per_official) if officials else rng.randint(20_000, 120_000)
        # On paper a ward counts fewer than live there (88,000 registered, 101,000 at a hand-out), now and then more.
        registered = round(actual * rng.uniform(0.78, 1.05))
        rows.append((first_id + n, ward_id, registered, actual, as_of, POPULATION_SOURCE, now))
    writer.write(table, ("id", "unit_id", "registered", "actual", "as_of", "source", "created_at"), rows)
    return (f"Số dân: {vn_number(len(rows))} phường, xã ({vn_number(under)} thiếu người, {vn_number(over)} thừa người "
            f"so với dân số).")


def _leaf_units(city: OrgUnit) -> list[list[int]]:
    """With --append and --units 0: the existing wards (and their departments) officials go into."""
    homes: dict[int, list[int]] = {}
    rows = db.session.execute(sa.select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.depth)
                              .where(OrgUnit.path.startswith(city.path), OrgUnit.id != city.id)
                              .order_by(OrgUnit.id)).all()
    for unit_id, parent_id, depth in rows:
        if depth == city.depth + 1:
            homes.setdefault(unit_id, [])
    for unit_id, parent_id, depth in rows:
        if depth == city.depth + 2 and parent_id in homes:
            homes[parent_id].append(unit_id)
    return [departments or [ward] for ward, departments in homes.items()]


def _competency_records(writer: BulkWriter, rng: random.Random, first_user: int, user_units: list[int],
                        now: datetime) -> int:
    """For each unit and competency a share of 40–80 % of its officials hold it, achieved over two years.

    Holding is correlated within a person (someone who holds one competency often holds the
    others), as it is in life; without that almost nobody would hold all five and qualify. A
    record lasts `validity_months`; most expired ones were renewed around their expiry (a newer
    record), the rest stay expired; a few records are revoked.
    """
    competencies = db.session.execute(sa.select(Competency.id, Competency.validity_months)
                                      .order_by(Competency.sort_order, Competency.id)).all()
    if not competencies or not user_units:
        return 0
    shares: dict[int, list[float]] = {}
    table = CompetencyRecord.__table__
    columns = ("id", "user_id", "competency_id", "achieved_at", "expires_at", "score", "evidence_url", "source",
               "revoked_at", "revoked_reason", "created_at")
    history = HISTORY_DAYS * 86400
    personal, own = math.sqrt(RECORD_CORRELATION), math.sqrt(1 - RECORD_CORRELATION)
    latest = now - timedelta(hours=1)
    gauss, random_ = rng.gauss, rng.random
    total = 0
    with _progress(len(user_units), "Hồ sơ năng lực") as bar:
        for start in range(0, len(user_units), CHUNK):
            rows = []
            for i in range(start, min(len(user_units), start + CHUNK)):
                unit_id = user_units[i]
                if unit_id not in shares:
                    shares[unit_id] = [rng.uniform(0.4, 0.8) for _ in competencies]
                person = personal * gauss(0.0, 1.0)
                for (competency_id, months), share in zip(competencies, shares[unit_id]):
                    # Gaussian copula: correlated with the person, yet held by exactly `share` of them.
                    if 0.5 * (1 + math.erf((person + own * gauss(0.0, 1.0)) / math.sqrt(2))) >= share:
                        continue
                    achieved = now - timedelta(seconds=rng.randrange(3600, history))
                    while True:
                        expires = add_months(achieved, months)
                        revoked = achieved + (now - achieved) * random_() if random_() < 0.005 else None
                        rows.append([None, first_user + i, competency_id, achieved, expires,
                                     round(rng.uniform(70, 100), 2), "", "generated", revoked,
                                     "Dữ liệu mẫu: thu hồi" if revoked else "", achieved])
                        if expires > now or random_() >= RENEWAL_SHARE:
                            break
                        # Renewed by retaking the quiz, from six weeks before to two months after expiry.
                        achieved = min(latest, expires + timedelta(days=rng.uniform(-45, 60)))
            first_id = writer.reserve_ids(table, len(rows))
            for n, row in enumerate(rows):
                row[0] = first_id + n
            writer.write(table, columns, [tuple(row) for row in rows])
            total += len(rows)
            bar.update(min(CHUNK, len(user_units) - start))
    return total


def _allocation(seed: int, plans: list[QuizPlan], officials: int, wanted: int, capacity: int):
    """Yield (official index, quiz plan, attempts) so that exactly `wanted` attempts are spread evenly.

    Selection sampling (Knuth's algorithm S) over every (official, quiz, allowed attempt); the same
    seed yields the same allocation, so it can be walked once to count and once to generate.
    """
    rng = random.Random(f"{seed}:allocation")
    needed, remaining = wanted, capacity
    for i in range(officials):
        if needed <= 0:
            return
        for plan in plans:
            k = 0
            for _ in range(plan.cap):
                if rng.random() * remaining < needed:
                    k += 1
                    needed -= 1
                remaining -= 1
            if k:
                yield i, plan, k


def _attempts(writer: BulkWriter, seed: int, plans: list[QuizPlan], first_user: int, officials: int,
              wanted: int, summary: Summary) -> tuple[int, int]:
    """Finished attempts over two years, spread over officials and quizzes, never more per learner
    and quiz than leaves them one attempt to take; slots graded consistently with the scores."""
    capacity = officials * sum(plan.cap for plan in plans)
    if wanted > capacity:
        summary.notes.append(f"Chỉ tạo {vn_number(capacity)} bài làm: mỗi người còn phải được làm thêm "
                             "ít nhất một lần mỗi bài kiểm tra.")
        wanted = capacity
    attempt_table, slot_table = Attempt.__table__, AttemptSlot.__table__
    attempt_columns = ("id", "quiz_id", "user_id", "number", "state", "seed", "started_at", "deadline",
                       "submitted_at", "auto_submitted", "score", "max_score", "percent", "passed")
    slot_columns = ("id", "attempt_id", "slot", "question_version_id", "max_mark", "order", "response",
                    "saved_at", "fraction", "mark", "feedback")
    total_slots = sum(plan.size * k for _, plan, k in _allocation(seed, plans, officials, wanted, capacity))
    attempt_id = writer.reserve_ids(attempt_table, wanted)
    slot_id = writer.reserve_ids(slot_table, total_slots)
    rng = random.Random(f"{seed}:attempts")
    made = slots_made = 0
    attempt_rows: list[tuple] = []
    slot_rows: list[tuple] = []
    second = timedelta(seconds=1)
    random_ = rng.random

    def flush() -> None:
        nonlocal made, slots_made, attempt_rows, slot_rows
        writer.write(attempt_table, attempt_columns, attempt_rows)
        # The slots (twenty rows an attempt) go in while the next batch is being generated.
        writer.write_in_background(slot_table, slot_columns, slot_rows)
        made += len(attempt_rows)
        slots_made += len(slot_rows)
        bar.update(len(attempt_rows))
        attempt_rows, slot_rows = [], []

    with _progress(wanted, "Bài làm") as bar:
        for i, plan, k in _allocation(seed, plans, officials, wanted, capacity):
            user_id = first_user + i
            ability = rng.uniform(0.35, 0.95)
            start, end = plan.window
            span = int((end - start).total_seconds())
            limit = plan.time_limit_s or 1800
            for number, offset in enumerate(sorted(rng.randrange(span) for _ in range(k)), start=1):
                started = start + offset * second
                took = rng.randint(min(120, limit), limit)
                p = min(0.98, ability + 0.1 * (number - 1))  # retakes go better
                if len(plan.rules) == 1:
                    pool, count = plan.rules[0]
                    drawn = rng.sample(pool, count)  # already in random order, as draw_questions has it
                else:
                    drawn = [entry for pool, count in plan.rules for entry in rng.sample(pool, count)]
                    if plan.shuffle_questions:
                        rng.shuffle(drawn)
                score = 0.0
                step = took // (plan.size + 1) * second
                for slot, (version_id, orders, right, wrong, mark) in enumerate(drawn, start=1):
                    roll = random_()
                    response, fraction, feedback, earned = right if roll < p else wrong if roll < 0.97 else BLANK
                    score += earned
                    slot_rows.append((slot_id, attempt_id, slot, version_id, mark, orders[int(roll * 1024) & 3],
                                      response, None if response is None else started + step * slot,
                                      fraction, earned, feedback))
                    slot_id += 1
                max_score = plan.max_score
                percent = round(100 * score / max_score, 2) if max_score else 0.0
                attempt_rows.append((attempt_id, plan.id, user_id, number, "finished", rng.getrandbits(48), started,
                                     started + plan.time_limit_s * second if plan.time_limit_s else None,
                                     started + took * second, False, round(score, 4), round(max_score, 4), percent,
                                     percent + 1e-9 >= plan.pass_percent))
                attempt_id += 1
            if len(attempt_rows) >= ATTEMPT_CHUNK:
                flush()
        flush()
        writer.wait()
    return made, slots_made


def _tokens(writer: BulkWriter, path: str, first_user: int, emails: list[str], now: datetime) -> int:
    """An API token per generated official (stored as SHA-256), written to `path` as email,token."""
    days = current_app.config.get("API_TOKEN_DAYS", 30)
    expires = now + timedelta(days=days)
    table = ApiToken.__table__
    columns = ("id", "user_id", "token_hash", "name", "created_at", "expires_at", "last_used_at", "revoked_at")
    # The file holds live credentials: readable by its owner only.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as handle, \
            _progress(len(emails), "Mã truy cập API") as bar:
        out = csv.writer(handle)
        out.writerow(["email", "token"])
        first_id = writer.reserve_ids(table, len(emails))
        for start in range(0, len(emails), CHUNK):
            rows = []
            for n in range(start, min(len(emails), start + CHUNK)):
                token = secrets.token_urlsafe(32)
                out.writerow([emails[n], token])
                rows.append((first_id + n, first_user + n, hashlib.sha256(token.encode()).hexdigest(),
                             "generate (load test)", now, expires, None, None))
            writer.write(table, columns, rows)
            bar.update(len(rows))
    return len(emails)


def _analyze() -> None:
    """Fresh planner statistics on PostgreSQL, so the first dashboard query after a big load is not
    planned blind (autovacuum would get there, minutes later)."""
    tables = ("org_units", "users", "user_roles", "competency_records", "attempts", "attempt_slots", "api_tokens")
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("ANALYZE " + ", ".join(tables)))
            connection.commit()


# --------------------------------------------------------------------------- the command
@click.command("generate")
@with_appcontext
@click.option("--units", type=click.IntRange(0, 100_000), required=True,
              help="Wards and communes to create under the test city GEN.")
@click.option("--officials", type=click.IntRange(0, 10_000_000), required=True,
              help="Officials official<i>@load.example to create.")
@click.option("--attempts", type=click.IntRange(0, 100_000_000), default=0, show_default=True,
              help="Finished quiz attempts spread over the new officials and two years.")
@click.option("--password", default=None, help="Password of every generated official (generated if omitted).")
@click.option("--tokens-out", type=click.Path(dir_okay=False, writable=True),
              help="Write email,token API tokens of the generated officials to this CSV file.")
@click.option("--seed", type=int, default=None, help="Random seed: the same seed gives the same units and names.")
@click.option("--departments", type=click.IntRange(0, len(DEPARTMENTS)), default=0, show_default=True,
              help="Departments under each new ward; officials are then placed in them.")
@click.option("--append", is_flag=True, help="Add to an existing test city GEN instead of refusing.")
def generate_command(units: int, officials: int, attempts: int, password: str | None, tokens_out: str | None,
                     seed: int | None, departments: int, append: bool) -> None:
    """Synthetic data at any scale for benchmarks and load tests (run after `setup --demo`)."""
    if password is not None:
        try:
            check_password_strength(password)
        except AccountError as exc:
            raise GenerateError(str(exc)) from None
    shown_password = password is None
    password = password or generate_password()
    if seed is None:
        seed = random.SystemRandom().randrange(1, 2**31)
    if units == 0 and not append:
        raise GenerateError("--units phải lớn hơn 0 (hoặc dùng --append để thêm cán bộ vào các phường đã có).")
    click.echo(f"Tạo dữ liệu thử nghiệm (seed {seed}) trên {db.engine.dialect.name}…")
    began = time.perf_counter()
    # Tokens go to a side file that becomes --tokens-out only once the officials are committed.
    partial = f"{tokens_out}.partial" if tokens_out else None
    try:
        summary = generate(units=units, officials=officials, attempts=attempts, password=password, seed=seed,
                           append=append, departments=departments, tokens_out=partial)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        if partial and os.path.exists(partial):
            os.remove(partial)
        raise
    if partial:
        os.replace(partial, tokens_out)
    _analyze()
    elapsed = time.perf_counter() - began
    click.echo(f"Đã tạo {vn_number(summary.units)} đơn vị, {vn_number(summary.officials)} cán bộ, công chức, "
               f"{vn_number(summary.records)} hồ sơ năng lực, {vn_number(summary.attempts)} bài làm "
               f"({vn_number(summary.slots)} câu trả lời), {vn_number(summary.tokens)} mã truy cập.")
    rate = summary.rows / max(elapsed, 1e-6)
    click.echo(f"Thời gian: {vn_duration(elapsed)}, {vn_number(summary.rows)} dòng ({vn_number(rate)} dòng/giây).")
    for note in summary.notes:
        click.echo(f"Lưu ý: {note}")
    if officials:
        click.echo(f"Tài khoản: {EMAIL_PREFIX}<i>@{EMAIL_DOMAIN}"
                   + (f"; mật khẩu (password): {password}" if shown_password else "; mật khẩu như --password."))
    if tokens_out:
        click.echo(f"Mã truy cập API (email,token): {tokens_out}")
