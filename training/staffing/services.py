"""Who covers each duty, where the gaps are against population, who could stand in.

A duty is a job position staffed in a ward (at least one official of the ward's subtree holds it)
together with one competency the position requires (`required_competencies`, the one home of that
rule). Its cover is how many of the ward's officials in that position hold the competency on a day,
and will still hold it 30, 60 and 90 days later (`record_valid_at`, as every figure of the app).
None: the duty is uncovered; exactly one: a single point of failure (if that official falls ill,
nobody can stand in).

The figures come from HR's kept counts (training.hr.models, issue 17: officials bucketed per unit,
position, competency and the day their record ends), read for exactly the wards shown: a ward page
or a page of a city's wards costs those wards' buckets. Ranking a city's wards by risk reads the
buckets of all its wards in one aggregate: a city's cost, never the country's (3,321 wards under one
city, 250,000 officials: 700,000 buckets, about 0.7 s; Ho Chi Minh City's 168 wards: a twentieth). Names (who
holds what, who could stand in) come from the records themselves, one ward at a time; lending between
wards is in training.staffing.lending.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from training.extensions import db
from training.hr import counts
from training.hr.models import NO_POSITION, HrUnitCompetencyDay, HrUnitQualifiedDay
from training.models import Competency, CompetencyRecord, OrgUnit, Position, User, position_competencies
from training.services.qualification import moment_of, record_valid_at, required_competencies
from training.staffing import learning
from training.staffing.population import Figure, current_populations, per_thousand

WINDOWS = (30, 60, 90)
SINGLE = 1          # holders at or below this: nobody can stand in
UNITS_PER_PAGE = 25
STAND_INS_SHOWN = 3
# A ward page names people (holders, stand-ins) up to this many officials; beyond, figures only.
NAMED_OFFICIALS_MAX = 2000
# Under- and over-staffed against the city: below 80 % or above 120 % of its officials per 1,000.
UNDER, OVER = 0.8, 1.2


def cover_status(held: int) -> str:
    """The one rule for a duty's state: "none" (nobody holds it), "single" (one person) or "covered"."""
    if held <= 0:
        return "none"
    return "single" if held <= SINGLE else "covered"


# --------------------------------------------------------------------------- requirements and units
def requirements() -> dict[int, list[Competency]]:
    """Position id → the competencies it requires, in the framework's order."""
    positions = db.session.scalars(sa.select(Position).options(selectinload(Position.required_competencies)))
    return {p.id: required_competencies(SimpleNamespace(position=p)) for p in positions}


def positions_by_id(ids: Iterable[int]) -> dict[int, Position]:
    ids = sorted(set(ids))
    return {p.id: p for p in db.session.scalars(sa.select(Position).where(Position.id.in_(ids)))} if ids else {}


def competencies_by_id() -> dict[int, Competency]:
    return {c.id: c for c in db.session.scalars(sa.select(Competency).order_by(Competency.sort_order, Competency.code))}


def wards_condition(parent_id: int):
    """SQL on OrgUnit: the units right below `parent_id` that are wards or communes (or provinces
    below a country), not a ward's own departments."""
    return sa.and_(OrgUnit.parent_id == parent_id, OrgUnit.unit_type != "department")


def has_wards(unit: OrgUnit) -> bool:
    """True for a city or province: it has units below that are not departments."""
    return db.session.scalar(sa.select(sa.exists().where(wards_condition(unit.id)))) or False


def ward_of(unit: OrgUnit) -> OrgUnit:
    """The ward a unit belongs to: itself, or the ward above a department."""
    while unit.unit_type == "department" and unit.parent is not None:
        unit = unit.parent
    return unit


# --------------------------------------------------------------------------- duties of wards
@dataclass
class Duty:
    unit_id: int
    position: Position
    competency: Competency
    officials: int          # the ward's officials in the position
    held: int               # ... who hold the competency on the day
    later: dict[int, int]   # days ahead → who will still hold it then

    @property
    def status(self) -> str:
        return cover_status(self.held)

    @property
    def lapses_within(self) -> int | None:
        """The first window (30, 60, 90 days) by which nobody holds it any more, if any."""
        for days in WINDOWS:
            if self.later[days] <= 0:
                return days
        return None



