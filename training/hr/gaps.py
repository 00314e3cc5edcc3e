"""Gaps by position: per job position, its officials in a scope and how many lack each competency it
requires (officials sitting in a position they are not trained for, "ngồi nhầm chỗ").

The figures come from the kept counts (training.hr.counts) of the scope's subtree, by position: a
city's table costs its buckets, not its officials. Who lacks what, and who could fill a position,
are lists of the one officials filter (training.hr.officials_filter).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace

import sqlalchemy as sa

from training.extensions import db
from training.hr import counts
from training.hr.overview import as_day, scope_unit_ids
from training.models import Competency, OrgUnit, Position
from training.services.qualification import required_competencies


@dataclass
class PositionGap:
    position: Position
    required: list[Competency]
    officials: int  # active officials of the subtree in this position
    lacking: dict[str, int]  # required competency code → officials in the position without it


def positions() -> list[Position]:
    return list(db.session.scalars(sa.select(Position).order_by(Position.sort_key, Position.code)))


def position_gaps(root: OrgUnit | None, on: date | datetime | None = None,
                  position_id: int | None = None) -> list[PositionGap]:
    """For each position (or the one asked for): what it requires and how many of its officials in
    `root`'s subtree lack each requirement on that day."""
    figures = counts.position_figures(scope_unit_ids(root), as_day(on))
    result = []
    for position in positions():
        if position_id and position.id != position_id:
            continue
        required = required_competencies(SimpleNamespace(position=position))
        officials = figures.officials.get(position.id, 0)
        result.append(PositionGap(position=position, required=required, officials=officials, lacking={
            c.code: officials - figures.held.get((position.id, c.id), 0) for c in required}))
    return result
