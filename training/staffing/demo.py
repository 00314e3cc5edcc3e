"""Demo populations for the ten wards of the demo city: registered and actual residents, as a ward
office would report them after the 2025 merger, so that officials per 1,000 residents differ and
some wards stand out (Bàn Cờ: 88,000 on paper, 101,000 at a hand-out)."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from training.extensions import db
from training.services.org import get_unit_by_code
from training.staffing.models import UnitPopulation

AS_OF = date(2025, 10, 1)
SOURCE = "Công an phường (số liệu mẫu)"
POPULATIONS = {  # ward code → (registered, actual)
    "HCM-SAIGON": (47_000, 52_500),
    "HCM-TANDINH": (58_300, 61_000),
    "HCM-BENTHANH": (51_200, 66_800),
    "HCM-CAUONGLANH": (62_400, 70_100),
    "HCM-XUANHOA": (79_500, 84_000),
    "HCM-BANCO": (88_000, 101_000),
    "HCM-NHIEULOC": (96_700, 118_400),
    "HCM-DIENHONG": (71_900, 73_200),
    "HCM-VUONLAI": (68_400, 80_900),
    "HCM-HOAHUNG": (92_300, 109_600),
}


def load_demo_populations() -> int:
    """Give each demo ward its figure unless it has one already (idempotent); how many were added."""
    added = 0
    for code, (registered, actual) in POPULATIONS.items():
        unit = get_unit_by_code(code)
        if unit is None or db.session.scalar(sa.select(sa.exists().where(UnitPopulation.unit_id == unit.id))):
            continue
        db.session.add(UnitPopulation(unit_id=unit.id, registered=registered, actual=actual, as_of=AS_OF,
                                      source=SOURCE))
        added += 1
    db.session.flush()
    return added
