"""Reminders (nhắc việc): before the due date, on the day, and when overdue; each once only.

`queue_reminders` writes an in-app Notification and an e-mail in the outbox for every official who
has not finished an assigned course, with the one kind of reminder that applies today. The
ReminderLog table (unique on assignment, official and kind) makes each reminder happen once ever,
however often the command runs; the insert skips rows that already exist, so two runs racing each
other cannot both send. Services flush; the caller commits.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from courses.assignments import assignment_done, assignment_members_query
from courses.models import Assignment, Course, Notification, OutboxEmail, ReminderLog
from training.extensions import db
from training.models import User
from training.models.types import utcnow

KINDS = ("before", "due", "overdue")
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
BATCH = 500


@dataclass
class ReminderReport:
    today: date
    created: int = 0  # notifications written (one per official, course and kind)
    emails: int = 0  # e-mails put in the outbox
    by_kind: Counter = field(default_factory=Counter)


def local_today(now: datetime | None = None, tz: str = DEFAULT_TIMEZONE) -> date:
    """Today's date in Vietnam (or in `tz`)."""
    return (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(tz)).date()


def reminder_kind(due_on: date, today: date, days_before: int) -> str | None:
    """The one reminder that applies today: "before", "due", "overdue", or None (too early)."""
    if today > due_on:
        return "overdue"
    if today == due_on:
        return "due"
    if days_before > 0 and today >= due_on - timedelta(days=days_before):
        return "before"
    return None


def course_path(course: Course) -> str:
    return f"/courses/{quote(course.slug)}"


def _pending_members(assignment: Assignment, kind: str):
    """Members who have not done what the assignment asks and have not had this kind of reminder yet."""
    reminded = sa.select(ReminderLog.id).where(
        ReminderLog.assignment_id == assignment.id, ReminderLog.user_id == User.id, ReminderLog.kind == kind)
    return (assignment_members_query(assignment).with_only_columns(User.id, User.email, User.full_name, User.locale)
            .where(~assignment_done(assignment), ~reminded.exists()).order_by(None).order_by(User.id))


def _log_once(assignment_id: int, user_ids: list[int], kind: str, now: datetime) -> set[int]:
    """Insert ReminderLog rows, skipping those that exist; returns the officials newly logged."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the project runs on SQLite and PostgreSQL only
        raise RuntimeError(f"reminders need SQLite or PostgreSQL, not {dialect}")
    rows = [{"assignment_id": assignment_id, "user_id": user_id, "kind": kind, "created_at": now}
            for user_id in user_ids]
    stmt = (insert(ReminderLog).values(rows)
            .on_conflict_do_nothing(index_elements=["assignment_id", "user_id", "kind"])
            .returning(ReminderLog.user_id))
    return set(db.session.execute(stmt).scalars())


def _texts(kind: str, course: Course, assignment: Assignment, today: date) -> tuple[str, str]:
    """Title and body of a reminder, in the current locale."""
    due = assignment.due_on.strftime("%d/%m/%Y")
    if kind == "before":
        title = _("Sắp đến hạn: %(course)s", course=course.title)
        body = _("Hạn hoàn thành khóa học «%(course)s» là ngày %(due)s (còn %(days)d ngày).",
                 course=course.title, due=due, days=(assignment.due_on - today).days)
    elif kind == "due":
        title = _("Đến hạn hôm nay: %(course)s", course=course.title)
        body = _("Hôm nay, ngày %(due)s, là hạn cuối để hoàn thành khóa học «%(course)s».",
                 course=course.title, due=due)
    else:
        title = _("Quá hạn: %(course)s", course=course.title)
        body = _("Khóa học «%(course)s» đã quá hạn hoàn thành (hạn ngày %(due)s). "
                 "Vui lòng hoàn thành sớm.", course=course.title, due=due)
    if assignment.note:
        body += "\n" + _("Ghi chú: %(note)s", note=assignment.note)
    return title[:300], body


def _email_body(full_name: str, body: str, course_url: str, notifications_url: str) -> str:
    template = current_app.jinja_env.get_template("courses/email/reminder.txt")
    return template.render(full_name=full_name, body=body, course_url=course_url,
                           notifications_url=notifications_url).strip() + "\n"


def queue_reminders(today: date | None, config: Mapping) -> ReminderReport:
    """Write the reminders that apply on `today` (default: today in Vietnam); each one once ever.

    For every assignment not cancelled, of a published course, each targeted official who has not
    finished the course gets the kind of reminder that applies today: "before" from
    REMINDER_DAYS_BEFORE days ahead until the day before, "due" on the day, "overdue" afterwards.
    A kind missed (the command did not run that day) is not sent late. One notification and one
    e-mail (to the outbox) per official, course and kind, even when several assignments overlap.
    """
    today = today or local_today(tz=config.get("BABEL_DEFAULT_TIMEZONE") or DEFAULT_TIMEZONE)
    days_before = max(int(config.get("REMINDER_DAYS_BEFORE", 3) or 0), 0)
    default_locale = config.get("BABEL_DEFAULT_LOCALE") or "vi"
    languages = tuple(config.get("LANGUAGES") or (default_locale,))
    base_url = (config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    notifications_url = base_url + "/courses/notifications"
    now = utcnow()
    report = ReminderReport(today=today)
    assignments = db.session.scalars(
        sa.select(Assignment).join(Course, Assignment.course_id == Course.id)
        .where(Assignment.cancelled_at.is_(None), Course.status == "published",
               Assignment.due_on <= today + timedelta(days=days_before))
        .order_by(Assignment.due_on, Assignment.id)).all()
    notified: set[tuple[int, int, str]] = set()  # (official, course, kind) already told in this run
    for assignment in assignments:
        kind = reminder_kind(assignment.due_on, today, days_before)
        if kind is None:
            continue
        course = assignment.course
        path = course_path(course)
        texts: dict[str, tuple[str, str]] = {}
        members = db.session.execute(_pending_members(assignment, kind)).all()
        for start in range(0, len(members), BATCH):
            chunk = members[start:start + BATCH]
            logged = _log_once(assignment.id, [member.id for member in chunk], kind, now)
            notifications, emails = [], []
            for member in chunk:
                key = (member.id, course.id, kind)
                if member.id not in logged or key in notified:
                    continue
                notified.add(key)
                locale = member.locale if member.locale in languages else default_locale
                with force_locale(locale):
                    if locale not in texts:
                        texts[locale] = _texts(kind, course, assignment, today)
                    title, body = texts[locale]
                    email_body = _email_body(member.full_name, body, base_url + path, notifications_url)
                notifications.append({"user_id": member.id, "title": title, "body": body, "link": path,
                                      "created_at": now, "read_at": None})
                if member.email:
                    emails.append({"to_email": member.email, "subject": title, "body": email_body,
                                   "created_at": now, "next_attempt_at": now, "attempts": 0,
                                   "last_error": "", "sent_at": None})
            if notifications:
                db.session.execute(sa.insert(Notification), notifications)
            if emails:
                db.session.execute(sa.insert(OutboxEmail), emails)
            report.created += len(notifications)
            report.emails += len(emails)
            report.by_kind[kind] += len(notifications)
    db.session.flush()
    return report


# --------------------------------------------------------------------------- in-app notifications
def unread_count(user_id: int) -> int:
    """How many of the official's notifications are unread."""
    return db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def notifications_query(user_id: int):
    """Select of the official's notifications, newest first."""
    return (sa.select(Notification).where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc()))


