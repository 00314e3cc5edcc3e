"""Issuing certificates to officials who newly qualify, revoking them, and the signing identity."""
from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from certificates.models import Certificate
from certificates.qualification import qualifying_records
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
    """The official's certificate valid now, if any (the database allows never more than one)."""
    now = now or datetime.now(timezone.utc)
    return db.session.scalar(sa.select(Certificate).where(
        Certificate.user_id == official.id, Certificate.is_current.is_(True), Certificate.revoked_at.is_(None),
        Certificate.expires_at > now))


def _retire_expired(official_id: int, now: datetime) -> None:
    """An expired certificate stops being the official's current one, so a new one may be issued."""
    db.session.execute(sa.update(Certificate).where(
        Certificate.user_id == official_id, Certificate.is_current.is_(True), Certificate.expires_at <= now)
        .values(is_current=False).execution_options(synchronize_session=False))


def is_test_identity(config) -> bool:
    """True when certificates are signed with a test identity: the development one (no CERT_P12_PATH)
    or any identity of a deployment that says it is a test (TEST_DEPLOYMENT)."""
    return not config.get("CERT_P12_PATH") or bool(config.get("TEST_DEPLOYMENT"))


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


def public_base_url(config) -> str:
    """The site's address for QR codes: PUBLIC_BASE_URL (required in production), else the address this
    request reached the server at (development on any port), else the development server's default."""
    from flask import has_request_context, request

    if config.get("PUBLIC_BASE_URL"):
        return config["PUBLIC_BASE_URL"].rstrip("/")
    if has_request_context():
        return request.url_root.rstrip("/")
    return "http://127.0.0.1:5000"


def verify_url(config, serial: str) -> str:
    return f"{public_base_url(config)}/verify/{serial}"


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
        test_notice=certificate.test_identity,
    )
    pdf = render_certificate(data)
    ensure_dev_identity(config)
    path, passphrase = signing_paths(config)
    return sign_pdf(pdf, path, passphrase, reason="Chứng nhận công chức số", location=config["CERT_PLACE"],
                    signer_name=config["CERT_SIGNER_NAME"], tsa_url=config.get("TSA_URL"))


def issue_certificate(official: User, now: datetime | None = None, config=None) -> Certificate | None:
    """Issue a certificate if the official qualifies now and holds no valid one; else None.

    Idempotent whoever asks and however often: the partial unique index on the official's current
    certificate lets exactly one of several parallel issuers write it (the others wait for it, then
    find it taken and issue nothing).
    """
    now = now or datetime.now(timezone.utc)
    issued = _issue(official, now, config or _config(), holds_current=True)
    return db.session.get(Certificate, issued.id) if issued is not None else None


class _Made(NamedTuple):
    id: int
    serial: str
    holder_name: str


def _issue(official: User, now: datetime, config, *, holds_current: bool) -> _Made | None:
    """Issue to `official` at `now` if they qualify and hold no valid certificate: the certificate, its
    audit line, the notification and its e-mail, in the caller's transaction (the caller commits).

    `holds_current=False` says the caller has just read that the official has no current certificate
    (a batch reads that for 50 officials at once): the expired one's retirement and the check are
    then skipped. Either way the insert itself is the claim: INSERT ... ON CONFLICT DO NOTHING on the
    partial unique index, so a certificate written meanwhile by another issuer (or still uncommitted:
    the insert waits for it) makes this one issue nothing.
    """
    records = qualifying_records(official, now)
    if records is None:
        return None
    if holds_current:
        _retire_expired(official.id, now)
        if current_certificate(official, now) is not None:
            return None
    from certificates.signing import sha256_hex

    unit = official.unit
    unit_name = unit.name if unit is not None else ""
    if unit is not None and unit.unit_type == "department" and unit.parent is not None:
        unit_name = f"{unit.name}, {unit.parent.name}"
    # A plain (transient) object: rendering reads it; the row is written below in one statement.
    certificate = Certificate(
        serial=new_serial(now), user_id=official.id, unit_id=official.unit_id, holder_name=official.full_name,
        unit_name=unit_name, position_name=official.position.name if official.position else "",
        competencies=[{"code": c.code, "name": c.name_vi, "score": round(r.score or 0, 1),
                       "achieved_at": r.achieved_at.isoformat(), "expires_at": r.expires_at.isoformat()}
                      for c, r in records],
        issued_at=now, expires_at=min(r.expires_at for _c, r in records), is_current=True,
        test_identity=is_test_identity(config),
    )
    pdf = _render_and_sign(certificate, config)
    row = {column: getattr(certificate, column) for column in (
        "serial", "user_id", "unit_id", "holder_name", "unit_name", "position_name", "competencies", "issued_at",
        "expires_at", "is_current", "test_identity")}
    certificate_id = _write_issued({**row, "pdf": pdf, "pdf_sha256": sha256_hex(pdf)}, _issued_rows(official, row))
    if certificate_id is None:
        return None  # another issuer holds this official's current certificate
    return _Made(certificate_id, certificate.serial, certificate.holder_name)


