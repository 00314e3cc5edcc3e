"""Question bank (categories, questions, versions, tags), quizzes, rules, attempts and their slots."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from quizzes.bank_revision import install_triggers
from training.extensions import db
from training.models import Competency, OrgUnit, Position, User
from training.models.types import UTCDateTime, sort_key_type, utcnow

GRADING_METHODS = ("highest", "last", "first", "average")
REVIEW_WHEN = ("never", "after_submit", "after_close")


class QuestionCategory(db.Model):
    __tablename__ = "question_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("question_categories.id"), index=True)
    path: Mapped[str] = mapped_column(sort_key_type(500), default="", index=True)  # "/1/4/"
    depth: Mapped[int] = mapped_column(default=0)
    competency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("competencies.id"), index=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    idnumber: Mapped[str] = mapped_column(sa.String(100), default="")
    sort_key: Mapped[str] = mapped_column(sort_key_type(400), default="")

    parent: Mapped[QuestionCategory | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[QuestionCategory]] = relationship(back_populates="parent")
    competency: Mapped[Competency | None] = relationship()

    def names(self) -> list[str]:
        names, node = [], self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return list(reversed(names))


question_tags = sa.Table(
    "question_tags",
    db.metadata,
    sa.Column("question_id", sa.ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tag_id", sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)


class Question(db.Model):
    """A question in the bank; its content lives in versions (an answered question is never edited in place)."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("question_categories.id"), index=True)
    idnumber: Mapped[str] = mapped_column(sa.String(100), default="")
    hidden: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    current_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("question_versions.id", use_alter=True, name="fk_questions_current_version"))

    category: Mapped[QuestionCategory] = relationship()
    current_version: Mapped[QuestionVersion | None] = relationship(foreign_keys=[current_version_id],
                                                                   post_update=True)
    versions: Mapped[list[QuestionVersion]] = relationship(
        back_populates="question", foreign_keys="QuestionVersion.question_id", order_by="QuestionVersion.version")
    tags: Mapped[list[Tag]] = relationship(secondary=question_tags, order_by="Tag.name")


