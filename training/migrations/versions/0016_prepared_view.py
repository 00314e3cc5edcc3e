"""Exam day (issue 16): a sitting's prepared attempt keeps its learner's view of the questions, drawn
and rendered ahead with the attempt, so that the start only changes the attempt's state.

A nullable column without default: instant on PostgreSQL at any size, and app servers of the
previous release keep working (they never read it; an attempt prepared without it is read as before).

Revision ID: 0016_prepared_view
Revises: 0015_staffing
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_prepared_view"
down_revision = "0015_staffing"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prepared_view", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_column("prepared_view")
