"""Public verification: anyone with the serial (from the QR code) can check a certificate."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import sqlalchemy as sa
from flask import jsonify, render_template

from certificates import public_bp
from certificates.models import Certificate
from training.access import access
from training.errors import json_error
from training.extensions import db, limiter

SERIAL_SHAPE = re.compile(r"^[A-Z0-9-]{1,40}$")
PUBLIC_LIMIT = "60 per minute"


def _find(serial: str) -> Certificate | None:
    serial = (serial or "").strip().upper()
    if not SERIAL_SHAPE.match(serial):
        return None
    return db.session.scalar(sa.select(Certificate).where(Certificate.serial == serial))


def public_record(certificate: Certificate, now: datetime) -> dict:
    """What anyone may know: no e-mail, no birth date, nothing beyond the certificate itself; a revocation
    shows its date, never HR's reason (that stays on HR's pages)."""
    record = {
        "serial": certificate.serial,
        "holder": certificate.holder_name,
        "unit": certificate.unit_name,
        "competencies": [{"code": c["code"], "name": c["name"], "achieved_at": c["achieved_at"],
                          "expires_at": c["expires_at"]} for c in certificate.competencies],
        "issued_at": certificate.issued_at.isoformat(),
        "expires_at": certificate.expires_at.isoformat(),
        "status": certificate.status(now),
    }
    if certificate.revoked_at is not None:
        record["revoked_at"] = certificate.revoked_at.isoformat()
    if certificate.test_identity:
        record["test"] = True  # signed with a test identity: no value as a certificate
    return record


@public_bp.route("/verify/<serial>")
@access(public=True)
@limiter.limit(PUBLIC_LIMIT)
def verify_page(serial: str):
    certificate = _find(serial)
    now = datetime.now(timezone.utc)
    if certificate is None:
        return render_template("certificates/verify.html", certificate=None, serial=serial[:60]), 404
    return render_template("certificates/verify.html", certificate=certificate, status=certificate.status(now),
                           serial=certificate.serial)


@public_bp.route("/api/v1/certificates/<serial>")
@access(public=True)
@limiter.limit(PUBLIC_LIMIT)
def verify_json(serial: str):
    certificate = _find(serial)
    if certificate is None:
        return json_error(404)
    return jsonify(public_record(certificate, datetime.now(timezone.utc)))
