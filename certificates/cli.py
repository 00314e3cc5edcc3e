"""`flask --app training certificates ...`."""
from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from training.extensions import db

certificates_group = AppGroup("certificates", help="Công chức số certificates.")


def register(app) -> None:
    app.cli.add_command(certificates_group)
    app.extensions.setdefault("demo_hooks", []).append(_demo_identity)


def _config():
    config = dict(current_app.config)
    config["INSTANCE_PATH"] = current_app.instance_path
    return config


def _demo_identity() -> None:
    from certificates.issuing import ensure_dev_identity

    from certificates.issuing import issue_for_everyone

    path = ensure_dev_identity(_config())
    if path:
        click.echo(f"Đã tạo khóa ký số THỬ NGHIỆM: {path}")
    issued = issue_for_everyone()
    if issued:
        click.echo(f"Đã cấp {len(issued)} giấy chứng nhận cho cán bộ mẫu đủ điều kiện.")


@certificates_group.command("issue")
def issue_command() -> None:
    """Issue certificates to everyone who newly qualifies."""
    from certificates.issuing import issue_for_everyone

    issued = issue_for_everyone(commit_each=True)
    db.session.commit()
    click.echo(f"Đã cấp {len(issued)} giấy chứng nhận.")
    for certificate in issued:
        click.echo(f"  {certificate.serial}  {certificate.holder_name}")


@certificates_group.command("dev-key")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Where to write the PKCS#12 file (default: instance/dev-signing.p12).")
@click.option("--passphrase", default="dev-only", show_default=True)
@click.option("--force", is_flag=True, help="Replace an existing file.")
def dev_key_command(out: str | None, passphrase: str, force: bool) -> None:
    """Create a self-signed signing identity FOR DEVELOPMENT ONLY (clearly labelled as a test)."""
    from certificates.signing import make_dev_identity

    path = out or os.path.join(current_app.instance_path, "dev-signing.p12")
    if os.path.exists(path) and not force:
        click.echo(f"Lỗi: {path} đã có; dùng --force để thay.", err=True)
        sys.exit(1)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    make_dev_identity(path, passphrase)
    click.echo(f"Đã tạo khóa ký số THỬ NGHIỆM (không dùng cho giấy chứng nhận thật): {path}")
    click.echo("Đặt CERT_P12_PATH và CERT_P12_PASSPHRASE để dùng khóa của cơ quan khi triển khai thật.")
