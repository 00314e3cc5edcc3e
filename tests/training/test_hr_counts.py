"""HR's kept figures equal a recount by the rules, whatever happens: a scripted sequence of passes,
renewals, revocations, expiries across midnight and a month's end, moves between units and positions,
requirement changes, a unit moved in the tree, deactivations, a deletion and a bulk update, checked
against `qualified_condition` / `holds_condition` at every step and against a full rebuild at the end.

The clock is HR's own (training.hr.upkeep.utcnow), set by the test: every moment is explicit."""
import os
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from training.extensions import db
from training.models import Competency, CompetencyRecord, OrgUnit, User

UTC = timezone.utc
WINDOWS = (30, 60, 90)


def vn(year, month, day, hour=10, minute=0):
    """A moment given in Vietnam's time (UTC+7)."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


@pytest.fixture
def clock(monkeypatch):
    from training.hr import upkeep

    now = {"at": vn(2026, 1, 30)}
    monkeypatch.setattr(upkeep, "utcnow", lambda: now["at"])
    return now


def competency(code):
    return db.session.scalar(sa.select(Competency).where(Competency.code == code))


def passes(user, code, at, expires):
    record = CompetencyRecord(user_id=user.id, competency_id=competency(code).id, achieved_at=at, expires_at=expires,
                              score=90.0)
    db.session.add(record)
    return record


def recount(day: date) -> dict:
    """Every figure of every unit (subtree and direct), counted by the rules on `day`."""
    from training.hr.officials_filter import subtree_ids
    from training.services.qualification import holds_condition, moment_of, qualified_condition

    competencies = db.session.scalars(sa.select(Competency).order_by(Competency.id)).all()
    figures = {}

    def count(*conditions):
        return db.session.scalar(sa.select(sa.func.count(User.id)).where(User.active.is_(True), *conditions))

    for unit in db.session.scalars(sa.select(OrgUnit).order_by(OrgUnit.id)):
        for direct in (True, False):
            within = User.unit_id == unit.id if direct else User.unit_id.in_(subtree_ids(unit))
            held, expiring = {}, {}
            for c in competencies:
                holds = holds_condition(User.id, c.id, moment_of(day))
                n = count(within, holds)
                if n:
                    held[c.id] = n
                    expiring[c.id] = {
                        w: count(within, holds, ~holds_condition(User.id, c.id, moment_of(day + timedelta(days=w))))
                        for w in WINDOWS}
            figures[unit.code, direct] = (count(within), count(within, qualified_condition(day)), held, expiring)
    return figures


def kept(day: date) -> dict:
    from training.hr.counts import unit_figures

    units = db.session.scalars(sa.select(OrgUnit).order_by(OrgUnit.id)).all()
    keys = [(unit.id, direct) for unit in units for direct in (True, False)]
    found = unit_figures(keys, day)
    result = {}
    for unit in units:
        for direct in (True, False):
            f = found[unit.id, direct]
            held = {cid: n for cid, n in f.held.items() if n}
            result[unit.code, direct] = (f.officials, f.qualified, held,
                                         {cid: f.expiring[cid] for cid in held})
    return result


def lists(day: date) -> dict:
    """Who the one officials filter lists, by the kept qualified-until day and by the rule."""
    from training.hr.officials_filter import OfficialFilters, officials_ids, select_officials
    from training.services.qualification import qualified_condition

    listed = set(db.session.scalars(officials_ids(select_officials(None, OfficialFilters(status="qualified"), day))))
    rule = set(db.session.scalars(sa.select(User.id).where(User.unit_id.is_not(None), qualified_condition(day))))
    return {"filter": listed, "rule": rule}


def check(clock, *days_ahead):
    from training.hr.upkeep import catch_up, today

    catch_up(db.session)
    db.session.commit()
    for ahead in (0, *days_ahead):
        day = today() + timedelta(days=ahead)
        assert kept(day) == recount(day), (clock["at"], day)
    found = lists(today())
    assert found["filter"] == found["rule"]


def buckets() -> dict:
    from training.hr.models import (HrOfficial, HrOfficialCompetency, HrUnitCompetencyDay, HrUnitName,
                                    HrUnitQualifiedDay)

    def rows(model, *columns):
        return sorted(tuple(row) for row in db.session.execute(sa.select(*columns)))

    c, q, o = HrUnitCompetencyDay, HrUnitQualifiedDay, HrOfficial
    return {
        "competency": rows(c, c.unit_id, c.direct, c.day, c.position_id, c.competency_id, c.officials),
        "qualified": rows(q, q.unit_id, q.direct, q.day, q.position_id, q.officials),
        "officials": rows(o, o.user_id, o.unit_id, o.unit_path, o.position_id, o.sort_key, o.search_text,
                          o.qualified_until, o.recount_on),
        "records": rows(HrOfficialCompetency, HrOfficialCompetency.user_id, HrOfficialCompetency.competency_id,
                        HrOfficialCompetency.until),
        "names": rows(HrUnitName, HrUnitName.unit_id, HrUnitName.path, HrUnitName.search_text),
    }


def nonzero(found: dict) -> dict:
    found = dict(found)
    found["competency"] = [row for row in found["competency"] if row[-1]]
    found["qualified"] = [row for row in found["qualified"] if row[-1]]
    return found


def test_kept_figures_equal_a_recount_through_a_year_of_changes(clock, org, make_unit, make_position, make_user):
    from training.hr.models import HrUnitMonth
    from training.hr.rebuild import rebuild_counts
    from training.services.org import update_unit
    from training.services.qualification import qualified_condition

    p1 = org["position"]  # the five core competencies
    p2 = make_position("CV-HCC", "Chuyên viên một cửa", [competency("e_documents"), competency("info_security")])
    u1 = make_user("u1@example.vn", "Trần Văn Minh", unit=org["dept_a"], position=p1)
    u2 = make_user("u2@example.vn", "Lê Thị Bích", unit=org["ward_a"], position=p2)
    u3 = make_user("u3@example.vn", "Phạm Quốc Dũng", unit=org["ward_b"], position=p2)
    u4 = make_user("u4@example.vn", "Bùi Thị Lan", unit=org["ward_b"])  # no position: the core set
    u5 = make_user("u5@example.vn", "Võ Văn Tài", unit=org["ward_a"], position=p1)
    check(clock)

    # Passes on 30 January; u4's records lapse on 2 February at 23:30, Vietnam time.
    t0 = clock["at"]
    passes(u2, "e_documents", t0, t0 + timedelta(days=365))
    passes(u2, "info_security", t0, t0 + timedelta(days=40))
    passes(u3, "e_documents", t0, t0 + timedelta(days=200))
    for n, code in enumerate(("digital_signature", "e_documents", "info_security", "online_services", "ai")):
        passes(u1, code, t0, t0 + timedelta(days=60 + 10 * n))
        passes(u4, code, t0, vn(2026, 2, 2, 23, 30))
    db.session.commit()
    check(clock, 1, 29, 31, 61)

    # Across midnight and the month's end, with no change: 2 February, u4 no longer qualifies (a
    # record expiring that day no longer counts on it), nothing was written for it.
    expected_january = db.session.scalar(sa.select(sa.func.count(User.id)).where(
        User.active.is_(True), qualified_condition(date(2026, 1, 31))))
    clock["at"] = vn(2026, 2, 1, 9)
    check(clock)
    clock["at"] = vn(2026, 2, 2, 0, 5)
    check(clock)
    assert kept(date(2026, 2, 2))["HCM-BT", False][1] == 0

    # A revocation, the first change after January's end: January's snapshot is taken first.
    record = db.session.scalar(sa.select(CompetencyRecord).where(
        CompetencyRecord.user_id == u1.id, CompetencyRecord.competency_id == competency("info_security").id))
    record.revoked_at = clock["at"]
    db.session.commit()
    city = org["city"]
    january = db.session.get(HrUnitMonth, (city.id, date(2026, 1, 31)))
    assert january is not None and january.qualified == expected_january == 3
    check(clock, 30)

    # Renewals: a second record lasting longer, and a retake after the revocation.
    clock["at"] = vn(2026, 2, 10)
    passes(u2, "info_security", clock["at"], clock["at"] + timedelta(days=730))
    passes(u1, "info_security", clock["at"], clock["at"] + timedelta(days=365))
    db.session.commit()
    check(clock, 30, 90)

    # Moves between units and positions, a deactivation, a reactivation.
    u2.unit = org["ward_b"]
    u3.position = p1
    u5.position = None
    u4.active = False
    db.session.commit()
    check(clock, 60)
    u4.active = True
    u5.unit = org["dept_a"]
    db.session.commit()
    check(clock)

    # What a position requires, and the core set, change.
    p2.required_competencies = [competency("e_documents"), competency("info_security"), competency("ai")]
    db.session.commit()
    check(clock)
    ai = competency("ai")
    ai.is_core = False
    db.session.commit()
    check(clock)

    # A ward moves to another city: the cities' subtrees change, the ward's own figures do not.
    other = make_unit("DN", "Thành phố Đà Nẵng", "city")
    update_unit(org["ward_b"], name=org["ward_b"].name, unit_type="ward", parent=other)
    db.session.commit()
    check(clock)
    assert kept(date(2026, 2, 10))["DN", False][0] == 3

    # A bulk update outside the unit of work, a record dated in the future, a rename, a deletion.
    db.session.execute(sa.update(CompetencyRecord).where(CompetencyRecord.user_id == u3.id)
                       .values(expires_at=vn(2026, 3, 1)))
    passes(u5, "ai", vn(2026, 2, 20), vn(2027, 2, 20))
    u2.set_name("Lê Thị Ánh")
    db.session.commit()
    check(clock)  # not days ahead: the record dated 20 February counts once that day's recount has run
    db.session.delete(u1)
    db.session.commit()
    check(clock)

    # Into March: February is snapshotted by the first write; the record dated 20 February counts.
    clock["at"] = vn(2026, 3, 2)
    expected_february = db.session.scalar(sa.select(sa.func.count(User.id)).where(
        User.active.is_(True), qualified_condition(date(2026, 2, 28))))
    check(clock, 1)
    passes(u3, "e_documents", clock["at"], clock["at"] + timedelta(days=100))
    db.session.commit()
    check(clock)
    february = db.session.scalars(sa.select(HrUnitMonth).where(HrUnitMonth.day == date(2026, 2, 28))).all()
    assert sum(row.qualified for row in february if row.unit_id in (city.id, other.id)) == expected_february

    # What was kept is what a rebuild from the records gives.
    kept_rows = nonzero(buckets())
    rebuild_counts(db.session)
    db.session.commit()
    assert nonzero(buckets()) == kept_rows


def test_bucket_rows_of_a_ward_are_all_a_ward_page_reads(clock, org, make_user):
    """A ward's figures are read from its own buckets: officials elsewhere add nothing to them."""
    from training.hr.counts import unit_figures
    from training.hr.models import HrUnitQualifiedDay

    make_user("a@example.vn", "Trần Văn Minh", unit=org["dept_a"], position=org["position"])
    before = db.session.scalar(sa.select(sa.func.count()).select_from(HrUnitQualifiedDay).where(
        HrUnitQualifiedDay.unit_id == org["ward_a"].id))
    for n in range(20):
        make_user(f"b{n}@example.vn", "Lê Thị Bích", unit=org["ward_b"], position=org["position"])
    after = db.session.scalar(sa.select(sa.func.count()).select_from(HrUnitQualifiedDay).where(
        HrUnitQualifiedDay.unit_id == org["ward_a"].id))
    assert before == after
    assert unit_figures([(org["ward_b"].id, False)], date(2026, 1, 30))[org["ward_b"].id, False].officials == 20


