"""HR and admin: certificates by unit and status, revocation with a reason, a unit's ZIP."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from flask import (Response, abort, current_app, flash, redirect, render_template, request, stream_with_context,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from certificates import bp
from certificates.issuing import CertificateError, revoke_certificate
from certificates.models import Certificate
from certificates.zipstream import stream_zip
from training.access import access
from training.extensions import db
from training.services import audit
from training.forms import BaseForm
from training.models import OrgUnit
from training.services.org import get_unit_by_code, scope_root, units_in_scope, user_in_scope
from training.vntext import fold, nfc

STATUSES = ("valid", "expired", "revoked")


class RevokeForm(BaseForm):
    reason = StringField(_l("Lý do thu hồi"), validators=[DataRequired(_l("Hãy nêu lý do thu hồi.")),
                                                           Length(max=500)])
    submit = SubmitField(_l("Thu hồi chứng nhận"))


def _scope():
    root = scope_root(current_user)
    if root is None and not current_user.has_role("admin"):
        abort(403)
    return root


def _filtered(root: OrgUnit | None, unit: OrgUnit | None, status: str, q: str, now: datetime):
    stmt = sa.select(Certificate).order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    for node in (root, unit):
        if node is not None:
            stmt = stmt.where(Certificate.unit_id.in_(
                sa.select(OrgUnit.id).where(OrgUnit.path.startswith(node.path, autoescape=True))))
    if status == "valid":
        stmt = stmt.where(Certificate.revoked_at.is_(None), Certificate.expires_at > now)
    elif status == "expired":
        stmt = stmt.where(Certificate.revoked_at.is_(None), Certificate.expires_at <= now)
    elif status == "revoked":
        stmt = stmt.where(Certificate.revoked_at.is_not(None))
    if q:
        from training.models import User

        needle = fold(q)
        stmt = stmt.join(User, User.id == Certificate.user_id).where(sa.or_(
            User.search_name.contains(needle, autoescape=True), Certificate.serial.contains(q.upper(), autoescape=True)))
    return stmt


def _filters(root):
    unit_code = nfc(request.args.get("unit", "")).upper()
    unit = get_unit_by_code(unit_code) if unit_code else None
    if unit is not None and root is not None and not unit.is_within(root):
        unit = None
    status = request.args.get("status", "")
    return unit, status if status in STATUSES else "", nfc(request.args.get("q", ""))


@bp.route("/manage")
@access("hr", "admin")
def manage():
    root = _scope()
    now = datetime.now(timezone.utc)
    unit, status, q = _filters(root)
    page = db.paginate(_filtered(root, unit, status, q, now), per_page=25, error_out=False)
    units = db.session.scalars(units_in_scope(root).where(OrgUnit.unit_type != "department")).all()
    return render_template("certificates/manage.html", page=page, now=now, units=units, unit=unit, status=status,
                           q=q)


@bp.route("/manage/<serial>", methods=["GET", "POST"])
@access("hr", "admin")
def detail(serial: str):
    _scope()
    certificate = db.session.scalar(sa.select(Certificate).where(Certificate.serial == serial))
    if certificate is None or not user_in_scope(current_user, certificate.user):
        abort(404)
    form = RevokeForm()
    status_code = 200
    if form.validate_on_submit():
        try:
            revoke_certificate(certificate, current_user, form.reason.data)
        except CertificateError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            status_code = 400
        else:
            db.session.commit()
            flash(_("Đã thu hồi chứng nhận %(serial)s.", serial=certificate.serial), "success")
            return redirect(url_for("certificates.detail", serial=certificate.serial))
    elif request.method == "POST":
        status_code = 400
    return render_template("certificates/detail.html", certificate=certificate, form=form,
                           now=datetime.now(timezone.utc)), status_code


@bp.route("/manage/export.zip")
@access("hr", "admin")
def export_zip():
    root = _scope()
    now = datetime.now(timezone.utc)
    unit, status, q = _filters(root)
    ids = db.session.scalars(_filtered(root, unit, status or "valid", q, now).with_only_columns(Certificate.id)).all()
    if not ids:
        flash(_("Không có chứng nhận nào để tải."), "info")
        return redirect(url_for("certificates.manage", **request.args))

    def files():
        for certificate_id in ids:  # one PDF loaded at a time
            pdf, serial = db.session.execute(sa.select(Certificate.pdf, Certificate.serial)
                                             .where(Certificate.id == certificate_id)).one()
            yield f"{serial}.pdf", pdf

    name = f"chung-nhan-{(unit.code if unit else (root.code if root else 'tat-ca')).lower()}.zip"
    if len(ids) >= int(current_app.config.get("CERT_ZIP_JOB_MIN", 200)):
        # Many PDFs: a job makes the ZIP (the request would outlast the server's timeout); its page shows
        # progress and then the download.
        from certificates.zip_job import ZIP_JOB
        from training.jobs import create_job, start

        job = create_job(ZIP_JOB, user=current_user, params={"ids": list(ids), "filename": name,
                                                             "status": status or "valid"},
                         title=_("Tệp ZIP %(n)d giấy chứng nhận (%(name)s)", n=len(ids), name=name), total=len(ids))
        db.session.commit()
        start(job)
        return redirect(url_for("jobs.detail", job_id=job.id))
    chunks = audit.audited_stream(stream_zip(files()), current_user, "certificate.export_zip", name,
                                  certificates=len(ids), status_filter=status or "valid")
    return Response(stream_with_context(chunks), mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
