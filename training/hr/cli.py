"""`flask --app training hr ...`: HR's kept figures."""
from __future__ import annotations

import time

import click
import sqlalchemy as sa

from training.extensions import db
from training.hr import bp
from training.hr.rebuild import rebuild_counts
from training.hr.upkeep import needs_rebuild


@bp.cli.command("rebuild-counts")
def rebuild_counts_command() -> None:
    """Recompute HR's figures (per-unit counts, monthly snapshots, the officials list) from the
    competency records, the officials and the org tree. Run it after loading data behind the app's
    back; `setup` runs it by itself when an upgrade needs it. Pages wait while it runs (minutes at
    national scale)."""
    began = time.perf_counter()
    report = rebuild_counts(db.session, progress=lambda step: click.echo(f"  … {step}", err=True))
    db.session.commit()
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Fresh planner statistics and visibility map: the lists read these tables index-only.
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text(
                "VACUUM ANALYZE hr_officials, hr_official_competencies, hr_unit_competency_days, "
                "hr_unit_qualified_days, hr_unit_months, hr_unit_names"))
    seconds = f"{time.perf_counter() - began:.1f}".replace(".", ",")
    click.echo(f"Đã dựng lại số liệu nhân sự: {_n(report.officials)} cán bộ, công chức, {_n(report.records)} năng lực, "
               f"{_n(report.buckets)} ô đếm, {report.months} tháng, {_n(report.units)} đơn vị ({seconds} giây).")


def _n(number: int) -> str:
    """12345 → "12.345", as Vietnamese writes it."""
    return f"{number:,}".replace(",", ".")


def rebuild_if_needed(demo: bool = False) -> None:
    """`setup`'s hook: build the counts of a database that had officials before they existed."""
    if needs_rebuild(db.session.connection()):
        click.echo("Đang dựng số liệu nhân sự (HR counts)…")
        rebuild_counts(db.session)


@bp.record_once
def _register(state) -> None:
    state.app.extensions.setdefault("setup_hooks", []).append(rebuild_if_needed)
