"""Rebuilding HR's kept figures from the records, the officials and the org tree.

After anything that wrote behind the ORM's back (`generate`'s COPY, a restore, a migration), and by
`flask --app training hr rebuild-counts`. The same figures as training.hr.upkeep keeps, computed in a
few set-based statements (45 s at 250,000 officials and 860,000 records): the projection, then the
buckets grouped by unit (through a temporary table of every unit's ancestors), then the past months'
snapshots recounted with `qualified_condition`.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from training.hr.models import (NEVER, NO_POSITION, HrCountsState, HrOfficial, HrOfficialCompetency,
                                HrUnitCompetencyDay, HrUnitMonth, HrUnitName, HrUnitQualifiedDay)
from training.hr.upkeep import (STATE_ID, TREND_MONTHS, _Requirements, ancestors, previous_month_end, today,
                                utcnow)
from training.models import CompetencyRecord, OrgUnit, Position, User
from training.services.qualification import moment_of, qualified_condition
from training.vntext import fold


@dataclass
class RebuildReport:
    officials: int
    records: int
    buckets: int
    months: int
    units: int


def _vn_day_sql(column, dialect: str):
    if dialect == "postgresql":
        return sa.cast(sa.func.timezone("Asia/Ho_Chi_Minh", column), sa.Date)
    # SQLite keeps UTC text; Vietnam has been UTC+7 without daylight saving since 1975.
    return sa.func.date(column, "+7 hours")


def rebuild_counts(session: Session, day: date | None = None, progress=None) -> RebuildReport:
    """Recompute every kept figure from the records, the officials and the org tree, in the current
    transaction (the caller commits). Past months' snapshots are recounted by `qualified_condition`
    at each month's end, with today's officials and units (who was where then is not recorded)."""
    day = day or today()
    say = progress or (lambda text: None)
    connection = session.connection()
    dialect = connection.dialect.name
    tables = [HrOfficial, HrOfficialCompetency, HrUnitCompetencyDay, HrUnitQualifiedDay, HrUnitMonth,
              HrCountsState, HrUnitName]
    if dialect == "postgresql":
        # Nobody recounts an official (after_flush) or reads half a rebuild while this runs.
        connection.execute(sa.text("LOCK TABLE " + ", ".join(t.__tablename__ for t in tables)
                                   + " IN ACCESS EXCLUSIVE MODE"))
    for model in tables:
        connection.execute(sa.delete(model))

    say("đơn vị")
    units = connection.execute(sa.select(OrgUnit.id, OrgUnit.path, OrgUnit.code, OrgUnit.name)).all()
    _bulk(connection, HrUnitName.__table__, [
        {"unit_id": unit_id, "path": path or "", "search_text": fold(f"{code} {name}")[:300]}
        for unit_id, path, code, name in units])
    metadata = sa.MetaData()
    tree = sa.Table("tmp_hr_tree", metadata, sa.Column("unit_id", sa.Integer), sa.Column("ancestor_id", sa.Integer),
                    prefixes=["TEMPORARY"])
    required = sa.Table("tmp_hr_required", metadata, sa.Column("position_id", sa.Integer),
                        sa.Column("competency_id", sa.Integer), prefixes=["TEMPORARY"])
    for table in (tree, required):
        connection.execute(sa.text(f"DROP TABLE IF EXISTS {table.name}"))
        table.create(connection)
    _bulk(connection, tree, [{"unit_id": unit_id, "ancestor_id": ancestor}
                             for unit_id, path, _code, _name in units for ancestor in ancestors(path or "")])
    requirements = _Requirements(session)
    positions = [NO_POSITION] + list(connection.scalars(sa.select(Position.id)))
    _bulk(connection, required, [{"position_id": position_id, "competency_id": competency_id}
                                 for position_id in positions for competency_id in requirements[position_id]])

    say("hồ sơ năng lực")
    counted = sa.and_(User.active.is_(True), User.unit_id.is_not(None))
    best = sa.func.max(CompetencyRecord.expires_at)
    cutoff = moment_of(day)
    connection.execute(sa.insert(HrOfficialCompetency).from_select(
        ["user_id", "competency_id", "until"],
        sa.select(CompetencyRecord.user_id, CompetencyRecord.competency_id, _vn_day_sql(best, dialect))
        .join(User, User.id == CompetencyRecord.user_id)
        .where(counted, CompetencyRecord.revoked_at.is_(None), CompetencyRecord.achieved_at <= cutoff)
        .group_by(CompetencyRecord.user_id, CompetencyRecord.competency_id)))
    pending = sa.select(CompetencyRecord.user_id.label("user_id"),
                        _vn_day_sql(sa.func.min(CompetencyRecord.achieved_at), dialect).label("day")) \
        .where(CompetencyRecord.revoked_at.is_(None), CompetencyRecord.achieved_at > cutoff) \
        .group_by(CompetencyRecord.user_id).subquery()

    say("cán bộ")
    position_key = sa.func.coalesce(User.position_id, NO_POSITION)
    held = sa.select(User.id.label("user_id"), sa.func.count().label("required"),
                     sa.func.count(HrOfficialCompetency.until).label("held"),
                     sa.func.min(HrOfficialCompetency.until).label("until")) \
        .select_from(User).join(required, required.c.position_id == position_key) \
        .outerjoin(HrOfficialCompetency, sa.and_(HrOfficialCompetency.user_id == User.id,
                                                 HrOfficialCompetency.competency_id == required.c.competency_id)) \
        .where(counted).group_by(User.id).subquery()
    until = sa.case((sa.and_(held.c.required > 0, held.c.held == held.c.required), held.c.until),
                    else_=sa.literal(NEVER, sa.Date))
    # search_text as `search_text()` writes it: the folded name (users.search_name) and the e-mail.
    text = sa.func.substr(sa.func.coalesce(User.search_name, "") + " " + sa.func.lower(User.email), 1, 500)
    connection.execute(sa.insert(HrOfficial).from_select(
        ["user_id", "unit_id", "unit_path", "position_id", "sort_key", "search_text", "qualified_until",
         "recount_on"],
        sa.select(User.id, User.unit_id, OrgUnit.path, position_key, sa.func.coalesce(User.sort_key, ""), text,
                  sa.func.coalesce(until, sa.literal(NEVER, sa.Date)), pending.c.day)
        .join(OrgUnit, OrgUnit.id == User.unit_id).outerjoin(held, held.c.user_id == User.id)
        .outerjoin(pending, pending.c.user_id == User.id).where(counted)))

    say("bộ đếm theo đơn vị")
    c, o = HrOfficialCompetency, HrOfficial
    for direct in (True, False):
        unit = o.unit_id if direct else tree.c.ancestor_id
        stmt = sa.select(unit, sa.literal(direct), c.until, o.position_id, c.competency_id, sa.func.count()) \
            .select_from(c).join(o, o.user_id == c.user_id)
        if not direct:
            stmt = stmt.join(tree, tree.c.unit_id == o.unit_id)
        connection.execute(sa.insert(HrUnitCompetencyDay).from_select(
            ["unit_id", "direct", "day", "position_id", "competency_id", "officials"],
            stmt.group_by(unit, c.until, o.position_id, c.competency_id)))
        stmt = sa.select(unit, sa.literal(direct), o.qualified_until, o.position_id, sa.func.count()).select_from(o)
        if not direct:
            stmt = stmt.join(tree, tree.c.unit_id == o.unit_id)
        connection.execute(sa.insert(HrUnitQualifiedDay).from_select(
            ["unit_id", "direct", "day", "position_id", "officials"],
            stmt.group_by(unit, o.qualified_until, o.position_id)))

    say("diễn biến theo tháng")
    parents = {unit_id: ancestors(path or "") for unit_id, path, _code, _name in units}
    last = previous_month_end(day)
    end, months = last, 0
    for _ in range(TREND_MONTHS - 1):
        per_unit = connection.execute(
            sa.select(User.unit_id, sa.func.count(User.id),
                      sa.func.sum(sa.case((qualified_condition(end), 1), else_=0)))
            .where(counted).group_by(User.unit_id)).all()
        totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for unit_id, officials, good in per_unit:
            for ancestor in parents.get(unit_id, [unit_id]):
                totals[ancestor][0] += officials
                totals[ancestor][1] += int(good or 0)
        _bulk(connection, HrUnitMonth.__table__, [{"unit_id": unit_id, "day": end, "officials": n, "qualified": q}
                                                  for unit_id, (n, q) in totals.items()])
        months += 1
        end = previous_month_end(end)
    connection.execute(sa.insert(HrCountsState).values(id=STATE_ID, snapshot_through=last, rebuilt_at=utcnow(),
                                                       needs_rebuild=False))
    for table in (tree, required):
        table.drop(connection)
    if dialect == "postgresql":
        # Planner statistics for the first pages after a rebuild (ANALYZE may run in a transaction).
        connection.execute(sa.text("ANALYZE " + ", ".join(t.__tablename__ for t in tables)))

    def count(model):
        return connection.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()

    return RebuildReport(officials=count(HrOfficial), records=count(HrOfficialCompetency),
                         buckets=count(HrUnitCompetencyDay) + count(HrUnitQualifiedDay), months=months,
                         units=len(units))


def _bulk(connection, table: sa.Table, rows: list[dict]) -> None:
    for start in range(0, len(rows), 5000):
        connection.execute(sa.insert(table), rows[start:start + 5000])