def _issued_rows(official: User, certificate: dict) -> list[tuple[sa.Table, dict]]:
    """The rows that go with an issued certificate: its audit line, the official's notification (once
    only: its key carries the serial) and the notification's e-mail in the outbox, built by the same
    functions as `audit.record` and `courses.notify.notify` use."""
    from flask_babel import lazy_gettext as _l

    from courses.models import Notification, OutboxEmail
    from courses.notify import message_rows
    from training.models import AuditEntry

    serial = certificate["serial"]
    rows = [(AuditEntry.__table__, audit.entry_row(
        None, "certificate.issue", serial, holder=certificate["holder_name"], user_id=official.id,
        competencies=[c["code"] for c in certificate["competencies"]]))]
    note, email = message_rows(
        official, lambda: _l("Bạn được cấp giấy chứng nhận công chức số"),
        lambda: _l("Giấy chứng nhận số %(serial)s đã sẵn sàng; bạn có thể tải tệp PDF đã ký số.", serial=serial),
        "/certificates/", key=f"certificate:{serial}")
    rows.append((Notification.__table__, note))
    if email is not None:
        rows.append((OutboxEmail.__table__, email))
    return rows


_STATEMENTS: dict[tuple, sa.TextClause] = {}


def _write_issued(certificate: dict, rows: list[tuple[sa.Table, dict]]) -> int | None:
    """Write the certificate unless the official's current certificate is taken (the partial unique
    index; or, never in practice, its random serial), and with it `rows`: the certificate's id, or None
    (nothing written).

    The claim is INSERT ... ON CONFLICT DO NOTHING RETURNING id, which waits for a conflicting row
    still uncommitted. On PostgreSQL the other rows are inserted by the same statement (data-modifying
    CTEs that select from the claim: no certificate, no other row), so a certificate costs one round
    trip. On SQLite they follow it as plain inserts. The notification is inserted without ON CONFLICT:
    its key holds the serial, unique once the certificate is written; were it refused, the transaction
    would fail with the certificate in it. The statements are text made once (SQLAlchemy does not
    cache ON CONFLICT statements), so nothing is compiled per certificate.
    """
    table = Certificate.__table__
    columns = [column for column in table.c if column.name != "id"]
    values = {f"c_{c.name}": certificate[c.name] if c.name in certificate else
              (c.default.arg if c.default is not None and c.default.is_scalar else None) for c in columns}
    dialect = db.session.get_bind().dialect
    if dialect.name not in ("postgresql", "sqlite"):  # pragma: no cover (the project runs on these two)
        savepoint = db.session.begin_nested()
        try:
            made = db.session.scalar(sa.insert(table).values(
                {c.name: values[f"c_{c.name}"] for c in columns}).returning(table.c.id))
        except IntegrityError:
            savepoint.rollback()
            return None
        savepoint.commit()
    else:
        together = dialect.name == "postgresql"
        key = (dialect.name, tuple(t.name for t, _row in rows) if together else ())
        statement = _STATEMENTS.get(key)
        if statement is None:
            statement = _STATEMENTS[key] = _claim_statement(dialect, columns, rows if together else [])
        if together:
            for number, (other, row) in enumerate(rows):
                values.update({f"r{number}_{name}": value for name, value in row.items()})
        made = db.session.scalar(statement, values)
    if made is not None and dialect.name != "postgresql":
        for other, row in rows:
            db.session.execute(sa.insert(other).values(row))
    return made