def test_rebuild_command_and_the_banner_until_it_runs(clock, org, make_user, client, auth, runner):
    """Counts that were never built say so on the overview instead of showing zeros as figures."""
    from training.hr.models import HrCountsState, HrOfficial, HrUnitQualifiedDay

    make_user("a@example.vn", "Trần Văn Minh", unit=org["dept_a"], position=org["position"])
    make_user("hr@example.vn", "Nguyễn Thị Hân", roles=("hr",), unit=org["city"])
    for model in (HrOfficial, HrUnitQualifiedDay, HrCountsState):
        db.session.execute(sa.delete(model))
    db.session.add(HrCountsState(id=1, needs_rebuild=True))
    db.session.commit()
    auth.login("hr@example.vn")
    page = client.get("/hr/").get_data(as_text=True)
    assert "flask --app training hr rebuild-counts" in page
    result = runner.invoke(args=["hr", "rebuild-counts"])
    assert result.exit_code == 0, result.output
    page = client.get("/hr/").get_data(as_text=True)
    assert "rebuild-counts" not in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HrOfficial)) == 2


def test_upgrade_marks_existing_officials_and_setup_builds_their_counts(empty_database_url):
    """Migration 0014 on a database that already has officials marks the counts to be built, and
    `setup` (the documented upgrade) builds them."""
    from flask_migrate import downgrade, upgrade

    from training import create_app
    from training.hr.models import HrCountsState, HrOfficial

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["setup"]).exit_code == 0
    with app.app_context():
        directory = app.extensions["migrate"].directory
        downgrade(directory=directory, revision="0013_jobs")
        with db.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO org_units (id, code, name, unit_type, path, depth, sort_key, created_at) "
                "VALUES (1, 'HCM', 'Thành phố Hồ Chí Minh', 'city', '/1/', 0, 'x', '2026-01-01 00:00:00')"))
            connection.execute(sa.text(
                "INSERT INTO users (id, email, full_name, sort_key, search_name, unit_id, active, "
                "must_change_password, created_at) VALUES (1, 'a@example.vn', 'Trần Văn Minh', 'x', "
                "'tran van minh', 1, true, false, '2026-01-01 00:00:00')"))
        upgrade(directory=directory)
        assert db.session.get(HrCountsState, 1).needs_rebuild is True
        db.session.remove()
    result = runner.invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(HrCountsState, 1).needs_rebuild is False
        assert db.session.get(HrOfficial, 1).unit_id == 1
        db.session.remove()
        db.engine.dispose()