def position_officials(unit_ids, day: date, position_id: int | None = None) -> dict[tuple[int, int], tuple[int, int]]:
    """(unit id, position id) → (officials, qualified on `day`) of each unit's subtree. `unit_ids`: ids, or
    a select of them (a city's wards: one statement, not thousands of parameters)."""
    ids = unit_ids if isinstance(unit_ids, sa.Select) else sorted(set(unit_ids))
    if not isinstance(ids, sa.Select) and not ids:
        return {}
    return {(unit_id, pid): (int(n or 0), int(qualified or 0))
            for unit_id, pid, n, qualified in db.session.execute(position_officials_select(ids, day, position_id))}


def position_officials_select(unit_ids, day: date, position_id: int | None = None) -> sa.Select:
    """SQL of `position_officials`: unit_id, position_id, officials, qualified (a row per unit and position
    staffed), to join in a larger statement."""
    q = HrUnitQualifiedDay
    stmt = sa.select(q.unit_id, q.position_id, sa.func.sum(q.officials).label("officials"),
                     sa.func.sum(sa.case((q.day > day, q.officials), else_=0)).label("qualified")) \
        .where(q.direct.is_(False), q.unit_id.in_(unit_ids)).group_by(q.unit_id, q.position_id)
    if position_id is not None:
        stmt = stmt.where(q.position_id == position_id)
    return stmt


def duty_cover(unit_ids: Iterable[int], day: date) -> dict[int, list[Duty]]:
    """Each unit's duties with their cover on `day` and 30/60/90 days later, in position then
    framework order; two queries over these units' buckets."""
    ids = sorted(set(unit_ids))
    result: dict[int, list[Duty]] = {unit_id: [] for unit_id in ids}
    if not ids:
        return result
    staffed = position_officials(ids, day)
    c = HrUnitCompetencyDay
    later = [sa.func.sum(sa.case((c.day > day + timedelta(days=days), c.officials), else_=0)) for days in WINDOWS]
    held: dict[tuple[int, int, int], tuple[int, ...]] = {}
    for unit_id, position_id, competency_id, now, *ahead in db.session.execute(
            sa.select(c.unit_id, c.position_id, c.competency_id, sa.func.sum(c.officials), *later)
            .where(c.direct.is_(False), c.unit_id.in_(ids), c.day > day, c.position_id != NO_POSITION)
            .group_by(c.unit_id, c.position_id, c.competency_id)):
        held[unit_id, position_id, competency_id] = (int(now or 0), *(int(n or 0) for n in ahead))
    needs = requirements()
    positions = positions_by_id(pid for _unit, pid in staffed if pid != NO_POSITION)
    for (unit_id, position_id), (officials, _qualified) in staffed.items():
        if position_id == NO_POSITION or officials <= 0 or position_id not in positions:
            continue
        for competency in needs.get(position_id, []):
            now, *ahead = held.get((unit_id, position_id, competency.id), (0, 0, 0, 0))
            result[unit_id].append(Duty(unit_id, positions[position_id], competency, officials, now,
                                        dict(zip(WINDOWS, ahead))))
    for duties in result.values():
        duties.sort(key=lambda d: (d.position.sort_key, d.position.code, d.competency.sort_order, d.competency.code))
    return result


# --------------------------------------------------------------------------- a city's wards by risk
@dataclass
class WardRisk:
    duties: int = 0
    uncovered: int = 0   # duties nobody holds
    single: int = 0      # duties one person holds
    thin_90: int = 0     # duties with at most one holder 90 days from now (the two above included)


