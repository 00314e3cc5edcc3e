"""is_digitally_capable: every required competency held, unexpired and unrevoked, on the date asked."""
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from certificates.qualification import is_digitally_capable
from training.extensions import db
from training.models import Competency, CompetencyRecord


def vn(y, m, d, hh=9):
    return datetime(y, m, d, hh, 0, tzinfo=timezone(timedelta(hours=7)))


@pytest.fixture
def official(make_user, org):
    return make_user("lan@example.vn", "Trần Thị Lan", unit=org["dept_a"], position=org["position"])


def give(user, code, achieved, expires, revoked=False):
    competency = db.session.scalar(sa.select(Competency).where(Competency.code == code))
    db.session.add(CompetencyRecord(user_id=user.id, competency_id=competency.id, achieved_at=achieved,
                                    expires_at=expires, score=90, revoked_at=achieved if revoked else None))
    db.session.commit()


ALL = ("digital_signature", "e_documents", "info_security", "online_services", "ai")


def test_all_five_held(official):
    for code in ALL:
        give(official, code, vn(2026, 1, 10), vn(2027, 1, 10))
    assert is_digitally_capable(official, on=date(2026, 6, 1))
    assert not is_digitally_capable(official, on=date(2026, 1, 9))  # before the first was achieved


def test_four_of_five_is_not_enough(official):
    for code in ALL[:4]:
        give(official, code, vn(2026, 1, 10), vn(2027, 1, 10))
    assert not is_digitally_capable(official, on=date(2026, 6, 1))


def test_expiry_on_the_day(official):
    for code in ALL:
        give(official, code, vn(2026, 1, 10), vn(2027, 1, 10) if code != "ai" else vn(2026, 12, 5))
    assert is_digitally_capable(official, on=date(2026, 12, 4))
    assert not is_digitally_capable(official, on=date(2026, 12, 5))  # it expires that day


def test_revoked_record_does_not_count(official):
    for code in ALL:
        give(official, code, vn(2026, 1, 10), vn(2027, 1, 10), revoked=(code == "e_documents"))
    assert not is_digitally_capable(official, on=date(2026, 6, 1))


def test_position_with_extra_or_fewer_requirements(official, make_position, make_user, org):
    light = make_position("NHE", "Vị trí chỉ cần an toàn thông tin",
                          competencies=[db.session.scalar(sa.select(Competency).where(Competency.code == "info_security"))])
    other = make_user("b@example.vn", "Lê Văn Bình", unit=org["ward_a"], position=light)
    give(other, "info_security", vn(2026, 1, 10), vn(2027, 1, 10))
    assert is_digitally_capable(other, on=date(2026, 6, 1))
    for code in ALL:
        give(official, code, vn(2026, 1, 10), vn(2027, 1, 10))
    assert is_digitally_capable(official, on=date(2026, 6, 1))
    official.position.required_competencies = official.position.required_competencies[:2]
    db.session.commit()
    assert is_digitally_capable(official, on=date(2026, 6, 1))


def test_inactive_official_is_not_counted(official):
    for code in ALL:
        give(official, code, vn(2026, 1, 10), vn(2027, 1, 10))
    official.active = False
    db.session.commit()
    assert not is_digitally_capable(official, on=date(2026, 6, 1))


def test_sql_rule_agrees_with_the_function(official, make_user, make_position, org):
    """The dashboard counts in SQL; it must say exactly what is_digitally_capable says."""
    from training.models import User
    from training.services.qualification import qualified_condition

    people = [official]
    people.append(make_user("nopos@example.vn", "Không Vị Trí", unit=org["ward_a"]))
    light = make_position("NHE", "Nhẹ", competencies=[
        db.session.scalar(sa.select(Competency).where(Competency.code == "info_security"))])
    people.append(make_user("light@example.vn", "Vị Trí Nhẹ", unit=org["ward_a"], position=light))
    people.append(make_user("none@example.vn", "Chưa Có Gì", unit=org["ward_a"], position=org["position"]))
    for code in ALL:
        give(official, code, vn(2026, 1, 10), vn(2027, 1, 10))
        give(people[1], code, vn(2026, 1, 10), vn(2026, 12, 5))
    give(people[2], "info_security", vn(2026, 1, 10), vn(2027, 1, 10))
    for day in (date(2026, 6, 1), date(2026, 12, 5), date(2027, 2, 1)):
        expected = {p.id for p in people if is_digitally_capable(p, on=day)}
        got = set(db.session.scalars(sa.select(User.id).where(qualified_condition(day))))
        assert got == expected, day
