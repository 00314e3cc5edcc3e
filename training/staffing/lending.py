"""Lending between wards: for a position with a gap in one ward, the officials of the city's other wards
who hold everything it requires, wards where that position is over-staffed first, each with the duties
they cover at home, so that a move does not make a new single point of failure there.

Reads a page of wards at a time: the city's wards are ranked in SQL from the kept counts (officials
in the position) and their populations, and only the LEND_SCAN_MAX wards from the page's start are
read; they are walked in batches until a page of wards with candidates is found, at most
LEND_SCAN_MAX wards per page whatever the size of the city.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from training.extensions import db
from training.models import Competency, CompetencyRecord, OrgUnit, Position, User
from training.services.qualification import holds_condition, moment_of, record_valid_at
from training.staffing.population import current_populations, latest_figures
from training.staffing.services import (SINGLE, Duty, Person, UnitRef, WardLine, duty_cover, position_officials,
                                        position_officials_select, positions_by_id, requirements, wards_condition)


@dataclass
class CandidateDuty:
    position: Position
    competency: Competency
    held: int               # holders in the candidate's own ward, the candidate included


@dataclass
class Candidate:
    person: Person
    position: Position | None
    duties: list[CandidateDuty]
    position_officials: int  # officials of the candidate's ward in the candidate's position

    @property
    def leaves_uncovered(self) -> list[CandidateDuty]:
        """Duties of their own ward that nobody would hold once they left."""
        return [d for d in self.duties if d.held <= 1]

    @property
    def leaves_single(self) -> list[CandidateDuty]:
        """Duties of their own ward that only one person would hold once they left."""
        return [d for d in self.duties if d.held == SINGLE + 1]

    @property
    def safe(self) -> bool:
        return not self.leaves_uncovered and not self.leaves_single


@dataclass
class WardCandidates:
    line: WardLine
    in_position: int        # officials of this ward in the wanted position
    expected: float         # what the ward would have at the city's ratio (by population when known)
    candidates: list[Candidate]
    more: int = 0           # candidates beyond those shown

    @property
    def surplus(self) -> float:
        return self.in_position - self.expected


@dataclass
class Lending:
    ward: OrgUnit
    city: OrgUnit | None
    position: Position
    required: list[Competency]
    gap: list[Duty]             # the wanted position's duties in the ward
    wards: list[WardCandidates]
    next_start: int | None      # where the next page of wards begins in the order, None at the end
    start: int
    scanned: int                # wards looked at for this page


LEND_WARDS_PER_PAGE = 8
LEND_PER_WARD = 6
LEND_BATCH = 40
LEND_SCAN_MAX = 400  # wards looked at per page at most: a page's cost is bounded whatever the city


def lending(ward: OrgUnit, position: Position, day: date, start: int = 0) -> Lending:
    """Officials of the other wards of the same city who hold every competency `position` requires
    on `day`, for a ward with a gap in it: wards where the position is most over-staffed first
    (against the city's officials in that position per resident, or per ward without populations),
    the officials already in that position first within a ward; each with the duties they cover at
    home and whether leaving would leave one uncovered or with a single holder."""
    needs = requirements()
    required = needs.get(position.id, [])
    gap = [d for d in duty_cover([ward.id], day)[ward.id] if d.position.id == position.id]
    city = ward.parent
    if city is None or not required:
        return Lending(ward, city, position, required, gap, [], None, start, 0)
    start = max(start, 0)
    # The batches never reach past LEND_SCAN_MAX wards from `start`: that many ranked wards at most.
    order, total = _ranked_wards(city, ward, day, position.id, start, LEND_SCAN_MAX)
    start = min(start, total)
    found: list[WardCandidates] = []
    index = start
    while index < total and len(found) < LEND_WARDS_PER_PAGE and index - start < LEND_SCAN_MAX:
        # The first batch is as many wards as a page shows (over-staffed wards mostly have someone to
        # lend: a page is usually its first wards), then LEND_BATCH at a time.
        size = LEND_WARDS_PER_PAGE - len(found) if index == start else LEND_BATCH
        batch = order[index - start:min(index + size, start + LEND_SCAN_MAX) - start]
        people = _holders_of_all([ranked.line for ranked in batch], required, day)
        for offset, ranked in enumerate(batch):
            mine = people.get(ranked.line.unit.id, [])
            if mine:
                found.append(WardCandidates(ranked.line, ranked.in_position, ranked.expected, mine))
            if len(found) >= LEND_WARDS_PER_PAGE:
                index += offset + 1
                break
        else:
            index += len(batch)
    populations = current_populations(w.line.unit.id for w in found)
    for w in found:
        w.line.population = populations.get(w.line.unit.id)
    _describe_candidates(found, position, day, needs)
    next_start = index if index < total else None
    return Lending(ward, city, position, required, gap, found, next_start, start, index - start)


@dataclass
class _Ranked:
    line: WardLine          # the ward (its population filled in for the wards shown only)
    in_position: int
    expected: float


def _ranked_wards(city: OrgUnit, ward: OrgUnit, day: date, position_id: int, start: int,
                  limit: int) -> tuple[list[_Ranked], int]:
    """The city's wards but `ward`, most over-staffed in the position first: officials in it beyond
    what the ward would have at the city's ratio (the city's officials in the position per resident
    over the wards with a population, times the ward's residents; without a population, the city's
    officials in the position per ward), then Vietnamese name order. Ranked in one statement over the
    city's wards, `limit` of them from `start` read; with how many wards there are in all."""
    others = sa.select(OrgUnit.id).where(wards_condition(city.id), OrgUnit.id != ward.id)
    staffed = position_officials_select(others, day, position_id).subquery("staffed")
    figures = latest_figures(others)
    officials = sa.func.coalesce(staffed.c.officials, 0)
    residents = sa.case((figures.c.residents > 0, figures.c.residents))  # NULL: no population to go by
    known_officials = sa.case((residents.is_not(None), officials), else_=0)
    columns = (OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.unit_type, OrgUnit.path, OrgUnit.sort_key)
    wards = sa.select(*columns, officials.label("in_position"), residents.label("residents"),
                      sa.func.sum(known_officials).over().label("known_in_position"),
                      sa.func.sum(residents).over().label("known_residents"),
                      sa.func.sum(officials).over().label("all_in_position"),
                      sa.func.count().over().label("wards")) \
        .select_from(OrgUnit) \
        .outerjoin(staffed, staffed.c.unit_id == OrgUnit.id) \
        .outerjoin(figures, figures.c.unit_id == OrgUnit.id) \
        .where(wards_condition(city.id), OrgUnit.id != ward.id).subquery("wards")
    w = wards.c
    # In double precision, as the same sums in Python: the order and the figures shown are the same.
    expected = sa.case((w.residents.is_not(None),
                        sa.cast(w.known_in_position, sa.Float) * w.residents / w.known_residents),
                       else_=sa.cast(w.all_in_position, sa.Float) / w.wards)
    code = w.code.collate("C") if db.session.get_bind().dialect.name == "postgresql" else w.code
    rows = db.session.execute(
        sa.select(w.id, w.code, w.name, w.unit_type, w.path, w.sort_key, w.in_position, expected, w.wards)
        .order_by((w.in_position - expected).desc(), w.sort_key, code).offset(start).limit(limit)).all()
    if rows:
        total = int(rows[0].wards)
    else:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(others.subquery())) if start else 0
    return [_Ranked(WardLine(UnitRef(*row[:6])), int(row[6]), float(row[7])) for row in rows], total


