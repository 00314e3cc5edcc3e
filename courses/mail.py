"""The e-mail outbox: messages wait in a table until the SMTP server accepts them, with retries.

Queuing never talks to the network, so nothing is lost while the mail server is down. Sending opens
one SMTP connection per run and moves every due message through it. Services flush; the caller
commits. `send_outbox` takes an `after_each` callback (the CLI and the job pass `db.session.commit`).

Sent once (issue 18): a message queued with an idempotency key exists once however often it is
queued (a unique index). Before the SMTP conversation a sender claims the row with a guarded UPDATE
and commits the claim, so two senders (two workers, a retried job, two overlapping cron runs) never
both send it; the outcome is committed right after. A claim left by a sender that died in between
is taken over after MAIL_CLAIM_LEASE_S, and the message is sent again with the same Message-ID
(derived from the row, or from its key), which mail systems use to drop a repeat.
"""
from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import NamedTuple

import sqlalchemy as sa

from courses.models import OutboxEmail
from training.extensions import db
from training.models.types import utcnow

RETRY_BASE = timedelta(minutes=5)
RETRY_CAP = timedelta(hours=6)
# SMTP replies that will not change by retrying: the message is given up at once.
PERMANENT_CODES = range(500, 600)


class SendResult(NamedTuple):
    sent: int
    failed: int


class OutboxCounts(NamedTuple):
    waiting: int  # not sent yet, will be tried again
    given_up: int  # failed MAIL_MAX_ATTEMPTS times (or refused for good); kept with last_error


def mail_configured(config: Mapping) -> bool:
    """True when an SMTP server is set; without one, e-mails stay queued."""
    return bool(config.get("MAIL_SERVER"))


def outbox_row(to_email: str, subject: str, body: str, now: datetime, *, key: str | None = None) -> dict:
    """The outbox row of one message waiting to be sent (queue_email's, and a bulk insert's)."""
    return {"to_email": to_email, "subject": subject, "body": body, "created_at": now, "next_attempt_at": now,
            "attempts": 0, "last_error": "", "idempotency_key": key[:120] if key else None}