def ward_risks(parent_id: int, day: date) -> dict[int, WardRisk]:
    """Unit id → its duties and how many are uncovered, single, or thin within 90 days, for every
    ward of `parent_id`, in one aggregate over their buckets (the rule of `cover_status`, in SQL:
    tests/training/test_staffing.py holds the two equal)."""
    kids = sa.select(OrgUnit.id).where(wards_condition(parent_id))
    q, c, pc = HrUnitQualifiedDay, HrUnitCompetencyDay, position_competencies
    staffed = sa.select(q.unit_id, q.position_id) \
        .where(q.direct.is_(False), q.unit_id.in_(kids), q.position_id != NO_POSITION) \
        .group_by(q.unit_id, q.position_id).having(sa.func.sum(q.officials) > 0).subquery("staffed")
    duties = sa.select(staffed.c.unit_id, staffed.c.position_id, pc.c.competency_id) \
        .join(pc, pc.c.position_id == staffed.c.position_id).subquery("duties")
    held = sa.select(c.unit_id, c.position_id, c.competency_id, sa.func.sum(c.officials).label("now"),
                     sa.func.sum(sa.case((c.day > day + timedelta(days=WINDOWS[-1]), c.officials), else_=0))
                     .label("ahead")) \
        .where(c.direct.is_(False), c.unit_id.in_(kids), c.day > day, c.position_id != NO_POSITION) \
        .group_by(c.unit_id, c.position_id, c.competency_id).subquery("held")
    now, ahead = sa.func.coalesce(held.c.now, 0), sa.func.coalesce(held.c.ahead, 0)
    stmt = sa.select(duties.c.unit_id, sa.func.count(),
                     sa.func.sum(sa.case((now <= 0, 1), else_=0)),
                     sa.func.sum(sa.case((sa.and_(now > 0, now <= SINGLE), 1), else_=0)),
                     sa.func.sum(sa.case((ahead <= SINGLE, 1), else_=0))) \
        .select_from(duties.outerjoin(held, sa.and_(held.c.unit_id == duties.c.unit_id,
                                                    held.c.position_id == duties.c.position_id,
                                                    held.c.competency_id == duties.c.competency_id))) \
        .group_by(duties.c.unit_id)
    if db.session.get_bind().dialect.name == "postgresql":
        # A city of 3,321 wards groups 700,000 buckets: in memory, not in sorts spilled to disk.
        db.session.execute(sa.text("SET LOCAL work_mem = '32MB'"))
    return {unit_id: WardRisk(int(n), int(none or 0), int(single or 0), int(thin or 0))
            for unit_id, n, none, single, thin in db.session.execute(stmt)}


@dataclass(frozen=True)
class UnitRef:
    """A unit as plain values: a city's list holds thousands of them."""

    id: int
    code: str
    name: str
    unit_type: str
    path: str
    sort_key: str


@dataclass
class WardLine:
    """One ward of a city: its staff, its duties at risk and its population."""

    unit: UnitRef
    officials: int = 0
    qualified: int = 0
    risk: WardRisk = field(default_factory=WardRisk)
    population: Figure | None = None

    @property
    def residents(self) -> int | None:
        return self.population.residents if self.population is not None else None

    @property
    def officials_per_1000(self) -> float | None:
        return per_thousand(self.officials, self.residents)

    @property
    def qualified_per_1000(self) -> float | None:
        return per_thousand(self.qualified, self.residents)


def ward_lines(parent: OrgUnit, day: date, counts: bool = True) -> list[WardLine]:
    """Every ward of a city with its officials, qualified officials and population (two queries).
    Without `counts`, the wards and their population only (officials and qualified left at 0): what
    lending needs to rank a city's wards, without summing the kept counts of every ward."""
    q = HrUnitQualifiedDay
    columns = (OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.unit_type, OrgUnit.path, OrgUnit.sort_key)
    if counts:
        statement = (sa.select(*columns, sa.func.coalesce(sa.func.sum(q.officials), 0),
                               sa.func.coalesce(sa.func.sum(sa.case((q.day > day, q.officials), else_=0)), 0))
                     .select_from(OrgUnit).outerjoin(q, sa.and_(q.unit_id == OrgUnit.id, q.direct.is_(False)))
                     .where(wards_condition(parent.id)).group_by(*columns))
    else:
        statement = sa.select(*columns, sa.literal(0), sa.literal(0)).where(wards_condition(parent.id))
    rows = db.session.execute(statement.order_by(OrgUnit.sort_key, OrgUnit.code))
    lines = [WardLine(unit=UnitRef(*row[:6]), officials=int(row[6]), qualified=int(row[7])) for row in rows]
    populations = current_populations(sa.select(OrgUnit.id).where(wards_condition(parent.id)))
    for line in lines:
        line.population = populations.get(line.unit.id)
    return lines


