"""`flask --app training staffing import-population FILE [--dry-run]`: units' populations from a CSV
or XLSX file, all or nothing, every bad line reported with its number (as `roster import`)."""
from __future__ import annotations

import sys

import click

from training.extensions import db
from training.staffing import bp
from training.staffing.population import MAX_FILE_BYTES, PopulationFileError, import_populations


@bp.cli.command("import-population")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file; write nothing.")
def import_population_command(path: str, dry_run: bool) -> None:
    """Load units' populations (registered, actual, day, source) from a CSV or XLSX file."""
    from training.hr.upkeep import today

    with open(path, "rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    try:
        report = import_populations(data, path, actor=None, root=None, today=today(), dry_run=dry_run)
    except PopulationFileError as error:
        db.session.rollback()
        click.echo(f"Lỗi: {error}", err=True)
        sys.exit(1)
    for notice in report.notices:
        click.echo(notice)
    if report.errors:
        db.session.rollback()
        for line, reason in report.errors:
            click.echo(f"Dòng {line}: {reason}", err=True)
        click.echo(f"{len(report.errors)} dòng lỗi; không có thay đổi nào được ghi.", err=True)
        sys.exit(1)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    verb = "Sẽ nhập" if dry_run else "Đã nhập"
    click.echo(f"{verb}: {report.created} mới, {report.updated} sửa, {report.unchanged} không đổi.")