def _claim_statement(dialect, columns: list[sa.Column], rows: list[tuple[sa.Table, dict]]) -> sa.TextClause:
    quote = dialect.identifier_preparer.quote
    table = Certificate.__table__
    claim = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) "
             f"VALUES ({', '.join(':c_' + c.name for c in columns)}) ON CONFLICT DO NOTHING RETURNING id")
    binds = [sa.bindparam(f"c_{c.name}", type_=c.type) for c in columns]
    if not rows:
        return sa.text(claim).bindparams(*binds)
    parts = [f"claim AS ({claim})"]
    for number, (other, row) in enumerate(rows):
        targets = [other.c[name] for name in row]
        parts.append(
            f"r{number} AS (INSERT INTO {quote(other.name)} ({', '.join(quote(c.name) for c in targets)}) SELECT "
            + ", ".join(f"CAST(:r{number}_{c.name} AS {_sql_type(c, dialect)})" for c in targets)
            + " FROM claim)")
        binds += [sa.bindparam(f"r{number}_{c.name}", type_=c.type) for c in targets]
    return sa.text("WITH " + ", ".join(parts) + " SELECT id FROM claim").bindparams(*binds)


def _sql_type(column: sa.Column, dialect) -> str:
    """The column's type for a CAST, without a length: a cast to VARCHAR(n) would cut a longer value
    where the insert must refuse it."""
    import re

    return re.sub(r"\(\d+\)", "", column.type.compile(dialect=dialect))


def _notify_revoked(official: User, certificate: Certificate) -> None:
    from flask_babel import lazy_gettext as _l

    from courses.notify import notify

    serial = certificate.serial
    notify(official, lambda: _l("Giấy chứng nhận %(serial)s đã bị thu hồi", serial=serial),
           lambda: _l("Giấy chứng nhận công chức số %(serial)s của bạn đã bị thu hồi. Các năng lực ghi trên đó "
                      "cần được đạt lại bằng bài kiểm tra mới; bộ phận tổ chức - nhân sự sẽ cho bạn biết lý do.",
                      serial=serial), "/certificates/", key=f"certificate-revoked:{serial}")


def newly_qualified_ids(now: datetime) -> list[int]:
    """Ids of active officials who hold some valid record and no valid certificate (candidates to issue)."""
    holders = sa.select(Certificate.user_id).where(
        Certificate.is_current.is_(True), Certificate.revoked_at.is_(None), Certificate.expires_at > now)
    candidates = sa.select(CompetencyRecord.user_id).where(
        CompetencyRecord.revoked_at.is_(None), CompetencyRecord.expires_at > now).distinct()
    return list(db.session.scalars(sa.select(User.id).where(
        User.active.is_(True), User.id.in_(candidates), User.id.not_in(holders)).order_by(User.id)))


class Issued(NamedTuple):
    """A certificate just issued, as plain values (a run over a whole country keeps no ORM objects)."""

    serial: str
    holder_name: str


def issue_for_ids(user_ids: list[int], now: datetime | None = None, *, commit_each: bool = False,
                  config=None, on_each: Callable[[int], None] | None = None) -> list[Issued]:
    """Issue to each of `user_ids` who qualifies and holds no valid certificate.

    With `commit_each`, each official's certificate is committed on its own (a stopped run keeps what
    it did; a rerun continues); only plain values are kept, so memory stays flat over any number.
    `on_each(done)` is called after each official (progress).
    """
    from sqlalchemy.orm import joinedload

    from training.models import OrgUnit, Position

    config = config or _config()
    issued = []
    session = db.session()
    expire = session.expire_on_commit
    # What an official's certificate reads (unit, parent unit, position and its requirements) is loaded
    # for 50 officials at once and stays loaded across their per-official commits, with which of them
    # have a current certificate: the database work per certificate stays small beside the signature
    # (its records, the certificate, the audit line, the notification and its e-mail, the commit).
    session.expire_on_commit = False
    try:
        done = 0
        for start_at in range(0, len(user_ids), 50):
            chunk = user_ids[start_at:start_at + 50]
            officials = {official.id: official for official in db.session.scalars(
                sa.select(User).where(User.id.in_(chunk)).options(
                    joinedload(User.unit).joinedload(OrgUnit.parent),
                    joinedload(User.position).selectinload(Position.required_competencies)))}
            current = dict(db.session.execute(sa.select(Certificate.user_id, Certificate.expires_at).where(
                Certificate.user_id.in_(chunk), Certificate.is_current.is_(True))).all())
            for official_id in chunk:
                done += 1
                official = officials.get(official_id)
                moment = now or datetime.now(timezone.utc)
                made = None
                if official is not None and not (official_id in current and current[official_id] > moment):
                    # Read a moment ago: no current certificate, or an expired one to retire first. One
                    # issued since then by someone else is found by the insert's unique index.
                    made = _issue(official, moment, config, holds_current=official_id in current)
                if made is not None:
                    issued.append(Issued(made.serial, made.holder_name))
                if on_each is not None:
                    on_each(done)
                if commit_each:
                    db.session.commit()
            # Only plain values are kept: the session's weak identity map lets the batch go.
            officials.clear()
    finally:
        session.expire_on_commit = expire
    return issued


