"""A learner's own certificates and the PDF download (also for HR in scope and admin)."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from flask import Response, abort, render_template
from flask_login import current_user

from certificates import bp
from certificates.issuing import current_certificate
from certificates.models import Certificate
from certificates.qualification import is_digitally_capable, required_competencies, valid_records
from training.access import access
from training.extensions import db
from training.services.org import user_in_scope


@bp.route("/")
@access()
def mine():
    now = datetime.now(timezone.utc)
    certificates = db.session.scalars(sa.select(Certificate).where(Certificate.user_id == current_user.id)
                                      .order_by(Certificate.issued_at.desc())).all()
    held = valid_records(current_user, now)
    required = required_competencies(current_user)
    return render_template("certificates/mine.html", certificates=certificates, now=now,
                           qualified=is_digitally_capable(current_user, now), required=required, held=held,
                           current=current_certificate(current_user, now))


@bp.route("/<serial>.pdf")
@access()
def download(serial: str):
    certificate = db.session.scalar(sa.select(Certificate).where(Certificate.serial == serial))
    if certificate is None:
        abort(404)
    if certificate.user_id != current_user.id and not (
            current_user.has_role("hr", "admin") and user_in_scope(current_user, certificate.user)):
        abort(404)
    return Response(certificate.pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{certificate.serial}.pdf"',
        "X-Content-SHA256": certificate.pdf_sha256})