@dataclass
class CityCover:
    lines: list[WardLine]   # one page, at-risk first
    page: int
    pages: int
    total: int
    at_risk: int            # wards with a duty nobody or one person holds
    single_wards: int       # wards with a duty one person holds


def risk_order(line: WardLine) -> tuple:
    """At risk first: a ward without anyone, then most uncovered, most single, most thin soon."""
    risk = line.risk
    return (0 if line.officials == 0 else 1, -risk.uncovered, -risk.single, -risk.thin_90, line.unit.sort_key,
            line.unit.code)


def city_cover(parent: OrgUnit, day: date, page: int = 1, per_page: int = UNITS_PER_PAGE) -> CityCover:
    """A city's wards, those at risk first, a page of them."""
    lines = ward_lines(parent, day)
    risks = ward_risks(parent.id, day)
    for line in lines:
        line.risk = risks.get(line.unit.id, WardRisk())
    lines.sort(key=risk_order)
    pages = max(1, -(-len(lines) // per_page))
    page = min(max(page, 1), pages)
    at_risk = sum(1 for line in lines if line.risk.uncovered or line.risk.single or line.officials == 0)
    single = sum(1 for line in lines if line.risk.single)
    return CityCover(lines[(page - 1) * per_page:page * per_page], page, pages, len(lines), at_risk, single)


# --------------------------------------------------------------------------- per 1,000 residents
@dataclass
class Density:
    lines: list[WardLine]      # one page
    page: int
    pages: int
    total: int
    officials_per_1000: float | None  # the city's, over its wards with a population
    qualified_per_1000: float | None
    without_population: int

    def standing(self, line: WardLine) -> str:
        """"under", "over" or "" for a ward's officials per 1,000 against the city's."""
        mine, city = line.officials_per_1000, self.officials_per_1000
        if mine is None or not city:
            return ""
        if mine < UNDER * city:
            return "under"
        if mine > OVER * city:
            return "over"
        return ""


DENSITY_SORTS = ("qualified", "officials", "name")


def density(parent: OrgUnit, day: date, sort: str = "qualified", page: int = 1,
            per_page: int = UNITS_PER_PAGE) -> Density:
    """A city's wards with officials and qualified officials per 1,000 residents, fewest first
    (`sort`: "qualified", "officials" or "name"); wards without a population last."""
    lines = ward_lines(parent, day)
    known = [line for line in lines if line.residents]
    residents = sum(line.residents for line in known)
    officials = sum(line.officials for line in known)
    qualified = sum(line.qualified for line in known)
    if sort == "name":
        lines.sort(key=lambda line: (line.unit.sort_key, line.unit.code))
    else:
        attribute = "qualified_per_1000" if sort != "officials" else "officials_per_1000"
        lines.sort(key=lambda line: (getattr(line, attribute) is None, getattr(line, attribute) or 0.0,
                                     line.unit.sort_key, line.unit.code))
    pages = max(1, -(-len(lines) // per_page))
    page = min(max(page, 1), pages)
    return Density(lines[(page - 1) * per_page:page * per_page], page, pages, len(lines),
                   per_thousand(officials, residents), per_thousand(qualified, residents),
                   len(lines) - len(known))


# --------------------------------------------------------------------------- one ward, with names
@dataclass
class Person:
    id: int
    full_name: str
    sort_key: str
    position_id: int | None
    unit_name: str
    held: set[int] = field(default_factory=set)  # competency ids held on the day


@dataclass
class StandIn:
    person: Person
    missing: list[Competency]
    progress: float         # share of the lessons done in the courses that teach what is missing
    same_position: bool


@dataclass
class DutyDetail:
    duty: Duty
    holders: list[Person]


@dataclass
class PositionGap:
    """A position of the ward with duties nobody or one person holds, and who could stand in."""

    position: Position
    duties: list[DutyDetail]          # its duties without a stand-in
    stand_ins: list[StandIn] = field(default_factory=list)

    @property
    def uncovered(self) -> int:
        return sum(1 for d in self.duties if d.duty.status == "none")


@dataclass
class WardCover:
    unit: OrgUnit
    duties: list[DutyDetail]
    officials: int
    named: bool             # False: too many officials to name them (figures only)
    gaps: list[PositionGap] = field(default_factory=list)
    qualified: int = 0      # officials qualified as digital civil servants on the day


def people_of(unit: OrgUnit, day: date) -> list[Person]:
    """The active officials of a unit's subtree with the competencies they hold on `day`."""
    units = {u.id: u for u in db.session.scalars(
        sa.select(OrgUnit).where(OrgUnit.path.startswith(unit.path, autoescape=True)))}
    people = [Person(uid, name, key, pid, _unit_label(units.get(unit_id), unit))
              for uid, name, key, pid, unit_id in db.session.execute(
                  sa.select(User.id, User.full_name, User.sort_key, User.position_id, User.unit_id)
                  .where(User.active.is_(True), User.unit_id.in_(list(units)))
                  .order_by(User.sort_key, User.id))]
    by_id = {person.id: person for person in people}
    moment = moment_of(day)
    ids = list(by_id)
    for start in range(0, len(ids), 500):
        for user_id, competency_id in db.session.execute(
                sa.select(CompetencyRecord.user_id, CompetencyRecord.competency_id).distinct()
                .where(CompetencyRecord.user_id.in_(ids[start:start + 500]), record_valid_at(moment))):
            by_id[user_id].held.add(competency_id)
    return people


def _unit_label(unit: OrgUnit | None, ward: OrgUnit) -> str:
    if unit is None or unit.id == ward.id:
        return ward.name
    return unit.name


def ward_cover(unit: OrgUnit, day: date) -> WardCover:
    """A ward's duties with who holds each; for each position with duties nobody or one person
    holds, who could be trained to stand in: the officials closest to holding everything the
    position requires (fewest missing, then furthest in the courses that teach them, then name)."""
    duties = duty_cover([unit.id], day)[unit.id]
    figures = counts.unit_figures([(unit.id, False)], day, held_for=[])[unit.id, False]
    officials = figures.officials
    if officials > NAMED_OFFICIALS_MAX:
        details = [DutyDetail(d, []) for d in duties]
        return WardCover(unit, details, officials, named=False, gaps=_gaps(details), qualified=figures.qualified)
    people = people_of(unit, day)
    details = [DutyDetail(duty, [p for p in people if p.position_id == duty.position.id
                                 and duty.competency.id in p.held]) for duty in duties]
    gaps = _gaps(details)
    if gaps:
        _stand_ins(gaps, people, requirements())
    return WardCover(unit, details, officials, named=True, gaps=gaps, qualified=figures.qualified)


def _gaps(details: list[DutyDetail]) -> list[PositionGap]:
    by_position: dict[int, PositionGap] = {}
    for detail in details:
        if detail.duty.status == "covered":
            continue
        position = detail.duty.position
        by_position.setdefault(position.id, PositionGap(position, [])).duties.append(detail)
    return sorted(by_position.values(), key=lambda g: (-g.uncovered, -len(g.duties), g.position.sort_key))


def _stand_ins(gaps: list[PositionGap], people: list[Person], needs: dict[int, list[Competency]]) -> None:
    courses = learning.courses_by_competency()
    course_ids = {course.id for found in courses.values() for course in found}
    done = learning.lessons_done([p.id for p in people], course_ids)
    for gap in gaps:
        required = needs.get(gap.position.id, [])
        weak = {d.duty.competency.id for d in gap.duties}
        ranked = []
        for person in people:
            in_position = person.position_id == gap.position.id
            if in_position and weak <= person.held:
                continue  # already counted in the cover of every weak duty: not a new stand-in
            missing = [c for c in required if c.id not in person.held]
            lessons = [course for c in missing for course in courses.get(c.id, [])[:1]]
            total = sum(course.lessons for course in lessons)
            progress = sum(min(done.get((person.id, course.id), 0), course.lessons) for course in lessons) / total \
                if total else 0.0
            ranked.append(StandIn(person, missing, progress, in_position))
        ranked.sort(key=lambda s: (len(s.missing), -s.progress, not s.same_position, s.person.sort_key, s.person.id))
        gap.stand_ins = ranked[:STAND_INS_SHOWN]
