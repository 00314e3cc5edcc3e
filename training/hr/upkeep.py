"""Keeping HR's figures (training.hr.models) current, in the same transaction as every change that moves them.

What moves them: a competency record created, revoked, changed or deleted; an official created,
deleted, moved to another unit or position, deactivated or renamed; a position's required
competencies changed; a competency made core or not; a unit moved in the tree. Every one of these is
an ORM change, and this module listens to the session (`before_flush` notes who is touched,
`after_flush_postexec` recounts them) and to ORM bulk UPDATE/DELETE statements on records and users,
so no writer has to remember to call anything. What bypasses the ORM on purpose (`generate`'s COPY,
a migration) calls `rebuild_counts` (training.hr.rebuild) afterwards.

Recounting an official: their old contribution is read from the projection (`hr_officials`,
`hr_official_competencies`), their new one is computed from the records, and the difference is added
to the per-unit buckets of every unit they were or are counted in, in one statement per table. The
official's row in `users` is locked first (PostgreSQL), so two transactions touching the same
official apply their differences one after the other.

Which competencies an official must hold comes from `required_competencies` (training.services.
qualification, the one home of that rule); a record counts from its `achieved_at` until its
`expires_at` unless revoked, so an official holds a competency on day D when their longest-lasting
unrevoked record expires after D. For days on or after the record was achieved, that is
`record_valid_at(moment_of(D))`, and tests/training/test_hr_counts.py holds the kept figures equal to a
recount by `qualified_condition` and `holds_condition` after passes, revocations, expiries across
midnight, moves and deactivations.

Monthly snapshots (`hr_unit_months`): before the first change after a month ends, the buckets still
describe that month's last day, so the snapshot is taken from them then; a page that finds a month not
yet taken computes it from the buckets the same way (nothing has changed since).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import sqlalchemy as sa
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from training.hr.models import (NEVER, NO_POSITION, HrCountsState, HrOfficial, HrOfficialCompetency,
                                HrUnitCompetencyDay, HrUnitMonth, HrUnitName, HrUnitQualifiedDay)
from training.models import Competency, CompetencyRecord, OrgUnit, Position, User, position_competencies
from training.services.qualification import VIETNAM, moment_of, required_competencies
from training.vntext import fold

CHUNK = 500
STATE_ID = 1
TREND_MONTHS = 12
_USER_FIELDS = ("unit", "unit_id", "position", "position_id", "active", "sort_key", "search_name", "email")
_RECORD_FIELDS = ("user", "user_id", "competency", "competency_id", "revoked_at", "expires_at", "achieved_at")
_UNIT_FIELDS = ("path", "name", "code")


def utcnow() -> datetime:
    """The clock the snapshots follow (tests replace it to cross midnight and month ends)."""
    return datetime.now(timezone.utc)


def vietnam_day(moment: datetime) -> date:
    return moment.astimezone(VIETNAM).date()


def today() -> date:
    return vietnam_day(utcnow())


def previous_month_end(day: date) -> date:
    """The last day of the month before `day`'s month."""
    return day.replace(day=1) - timedelta(days=1)


def ancestors(path: str) -> list[int]:
    """The unit ids of a materialised path "/1/7/42/", root first, the unit itself last."""
    return [int(part) for part in path.strip("/").split("/") if part]


def search_text(search_name: str, email: str) -> str:
    """What the name search matches: the folded name (users.search_name) and the e-mail."""
    return f"{search_name or ''} {(email or '').lower()}"[:500]


# --------------------------------------------------------------------------- what a flush touches
@dataclass
class _Touched:
    users: set = field(default_factory=set)          # ids
    user_objects: list = field(default_factory=list)  # objects whose id may only exist after the flush
    positions: set = field(default_factory=set)
    no_position: bool = False  # the core set changed: officials without a position
    units: set = field(default_factory=set)           # units whose path changed: their officials move
    unit_objects: list = field(default_factory=list)  # units to (re)index for the search field
    gone_units: set = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.users or self.user_objects or self.positions or self.no_position or self.units
                    or self.unit_objects or self.gone_units)


def _changed(obj, names: Iterable[str]) -> bool:
    attrs = inspect(obj).attrs
    return any(name in attrs and attrs[name].history.has_changes() for name in names)


