"""Indexes for the HR dashboard's aggregates: active officials per unit, holders per competency.

Revision ID: 0006_hr_indexes
Revises: 0005_certificates
"""
from alembic import op

revision = "0006_hr_indexes"
down_revision = "0005_certificates"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_unit_active", ["unit_id", "active"], unique=False)
    with op.batch_alter_table("competency_records", schema=None) as batch_op:
        batch_op.create_index("ix_competency_records_comp_expires", ["competency_id", "expires_at"], unique=False)


def downgrade():
    with op.batch_alter_table("competency_records", schema=None) as batch_op:
        batch_op.drop_index("ix_competency_records_comp_expires")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_unit_active")
