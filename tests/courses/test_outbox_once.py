"""The outbox sends each message once (issue 18): an idempotency key makes a message queued twice one
message, and a sender claims a row before the SMTP conversation, so two senders or a job run twice
never send it twice; a claim left by a dead sender is taken over after the lease."""
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from courses.mail import queue_email, send_outbox
from courses.models import OutboxEmail
from training.extensions import db
from training.models.types import utcnow


@pytest.fixture
def smtp(smtp_sink):
    """The local SMTP server of tests/courses/conftest.py; `messages` are the raw texts received."""

    class Received:
        @property
        def messages(self):
            return [mail.message.as_string() for mail in smtp_sink.received]

    return Received()


def test_a_message_queued_twice_under_one_key_is_one_message(app):
    first = queue_email("lan@example.vn", "Kích hoạt", "...", key="activation:abc")
    second = queue_email("lan@example.vn", "Kích hoạt", "...", key="activation:abc")
    db.session.commit()
    assert first.id == second.id
    assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))) == 1


def test_sending_twice_sends_each_message_once(app, smtp):
    for n in range(3):
        queue_email(f"cb{n}@example.vn", "Nhắc việc", f"Nội dung {n}", key=f"k{n}")
    db.session.commit()
    assert send_outbox(app.config, after_each=db.session.commit).sent == 3
    assert send_outbox(app.config, after_each=db.session.commit).sent == 0  # a retried job
    assert len(smtp.messages) == 3


def test_a_claimed_message_is_left_to_its_sender(app, smtp):
    """A message another sender has claimed (and is sending) is not sent again."""
    email = queue_email("lan@example.vn", "Nhắc việc", "...")
    email.claimed_at, email.claim_token = utcnow(), "another-sender"
    db.session.commit()
    assert send_outbox(app.config, after_each=db.session.commit).sent == 0
    assert smtp.messages == []


def test_a_dead_senders_claim_is_taken_over_with_the_same_message_id(app, smtp):
    email = queue_email("lan@example.vn", "Nhắc việc", "...", key="reminder:1:due")
    email.claimed_at, email.claim_token = utcnow() - timedelta(hours=1), "dead-sender"
    db.session.commit()
    assert send_outbox(app.config, after_each=db.session.commit).sent == 1
    assert len(smtp.messages) == 1
    # The same Message-ID the dead sender used: a mail system that got its copy drops this one.
    import hashlib

    message_id = [line for line in smtp.messages[0].splitlines() if line.lower().startswith("message-id")][0]
    assert f"<outbox-{hashlib.sha256(b'reminder:1:due').hexdigest()[:32]}@" in message_id
    db.session.expire_all()
    row = db.session.get(OutboxEmail, email.id)
    assert row.sent_at is not None and row.claim_token is None


def test_outbox_job_sends_through_the_job_machinery(app, smtp):
    from courses.mail import OUTBOX_JOB
    from training.jobs import create_job, start

    queue_email("lan@example.vn", "Nhắc việc", "...")
    job = create_job(OUTBOX_JOB)
    db.session.commit()
    job = start(job)
    assert job.state == "done" and job.result["sent"] == 1
    job.state = "queued"
    db.session.commit()
    assert start(job).result["sent"] == 0
    assert len(smtp.messages) == 1


def test_two_senders_at_once_send_each_message_once(app, smtp):
    """Two workers (or a worker and a cron run) sending the same outbox at the same time."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent senders need PostgreSQL's row locks (SQLite has one writer at a time)")
    for n in range(40):
        queue_email(f"cb{n}@example.vn", "Nhắc việc", f"Nội dung {n}")
    db.session.commit()
    results = []

    def sender():
        with app.app_context():
            results.append(send_outbox(app.config, after_each=db.session.commit).sent)
            db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(results) == 40 and len(smtp.messages) == 40
    recipients = sorted(m.split("To: ", 1)[1].split("\n", 1)[0].strip() for m in smtp.messages)
    assert len(set(recipients)) == 40
