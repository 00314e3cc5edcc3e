"""Command-line interface: `flask --app training ...`."""
from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from training.extensions import db


def register_cli(app) -> None:
    app.cli.add_command(setup_command)
    app.cli.add_command(roster_group)
    app.cli.add_command(api_token_group)
    from training.jobs import register_cli as register_worker

    register_worker(app)


def run_migrations() -> None:
    """Create or upgrade the schema to the latest migration."""
    from flask_migrate import upgrade

    upgrade(directory=os.path.join(os.path.dirname(__file__), "migrations"))


@click.command("setup")
@with_appcontext
@click.option("--demo", is_flag=True, help="Also load the demo city, wards, positions and accounts.")
def setup_command(demo: bool) -> None:
    """Create or upgrade the database and seed the competency framework (idempotent)."""
    from training.services.competencies import seed_core_competencies

    run_migrations()
    seed_core_competencies()
    db.session.commit()
    click.echo("Cơ sở dữ liệu đã sẵn sàng (database ready).")
    for hook in current_app.extensions.get("setup_hooks", []):
        hook(demo=demo)
        db.session.commit()
    if not demo:
        return
    from training.services.demo import load_demo

    result = load_demo(current_app.config.get("DEMO_PASSWORD"))
    db.session.commit()
    click.echo(f"Dữ liệu mẫu: Thành phố Hồ Chí Minh, 10 phường, {result.officials} cán bộ, công chức.")
    for hook in current_app.extensions.get("demo_hooks", []):
        hook()
        db.session.commit()
    click.echo("Tài khoản mẫu (demo accounts):")
    for email, roles in result.accounts:
        click.echo(f"  {email:<26} {roles}")
    if result.created_accounts:
        click.echo(f"Mật khẩu (password): {result.password}")
    else:
        click.echo("Các tài khoản mẫu đã có từ trước; mật khẩu không thay đổi (accounts existed; passwords unchanged).")


roster_group = AppGroup("roster", help="Import officials from a roster file.")


@roster_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Only check the file and report; change nothing.")
@click.option("--passwords-out", type=click.Path(dir_okay=False, writable=True),
              help="Give new accounts temporary passwords (slow: one hash each) and write email,temporary_password "
                   "to this CSV file (mode 0600).")
@click.option("--links-out", type=click.Path(dir_okay=False, writable=True),
              help="Write the activation links of new accounts to this CSV file (mode 0600), for HR to hand out.")