def issue_for_everyone(now: datetime | None = None, commit_each: bool = False,
                       on_each: Callable[[int, int], None] | None = None) -> list[Issued]:
    """Issue certificates to every active official who newly qualifies (`certificates issue`, inline).

    With `commit_each`, each certificate is committed on its own, so a stopped run keeps what it did
    and a rerun continues where it stopped. `on_each(done, total)` reports progress.
    """
    now = now or datetime.now(timezone.utc)
    ids = newly_qualified_ids(now)
    report = (lambda done: on_each(done, len(ids))) if on_each is not None else None
    return issue_for_ids(ids, now, commit_each=commit_each, on_each=report)


# --------------------------------------------------------------------------- on the job queue
ISSUE_JOB = "certificates.issuing.issue_job"
ISSUE_PARENT = "certificates.issuing.issue_parent"


def issue_job(job) -> dict:
    """Job: issue to the officials `job.params["user_ids"]` (one after a pass, a batch of a bulk run),
    each committed on its own. Idempotent: run again, it issues nothing twice (the partial unique index
    on the current certificate decides) and continues where a killed run stopped."""
    from training.jobs import Progress

    from training.models import Job

    job_id = job.id
    user_ids = [int(i) for i in job.params.get("user_ids", [])]
    config = _config()
    base_url = job.params.get("base_url")
    if base_url and not config.get("PUBLIC_BASE_URL"):
        config["PUBLIC_BASE_URL"] = base_url
    progress = Progress(job, total=len(user_ids))
    issue_for_ids(user_ids, commit_each=True, config=config, on_each=progress.update)
    since = db.session.scalar(sa.select(Job.created_at).where(Job.id == job_id))
    count = db.session.scalar(sa.select(sa.func.count(Certificate.id)).where(
        Certificate.user_id.in_(user_ids), Certificate.issued_at >= since)) if user_ids else 0
    return {"issued": int(count or 0), "officials": len(user_ids)}


def issue_parent(job) -> dict:  # pragma: no cover (a parent is never run: its children are)
    """The row that stands for a whole `certificates issue` run on the queue; its batches do the work."""
    return dict(job.result or {})


def queue_issue_for_everyone(now: datetime | None = None, batch_size: int | None = None):
    """`certificates issue` on the queue: a parent job and one child job per batch of officials, on the
    bulk queue. Returns the parent (None when nobody newly qualifies). The caller commits nothing: the
    rows are committed here, then queued."""
    from training.jobs import BULK_QUEUE, create_job, start

    now = now or datetime.now(timezone.utc)
    ids = newly_qualified_ids(now)
    if not ids:
        return None
    size = max(int(batch_size or current_app.config.get("CERT_ISSUE_BATCH") or 20), 1)
    parent = create_job(ISSUE_PARENT, title=_("Cấp giấy chứng nhận cho %(n)d cán bộ mới đủ điều kiện", n=len(ids)),
                        total=len(ids), params={"officials": len(ids)}, queue_name=BULK_QUEUE)
    parent.state = "running"
    parent.started_at = now
    children = []
    for start_at in range(0, len(ids), size):
        batch = ids[start_at:start_at + size]
        children.append(create_job(ISSUE_JOB, parent=parent, params={"user_ids": batch}, queue_name=BULK_QUEUE,
                                   title=_("Lô %(n)d giấy chứng nhận", n=len(batch))))
    db.session.commit()
    for child in children:
        start(child)
    return parent


