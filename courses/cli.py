"""`flask --app training courses ...` and the setup hooks of the courses package."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from training.extensions import db

courses_group = AppGroup("courses", help="Course modules.")


def register(app) -> None:
    from courses import reminder_cli

    app.cli.add_command(courses_group)
    reminder_cli.register(app)
    app.extensions.setdefault("demo_hooks", []).append(_sync_on_demo)


def _sync_on_demo() -> None:
    from courses.sync import SyncError, sync_courses

    try:
        report = sync_courses(current_app.config["COURSE_CONTENT_DIR"])
    except SyncError as exc:
        db.session.rollback()
        click.echo(str(exc), err=True)
        return
    click.echo(report.summary())
    _demo_assignments()


def _demo_assignments() -> None:
    """The demo ward gets two assigned courses, so the learner account has work with due dates."""
    from datetime import timedelta

    import sqlalchemy as sa

    from courses.assignments import create_assignment, today_in_vietnam
    from courses.models import Assignment, Course
    from training.services.org import get_unit_by_code
    from training.services.users import get_user_by_email

    ward = get_unit_by_code("HCM-CAUONGLANH")
    hr = get_user_by_email("hr.ward@demo.example")
    if ward is None:
        return
    for slug, days in (("an-toan-thong-tin", 14), ("chu-ky-so", 30)):
        course = db.session.scalar(sa.select(Course).where(Course.slug == slug))
        if course is None or db.session.scalar(sa.select(Assignment.id).where(
                Assignment.course_id == course.id, Assignment.unit_id == ward.id)) is not None:
            continue
        create_assignment(course=course, unit=ward, due_on=today_in_vietnam() + timedelta(days=days), actor=hr,
                          note="Theo kế hoạch bồi dưỡng công chức số của phường.")
    click.echo("Đã giao khóa học mẫu cho Phường Cầu Ông Lãnh.")


@courses_group.command("sync")
@click.option("--path", type=click.Path(exists=True, file_okay=False), default=None,
              help="Content folder (default: courses/content).")
def sync_command(path: str | None) -> None:
    """Load or update courses from Markdown files, by slug and version (all or nothing)."""
    from courses.sync import SyncError, sync_courses

    try:
        report = sync_courses(path or current_app.config["COURSE_CONTENT_DIR"])
    except SyncError as exc:
        db.session.rollback()
        for problem in exc.problems:
            click.echo(f"Lỗi: {problem}", err=True)
        click.echo("Không có khóa học nào được cập nhật (nothing loaded).", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(report.summary())
