"""Job pages: a job's progress and outcome (refreshing itself, no JavaScript needed), its download,
my jobs, and for admin the failed jobs with their error and a retry button."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import format_number
from flask_babel import gettext as _
from flask_login import current_user

from training.access import access
from training.admin.forms import ConfirmForm
from training.extensions import db
from training.models import Job, User
from training.services import audit

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

# Seconds between two automatic reloads of a running job's page.
REFRESH_S = 3


def _visible_job_or_404(job_id: int) -> Job:
    """The job, if it is mine or I am an admin; anyone else is told it does not exist."""
    job = db.session.get(Job, job_id)
    if job is None or not (job.user_id == current_user.id or current_user.has_role("admin")):
        abort(404)
    return job


@bp.route("/")
@access()
def index():
    stmt = sa.select(Job).where(Job.user_id == current_user.id, Job.parent_id.is_(None)) \
        .order_by(Job.created_at.desc(), Job.id.desc())
    page = db.paginate(stmt, per_page=25, error_out=False)
    failed = None
    if current_user.has_role("admin"):
        from training.jobs import failed_count

        failed = failed_count()
    return render_template("jobs/index.html", page=page, failed=failed)


@bp.route("/<int:job_id>")
@access()
def detail(job_id: int):
    job = _visible_job_or_404(job_id)
    auto = request.args.get("auto", "1") != "0"
    children = None
    if job.kind.endswith("_parent"):
        children = dict(db.session.execute(sa.select(Job.state, sa.func.count(Job.id))
                                           .where(Job.parent_id == job.id).group_by(Job.state)).all())
    response = Response(render_template("jobs/detail.html", job=job, auto=auto, refresh_s=REFRESH_S,
                                        children=children, form=ConfirmForm(), done_text=format_number(job.progress),
                                        total_text=format_number(job.total or 0),
                                        starter=db.session.get(User, job.user_id) if job.user_id else None))
    if not job.finished and auto:
        # Reloads the page by itself in every browser, with or without JavaScript; a strict CSP allows it.
        response.headers["Refresh"] = str(REFRESH_S)
    return response


@bp.route("/<int:job_id>/download")
@access()
def download(job_id: int):
    from training.jobs import read_file

    job = _visible_job_or_404(job_id)
    if job.state != "done" or not job.download_name:
        abort(404)
    audit.record(current_user, "job.download", job.download_name, job_id=job.id, kind=job.kind)
    db.session.commit()
    name = job.download_name
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return Response(stream_with_context(read_file(job.id, "output")), mimetype=job.download_type or
                    "application/octet-stream", headers={
                        "Content-Disposition": f'attachment; filename="{ascii_name}"',
                        "Content-Length": str(job.download_size or 0)})


@bp.route("/failed")
@access("admin")
def failed():
    stmt = sa.select(Job).where(Job.state == "failed").order_by(Job.finished_at.desc(), Job.id.desc())
    page = db.paginate(stmt, per_page=25, error_out=False)
    starters = {u.id: u for u in db.session.scalars(sa.select(User).where(
        User.id.in_({job.user_id for job in page.items if job.user_id})))}
    return render_template("jobs/failed.html", page=page, starters=starters, form=ConfirmForm())


@bp.route("/<int:job_id>/retry", methods=["POST"])
@access("admin")
def retry(job_id: int):
    from training.jobs import retry_job

    job = db.session.get(Job, job_id)
    if job is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if job.state != "failed":
        flash(_("Việc này không ở trạng thái lỗi; không cần chạy lại."), "info")
        return redirect(url_for("jobs.detail", job_id=job.id))
    audit.record(current_user, "job.retry", job.title or job.kind, job_id=job.id, error=job.error[:300])
    db.session.commit()
    retry_job(job)
    flash(_("Đã cho chạy lại việc “%(title)s”.", title=job.title or job.kind), "success")
    return redirect(url_for("jobs.detail", job_id=job.id))
