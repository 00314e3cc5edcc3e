"""Courses, lessons, learner progress, assignments, notifications and the e-mail outbox."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.extensions import db
from training.models import Competency, OrgUnit, Position, User
from training.models.types import UTCDateTime, utcnow

COURSE_STATUSES = ("draft", "published")
# Paths under /courses/ that belong to pages, so no course may use them as its slug.
RESERVED_COURSE_SLUGS = frozenset({"manage", "notifications", "assignments", "new", "resume", "static", "api",
                                   "media"})


class Course(db.Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    intro_md: Mapped[str] = mapped_column(sa.Text, default="")
    competency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("competencies.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)
    estimated_minutes: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(sa.String(20), default="draft")
    # "file": loaded from courses/content and kept in step with it by `courses sync`;
    # "web": written or edited in the browser, which sync then leaves alone.
    source: Mapped[str] = mapped_column(sa.String(10), default="web")
    content_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # The legal-basis register (courses.legal): the day course.md was checked against the law in
    # force, and the groups of the basic digital-skills framework (Decision 757/QĐ-BKHCN) it names.
    checked_on: Mapped[date | None] = mapped_column(sa.Date)
    framework: Mapped[list] = mapped_column(sa.JSON, default=list)

    competency: Mapped[Competency | None] = relationship()
    lessons: Mapped[list[Lesson]] = relationship(back_populates="course", order_by="Lesson.position",
                                                 cascade="all, delete-orphan")

    @property
    def published_lessons(self) -> list[Lesson]:
        return [lesson for lesson in self.lessons if lesson.status == "published"]

    def __repr__(self) -> str:
        return f"<Course {self.slug} v{self.version}>"


class Lesson(db.Model):
    __tablename__ = "lessons"
    __table_args__ = (sa.UniqueConstraint("course_id", "slug", name="uq_lessons_course_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(sa.String(120))
    title: Mapped[str] = mapped_column(sa.String(300))
    position: Mapped[int] = mapped_column(default=0)
    estimated_minutes: Mapped[int] = mapped_column(default=10)
    body_md: Mapped[str] = mapped_column(sa.Text, default="")
    body_html: Mapped[str] = mapped_column(sa.Text, default="")  # sanitised rendering of body_md
    # "published", "draft", or "archived" (removed from the source file; kept for progress history)
    status: Mapped[str] = mapped_column(sa.String(20), default="published")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # The legal-basis register (courses.legal): when the lesson was last checked against the law in
    # force (front matter `checked_on`, or the sync or the trainer's "Đã kiểm tra"), the day by which
    # it must be checked again (`review_by`), the framework groups it serves and the sources the
    # writer checked it against.
    checked_on: Mapped[date | None] = mapped_column(sa.Date)
    review_by: Mapped[date | None] = mapped_column(sa.Date)
    framework: Mapped[list] = mapped_column(sa.JSON, default=list)
    sources: Mapped[list] = mapped_column(sa.JSON, default=list)

    course: Mapped[Course] = relationship(back_populates="lessons")


class LessonProgress(db.Model):
    __tablename__ = "lesson_progress"
    __table_args__ = (sa.UniqueConstraint("user_id", "lesson_id", name="uq_lesson_progress_user_lesson"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    first_viewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CourseProgress(db.Model):
    """Where an official is in a course: the lesson to resume, and when they finished."""

    __tablename__ = "course_progress"
    __table_args__ = (sa.UniqueConstraint("user_id", "course_id", name="uq_course_progress_user_course"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    last_lesson_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lessons.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # every lesson done

    last_lesson: Mapped[Lesson | None] = relationship()


class Assignment(db.Model):
    """A course assigned, with a due date, to one official or to everyone who matches a target.

    Target: `user_id` for one official; otherwise every active official in the `unit_id` subtree,
    narrowed to `position_id` when set. Membership is evaluated when asked, so officials who join
    the unit or take the position later are assigned too.
    """

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("org_units.id"), index=True)
    position_id: Mapped[int | None] = mapped_column(sa.ForeignKey("positions.id"), index=True)
    due_on: Mapped[date] = mapped_column(sa.Date, index=True)
    # Holding the course's competency completes an assignment, unless it asks for every lesson too.
    requires_lessons: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    course: Mapped[Course] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    unit: Mapped[OrgUnit | None] = relationship()
    position: Mapped[Position | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class ReminderLog(db.Model):
    """One reminder of one kind for one official and assignment: the unique key makes it once only."""

    __tablename__ = "reminder_log"
    __table_args__ = (sa.UniqueConstraint("assignment_id", "user_id", "kind", name="uq_reminder_log_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # "before", "due", "overdue"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Notification(db.Model):
    """An in-app notification (nhắc việc) for one official."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_unread", "user_id", "read_at"),
        # "Once only" notifications (a certificate issued, an expiry warning) carry a key.
        sa.Index("uq_notifications_user_key", "user_id", "key", unique=True,
                 postgresql_where=sa.text("key IS NOT NULL"), sqlite_where=sa.text("key IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    link: Mapped[str] = mapped_column(sa.String(500), default="")
    key: Mapped[str | None] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxEmail(db.Model):
    """An e-mail waiting to be sent; kept until the mail server accepts it, with retries."""

    __tablename__ = "outbox_emails"
    # Issue 18 (jobs): a message queued twice under one key is one message (see courses.mail).
    __table_args__ = (sa.Index("uq_outbox_emails_idempotency_key", "idempotency_key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to_email: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # Issue 18 (jobs): a sender claims a message before the SMTP conversation, so two senders (a retried
    # job, two workers) never both send it; a claim older than the lease is taken over.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(120))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(sa.String(40))


# --------------------------------------------------------------------------- legal-basis register
LEGAL_KINDS = ("Luật", "Nghị định", "Nghị quyết", "Quyết định", "Thông tư", "Công văn", "Chỉ thị", "Kế hoạch")
LEGAL_CHANGE_KINDS = ("amended", "repealed", "expired")
CITATION_ORIGINS = ("found", "added", "removed")


class LegalText(db.Model):
    """A legal text the courses and question banks cite (sổ văn bản pháp luật, courses.legal).

    Its status is not stored: it follows from its changes (amended, repealed, expired, each with the
    text that made it and the day it took effect) and from `ends_on`, as of the day asked.
    `origin` says who keeps it: "file" (courses/content/legal_texts.yaml, reloaded by `courses sync`)
    or "web" (edited by an admin, which the file then leaves alone).
    """

    __tablename__ = "legal_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(80))               # "118/2025/NĐ-CP", as written
    key: Mapped[str] = mapped_column(sa.String(80), unique=True)     # courses.legal.citation_key(number)
    kind: Mapped[str] = mapped_column(sa.String(30))
    title: Mapped[str] = mapped_column(sa.String(500), default="")
    issued_on: Mapped[date | None] = mapped_column(sa.Date)
    effective_from: Mapped[date | None] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)              # last day in force of a time-limited text
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    source: Mapped[str] = mapped_column(sa.String(500), default="")  # which fact-sheet line or text
    origin: Mapped[str] = mapped_column(sa.String(10), default="web")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    changes: Mapped[list[LegalTextChange]] = relationship(
        back_populates="text", order_by="(LegalTextChange.changed_on, LegalTextChange.id)",
        cascade="all, delete-orphan")


class LegalTextChange(db.Model):
    """One change of a text's status: amended or repealed by another text, or expired, on a day."""

    __tablename__ = "legal_text_changes"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('amended', 'repealed', 'expired')", name="kind"),
        sa.UniqueConstraint("text_id", "kind", "by_number", "changed_on", name="uq_legal_text_changes_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    text_id: Mapped[int] = mapped_column(sa.ForeignKey("legal_texts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    by_number: Mapped[str] = mapped_column(sa.String(80), default="")  # the amending or repealing text
    changed_on: Mapped[date] = mapped_column(sa.Date)                   # the day the change took effect
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    text: Mapped[LegalText] = relationship(back_populates="changes")


class LessonCitation(db.Model):
    """A legal number a lesson cites: found in its text, added by a trainer, or found and removed
    by a trainer (kept so that finding it again does not bring it back)."""

    __tablename__ = "lesson_citations"
    __table_args__ = (
        sa.UniqueConstraint("lesson_id", "key", name="uq_lesson_citations_lesson_key"),
        sa.CheckConstraint("origin IN ('found', 'added', 'removed')", name="origin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(sa.String(80), index=True)
    number: Mapped[str] = mapped_column(sa.String(80))
    origin: Mapped[str] = mapped_column(sa.String(10), default="found")


class QuestionCitation(db.Model):
    """A legal number a bank question cites (its current version), as for lessons. The question
    table belongs to quizzes; only the foreign key names it, so courses imports nothing of quizzes."""

    __tablename__ = "question_citations"
    __table_args__ = (
        sa.UniqueConstraint("question_id", "key", name="uq_question_citations_question_key"),
        sa.CheckConstraint("origin IN ('found', 'added', 'removed')", name="origin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(sa.String(80), index=True)
    number: Mapped[str] = mapped_column(sa.String(80))
    origin: Mapped[str] = mapped_column(sa.String(10), default="found")


class QuestionCheck(db.Model):
    """When a question was last checked against the law in force: the day its current version was
    created or imported, or the day a trainer pressed "Đã kiểm tra"."""

    __tablename__ = "question_legal_checks"

    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True)
    checked_on: Mapped[date] = mapped_column(sa.Date)
    checked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FrameworkGroup(db.Model):
    """A group of the basic digital-skills framework (Decision 757/QĐ-BKHCN) that courses and
    lessons name in their front matter; loaded from legal_texts.yaml. `basis` says how far its name
    could be checked: "summary" (press and portal summaries only) or "text" (the framework's tables)."""

    __tablename__ = "framework_groups"
    __table_args__ = (sa.CheckConstraint("basis IN ('summary', 'text')", name="basis"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    basis: Mapped[str] = mapped_column(sa.String(10), default="summary")
    source: Mapped[str] = mapped_column(sa.String(500), default="")
    position: Mapped[int] = mapped_column(default=0)
