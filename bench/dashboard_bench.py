"""Time the HR dashboard's aggregates and pages against a generated database.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ccs_bench \\
        .venv/bin/python bench/dashboard_bench.py [--city GEN] [--ward GEN-0001] [--repeat 3]

Run it after `flask --app training generate ...` (see bench/README.md). It times the functions of
training/hr/dashboard.py (the numbers behind the dashboard, the drill-down, the gaps and the lists)
and then the pages and API endpoints that use them, through the Flask test client, as a city HR
officer of the generated city. Each measurement runs once to warm the caches, then --repeat times;
the report gives min / median / max in milliseconds.

The one change it makes to the database: when no HR account is attached to the city, it creates
`hr.bench@load.example` (role hr, unit = the city, no password) to view the pages as.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402

from training import create_app  # noqa: E402
from training.extensions import db  # noqa: E402

BENCH_HR_EMAIL = "hr.bench@load.example"


def timed(label: str, function, repeat: int, results: list) -> None:
    """Run `function` once to warm up, then `repeat` times; record (label, timings, what it returned)."""
    try:
        outcome = function()
        db.session.remove()
        timings = []
        for _ in range(repeat):
            began = time.perf_counter()
            outcome = function()
            timings.append((time.perf_counter() - began) * 1000)
            db.session.remove()  # no identity-map help between runs
    except Exception as exc:  # a bench reports, it does not stop at the first problem
        db.session.rollback()
        results.append((label, None, f"LỖI: {type(exc).__name__}: {exc}"[:100]))
        print(f"  {label}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return
    results.append((label, timings, describe(outcome)))
    print(f"  {label}: {statistics.median(timings):,.0f} ms", file=sys.stderr)


def describe(outcome) -> str:
    if outcome is None:
        return ""
    if isinstance(outcome, str):
        return outcome
    if isinstance(outcome, int):
        return f"{outcome:,}"
    if isinstance(outcome, (list, tuple)):
        return f"{len(outcome):,} dòng"
    return type(outcome).__name__


def report(title: str, results: list) -> None:
    print(f"\n{title}")
    print(f"| {'Phép đo':<58} | {'min ms':>8} | {'median':>8} | {'max ms':>8} | Kết quả")
    print(f"|{'-' * 60}|{'-' * 10}|{'-' * 10}|{'-' * 10}|{'-' * 20}")
    for label, timings, note in results:
        if timings is None:
            print(f"| {label:<58} | {'—':>8} | {'—':>8} | {'—':>8} | {note}")
        else:
            print(f"| {label:<58} | {min(timings):>8,.0f} | {statistics.median(timings):>8,.0f} | "
                  f"{max(timings):>8,.0f} | {note}")


# --------------------------------------------------------------------------- the numbers
def dashboard_measurements(city, ward, repeat: int) -> list:
    from training.models import Position

    results: list = []
    try:
        from training.hr import dashboard as d
    except ImportError:
        print("training/hr/dashboard.py không có: đo truy vấn tương đương qua qualified_condition.", file=sys.stderr)
        return fallback_measurements(city, ward, repeat)

    position = db.session.scalar(sa.select(Position).order_by(Position.id))
    position_id = position.id if position else None

    def city_unit():
        return db.session.get(type(city), city.id)

    def ward_unit():
        return db.session.get(type(ward), ward.id)

    def first_page(stmt, size: int = 25):
        return db.session.scalars(stmt.limit(size)).all()

    def count(stmt):
        return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))

    measures = [
        ("summary(city): rows per ward + total", lambda: d.summary(city_unit())[0]),
        ("summary(ward)", lambda: d.summary(ward_unit())[0]),
        ("summary(None): admin, every unit", lambda: d.summary(None)[0]),
        ("heatmap(city)", lambda: d.heatmap(city_unit()).units),
        ("qualified_trend(city, 12 months)", lambda: d.qualified_trend(city_unit())),
        ("qualified_trend(ward, 12 months)", lambda: d.qualified_trend(ward_unit())),
        ("position_gaps(city)", lambda: d.position_gaps(city_unit())),
        ("officials_list(city): count", lambda: count(d.officials_list(city_unit(), d.OfficialFilters()))),
        ("officials_list(city): first page + qualified_ids",
         lambda: len(d.qualified_ids([u.id for u in first_page(d.officials_list(city_unit(), d.OfficialFilters()))]))),
        ("officials_list(city, status=not_qualified): page",
         lambda: first_page(d.officials_list(city_unit(), d.OfficialFilters(status="not_qualified")))),
        ("officials_list(city, status=not_qualified): count",
         lambda: count(d.officials_list(city_unit(), d.OfficialFilters(status="not_qualified")))),
        ("officials_list(city, q='nguyen'): page",
         lambda: first_page(d.officials_list(city_unit(), d.OfficialFilters(q="nguyen")))),
        ("officials_list(city, expiring=30): count",
         lambda: count(d.officials_list(city_unit(), d.OfficialFilters(expiring=30)))),
        ("officials_list(city, info_security, holding=no): count",
         lambda: count(d.officials_list(city_unit(), d.OfficialFilters(competency="info_security", holding="no")))),
    ]
    if position_id is not None:
        measures += [
            ("lacking_officials(city, position, info_security): page",
             lambda: first_page(d.lacking_officials(city_unit(), db.session.get(Position, position_id),
                                                    "info_security"))),
            ("candidates_for(position, city): page",
             lambda: first_page(d.candidates_for(db.session.get(Position, position_id), city_unit()))),
        ]
    for label, function in measures:
        timed(label, function, repeat, results)
    return results


def fallback_measurements(city, ward, repeat: int) -> list:
    """The dashboard's core numbers without training/hr/dashboard.py: officials and qualified per ward."""
    from training.models import OrgUnit, User
    from training.services.qualification import qualified_condition

    results: list = []

    def per_ward(root):
        child = sa.orm.aliased(OrgUnit)
        own = sa.orm.aliased(OrgUnit)
        stmt = (sa.select(child.id, sa.func.count(User.id), sa.func.sum(sa.case((qualified_condition(), 1), else_=0)))
                .join(own, own.id == User.unit_id)
                .join(child, own.path.startswith(child.path))
                .where(child.parent_id == root.id, User.active.is_(True))
                .group_by(child.id))
        return db.session.execute(stmt).all()

    timed("qualified_condition grouped by ward (city)", lambda: per_ward(city), repeat, results)
    timed("qualified_condition grouped by department (ward)", lambda: per_ward(ward), repeat, results)
    return results