def _old_values(obj, name: str) -> list:
    return [value for value in inspect(obj).attrs[name].history.deleted if value is not None]


def _note(touched: _Touched, obj, how: str) -> None:
    if isinstance(obj, CompetencyRecord):
        if how == "dirty" and not _changed(obj, _RECORD_FIELDS):
            return
        touched.user_objects.append(obj)  # its user_id is known after the flush
        if how == "dirty":
            touched.users.update(_old_values(obj, "user_id"))
            touched.users.update(user.id for user in _old_values(obj, "user") if user.id is not None)
    elif isinstance(obj, User):
        if how == "dirty" and not _changed(obj, _USER_FIELDS):
            return
        touched.user_objects.append(obj)
    elif isinstance(obj, Position):
        if how == "deleted":
            touched.positions.add(obj.id)
        elif how == "dirty" and _changed(obj, ("required_competencies",)):
            touched.positions.add(obj.id)
    elif isinstance(obj, Competency):
        if how in ("new", "deleted") or _changed(obj, ("is_core",)):
            touched.no_position = True
        if how == "deleted":
            touched.positions.update(position.id for position in _positions_requiring(obj))
    elif isinstance(obj, OrgUnit):
        if how == "deleted":
            touched.gone_units.add(obj.id)
            return
        if how == "new" or _changed(obj, _UNIT_FIELDS):
            touched.unit_objects.append(obj)
        if how == "dirty" and _changed(obj, ("path",)):
            touched.units.add(obj.id)


def _positions_requiring(competency: Competency) -> list:
    session = inspect(competency).session
    return list(session.scalars(sa.select(Position).join(position_competencies).where(
        position_competencies.c.competency_id == competency.id))) if session is not None else []


def _before_flush(session: Session, flush_context, instances) -> None:
    touched = session.info.setdefault("hr_touched", _Touched())
    for obj in session.new:
        _note(touched, obj, "new")
    for obj in session.dirty:
        _note(touched, obj, "dirty")
    for obj in session.deleted:
        _note(touched, obj, "deleted")


def _after_flush_postexec(session: Session, flush_context) -> None:
    touched = session.info.pop("hr_touched", None)
    if not touched:
        return
    connection = session.connection()
    ids = set(touched.users)
    for obj in touched.user_objects:
        user_id = obj.id if isinstance(obj, User) else obj.user_id
        if user_id is not None:
            ids.add(user_id)
    if touched.positions:
        ids.update(connection.scalars(sa.select(User.id).where(User.position_id.in_(touched.positions))))
        ids.update(connection.scalars(sa.select(HrOfficial.user_id).where(
            HrOfficial.position_id.in_(touched.positions))))
    if touched.no_position:
        ids.update(connection.scalars(sa.select(User.id).where(User.position_id.is_(None))))
    if touched.units:
        ids.update(connection.scalars(sa.select(User.id).where(User.unit_id.in_(touched.units))))
        ids.update(connection.scalars(sa.select(HrOfficial.user_id).where(HrOfficial.unit_id.in_(touched.units))))
    if ids:
        refresh(session, ids)
    if touched.unit_objects or touched.gone_units:
        _index_units(connection, [unit for unit in touched.unit_objects if unit.id is not None], touched.gone_units)