def mark_read(user_id: int, notification_id: int, now: datetime | None = None) -> Notification | None:
    """Mark one of the official's own notifications read; None when it is not theirs (or unknown)."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id:
        return None
    if notification.read_at is None:
        notification.read_at = now or utcnow()
        db.session.flush()
    return notification


def mark_all_read(user_id: int, now: datetime | None = None) -> int:
    """Mark every unread notification of the official read; returns how many changed."""
    result = db.session.execute(
        sa.update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow()).execution_options(synchronize_session=False))
    db.session.flush()
    return result.rowcount or 0


# --------------------------------------------------------------------------- competencies about to lapse
EXPIRY_WARNING_DAYS = 30


def queue_expiry_warnings(today: date | None = None, days: int = EXPIRY_WARNING_DAYS) -> int:
    """Warn each active official whose competency lapses within `days` (their longest-lasting valid
    record for it ends then), once per record: the notification's key makes it once only."""
    from flask_babel import lazy_gettext as _l
    from sqlalchemy.orm import aliased

    from courses.notify import notify
    from training.i18n import day
    from training.models import Competency, CompetencyRecord
    from training.services.qualification import moment_of, record_valid_at

    moment = moment_of(today) if today else utcnow()
    later = aliased(CompetencyRecord)
    lasts_longer = sa.exists().where(later.user_id == CompetencyRecord.user_id,
                                     later.competency_id == CompetencyRecord.competency_id,
                                     later.expires_at > CompetencyRecord.expires_at, record_valid_at(moment, later))
    rows = db.session.execute(
        sa.select(CompetencyRecord.id, CompetencyRecord.expires_at, User, Competency)
        .join(User, User.id == CompetencyRecord.user_id).join(Competency, Competency.id == CompetencyRecord.competency_id)
        .where(User.active.is_(True), record_valid_at(moment),
               CompetencyRecord.expires_at <= moment + timedelta(days=days), ~lasts_longer)
        .order_by(CompetencyRecord.id)).all()
    sent = 0
    for record_id, expires_at, user, competency in rows:
        name = competency.name_vi
        made = notify(user, lambda: _l("Năng lực “%(name)s” sắp hết hiệu lực", name=name),
                      lambda: _l("Năng lực “%(name)s” của bạn hết hiệu lực ngày %(day)s. Hãy làm lại bài kiểm tra "
                                 "trước ngày đó để giữ chuẩn công chức số.", name=name, day=day(expires_at)),
                      "/", key=f"expiry:{record_id}")
        sent += made is not None
    return sent
