"""Ward staffing (issue 20): units' populations with their history, and position fit reviews with
the decisions taken on each official.

New tables only: quick at any size, and app servers of the previous release keep working.

Revision ID: 0015_staffing
Revises: 0014_hr_counts
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_staffing"
down_revision = "0014_hr_counts"
branch_labels = None
depends_on = None


def _key() -> sa.types.TypeEngine:
    return sa.String(length=400).with_variant(sa.String(length=400, collation="C"), "postgresql")


def upgrade():
    op.create_table(
        "unit_populations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("registered", sa.Integer(), nullable=True),
        sa.Column("actual", sa.Integer(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("registered IS NULL OR registered >= 0", name=op.f("ck_unit_populations_registered")),
        sa.CheckConstraint("actual IS NULL OR actual >= 0", name=op.f("ck_unit_populations_actual")),
        sa.CheckConstraint("registered IS NOT NULL OR actual IS NOT NULL",
                           name=op.f("ck_unit_populations_some_figure")),
        sa.ForeignKeyConstraint(["unit_id"], ["org_units.id"], name=op.f("fk_unit_populations_unit_id_org_units"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_unit_populations_created_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_populations")),
        sa.UniqueConstraint("unit_id", "as_of", "source", name="uq_unit_populations_unit_id"),
    )
    op.create_index("ix_unit_populations_unit_latest", "unit_populations", ["unit_id", "as_of", "id"], unique=False)

    op.create_table(
        "staffing_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("unit_code", sa.String(length=40), nullable=False),
        sa.Column("unit_name", sa.String(length=200), nullable=False),
        sa.Column("unit_path", _key(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("officials", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=200), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_staffing_reviews_status")),
        sa.ForeignKeyConstraint(["unit_id"], ["org_units.id"], name=op.f("fk_staffing_reviews_unit_id_org_units"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_staffing_reviews_created_by_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["closed_by_id"], ["users.id"],
                                name=op.f("fk_staffing_reviews_closed_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staffing_reviews")),
    )
    op.create_index("ix_staffing_reviews_unit_created", "staffing_reviews", ["unit_id", "created_at"], unique=False)

    op.create_table(
        "staffing_review_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("sort_key", _key(), nullable=False),
        sa.Column("unit_name", sa.String(length=420), nullable=False),
        sa.Column("position_id", sa.Integer(), nullable=True),
        sa.Column("position_name", sa.String(length=200), nullable=False),
        sa.Column("required", sa.JSON(), nullable=False),
        sa.Column("held", sa.JSON(), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("training", sa.JSON(), nullable=False),
        sa.Column("verdict", sa.String(length=24), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("assignment_ids", sa.JSON(), nullable=False),
        sa.Column("move_unit_id", sa.Integer(), nullable=True),
        sa.Column("move_position_id", sa.Integer(), nullable=True),
        sa.Column("move_text", sa.String(length=420), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_name", sa.String(length=200), nullable=False),
        sa.CheckConstraint("verdict IN ('fits', 'fits_after_training', 'does_not_fit')",
                           name=op.f("ck_staffing_review_entries_verdict")),
        sa.CheckConstraint("decision IS NULL OR decision IN ('keep', 'train', 'move')",
                           name=op.f("ck_staffing_review_entries_decision")),
        sa.ForeignKeyConstraint(["review_id"], ["staffing_reviews.id"],
                                name=op.f("fk_staffing_review_entries_review_id_staffing_reviews"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_staffing_review_entries_user_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["position_id"], ["positions.id"],
                                name=op.f("fk_staffing_review_entries_position_id_positions"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["move_unit_id"], ["org_units.id"],
                                name=op.f("fk_staffing_review_entries_move_unit_id_org_units"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["move_position_id"], ["positions.id"],
                                name=op.f("fk_staffing_review_entries_move_position_id_positions"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"],
                                name=op.f("fk_staffing_review_entries_decided_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staffing_review_entries")),
        sa.UniqueConstraint("review_id", "user_id", name="uq_staffing_review_entries_review_id"),
    )
    op.create_index("ix_staffing_review_entries_review_sort", "staffing_review_entries",
                    ["review_id", "sort_key", "id"], unique=False)
    op.create_index("ix_staffing_review_entries_review_verdict", "staffing_review_entries",
                    ["review_id", "verdict", "sort_key"], unique=False)


def downgrade():
    op.drop_index("ix_staffing_review_entries_review_verdict", table_name="staffing_review_entries")
    op.drop_index("ix_staffing_review_entries_review_sort", table_name="staffing_review_entries")
    op.drop_table("staffing_review_entries")
    op.drop_index("ix_staffing_reviews_unit_created", table_name="staffing_reviews")
    op.drop_table("staffing_reviews")
    op.drop_index("ix_unit_populations_unit_latest", table_name="unit_populations")
    op.drop_table("unit_populations")
