"""`flask --app training reminders send`: queue due and overdue reminders, then flush the e-mail outbox.

Cron-able: run it as often as you like (daily is enough, hourly retries failed e-mails sooner);
each reminder is written once and each e-mail sent once.
"""
from __future__ import annotations

from datetime import date, datetime

import click
from flask import current_app
from flask.cli import AppGroup

from training.extensions import db

reminders_group = AppGroup("reminders", help="Reminders (nhắc việc) and the e-mail outbox.")


def register(app) -> None:
    app.cli.add_command(reminders_group)


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
    """Write the reminders due today (once each) and send the e-mails waiting in the outbox."""
    from courses.mail import latest_error, mail_configured, outbox_counts, send_outbox
    from courses.reminders import EXPIRY_WARNING_DAYS, queue_expiry_warnings, queue_reminders

    config = current_app.config
    report = queue_reminders(today, config)
    db.session.commit()
    warned = queue_expiry_warnings(today)
    db.session.commit()
    if warned:
        click.echo(f"Đã báo {warned} năng lực sắp hết hiệu lực (trong {EXPIRY_WARNING_DAYS} ngày).")

    if mail_configured(config):
        # Commit after every message: a crash midway never sends one twice.
        sent, failed = send_outbox(config, after_each=db.session.commit)
        db.session.commit()
    else:
        sent = failed = 0
        click.echo("Chưa cấu hình máy chủ thư (MAIL_SERVER): email được giữ trong hàng đợi, chưa gửi.", err=True)
    counts = outbox_counts(config)
    click.echo(f"Ngày {report.today.strftime('%d/%m/%Y')}: đã tạo {report.created} nhắc việc; "
               f"đã gửi {sent} email; {failed} lỗi, {counts.waiting} đang chờ.")
    if failed:
        click.echo(f"Không gửi được {failed} email, sẽ thử lại ở lần chạy sau. Lỗi: {latest_error()}", err=True)
    if counts.given_up:
        click.echo(f"{counts.given_up} email đã ngừng thử lại sau {config.get('MAIL_MAX_ATTEMPTS', 8)} lần lỗi.",
                   err=True)