# --------------------------------------------------------------------------- the pages
def bench_hr_user(city):
    from training.models import User, UserRole

    user = db.session.scalar(sa.select(User).join(UserRole).where(UserRole.role == "hr", User.unit_id == city.id,
                                                                  User.active.is_(True)).order_by(User.id))
    if user is None:
        from training.services.users import create_user

        user = db.session.scalar(sa.select(User).where(User.email == BENCH_HR_EMAIL)) or create_user(
            BENCH_HR_EMAIL, "Cán bộ Đo hiệu năng", roles=("hr",), unit=city, must_change_password=False)
        db.session.commit()
        print(f"Đã tạo tài khoản nhân sự {BENCH_HR_EMAIL} cho {city.code} để xem các trang.", file=sys.stderr)
    return user


def page_measurements(app, city, ward, repeat: int) -> list:
    from training.models import Position

    results: list = []
    user = bench_hr_user(city)
    client = app.test_client()
    with client.session_transaction() as session:  # signed in without a password (Flask-Login's session keys)
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    position_id = db.session.scalar(sa.select(Position.id).order_by(Position.id))
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    pages = [
        ("/hr/", "/hr/"),
        ("/hr/units/<unit_code>", f"/hr/units/{ward.code}"),
        ("/hr/units/<unit_code>", f"/hr/units/{city.code}"),
        ("/hr/gaps", "/hr/gaps"),
        ("/hr/gaps/officials", f"/hr/gaps/officials?position={position_id}&competency=info_security"),
        ("/hr/officials", "/hr/officials"),
        ("/hr/officials", "/hr/officials?status=not_qualified"),
        ("/hr/officials", "/hr/officials?q=nguyen"),
        ("/api/v1/units/<code>/summary", f"/api/v1/units/{city.code}/summary"),
        ("/api/v1/units/<code>/summary", f"/api/v1/units/{ward.code}/summary"),
        ("/api/v1/officials", f"/api/v1/officials?unit={city.code}&status=qualified&page=3"),
        ("/hr/export/units/<code>/report.pdf", f"/hr/export/units/{ward.code}/report.pdf"),
    ]
    for rule, url in pages:
        if rule not in rules:
            results.append((f"GET {url}", None, "chưa có trang này"))
            continue

        def get(url=url):
            response = client.get(url)
            size = len(response.get_data())
            return f"HTTP {response.status_code}, {size / 1024:,.0f} KB"

        timed(f"GET {url}", get, repeat, results)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--city", default="GEN", help="code of the city to view (default GEN)")
    parser.add_argument("--ward", default=None, help="code of a ward (default: the city's largest)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (after one warm-up)")
    parser.add_argument("--no-pages", action="store_true", help="time the queries only, not the pages")
    args = parser.parse_args()

    app = create_app(os.environ.get("TRAINING_CONFIG", "development"))
    with app.app_context():
        from training.models import OrgUnit, User
        from training.services.org import get_unit_by_code

        city = get_unit_by_code(args.city)
        if city is None:
            sys.exit(f"Không có đơn vị {args.city}: chạy `flask --app training generate ...` trước.")
        ward = get_unit_by_code(args.ward) if args.ward else db.session.scalar(
            sa.select(OrgUnit).join(User, User.unit_id == OrgUnit.id).where(OrgUnit.parent_id == city.id)
            .group_by(OrgUnit.id).order_by(sa.func.count(User.id).desc()).limit(1))
        if ward is None:
            sys.exit(f"{args.city} không có phường, xã nào có cán bộ.")
        in_city = sa.select(OrgUnit.id).where(OrgUnit.path.startswith(city.path))
        officials = db.session.scalar(sa.select(sa.func.count(User.id)).where(User.unit_id.in_(in_city)))
        units = db.session.scalar(sa.select(sa.func.count(OrgUnit.id)).where(OrgUnit.path.startswith(city.path)))
        print(f"Cơ sở dữ liệu: {db.engine.url.render_as_string(hide_password=True)} ({db.engine.dialect.name})")
        print(f"{city.code}: {units:,} đơn vị, {officials:,} cán bộ; phường đo: {ward.code} ({ward.name}); "
              f"{args.repeat} lần đo mỗi phép (sau 1 lần khởi động)")
        report("Truy vấn tổng hợp (training/hr/dashboard.py)", dashboard_measurements(city, ward, args.repeat))
        if not args.no_pages:
            report("Trang và API (Flask test client, nhân sự cấp thành phố)",
                   page_measurements(app, city, ward, args.repeat))


if __name__ == "__main__":
    main()