def test_roster_import_is_counted(clock, org, make_user, runner, tmp_path):
    """The roster import writes officials in bulk (ORM INSERT ... RETURNING, UPDATE by primary key),
    outside the unit of work: its officials are counted all the same, and a move it makes too."""
    from training.hr.upkeep import today

    existing = make_user("cu@example.vn", "Trần Văn Minh", unit=org["ward_a"], position=org["position"])
    passes(existing, "ai", clock["at"], clock["at"] + timedelta(days=300))
    db.session.commit()
    roster = tmp_path / "roster.csv"
    roster.write_text("full_name,email,unit_code,position_code,roles\n"
                      "Trần Văn Minh,cu@example.vn,HCM-BT,CV-VP,learner\n"
                      "Lê Thị Bích,moi1@example.vn,HCM-COL-VP,CV-VP,learner\n"
                      "Phạm Quốc Dũng,moi2@example.vn,HCM-BT,,learner\n", encoding="utf-8")
    result = runner.invoke(args=["roster", "import", str(roster)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert kept(today()) == recount(today())
    assert kept(today())["HCM-BT", False][0] == 2 and kept(today())["HCM-BT", False][2] == {competency("ai").id: 1}


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="races are started in parallel on PostgreSQL")
def test_parallel_changes_to_one_official_and_one_ward_add_up(app, org, make_user):
    """Passes of the same official, and of others in the same ward, committed at the same moment by
    separate transactions: each recount waits for the one before it (the official's row is locked),
    and the ward's shared buckets are updated in one order (no deadlock)."""
    from training.hr.upkeep import today

    people = [make_user(f"p{n}@example.vn", "Trần Văn Minh", unit=org["dept_a"], position=org["position"]).id
              for n in range(3)]
    codes = ("digital_signature", "e_documents", "info_security", "online_services", "ai")
    ids = {code: competency(code).id for code in codes}
    db.session.remove()
    now = datetime.now(UTC)
    jobs = [(people[0], code) for code in codes] + [(person, code) for person in people[1:] for code in codes[:2]]
    barrier, errors = threading.Barrier(len(jobs)), []

    def run(user_id, code):
        with app.app_context():
            try:
                barrier.wait()
                db.session.add(CompetencyRecord(user_id=user_id, competency_id=ids[code], achieved_at=now,
                                                expires_at=now + timedelta(days=200), score=90.0))
                db.session.commit()
            except Exception as exc:  # reported by the assertion below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert kept(today()) == recount(today())
    assert kept(today())["HCM-COL-VP", True][1] == 1  # the one who passed all five qualifies


def test_generated_officials_are_counted(app, runner):
    """`generate` writes with COPY (behind the ORM): it ends by rebuilding the counts."""
    from training.hr.upkeep import today
    from training.services.competencies import seed_core_competencies

    seed_core_competencies()
    db.session.commit()
    result = runner.invoke(args=["generate", "--units", "4", "--officials", "60", "--seed", "7",
                                 "--password", "Load-test-2025"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    figures = kept(today())
    assert figures["GEN", False][0] == 60 and figures == recount(today())