def queue_email(to_email: str, subject: str, body: str, now: datetime | None = None, *,
                key: str | None = None) -> OutboxEmail:
    """Put one plain-text e-mail in the outbox (sent by the next `send_outbox`). With `key`, the same
    message queued again (a job run twice) is the row already there."""
    from sqlalchemy.exc import IntegrityError

    email = OutboxEmail(**outbox_row(to_email, subject, body, now or utcnow(), key=key))
    if key is None:
        db.session.add(email)
        db.session.flush()
        return email
    savepoint = db.session.begin_nested()
    try:
        db.session.add(email)
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()
        return db.session.scalar(sa.select(OutboxEmail).where(OutboxEmail.idempotency_key == key[:120]))
    savepoint.commit()
    return email


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failures: 5 min, 10, 20, ... at most 6 h."""
    return min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_CAP)


def _due_condition(now: datetime, max_attempts: int):
    return sa.and_(OutboxEmail.sent_at.is_(None), OutboxEmail.attempts < max_attempts,
                   OutboxEmail.next_attempt_at <= now)


def outbox_counts(config: Mapping) -> OutboxCounts:
    """How many e-mails still wait, and how many were given up."""
    max_attempts = int(config.get("MAIL_MAX_ATTEMPTS", 8))
    unsent = sa.select(sa.func.count(OutboxEmail.id)).where(OutboxEmail.sent_at.is_(None))
    waiting = db.session.scalar(unsent.where(OutboxEmail.attempts < max_attempts))
    given_up = db.session.scalar(unsent.where(OutboxEmail.attempts >= max_attempts))
    return OutboxCounts(waiting or 0, given_up or 0)


def latest_error() -> str:
    """The most recent error of an unsent e-mail (empty when none failed)."""
    return db.session.scalar(
        sa.select(OutboxEmail.last_error).where(OutboxEmail.sent_at.is_(None), OutboxEmail.last_error != "")
        .order_by(OutboxEmail.next_attempt_at.desc(), OutboxEmail.id.desc()).limit(1)) or ""


def build_message(email: OutboxEmail, sender: str) -> EmailMessage:
    """A UTF-8 plain-text message (Vietnamese subject and body survive any mail client)."""
    message = EmailMessage()
    message["Subject"] = email.subject
    message["From"] = sender
    message["To"] = email.to_email
    message["Date"] = format_datetime(email.created_at or utcnow())
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    # Stable per outbox row (or per key), so a message re-sent after a crash is recognisable as the same one.
    if email.idempotency_key:
        import hashlib

        digest = hashlib.sha256(email.idempotency_key.encode("utf-8")).hexdigest()[:32]
        message["Message-ID"] = f"<outbox-{digest}@{domain}>"
    else:
        stamp = int((email.created_at or utcnow()).timestamp())
        message["Message-ID"] = f"<outbox-{email.id}-{stamp}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    message.set_content(email.body, charset="utf-8")
    return message


def _connect(config: Mapping) -> smtplib.SMTP:
    host = config["MAIL_SERVER"]
    port = int(config.get("MAIL_PORT") or 25)
    timeout = float(config.get("MAIL_TIMEOUT_S") or 10)
    if config.get("MAIL_USE_SSL"):
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    except BaseException:
        _close(smtp)
        raise
    return smtp


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    return text[:1000]


class UnsendableError(ValueError):
    """The message itself cannot be sent (e.g. a line break in an address): retrying will not help."""


def _is_permanent(error: BaseException) -> bool:
    if isinstance(error, UnsendableError):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code in PERMANENT_CODES for code, _ in error.recipients.values())
    code = getattr(error, "smtp_code", None)
    return isinstance(error, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) and code in PERMANENT_CODES


def _record_failure(email: OutboxEmail, error: BaseException, now: datetime, max_attempts: int) -> None:
    email.attempts += 1  # tries so far, failed or not
    if _is_permanent(error):
        email.attempts = max(email.attempts, max_attempts)
    email.last_error = _describe(error)
    email.next_attempt_at = now + retry_delay(email.attempts)


def _open(config: Mapping) -> tuple[smtplib.SMTP | None, BaseException | None]:
    """(connection, None), or (None, the reason) when the server cannot be used."""
    try:
        return _connect(config), None
    except (OSError, smtplib.SMTPException) as error:  # refused, timeout, TLS, login...
        return None, error
    except UnicodeError as error:  # smtplib sends AUTH credentials as ASCII only
        return None, ValueError(f"MAIL_USERNAME/MAIL_PASSWORD must be ASCII for SMTP AUTH ({error})")


def _deliver(smtp: smtplib.SMTP, email: OutboxEmail, sender: str) -> BaseException | None:
    """Hand one message to the server; the error, or None when it was accepted."""
    try:
        message = build_message(email, sender)
    except (ValueError, TypeError) as error:
        return UnsendableError(str(error))
    try:
        smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        return error
    return None


def _still_usable(smtp: smtplib.SMTP) -> bool:
    """After a failed message: reset the SMTP transaction, or find the connection gone."""
    try:
        smtp.rset()
    except (OSError, smtplib.SMTPException):
        return False
    return True


def claim_lease(config: Mapping) -> timedelta:
    """How long a claim protects a message being sent; past it, the sender is taken for dead."""
    return timedelta(seconds=int(config.get("MAIL_CLAIM_LEASE_S") or
                                 max(6 * int(config.get("MAIL_TIMEOUT_S") or 10), 300)))


def _claim_next(now: datetime, max_attempts: int, lease: timedelta, token: str) -> OutboxEmail | None:
    """Claim the next due message for this sender (`token`): a guarded UPDATE that only one sender can
    win; a claim older than `lease` is taken over. Returns the claimed row, or None when none is due."""
    claimable = sa.or_(OutboxEmail.claimed_at.is_(None), OutboxEmail.claimed_at < utcnow() - lease)
    for _attempt in range(20):  # another sender may win the row we picked; pick again
        candidate = db.session.scalar(
            sa.select(OutboxEmail.id).where(_due_condition(now, max_attempts), claimable)
            .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id).limit(1).with_for_update(skip_locked=True))
        if candidate is None:
            return None
        won = db.session.execute(
            sa.update(OutboxEmail).where(OutboxEmail.id == candidate, OutboxEmail.sent_at.is_(None), claimable)
            .values(claimed_at=utcnow(), claim_token=token).execution_options(synchronize_session=False)).rowcount
        if won == 1:
            email = db.session.get(OutboxEmail, candidate)
            db.session.refresh(email)
            return email
    return None


def send_outbox(config: Mapping, now: datetime | None = None,
                after_each: Callable[[], None] | None = None) -> SendResult:
    """Send every due e-mail of the outbox through one SMTP connection; returns (sent, failed).

    Without MAIL_SERVER nothing is sent (see `mail_configured`). When the server cannot be reached,
    every due message records the error and waits (exponential backoff, 5 min up to 6 h); after
    MAIL_MAX_ATTEMPTS failures a message is no longer tried and stays visible with its last error.
    `after_each` runs after each claim and after each outcome is flushed: pass `db.session.commit` to
    make the claim durable before the message is sent and its outcome durable before the next.
    """
    import secrets

    if not mail_configured(config):
        return SendResult(0, 0)
    now = now or utcnow()
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    max_attempts = int(config.get("MAIL_MAX_ATTEMPTS", 8))
    sender = config.get("MAIL_DEFAULT_SENDER") or "no-reply@localhost"
    lease = claim_lease(config)
    token = secrets.token_hex(16)
    sent = failed = 0
    smtp: smtplib.SMTP | None = None
    connect_error: BaseException | None = None
    try:
        while (email := _claim_next(now, max_attempts, lease, token)) is not None:
            if after_each is not None:
                after_each()  # the claim is durable before the SMTP conversation starts
            if smtp is None and connect_error is None:
                smtp, connect_error = _open(config)
            error = connect_error or _deliver(smtp, email, sender)
            email.claimed_at = None
            email.claim_token = None
            if error is None:
                email.attempts += 1
                email.sent_at = utcnow()
                email.last_error = ""
                sent += 1
            else:
                _record_failure(email, error, now, max_attempts)
                failed += 1
                if smtp is not None and not isinstance(error, UnsendableError) and not _still_usable(smtp):
                    # The connection is gone: the rest wait for the next run, with this reason.
                    _close(smtp)
                    smtp, connect_error = None, error
            db.session.flush()
            if after_each is not None:
                after_each()
    finally:
        _close(smtp)
    return SendResult(sent, failed)


# --------------------------------------------------------------------------- on the job queue
OUTBOX_JOB = "courses.mail.send_outbox_job"


def send_outbox_job(job) -> dict:
    """Job: send every due e-mail of the outbox, each claimed and committed on its own (run twice, or on
    two workers at once, it sends each message once)."""
    from flask import current_app
    from flask_babel import gettext as _

    config = current_app.config
    if not mail_configured(config):
        return {"summary": _("Chưa cấu hình máy chủ thư (MAIL_SERVER): email được giữ trong hàng đợi."), "sent": 0}
    result = send_outbox(config, after_each=db.session.commit)
    counts = outbox_counts(config)
    return {"summary": _("Đã gửi %(sent)d email; %(failed)d lỗi, %(waiting)d đang chờ.", sent=result.sent,
                         failed=result.failed, waiting=counts.waiting),
            "sent": result.sent, "failed": result.failed}


def send_due_outbox() -> int:
    """A plain call on the queue (training.jobs.enqueue): send what is due; returns how many were sent."""
    from flask import current_app

    if not mail_configured(current_app.config):
        return 0
    return send_outbox(current_app.config, after_each=db.session.commit).sent


def request_outbox_send() -> None:
    """After e-mails were queued (activation links, a certificate): with a job queue and a mail server,
    have a worker send them now rather than at the next cron run. At most one such request waits at a
    time. Without a queue the next `reminders send` sends them."""
    from flask import current_app

    from training.jobs import enqueue, queue_enabled, queue_name, redis_connection

    if not queue_enabled() or not mail_configured(current_app.config):
        return
    try:
        if redis_connection().set(f"ccs:{queue_name('outbox-requested')}", 1, nx=True, ex=30):
            enqueue("courses.mail.send_due_outbox")
    except Exception:  # the cron run sends them anyway
        import logging

        logging.getLogger(__name__).warning("could not request an outbox run", exc_info=True)
