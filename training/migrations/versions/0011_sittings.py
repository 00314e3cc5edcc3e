"""Exam sittings: a quiz taken together at a set time, with attempts prepared ahead ("prepared" state),
and a quiz flag that keeps a quiz to its sittings.

Revision ID: 0011_sittings
Revises: 0010_lesson_media
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_sittings"
down_revision = "0010_lesson_media"
branch_labels = None
depends_on = None

ONE_IN_PROGRESS = sa.text("state = 'in_progress'")


def _attempt_states(states: str) -> None:
    # SQLite rebuilds the table to change a CHECK; the partial index is dropped first and made again
    # after, so that its WHERE clause cannot be lost on the way.
    op.drop_index("uq_attempts_one_in_progress", table_name="attempts")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_attempts_state"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_attempts_state"), f"state IN ({states})")
    op.create_index("uq_attempts_one_in_progress", "attempts", ["quiz_id", "user_id"], unique=True,
                    postgresql_where=ONE_IN_PROGRESS, sqlite_where=ONE_IN_PROGRESS)


def upgrade():
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("only_in_sittings", sa.Boolean(), nullable=False, server_default=sa.false()))
    _attempt_states("'prepared', 'in_progress', 'finished'")

    op.create_table(
        "quiz_sittings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quiz_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("join_window_s", sa.Integer(), nullable=False),
        sa.Column("time_limit_s", sa.Integer(), nullable=False),
        sa.Column("late_policy", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=10), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("position_id", sa.Integer(), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prepared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("late_policy IN ('remaining', 'full')", name=op.f("ck_quiz_sittings_late_policy")),
        sa.CheckConstraint("target IN ('unit', 'people')", name=op.f("ck_quiz_sittings_target")),
        sa.CheckConstraint("join_window_s > 0 AND time_limit_s > 0", name=op.f("ck_quiz_sittings_durations")),
        sa.ForeignKeyConstraint(["quiz_id"], ["quizzes.id"], name=op.f("fk_quiz_sittings_quiz_id_quizzes"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["org_units.id"], name=op.f("fk_quiz_sittings_unit_id_org_units")),
        sa.ForeignKeyConstraint(["position_id"], ["positions.id"],
                                name=op.f("fk_quiz_sittings_position_id_positions")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_quiz_sittings_created_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["cancelled_by_id"], ["users.id"],
                                name=op.f("fk_quiz_sittings_cancelled_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_sittings")),
    )
    op.create_index(op.f("ix_quiz_sittings_starts_at"), "quiz_sittings", ["starts_at"], unique=False)
    op.create_index(op.f("ix_quiz_sittings_unit_id"), "quiz_sittings", ["unit_id"], unique=False)
    op.create_index("ix_quiz_sittings_quiz_ends", "quiz_sittings", ["quiz_id", "ends_at"], unique=False)

    op.create_table(
        "quiz_sitting_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lobby_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["sitting_id"], ["quiz_sittings.id"],
                                name=op.f("fk_quiz_sitting_members_sitting_id_quiz_sittings"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_quiz_sitting_members_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"],
                                name=op.f("fk_quiz_sitting_members_attempt_id_attempts"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_sitting_members")),
        sa.UniqueConstraint("sitting_id", "user_id", name="uq_quiz_sitting_members_sitting_user"),
    )
    op.create_index(op.f("ix_quiz_sitting_members_user_id"), "quiz_sitting_members", ["user_id"], unique=False)
    op.create_index(op.f("ix_quiz_sitting_members_attempt_id"), "quiz_sitting_members", ["attempt_id"],
                    unique=False)


def downgrade():
    op.drop_index(op.f("ix_quiz_sitting_members_attempt_id"), table_name="quiz_sitting_members")
    op.drop_index(op.f("ix_quiz_sitting_members_user_id"), table_name="quiz_sitting_members")
    op.drop_table("quiz_sitting_members")
    op.drop_index("ix_quiz_sittings_quiz_ends", table_name="quiz_sittings")
    op.drop_index(op.f("ix_quiz_sittings_unit_id"), table_name="quiz_sittings")
    op.drop_index(op.f("ix_quiz_sittings_starts_at"), table_name="quiz_sittings")
    op.drop_table("quiz_sittings")
    # Attempts drawn for a sitting and never started were never the learner's: they go.
    prepared = sa.text("SELECT id FROM attempts WHERE state = 'prepared'")
    op.execute(sa.text(f"DELETE FROM attempt_slots WHERE attempt_id IN ({prepared.text})"))
    op.execute(sa.text("DELETE FROM attempts WHERE state = 'prepared'"))
    _attempt_states("'in_progress', 'finished'")
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        batch_op.drop_column("only_in_sittings")