def on_competency_recorded(record: CompetencyRecord) -> None:
    """Hook from quizzes: a passed attempt may complete the set. With REDIS_URL, issuing (render + sign)
    runs on a worker: the job row is written in the pass's own transaction and queued after its
    commit, so a pass never loses its certificate and the worker sees the new record. Without it,
    the certificate is issued now."""
    from training.jobs import create_job, queue_enabled, start_after_commit

    if not queue_enabled():
        official = db.session.get(User, record.user_id)
        if official is not None:
            issue_certificate(official)
        return
    db.session.flush()
    # The worker has no request: it is told the address this one came in at (used only when
    # PUBLIC_BASE_URL is unset, i.e. in development).
    official = db.session.get(User, record.user_id)
    job = create_job(ISSUE_JOB, user=official, params={"user_ids": [record.user_id],
                                                      "base_url": public_base_url(current_app.config)},
                     title=_("Cấp giấy chứng nhận cho %(name)s", name=official.full_name if official else ""))
    start_after_commit(job)


def preload_for_worker() -> str:
    """Warm a worker once: ReportLab and its fonts, pyHanko, the signing identity (its key parsed
    here), by rendering and signing one throwaway certificate. Jobs forked from this process inherit
    all of it."""
    from certificates.pdf import CertificateData, render_certificate
    from certificates.signing import _cached_signer, sign_pdf

    config = _config()
    ensure_dev_identity(config)
    path, passphrase = signing_paths(config)
    _cached_signer(path, passphrase)
    today = datetime.now(VIETNAM).date()
    pdf = render_certificate(CertificateData(
        serial="CCS-0000-WARM-UP00-0000", holder_name="Nguyễn Văn Khởi Động", unit_name="Phường Thử",
        position_name="", issuer_name=config["CERT_ISSUER_NAME"], issuer_parent=config.get("CERT_ISSUER_PARENT", ""),
        competencies=[("Chữ ký số", 100.0, today, today)], issued_on=today, expires_on=today,
        place=config["CERT_PLACE"], signer_title=config["CERT_SIGNER_TITLE"], signer_name=config["CERT_SIGNER_NAME"],
        verify_url="http://127.0.0.1/verify/warm-up", test_notice=True))
    sign_pdf(pdf, path, passphrase, reason="warm-up", location=config["CERT_PLACE"], signer_name="warm-up")
    return "ReportLab + pyHanko + signing identity"


def revoke_certificate(certificate: Certificate, actor: User | None, reason: str,
                       now: datetime | None = None) -> list[CompetencyRecord]:
    """Revoke a certificate and the competency records it rests on; returns the records revoked.

    Revoked means revoked: those records never qualify anyone again, so neither the next
    `certificates issue` nor the pass hook can issue a new certificate until the official passes a
    new attempt started after this moment.
    """
    reason = " ".join((reason or "").split())
    if not reason:
        raise CertificateError(_("Hãy nêu lý do thu hồi."))
    if certificate.revoked_at is not None:
        raise CertificateError(_("Chứng nhận này đã bị thu hồi."))
    now = now or datetime.now(timezone.utc)
    certificate.revoked_at = now
    certificate.is_current = False
    certificate.revoked_reason = reason[:500]
    certificate.revoked_by_id = actor.id if actor else None
    codes = [c.get("code") for c in certificate.competencies or [] if isinstance(c, dict)]
    records = list(db.session.scalars(sa.select(CompetencyRecord).join(Competency).where(
        CompetencyRecord.user_id == certificate.user_id, Competency.code.in_(codes),
        CompetencyRecord.revoked_at.is_(None), CompetencyRecord.achieved_at <= now)))
    record_reason = _("Thu hồi cùng giấy chứng nhận %(serial)s: %(reason)s", serial=certificate.serial,
                      reason=reason)[:500]
    for record in records:
        record.revoked_at = now
        record.revoked_by_id = certificate.revoked_by_id
        record.revoked_reason = record_reason
    db.session.flush()
    audit.record(actor, "certificate.revoke", certificate.serial, reason=certificate.revoked_reason,
                 holder=certificate.holder_name, revoked_records=[r.id for r in records])
    holder = db.session.get(User, certificate.user_id)
    if holder is not None:
        _notify_revoked(holder, certificate)
    return records


def _config():
    config = dict(current_app.config)
    config["INSTANCE_PATH"] = current_app.instance_path
    return config
