"""Lending between wards: for a position with a gap in one ward, the officials of the city's other wards
who hold everything it requires, wards where that position is over-staffed first, each with the duties
they cover at home, so that a move does not make a new single point of failure there.

Reads a page of wards at a time: the city's wards are ordered from the kept counts (officials per
position and residents), then walked in batches until a page of wards with candidates is found, at
most LEND_SCAN_MAX wards per page whatever the size of the city.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from training.extensions import db
from training.models import Competency, CompetencyRecord, OrgUnit, Position, User
from training.services.qualification import holds_condition, moment_of, record_valid_at
from training.staffing.services import (SINGLE, Duty, Person, WardLine, duty_cover, position_officials,
                                        positions_by_id, requirements, ward_lines, wards_condition)


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
    lines = [line for line in ward_lines(city, day, counts=False) if line.unit.id != ward.id]
    others = sa.select(OrgUnit.id).where(wards_condition(city.id), OrgUnit.id != ward.id)
    in_position = {unit_id: n for (unit_id, _pid), (n, _q) in position_officials(others, day, position.id).items()}
    known = [line for line in lines if line.residents]
    residents = sum(line.residents for line in known)
    total_known = sum(in_position.get(line.unit.id, 0) for line in known)
    average = sum(in_position.values()) / len(lines) if lines else 0.0

    def expected(line: WardLine) -> float:
        if line.residents and residents:
            return total_known * line.residents / residents
        return average

    order = sorted(lines, key=lambda line: (-(in_position.get(line.unit.id, 0) - expected(line)),
                                            line.unit.sort_key, line.unit.code))
    start = min(max(start, 0), len(order))
    found: list[WardCandidates] = []
    index = start
    while index < len(order) and len(found) < LEND_WARDS_PER_PAGE and index - start < LEND_SCAN_MAX:
        batch = order[index:index + LEND_BATCH]
        people = _holders_of_all(batch, required, day)
        for offset, line in enumerate(batch):
            mine = people.get(line.unit.id, [])
            if mine:
                found.append(WardCandidates(line, in_position.get(line.unit.id, 0), expected(line), mine))
            if len(found) >= LEND_WARDS_PER_PAGE:
                index += offset + 1
                break
        else:
            index += len(batch)
    _describe_candidates(found, position, day, needs)
    next_start = index if index < len(order) else None
    return Lending(ward, city, position, required, gap, found, next_start, start, index - start)


def _holders_of_all(lines: list[WardLine], required: list[Competency], day: date) -> dict[int, list[Person]]:
    """Ward id → its active officials who hold every one of `required` on `day` (by the rule's own
    SQL), in Vietnamese name order."""
    moment = moment_of(day)
    paths = {line.unit.path: line.unit.id for line in lines}
    conditions = [OrgUnit.path.startswith(path, autoescape=True) for path in paths]
    stmt = sa.select(User.id, User.full_name, User.sort_key, User.position_id, OrgUnit.path, OrgUnit.name,
                     OrgUnit.id).join(OrgUnit, OrgUnit.id == User.unit_id) \
        .where(User.active.is_(True), sa.or_(*conditions),
               *[holds_condition(User.id, c.id, moment) for c in required]) \
        .order_by(User.sort_key, User.id)
    result: dict[int, list[Person]] = defaultdict(list)
    for user_id, name, key, position_id, path, unit_name, unit_id in db.session.execute(stmt):
        ward_id = next((wid for wpath, wid in paths.items() if path.startswith(wpath)), None)
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
