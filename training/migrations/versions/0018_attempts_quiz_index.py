"""Exam day (issue 16): attempts loses its index on quiz_id alone, which the unique
(quiz_id, user_id, number) already serves as its leading column, so a start writes one index entry
fewer. Quick at any size: dropping an index.

Revision ID: 0018_attempts_quiz_index
Revises: 0017_bank_revision
"""
from alembic import op

revision = "0018_attempts_quiz_index"
down_revision = "0017_bank_revision"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_attempts_quiz_id")


def downgrade():
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_index("ix_attempts_quiz_id", ["quiz_id"], unique=False)