class QuestionVersion(db.Model):
    __tablename__ = "question_versions"
    __table_args__ = (sa.UniqueConstraint("question_id", "version", name="uq_question_versions_question_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(default=1)
    qtype: Mapped[str] = mapped_column(sa.String(20), index=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    text: Mapped[str] = mapped_column(sa.Text)
    text_format: Mapped[str] = mapped_column(sa.String(10), default="moodle")
    general_feedback: Mapped[str] = mapped_column(sa.Text, default="")
    default_mark: Mapped[float] = mapped_column(sa.Float, default=1.0)
    penalty: Mapped[float] = mapped_column(sa.Float, default=0.3333333)
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    search_text: Mapped[str] = mapped_column(sa.Text, default="")  # accent-free name + text, for the bank search
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    question: Mapped[Question] = relationship(back_populates="versions", foreign_keys=[question_id])


class BankRevision(db.Model):
    """The bank's revision (quizzes.bank_revision): one row, moved on by the database's own triggers
    with every change to what a quiz draws from."""

    __tablename__ = "bank_revision"
    __table_args__ = (sa.CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(sa.BigInteger, default=0)


sa.event.listen(db.metadata, "after_create", install_triggers)


class Quiz(db.Model):
    __tablename__ = "quizzes"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("courses.id", ondelete="SET NULL"), index=True)
    competency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("competencies.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="draft")  # draft / published
    pass_percent: Mapped[float] = mapped_column(sa.Float, default=70.0)
    time_limit_s: Mapped[int | None] = mapped_column()
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    max_attempts: Mapped[int] = mapped_column(default=0)  # 0 = unlimited
    attempt_delay_s: Mapped[int] = mapped_column(default=0)
    grading_method: Mapped[str] = mapped_column(sa.String(10), default="highest")
    shuffle_questions: Mapped[bool] = mapped_column(default=True)
    shuffle_options: Mapped[bool] = mapped_column(default=True)
    questions_per_page: Mapped[int] = mapped_column(default=5)
    review_correctness: Mapped[str] = mapped_column(sa.String(20), default="after_submit")
    review_right_answers: Mapped[str] = mapped_column(sa.String(20), default="after_close")
    review_feedback: Mapped[str] = mapped_column(sa.String(20), default="after_submit")
    # Taken only in exam sittings (quizzes.sittings): a learner with no sitting open to them cannot start.
    only_in_sittings: Mapped[bool] = mapped_column(default=False)
    # Leave out of the draw the questions the legal-basis register flags (courses.legal): a text they
    # cite changed after they were last checked. On by default, new and existing quizzes alike.
    skip_flagged_questions: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    competency: Mapped[Competency | None] = relationship()
    rules: Mapped[list[QuizRule]] = relationship(back_populates="quiz", order_by="QuizRule.position",
                                                 cascade="all, delete-orphan")


class QuizRule(db.Model):
    """What a quiz draws: `count` random questions from a category, or one fixed question."""

    __tablename__ = "quiz_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(sa.ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=1)
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("question_categories.id"))
    include_subcategories: Mapped[bool] = mapped_column(default=True)
    count: Mapped[int] = mapped_column(default=1)
    question_id: Mapped[int | None] = mapped_column(sa.ForeignKey("questions.id"))
    mark: Mapped[float] = mapped_column(sa.Float, default=1.0)

    quiz: Mapped[Quiz] = relationship(back_populates="rules")
    category: Mapped[QuestionCategory | None] = relationship()
    question: Mapped[Question | None] = relationship()


class Attempt(db.Model):
    __tablename__ = "attempts"
    # The unique number per learner and quiz is what holds the attempt limit under races; the partial
    # unique index keeps at most one attempt in progress per learner and quiz, whoever starts it.
    __table_args__ = (
        sa.UniqueConstraint("quiz_id", "user_id", "number", name="uq_attempts_quiz_user_number"),
        sa.Index("ix_attempts_user_quiz_state", "user_id", "quiz_id", "state"),
        sa.Index("uq_attempts_one_in_progress", "quiz_id", "user_id", unique=True,
                 postgresql_where=sa.text("state = 'in_progress'"), sqlite_where=sa.text("state = 'in_progress'")),
        sa.CheckConstraint("state IN ('prepared', 'in_progress', 'finished')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: the unique (quiz_id, user_id, number) serves every lookup by quiz.
    quiz_id: Mapped[int] = mapped_column(sa.ForeignKey("quizzes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(default=1)
    # prepared (drawn ahead of an exam sitting, not started: its number is minus the sitting's id, so the
    # unique key also holds one prepared attempt per learner and sitting) / in_progress / finished
    state: Mapped[str] = mapped_column(sa.String(20), default="in_progress")
    seed: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    auto_submitted: Mapped[bool] = mapped_column(default=False)
    score: Mapped[float | None] = mapped_column(sa.Float)
    max_score: Mapped[float | None] = mapped_column(sa.Float)
    percent: Mapped[float | None] = mapped_column(sa.Float)
    passed: Mapped[bool | None] = mapped_column()
    # A sitting's prepared attempt: the learner's view of its questions (JSON), rendered with the
    # drawing, so that the start is a state change (quizzes.hot_path). Never read by the ORM.
    prepared_view: Mapped[str | None] = mapped_column(sa.Text, deferred=True)

    quiz: Mapped[Quiz] = relationship()
    user: Mapped[User] = relationship()
    slots: Mapped[list[AttemptSlot]] = relationship(back_populates="attempt", order_by="AttemptSlot.slot",
                                                    cascade="all, delete-orphan")


class AttemptSlot(db.Model):
    """One question of an attempt: the version drawn, its option order, the saved answer, the grade."""

    __tablename__ = "attempt_slots"
    __table_args__ = (sa.UniqueConstraint("attempt_id", "slot", name="uq_attempt_slots_attempt_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: the unique (attempt_id, slot) serves every lookup by attempt.
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("attempts.id", ondelete="CASCADE"))
    slot: Mapped[int] = mapped_column()
    question_version_id: Mapped[int] = mapped_column(sa.ForeignKey("question_versions.id"), index=True)
    max_mark: Mapped[float] = mapped_column(sa.Float, default=1.0)
    order: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    response: Mapped[dict | list | str | None] = mapped_column(sa.JSON)
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fraction: Mapped[float | None] = mapped_column(sa.Float)
    mark: Mapped[float | None] = mapped_column(sa.Float)
    feedback: Mapped[list | None] = mapped_column(sa.JSON)

    attempt: Mapped[Attempt] = relationship(back_populates="slots")
    question_version: Mapped[QuestionVersion] = relationship()


LATE_POLICIES = ("remaining", "full")
SITTING_TARGETS = ("unit", "people")


class Sitting(db.Model):
    """An exam sitting (ca thi): a quiz taken together at a set time by a unit subtree (narrowed to a
    position when set) or by a list of officials.

    Learners may start from `starts_at` until the join window closes; a late joiner's deadline is the
    sitting's (`remaining`: start + time limit) or their own (`full`: join + time limit). Until
    `ends_at` (window end + time limit, the last possible deadline) the sitting decides its members'
    starts of the quiz.
    """

    __tablename__ = "quiz_sittings"
    __table_args__ = (
        sa.CheckConstraint("late_policy IN ('remaining', 'full')", name="late_policy"),
        sa.CheckConstraint("target IN ('unit', 'people')", name="target"),
        sa.CheckConstraint("join_window_s > 0 AND time_limit_s > 0", name="durations"),
        sa.Index("ix_quiz_sittings_quiz_ends", "quiz_id", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(sa.ForeignKey("quizzes.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    join_window_s: Mapped[int] = mapped_column()
    # The sitting's own time limit (prefilled from the quiz's): a quiz with none can still be sat.
    time_limit_s: Mapped[int] = mapped_column()
    late_policy: Mapped[str] = mapped_column(sa.String(10), default="remaining")
    target: Mapped[str] = mapped_column(sa.String(10), default="unit")
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("org_units.id"), index=True)
    position_id: Mapped[int | None] = mapped_column(sa.ForeignKey("positions.id"))
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    prepared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    quiz: Mapped[Quiz] = relationship()
    unit: Mapped[OrgUnit | None] = relationship()
    position: Mapped[Position | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def joins_until(self) -> datetime:
        """The end of the join window: no one starts after it."""
        return self.starts_at + timedelta(seconds=self.join_window_s)

    def phase(self, now: datetime) -> str:
        """upcoming (before the start), open (join window), closed (members still answering), ended."""
        if self.cancelled_at is not None:
            return "cancelled"
        if now < self.starts_at:
            return "upcoming"
        if now < self.joins_until:
            return "open"
        return "closed" if now < self.ends_at else "ended"


class SittingMember(db.Model):
    """A learner expected at a sitting: when they opened the lobby, and their attempt (prepared ahead,
    then started, then finished: the attempt's state says which)."""

    __tablename__ = "quiz_sitting_members"
    __table_args__ = (sa.UniqueConstraint("sitting_id", "user_id", name="uq_quiz_sitting_members_sitting_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(sa.ForeignKey("quiz_sittings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attempts.id", ondelete="SET NULL"), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lobby_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    sitting: Mapped[Sitting] = relationship()
    user: Mapped[User] = relationship()
    attempt: Mapped[Attempt | None] = relationship()