def _holders_of_all(lines: list[WardLine], required: list[Competency], day: date) -> dict[int, list[Person]]:
    """Ward id → its active officials who hold every one of `required` on `day` (by the rule's own
    SQL), in Vietnamese name order."""
    if not lines:
        return {}
    moment = moment_of(day)
    paths = {line.unit.path: line.unit.id for line in lines}
    lengths = sorted({len(path) for path in paths})
    conditions = [OrgUnit.path.startswith(path, autoescape=True) for path in paths]
    stmt = sa.select(User.id, User.full_name, User.sort_key, User.position_id, OrgUnit.path, OrgUnit.name,
                     OrgUnit.id).join(OrgUnit, OrgUnit.id == User.unit_id) \
        .where(User.active.is_(True), sa.or_(*conditions),
               *[holds_condition(User.id, c.id, moment) for c in required]) \
        .order_by(User.sort_key, User.id)
    result: dict[int, list[Person]] = defaultdict(list)
    for user_id, name, key, position_id, path, unit_name, unit_id in db.session.execute(stmt):
        # The ward whose path starts the unit's: a look-up per length of the wards' paths.
        ward_id = next((paths[path[:n]] for n in lengths if path[:n] in paths), None)
        if ward_id is None:
            continue
        label = unit_name if unit_id != ward_id else ""
        result[ward_id].append(Person(user_id, name, key, position_id, label,
                                      held={c.id for c in required}))
    return result


def _describe_candidates(found: list[WardCandidates], position: Position, day: date,
                         needs: dict[int, list[Competency]]) -> None:
    """Each candidate's own cover duties at home and their position; the safe and those already in
    the wanted position first, at most LEND_PER_WARD per ward."""
    if not found:
        return
    home = duty_cover([w.line.unit.id for w in found], day)
    staffed = position_officials([w.line.unit.id for w in found], day)
    moment = moment_of(day)
    ids = [p.id for w in found for p in w.candidates]
    held: dict[int, set[int]] = defaultdict(set)
    for start in range(0, len(ids), 500):
        for user_id, competency_id in db.session.execute(
                sa.select(CompetencyRecord.user_id, CompetencyRecord.competency_id).distinct()
                .where(CompetencyRecord.user_id.in_(ids[start:start + 500]), record_valid_at(moment))):
            held[user_id].add(competency_id)
    positions = positions_by_id(p.position_id for w in found for p in w.candidates if p.position_id)
    for ward in found:
        duties = {(d.position.id, d.competency.id): d for d in home[ward.line.unit.id]}
        candidates = []
        for person in ward.candidates:
            person.held = held.get(person.id, set())
            own = positions.get(person.position_id)
            mine = [CandidateDuty(d.position, d.competency, d.held)
                    for c in needs.get(person.position_id, []) if c.id in person.held
                    for d in [duties.get((person.position_id, c.id))] if d is not None]
            n = staffed.get((ward.line.unit.id, person.position_id), (0, 0))[0] if person.position_id else 0
            candidates.append(Candidate(person, own, mine, n))
        candidates.sort(key=lambda c: (bool(c.leaves_uncovered), not c.safe, c.person.position_id != position.id,
                                       c.person.sort_key, c.person.id))
        ward.more = max(0, len(candidates) - LEND_PER_WARD)
        ward.candidates = candidates[:LEND_PER_WARD]