@click.option("--send-links", is_flag=True, help="Also e-mail each new official their activation link (outbox).")
def roster_import(file: str, dry_run: bool, passwords_out: str | None, links_out: str | None,
                  send_links: bool) -> None:
    """Upsert officials from FILE (CSV or XLSX; header full_name,email,unit_code,position_code,roles
    or the Vietnamese Họ và tên, Email, Mã đơn vị, Mã vị trí việc làm, Vai trò). Several roles in one
    cell are separated by "," ";" or "|"."""
    import sqlalchemy as sa

    from training.services.roster import MAX_FILE_BYTES, RosterFileError, import_roster

    try:
        if os.path.getsize(file) > MAX_FILE_BYTES:
            raise RosterFileError(f"Tệp quá lớn: tối đa {MAX_FILE_BYTES // (1024 * 1024)} MB.")
        with open(file, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        # Issue 18: new accounts get one-time activation links (no password hashed at import), unless
        # --passwords-out asks for temporary passwords as before.
        from training.services.roster import ActivationLinks

        links = ActivationLinks((current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"),
                                send=send_links)
        # Opened before the import, so an unwritable path changes nothing; written as the import goes
        # (memory stays flat) and emptied again if the import does not commit.
        link_descriptor = _private_file(links_out) if links_out and not dry_run else None
        link_file = open(link_descriptor, "wb", closefd=False) if link_descriptor is not None else None
        report = import_roster(data, os.path.basename(file), dry_run=dry_run,
                               credentials="password" if passwords_out else "activation", on_activation=links,
                               on_progress=(lambda done, total: link_file.write(links.take())) if link_file else None)
    except OSError as exc:
        click.echo(f"Lỗi: không đọc được tệp {file}: {exc.strerror}.", err=True)
        sys.exit(1)
    except RosterFileError as exc:
        db.session.rollback()
        click.echo(f"Lỗi: {exc}", err=True)
        sys.exit(1)
    for notice in report.notices:
        click.echo(f"Lưu ý: {notice}", err=True)
    if not report.ok:
        db.session.rollback()
        for error in report.errors:
            click.echo(f"Dòng {error.line}: {error.message}", err=True)
        click.echo(f"{len(report.errors)} dòng lỗi; không có thay đổi nào được ghi.", err=True)
        sys.exit(1)
    if dry_run:
        db.session.rollback()
        click.echo(f"Kiểm tra xong (dry run): sẽ tạo {len(report.created)}, cập nhật {len(report.updated)}, "
                   f"không đổi {len(report.unchanged)}. Chưa ghi gì.")
        return
    descriptor = None
    if passwords_out:
        try:
            # Temporary passwords: readable by the owner only, even if the file existed before.
            # Opened before the commit, so an unwritable path changes nothing.
            descriptor = os.open(passwords_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(descriptor, 0o600)
        except OSError as exc:
            db.session.rollback()
            click.echo(f"Lỗi: không ghi được tệp {passwords_out}: {exc.strerror}; không có thay đổi nào được ghi.",
                       err=True)
            sys.exit(1)
    try:
        db.session.commit()
    except sa.exc.SQLAlchemyError as exc:
        db.session.rollback()
        if descriptor is not None:
            os.close(descriptor)
        if link_descriptor is not None:
            os.ftruncate(link_descriptor, 0)  # those links were never saved
        click.echo(f"Lỗi cơ sở dữ liệu, không có thay đổi nào được ghi: {exc.__class__.__name__}", err=True)
        sys.exit(1)
    click.echo(f"Đã nhập: tạo {len(report.created)}, cập nhật {len(report.updated)}, "
               f"không đổi {len(report.unchanged)}.")
    if link_descriptor is not None:
        link_file.write(links.take())
        link_file.close()
        os.close(link_descriptor)
        click.echo(f"Đường dẫn kích hoạt của {links.count} tài khoản mới: {links_out}")
    elif links.count:
        click.echo(f"{links.count} tài khoản mới cần kích hoạt; dùng --links-out FILE để lưu đường dẫn kích hoạt, "
                   "--send-links để gửi qua email, hoặc đặt lại mật khẩu trong trang quản trị.")
    if links.queued:
        click.echo(f"Đã xếp {links.queued} email kích hoạt vào hàng gửi (gửi bằng reminders send).")
    if descriptor is not None:
        import csv

        with open(descriptor, "w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            writer.writerow(["email", "temporary_password"])
            writer.writerows(sorted(report.passwords.items()))
        if report.passwords:
            click.echo(f"Mật khẩu tạm thời của tài khoản mới: {passwords_out}")
    elif report.passwords:
        click.echo("Tài khoản mới có mật khẩu tạm thời; dùng --passwords-out FILE để lưu, "
                   "hoặc đặt lại mật khẩu trong trang quản trị.")


def _private_file(path: str) -> int:
    """A file only its owner can read, opened for writing (activation links are credentials)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)
    except OSError as exc:
        click.echo(f"Lỗi: không ghi được tệp {path}: {exc.strerror}; không có thay đổi nào được ghi.", err=True)
        sys.exit(1)
    return descriptor


api_token_group = AppGroup("api-token", help="Bearer tokens for the API.")


@api_token_group.command("create")
@click.option("--user", "email", required=True, help="Email of the account the token acts as.")
@click.option("--days", default=None, type=click.IntRange(1, 3650), help="Days until the token expires.")
@click.option("--name", default="", help="What the token is for (shown to the user, who can revoke it).")
def api_token_create(email: str, days: int | None, name: str) -> None:
    """Print a new bearer token for USER."""
    from training.services.sessions import create_api_token
    from training.services.users import get_user_by_email

    user = get_user_by_email(email)
    if user is None or not user.active:
        click.echo(f"Lỗi: không có tài khoản đang hoạt động với email {email}.", err=True)
        sys.exit(1)
    token, row = create_api_token(user, days=days, name=name or "Tạo bằng dòng lệnh")
    db.session.commit()
    click.echo(token)
    click.echo(f"expires_at: {row.expires_at.isoformat()}", err=True)
