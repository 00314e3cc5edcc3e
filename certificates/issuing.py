"""Issuing certificates to officials who newly qualify, revoking them, and the signing identity."""
from __future__ import annotations

import os
import secrets
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from certificates.models import Certificate
from certificates.qualification import is_digitally_capable, required_competencies, valid_records
from training.extensions import db
from training.models import Competency, CompetencyRecord, User
from training.services import audit

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
SERIAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


class CertificateError(ValueError):
    """A certificate action that cannot be done; the message is for the user."""


def new_serial(issued: datetime) -> str:
    """CCS-2026-XXXX-XXXX-XXXX: 60 random bits, so serials cannot be guessed or enumerated."""
    body = "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(12))
    return f"CCS-{issued.astimezone(VIETNAM).year}-{body[:4]}-{body[4:8]}-{body[8:]}"


def current_certificate(official: User, now: datetime | None = None) -> Certificate | None:
    """The official's certificate valid now, if any (there is never more than one)."""
    now = now or datetime.now(timezone.utc)
    return db.session.scalar(sa.select(Certificate).where(
        Certificate.user_id == official.id, Certificate.revoked_at.is_(None), Certificate.expires_at > now)
        .order_by(Certificate.issued_at.desc()))


def signing_paths(config) -> tuple[str, str]:
    path = config.get("CERT_P12_PATH") or os.path.join(config["INSTANCE_PATH"], "dev-signing.p12")
    return path, config.get("CERT_P12_PASSPHRASE") or "dev-only"


def ensure_dev_identity(config) -> str | None:
    """Create the development signing identity when none is configured (never in production)."""
    from certificates.signing import make_dev_identity

    path, passphrase = signing_paths(config)
    if os.path.exists(path):
        return None
    if config.get("CERT_P12_PATH"):
        raise CertificateError(_("Không tìm thấy tệp khóa ký số %(path)s.", path=path))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    make_dev_identity(path, passphrase)
    return path


def verify_url(config, serial: str) -> str:
    return f"{config['PUBLIC_BASE_URL'].rstrip('/')}/verify/{serial}"


def _render_and_sign(certificate: Certificate, config) -> bytes:
    from certificates.pdf import CertificateData, render_certificate
    from certificates.signing import sign_pdf

    local = lambda moment: datetime.fromisoformat(moment).astimezone(VIETNAM).date()  # noqa: E731
    data = CertificateData(
        serial=certificate.serial,
        holder_name=certificate.holder_name,
        unit_name=certificate.unit_name,
        position_name=certificate.position_name,
        issuer_name=config["CERT_ISSUER_NAME"],
        issuer_parent=config.get("CERT_ISSUER_PARENT", ""),
        competencies=[(c["name"], c["score"], local(c["achieved_at"]), local(c["expires_at"]))
                      for c in certificate.competencies],
        issued_on=certificate.issued_at.astimezone(VIETNAM).date(),
        expires_on=certificate.expires_at.astimezone(VIETNAM).date(),
        place=config["CERT_PLACE"],
        signer_title=config["CERT_SIGNER_TITLE"],
        signer_name=config["CERT_SIGNER_NAME"],
        verify_url=verify_url(config, certificate.serial),
    )
    pdf = render_certificate(data)
    ensure_dev_identity(config)
    path, passphrase = signing_paths(config)
    return sign_pdf(pdf, path, passphrase, reason="Chứng nhận công chức số", location=config["CERT_PLACE"],
                    signer_name=config["CERT_SIGNER_NAME"])


def issue_certificate(official: User, now: datetime | None = None, config=None) -> Certificate | None:
    """Issue a certificate if the official qualifies now and holds no valid one; else None."""
    now = now or datetime.now(timezone.utc)
    if not is_digitally_capable(official, now) or current_certificate(official, now) is not None:
        return None
    from certificates.signing import sha256_hex

    config = config or _config()
    held = valid_records(official, now)
    records: list[tuple[Competency, CompetencyRecord]] = [(c, held[c.id]) for c in required_competencies(official)]
    unit = official.unit
    unit_name = unit.name if unit is not None else ""
    if unit is not None and unit.unit_type == "department" and unit.parent is not None:
        unit_name = f"{unit.name}, {unit.parent.name}"
    certificate = Certificate(
        serial=new_serial(now), user_id=official.id, unit_id=official.unit_id, holder_name=official.full_name,
        unit_name=unit_name, position_name=official.position.name if official.position else "",
        competencies=[{"code": c.code, "name": c.name_vi, "score": round(r.score or 0, 1),
                       "achieved_at": r.achieved_at.isoformat(), "expires_at": r.expires_at.isoformat()}
                      for c, r in records],
        issued_at=now, expires_at=min(r.expires_at for _c, r in records),
    )
    certificate.pdf = _render_and_sign(certificate, config)
    certificate.pdf_sha256 = sha256_hex(certificate.pdf)
    db.session.add(certificate)
    db.session.flush()
    return certificate


def issue_for_everyone(now: datetime | None = None) -> list[Certificate]:
    """Issue certificates to every active official who newly qualifies (`certificates issue`)."""
    now = now or datetime.now(timezone.utc)
    holders = sa.select(Certificate.user_id).where(Certificate.revoked_at.is_(None), Certificate.expires_at > now)
    candidates = sa.select(CompetencyRecord.user_id).where(
        CompetencyRecord.revoked_at.is_(None), CompetencyRecord.expires_at > now).distinct()
    officials = db.session.scalars(sa.select(User).where(
        User.active.is_(True), User.id.in_(candidates), User.id.not_in(holders)).order_by(User.id))
    issued = []
    for official in officials:
        certificate = issue_certificate(official, now)
        if certificate is not None:
            issued.append(certificate)
    return issued


def revoke_certificate(certificate: Certificate, actor: User | None, reason: str,
                       now: datetime | None = None) -> None:
    reason = " ".join((reason or "").split())
    if not reason:
        raise CertificateError(_("Hãy nêu lý do thu hồi."))
    if certificate.revoked_at is not None:
        raise CertificateError(_("Chứng nhận này đã bị thu hồi."))
    certificate.revoked_at = now or datetime.now(timezone.utc)
    certificate.revoked_reason = reason[:500]
    certificate.revoked_by_id = actor.id if actor else None
    audit.record(actor, "certificate.revoke", certificate.serial, reason=certificate.revoked_reason,
                 holder=certificate.holder_name)


def on_competency_recorded(record: CompetencyRecord) -> None:
    """Hook from quizzes: a passed attempt may complete the set. Issuing (render + sign) runs on the
    job queue when REDIS_URL is set, at once otherwise."""
    from training.jobs import enqueue

    if current_app.config.get("REDIS_URL"):
        db.session.flush()
        # The worker must see the new record: queue after this request's commit.
        _after_commit(lambda: enqueue("certificates.issuing.issue_for_user", record.user_id))
        return
    official = db.session.get(User, record.user_id)
    if official is not None:
        issue_certificate(official)


def issue_for_user(user_id: int) -> str | None:
    """Job: issue the certificate for one official if they qualify; returns its serial."""
    official = db.session.get(User, user_id)
    certificate = issue_certificate(official) if official is not None else None
    return certificate.serial if certificate else None


def _after_commit(callback) -> None:
    import sqlalchemy.event

    sqlalchemy.event.listen(db.session(), "after_commit", lambda _session: callback(), once=True)


def _config():
    config = dict(current_app.config)
    config["INSTANCE_PATH"] = current_app.instance_path
    return config
