"""`flask --app training reminders send`: queue due and overdue reminders, then flush the e-mail outbox.

Cron-able: run it as often as you like (daily is enough, hourly retries failed e-mails sooner);
each reminder is written once and each e-mail sent once.
"""
from __future__ import annotations

import sys
from datetime import date, datetime

import click
from flask import current_app
from flask_babel import gettext as _
from flask.cli import AppGroup

from training.extensions import db

reminders_group = AppGroup("reminders", help="Reminders (nhắc việc) and the e-mail outbox.")


def register(app) -> None:
    from courses.mail import queue_email, request_outbox_send

    app.cli.add_command(reminders_group)
    # The outbox for the core (training imports no domain package): activation links of a roster import.
    app.extensions["outbox"] = {"queue_email": queue_email, "request_send": request_outbox_send}


def _parse_today(ctx, param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(
            f"ngày không hợp lệ: {value!r}. Dùng dạng YYYY-MM-DD, ví dụ 2025-07-01 (invalid date).") from None


@reminders_group.command("send")
@click.option("--today", callback=_parse_today, metavar="YYYY-MM-DD",
              help="Treat this date as today (for catch-up and tests); default: today in Vietnam.")
def send_command(today: date | None) -> None:
    """Write the reminders due today (once each) and send the e-mails waiting in the outbox.

    With REDIS_URL this queues the work for a worker (reminders for a whole city, then the e-mail)
    and returns; without it, it runs here."""
    from courses.mail import latest_error
    from training.jobs import create_job, queue_enabled, start

    config = current_app.config
    job = create_job(REMINDERS_JOB, title=_("Nhắc việc và gửi email"), params={
        "today": today.isoformat() if today else None})
    db.session.commit()
    if queue_enabled():
        start(job)
        click.echo(f"Đã xếp hàng gửi nhắc việc và email (job {job.id}); theo dõi tại /jobs/{job.id}.")
        return
    job = start(job)
    if job.state != "done":
        click.echo(f"Lỗi: {job.error}", err=True)
        sys.exit(1)
    result = job.result or {}
    if result.get("warned"):
        click.echo(f"Đã báo {result['warned']} năng lực sắp hết hiệu lực (trong {result['warning_days']} ngày).")
    if not result.get("mail_configured"):
        click.echo("Chưa cấu hình máy chủ thư (MAIL_SERVER): email được giữ trong hàng đợi, chưa gửi.", err=True)
    click.echo(f"Ngày {result['today_text']}: đã tạo {result['created']} nhắc việc; "
               f"đã gửi {result['sent']} email; {result['failed']} lỗi, {result['waiting']} đang chờ.")
    if result.get("failed"):
        click.echo(f"Không gửi được {result['failed']} email, sẽ thử lại ở lần chạy sau. Lỗi: {latest_error()}",
                   err=True)
    if result.get("given_up"):
        click.echo(f"{result['given_up']} email đã ngừng thử lại sau {config.get('MAIL_MAX_ATTEMPTS', 8)} lần lỗi.",
                   err=True)


REMINDERS_JOB = "courses.reminder_cli.reminders_job"


def reminders_job(job) -> dict:
    """Job: the reminders that apply today (each written once ever), the expiry warnings, then the
    outbox, each message claimed and committed on its own (run twice, it sends nothing twice)."""
    from courses.mail import mail_configured, outbox_counts, send_outbox
    from courses.reminders import EXPIRY_WARNING_DAYS, queue_expiry_warnings, queue_reminders

    config = current_app.config
    today = date.fromisoformat(job.params["today"]) if job.params.get("today") else None
    report = queue_reminders(today, config)
    db.session.commit()
    warned = queue_expiry_warnings(today)
    db.session.commit()
    sent = failed = 0
    if mail_configured(config):
        sent, failed = send_outbox(config, after_each=db.session.commit)
        db.session.commit()
    counts = outbox_counts(config)
    return {"summary": f"Ngày {report.today.strftime('%d/%m/%Y')}: đã tạo {report.created} nhắc việc; đã gửi {sent} "
                       f"email; {failed} lỗi, {counts.waiting} đang chờ.",
            "today_text": report.today.strftime("%d/%m/%Y"), "created": report.created, "warned": warned,
            "warning_days": EXPIRY_WARNING_DAYS, "sent": sent, "failed": failed, "waiting": counts.waiting,
            "given_up": counts.given_up, "mail_configured": mail_configured(config)}
