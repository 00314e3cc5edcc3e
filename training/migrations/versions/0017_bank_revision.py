"""Exam day (issue 16): the bank's revision, moved on by triggers with every change to what a quiz
draws from, so that an app process may keep its draws' pools and versions while it stays put
(quizzes.bank_revision); and attempt_slots loses its index on attempt_id alone, which the unique
(attempt_id, slot) already serves, so a start writes 20 fewer index entries.

Quick at any size: a one-row table, triggers, and dropping an index.

Revision ID: 0017_bank_revision
Revises: 0016_prepared_view
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_bank_revision"
down_revision = "0016_prepared_view"
branch_labels = None
depends_on = None

# The tables of quizzes.bank_revision.WATCHED when this revision was written.
WATCHED = ("question_categories", "questions", "question_versions", "question_citations",
           "question_legal_checks", "legal_texts", "legal_text_changes")


def upgrade():
    from quizzes.bank_revision import trigger_statements

    op.create_table(
        "bank_revision",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_bank_revision_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_revision")),
    )
    op.execute(sa.table("bank_revision", sa.column("id", sa.Integer), sa.column("revision", sa.BigInteger))
               .insert().values(id=1, revision=1))
    for statement in trigger_statements(op.get_bind().dialect.name, WATCHED):
        op.execute(sa.text(statement.replace(":", "\\:")))
    with op.batch_alter_table("attempt_slots", schema=None) as batch_op:
        batch_op.drop_index("ix_attempt_slots_attempt_id")


def downgrade():
    from quizzes.bank_revision import drop_statements

    with op.batch_alter_table("attempt_slots", schema=None) as batch_op:
        batch_op.create_index("ix_attempt_slots_attempt_id", ["attempt_id"], unique=False)
    for statement in drop_statements(op.get_bind().dialect.name, WATCHED):
        op.execute(sa.text(statement))
    op.drop_table("bank_revision")
