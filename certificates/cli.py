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
    from certificates.issuing import preload_for_worker

    app.cli.add_command(certificates_group)
    app.extensions.setdefault("demo_hooks", []).append(_demo_identity)
    # A worker loads ReportLab, pyHanko and the signing identity once, before it forks for jobs.
    app.extensions.setdefault("worker_preload", []).append(preload_for_worker)


def _config():
    config = dict(current_app.config)
    config["INSTANCE_PATH"] = current_app.instance_path
    return config


def _demo_identity() -> None:
    from certificates.issuing import ensure_dev_identity, issue_for_everyone

    path = ensure_dev_identity(_config())
    if path:
        click.echo(f"Đã tạo khóa ký số THỬ NGHIỆM: {path}")
    issued = issue_for_everyone()
    if issued:
        click.echo(f"Đã cấp {len(issued)} giấy chứng nhận cho cán bộ mẫu đủ điều kiện.")


@certificates_group.command("issue")
@click.option("--batch-size", type=click.IntRange(1, 1000), default=None,
              help="Officials per job on the queue (default CERT_ISSUE_BATCH, 20).")
@click.option("--wait/--no-wait", default=False,
              help="With REDIS_URL: wait for the workers and show progress (default: queue and return).")
def issue_command(batch_size: int | None, wait: bool) -> None:
    """Issue certificates to everyone who newly qualifies.

    Each certificate is committed on its own: stopping the command keeps what it did and running it
    again continues. With REDIS_URL the work goes to the workers in batches (one job per batch, on the
    "bulk" queue) and its progress is on /jobs/<id>; without it, it runs here."""
    from certificates.issuing import issue_for_everyone, queue_issue_for_everyone
    from training.jobs import queue_enabled

    if queue_enabled():
        parent = queue_issue_for_everyone(batch_size=batch_size)
        if parent is None:
            click.echo("Đã cấp 0 giấy chứng nhận: không có ai mới đủ điều kiện.")
            return
        batches = -(-(parent.total or 0) // max(batch_size or current_app.config.get("CERT_ISSUE_BATCH") or 20, 1))
        click.echo(f"Đã xếp hàng cấp {parent.total} giấy chứng nhận thành {batches} việc (job {parent.id}); "
                   f"theo dõi tại /jobs/{parent.id}.")
        if wait:
            _wait_for(parent.id)
        return

    def progress(done: int, total: int) -> None:
        if done % 100 == 0 or done == total:
            click.echo(f"  … {done}/{total}", err=True)

    issued = issue_for_everyone(commit_each=True, on_each=progress)
    db.session.commit()
    click.echo(f"Đã cấp {len(issued)} giấy chứng nhận.")
    for certificate in issued:
        click.echo(f"  {certificate.serial}  {certificate.holder_name}")


def _wait_for(job_id: int) -> None:
    """Print the progress of job `job_id` until it finishes (Ctrl+C stops waiting, not the job)."""
    import time

    import sqlalchemy as sa

    from certificates.models import Certificate
    from training.models import Job

    last = None
    while True:
        db.session.expire_all()
        job = db.session.get(Job, job_id)
        if (job.progress, job.state) != last:
            click.echo(f"  … {job.progress}/{job.total or '?'} ({job.state})", err=True)
            last = (job.progress, job.state)
        if job.state in ("done", "failed"):
            break
        db.session.rollback()
        time.sleep(2)
    issued = db.session.scalar(sa.select(sa.func.count(Certificate.id)).where(Certificate.issued_at >= job.created_at))
    click.echo(f"Đã cấp {issued} giấy chứng nhận." + (f" Có lô lỗi: {job.error} (xem /jobs/failed)." if job.error else ""))
    if job.state == "failed":
        sys.exit(1)


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
