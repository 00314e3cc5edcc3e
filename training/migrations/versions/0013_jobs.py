"""Long jobs on a real queue: job rows and their files, activation links for imported officials, and
the outbox's idempotency key and sending claim.

Revision ID: 0013_jobs
Revises: 0012_legal_register
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_jobs"
down_revision = "0012_legal_register"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("step", sa.String(length=300), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=60), nullable=False),
        sa.Column("rq_id", sa.String(length=64), nullable=True),
        sa.Column("download_name", sa.String(length=200), nullable=True),
        sa.Column("download_type", sa.String(length=120), nullable=True),
        sa.Column("download_size", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_jobs_state")),
        sa.CheckConstraint("progress >= 0", name=op.f("ck_jobs_progress")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_jobs_user_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["parent_id"], ["jobs.id"], name=op.f("fk_jobs_parent_id_jobs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index("ix_jobs_user_created", "jobs", ["user_id", "created_at"], unique=False)
    op.create_index("ix_jobs_state_updated", "jobs", ["state", "updated_at"], unique=False)
    op.create_index(op.f("ix_jobs_parent_id"), "jobs", ["parent_id"], unique=False)

    op.create_table(
        "job_files",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_files_job_id_jobs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "role", "seq", name=op.f("pk_job_files")),
    )

    op.create_table(
        "activation_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_activation_tokens_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_activation_tokens_created_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activation_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_activation_tokens_token_hash")),
    )
    op.create_index(op.f("ix_activation_tokens_user_id"), "activation_tokens", ["user_id"], unique=False)

    # New nullable columns only: no table rebuild on SQLite, no rewrite on PostgreSQL, so app servers of
    # the previous release keep working while this runs (rolling deploy, docs/deploy.md).
    with op.batch_alter_table("outbox_emails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claim_token", sa.String(length=40), nullable=True))
    op.create_index("uq_outbox_emails_idempotency_key", "outbox_emails", ["idempotency_key"], unique=True)


def downgrade():
    op.drop_index("uq_outbox_emails_idempotency_key", table_name="outbox_emails")
    with op.batch_alter_table("outbox_emails", schema=None) as batch_op:
        batch_op.drop_column("claim_token")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("idempotency_key")
    op.drop_index(op.f("ix_activation_tokens_user_id"), table_name="activation_tokens")
    op.drop_table("activation_tokens")
    op.drop_table("job_files")
    op.drop_index(op.f("ix_jobs_parent_id"), table_name="jobs")
    op.drop_index("ix_jobs_state_updated", table_name="jobs")
    op.drop_index("ix_jobs_user_created", table_name="jobs")
    op.drop_table("jobs")