def _do_orm_execute(state):
    """ORM bulk statements on records or users bypass the unit of work (a roster import inserts and
    updates officials a chunk at a time): recount the officials they touch, in the same transaction.
    Which ones: for an UPDATE or DELETE with a WHERE, those it matches (read before it runs); for a
    bulk UPDATE by primary key, the rows it names; for an INSERT, the officials its rows name (by
    user_id for records, by e-mail for officials)."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    mapper = state.bind_mapper
    if mapper is None or mapper.class_ not in (CompetencyRecord, User):
        return None
    session, model = state.session, mapper.class_
    params = state.parameters
    rows = params if isinstance(params, list) else [params] if params else []
    rows = [row for row in rows if isinstance(row, dict)]
    connection = session.connection()
    ids: set = set()
    record_ids: list = []
    if state.is_update and rows and state.statement.whereclause is None and all("id" in row for row in rows):
        if model is User:
            ids = {row["id"] for row in rows}
        else:
            record_ids = [row["id"] for row in rows]
            ids = set(connection.scalars(sa.select(CompetencyRecord.user_id)
                                         .where(CompetencyRecord.id.in_(record_ids))))
    elif not state.is_insert:
        column = CompetencyRecord.user_id if model is CompetencyRecord else User.id
        probe = sa.select(column)
        if state.statement.whereclause is not None:
            probe = probe.where(state.statement.whereclause)
        ids = set(connection.scalars(probe))
    result = state.invoke_statement()
    if state.is_insert and model is CompetencyRecord:
        ids = {row.get("user_id") for row in rows} - {None}
    elif state.is_insert:
        ids = {row["id"] for row in rows if row.get("id") is not None}
        emails = [row["email"] for row in rows if row.get("id") is None and row.get("email")]
        for start in range(0, len(emails), CHUNK):
            ids.update(connection.scalars(sa.select(User.id).where(User.email.in_(emails[start:start + CHUNK]))))
    elif record_ids:  # a record may have been given to someone else
        ids.update(connection.scalars(sa.select(CompetencyRecord.user_id).where(CompetencyRecord.id.in_(record_ids))))
    if ids:
        refresh(session, ids)
    return result


def _after_rollback(session: Session, previous_transaction) -> None:
    # A flush that failed never reached after_flush_postexec: what it had noted is gone with it.
    session.info.pop("hr_touched", None)


def install() -> None:
    """Listen to every Flask-SQLAlchemy session (once per process)."""
    for name, listener in (("before_flush", _before_flush), ("after_flush_postexec", _after_flush_postexec),
                           ("do_orm_execute", _do_orm_execute), ("after_soft_rollback", _after_rollback)):
        if not event.contains(FlaskSession, name, listener):
            event.listen(FlaskSession, name, listener)


# --------------------------------------------------------------------------- recounting officials
@dataclass(frozen=True)
class _Standing:
    """What one official contributes to the counts."""

    unit_id: int
    unit_path: str
    position_id: int
    qualified_until: date
    until: dict  # competency id → expiry day of the best record


class _Requirements:
    """Required competency ids per position id (NO_POSITION: without a position), asked of
    `required_competencies` once per position."""

    def __init__(self, session: Session):
        self.session = session
        self.known: dict[int, tuple[int, ...]] = {}

    def __getitem__(self, position_id: int) -> tuple[int, ...]:
        if position_id not in self.known:
            position = self.session.get(Position, position_id) if position_id != NO_POSITION else None
            holder = SimpleNamespace(position=position)
            self.known[position_id] = tuple(competency.id for competency in required_competencies(holder))
        return self.known[position_id]


def qualified_until(until: dict, required: tuple[int, ...]) -> date:
    """The day an official stops qualifying: the earliest expiry among the best records of what they
    must hold; NEVER when something required was never held (or nothing is required)."""
    if not required or any(competency_id not in until for competency_id in required):
        return NEVER
    return min(until[competency_id] for competency_id in required)


def _contribution(standing: _Standing, competencies: Counter, qualified: Counter, sign: int) -> None:
    units = ancestors(standing.unit_path)
    for unit_id in units:
        qualified[unit_id, False, standing.qualified_until, standing.position_id] += sign
        for competency_id, day in standing.until.items():
            competencies[unit_id, False, day, standing.position_id, competency_id] += sign
    qualified[standing.unit_id, True, standing.qualified_until, standing.position_id] += sign
    for competency_id, day in standing.until.items():
        competencies[standing.unit_id, True, day, standing.position_id, competency_id] += sign


def refresh(session: Session, user_ids: Iterable[int]) -> None:
    """Recount these officials in the current transaction (their rows in users may be gone)."""
    connection = session.connection()
    requirements = _Requirements(session)
    ids = sorted(set(user_ids))
    competencies, qualified = Counter(), Counter()
    for start in range(0, len(ids), CHUNK):
        _refresh_chunk(connection, ids[start:start + CHUNK], requirements, competencies, qualified)
    competencies = {key: n for key, n in competencies.items() if n}
    qualified = {key: n for key, n in qualified.items() if n}
    if competencies or qualified:
        ensure_snapshots(connection)
        _add(connection, HrUnitCompetencyDay.__table__,
             ("unit_id", "direct", "day", "position_id", "competency_id"), competencies)
        _add(connection, HrUnitQualifiedDay.__table__, ("unit_id", "direct", "day", "position_id"), qualified)


def _refresh_chunk(connection, ids: list[int], requirements: _Requirements, competencies: Counter,
                   qualified: Counter) -> None:
    if connection.dialect.name == "postgresql":
        # One official recounted by one transaction at a time: the second waits, then reads what the
        # first wrote. NO KEY: rows that merely point at the official (attempts) are not held up.
        connection.execute(sa.select(User.id).where(User.id.in_(ids)).order_by(User.id)
                           .with_for_update(key_share=True))
    old: dict[int, _Standing] = {}
    old_until: dict[int, dict] = defaultdict(dict)
    for user_id, competency_id, until in connection.execute(
            sa.select(HrOfficialCompetency.user_id, HrOfficialCompetency.competency_id, HrOfficialCompetency.until)
            .where(HrOfficialCompetency.user_id.in_(ids))):
        old_until[user_id][competency_id] = until
    for row in connection.execute(sa.select(HrOfficial).where(HrOfficial.user_id.in_(ids))):
        old[row.user_id] = _Standing(row.unit_id, row.unit_path, row.position_id, row.qualified_until,
                                     old_until.get(row.user_id, {}))

    people = connection.execute(
        sa.select(User.id, User.unit_id, User.position_id, User.sort_key, User.search_name, User.email, OrgUnit.path)
        .join(OrgUnit, OrgUnit.id == User.unit_id)
        .where(User.id.in_(ids), User.active.is_(True))).all()
    counted = [row.id for row in people]
    new_until: dict[int, dict] = defaultdict(dict)
    recount: dict[int, date] = {}
    if counted:
        # Records achieved by the end of today count; one dated later makes the official due for a
        # recount on that day (the rule, `record_valid_at`, counts a record from its achieved_at).
        cutoff = moment_of(today())
        record = CompetencyRecord
        best = sa.func.max(record.expires_at).filter(record.achieved_at <= cutoff)
        later = sa.func.min(record.achieved_at).filter(record.achieved_at > cutoff)
        for user_id, competency_id, expires_at, achieved_at in connection.execute(
                sa.select(record.user_id, record.competency_id, best, later)
                .where(record.user_id.in_(counted), record.revoked_at.is_(None))
                .group_by(record.user_id, record.competency_id)):
            if expires_at is not None:
                new_until[user_id][competency_id] = vietnam_day(_aware(expires_at))
            if achieved_at is not None:
                day = vietnam_day(_aware(achieved_at))
                recount[user_id] = min(day, recount.get(user_id, day))
    new: dict[int, _Standing] = {}
    rows = []
    for person in people:
        position_id = person.position_id or NO_POSITION
        until = new_until.get(person.id, {})
        standing = _Standing(person.unit_id, person.path, position_id,
                             qualified_until(until, requirements[position_id]), until)
        new[person.id] = standing
        rows.append({"user_id": person.id, "unit_id": person.unit_id, "unit_path": person.path,
                     "position_id": position_id, "sort_key": person.sort_key or "",
                     "search_text": search_text(person.search_name, person.email),
                     "qualified_until": standing.qualified_until, "recount_on": recount.get(person.id)})

    for user_id in ids:
        before, after = old.get(user_id), new.get(user_id)
        if before == after:
            continue
        if before is not None:
            _contribution(before, competencies, qualified, -1)
        if after is not None:
            _contribution(after, competencies, qualified, +1)
    connection.execute(sa.delete(HrOfficialCompetency).where(HrOfficialCompetency.user_id.in_(ids)))
    connection.execute(sa.delete(HrOfficial).where(HrOfficial.user_id.in_(ids)))
    if rows:
        connection.execute(sa.insert(HrOfficial), rows)
    pairs = [{"user_id": user_id, "competency_id": competency_id, "until": until}
             for user_id, standing in new.items() for competency_id, until in standing.until.items()]
    if pairs:
        connection.execute(sa.insert(HrOfficialCompetency), pairs)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _upsert(connection, table: sa.Table):
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif connection.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the project runs on these two
        raise NotImplementedError(connection.dialect.name)
    return insert(table)


def _add(connection, table: sa.Table, keys: tuple[str, ...], deltas: dict) -> None:
    """Add each delta to its bucket, creating it when missing: one statement, keys in order (two
    transactions lock the buckets they share in the same order, so they cannot deadlock)."""
    if not deltas:
        return
    rows = [dict(zip(keys, key), officials=n) for key, n in sorted(deltas.items())]
    statement = _upsert(connection, table)
    statement = statement.on_conflict_do_update(index_elements=list(keys),
                                                set_={"officials": table.c.officials + statement.excluded.officials})
    for start in range(0, len(rows), 5000):
        connection.execute(statement, rows[start:start + 5000])


def catch_up(session: Session, day: date | None = None) -> int:
    """Recount the officials whose record dated in the future has become due by `day` (today):
    normally none, one indexed query. Returns how many were recounted (the caller commits)."""
    day = day or today()
    due = list(session.connection().scalars(sa.select(HrOfficial.user_id).where(HrOfficial.recount_on <= day)
                                            .limit(CHUNK * 10)))
    if due:
        refresh(session, due)
    return len(due)


# --------------------------------------------------------------------------- unit names
def _index_units(connection, units: list[OrgUnit], gone: set) -> None:
    ids = {unit.id for unit in units} | set(gone)
    if not ids:
        return
    connection.execute(sa.delete(HrUnitName).where(HrUnitName.unit_id.in_(ids)))
    rows = [{"unit_id": unit.id, "path": unit.path or "", "search_text": fold(f"{unit.code} {unit.name}")[:300]}
            for unit in units if unit.id not in gone]
    if rows:
        connection.execute(sa.insert(HrUnitName), rows)


# --------------------------------------------------------------------------- monthly snapshots
def ensure_snapshots(connection, day: date | None = None) -> date:
    """Take the snapshot of every month that ended before `day` (today) and is not taken yet, from
    the buckets as they are: called before a change is applied, so they still describe that month's
    end. Returns the last month end taken."""
    day = day or today()
    last = previous_month_end(day)
    state = connection.execute(sa.select(HrCountsState.snapshot_through).where(HrCountsState.id == STATE_ID)
                               ).scalar_one_or_none()
    if state is not None and state >= last:
        return state
    first = state if state is not None else previous_month_end(last.replace(day=1))
    ends = []
    end = last
    while end > first and len(ends) < TREND_MONTHS:
        ends.append(end)
        end = previous_month_end(end)
    for end in reversed(ends):
        figures = sa.select(
            HrUnitQualifiedDay.unit_id, sa.literal(end, sa.Date).label("day"),
            sa.func.sum(HrUnitQualifiedDay.officials).label("officials"),
            sa.func.sum(sa.case((HrUnitQualifiedDay.day > end, HrUnitQualifiedDay.officials), else_=0))
            .label("qualified"),
        ).where(HrUnitQualifiedDay.direct.is_(False)).group_by(HrUnitQualifiedDay.unit_id)
        statement = _upsert(connection, HrUnitMonth.__table__).from_select(
            ["unit_id", "day", "officials", "qualified"], figures).on_conflict_do_nothing()
        connection.execute(statement)
    connection.execute(_upsert(connection, HrCountsState.__table__).values(
        id=STATE_ID, snapshot_through=last, needs_rebuild=False).on_conflict_do_nothing())
    connection.execute(sa.update(HrCountsState).where(
        HrCountsState.id == STATE_ID,
        sa.or_(HrCountsState.snapshot_through.is_(None), HrCountsState.snapshot_through < last))
        .values(snapshot_through=last))
    return last


def snapshot_through(connection) -> date | None:
    return connection.execute(sa.select(HrCountsState.snapshot_through).where(HrCountsState.id == STATE_ID)
                              ).scalar_one_or_none()


def needs_rebuild(connection) -> bool:
    """True when the database had officials before these counts existed (migration 0014 says so)
    and nobody has run `setup` or `hr rebuild-counts` since: the pages say so rather than show zeros."""
    return bool(connection.execute(sa.select(HrCountsState.needs_rebuild).where(HrCountsState.id == STATE_ID)
                                   ).scalar_one_or_none())
