"""Learner plan: assignments that may require the lessons (else holding the competency completes
them), notifications sent once only (by key).

Revision ID: 0009_learner_plan
Revises: 0008_identity
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_learner_plan"
down_revision = "0008_identity"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requires_lessons", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=120), nullable=True))
    op.create_index("uq_notifications_user_key", "notifications", ["user_id", "key"], unique=True,
                    postgresql_where=sa.text("key IS NOT NULL"), sqlite_where=sa.text("key IS NOT NULL"))


def downgrade():
    op.drop_index("uq_notifications_user_key", table_name="notifications")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("key")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_column("requires_lessons")
