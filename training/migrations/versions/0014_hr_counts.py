"""HR at national scale: the kept figures (per-official projection, per-unit buckets by day, monthly
snapshots, folded unit names) of training/hr/models.py.

Schema only, quick at any size. A database that already has officials is marked `needs_rebuild`:
`flask --app training setup` builds the figures right after the upgrade (`flask --app training hr
rebuild-counts` does the same by hand), and until then the HR pages say the figures are not built.

Revision ID: 0014_hr_counts
Revises: 0013_jobs
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_hr_counts"
down_revision = "0013_jobs"
branch_labels = None
depends_on = None


def _key() -> sa.types.TypeEngine:
    return sa.String(length=400).with_variant(sa.String(length=400, collation="C"), "postgresql")


def upgrade():
    op.create_table(
        "hr_officials",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("unit_path", _key(), nullable=False),
        sa.Column("position_id", sa.Integer(), nullable=False),
        sa.Column("sort_key", _key(), nullable=False),
        sa.Column("search_text", sa.String(length=500), nullable=False),
        sa.Column("qualified_until", sa.Date(), nullable=False),
        sa.Column("recount_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_hr_officials")),
    )
    op.create_index("ix_hr_officials_recount_on", "hr_officials", ["recount_on"], unique=False)
    op.create_index("ix_hr_officials_sort", "hr_officials", ["sort_key", "user_id"], unique=False)
    op.create_index("ix_hr_officials_path_sort", "hr_officials", ["unit_path", "sort_key", "user_id"], unique=False)
    op.create_index("ix_hr_officials_position_sort", "hr_officials", ["position_id", "sort_key", "user_id"],
                    unique=False)
    op.create_table(
        "hr_official_competencies",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("competency_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "competency_id", name=op.f("pk_hr_official_competencies")),
    )
    op.create_table(
        "hr_unit_competency_days",
        sa.Column("unit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("direct", sa.Boolean(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("position_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("competency_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("officials", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "direct", "day", "position_id", "competency_id",
                                name=op.f("pk_hr_unit_competency_days")),
    )
    op.create_table(
        "hr_unit_qualified_days",
        sa.Column("unit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("direct", sa.Boolean(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("position_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("officials", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "direct", "day", "position_id", name=op.f("pk_hr_unit_qualified_days")),
    )
    op.create_table(
        "hr_unit_months",
        sa.Column("unit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("officials", sa.Integer(), nullable=False),
        sa.Column("qualified", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "day", name=op.f("pk_hr_unit_months")),
    )
    op.create_table(
        "hr_counts_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("snapshot_through", sa.Date(), nullable=True),
        sa.Column("rebuilt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("needs_rebuild", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hr_counts_state")),
    )
    op.create_table(
        "hr_unit_names",
        sa.Column("unit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("path", _key(), nullable=False),
        sa.Column("search_text", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_hr_unit_names")),
    )
    op.create_index("ix_hr_unit_names_path", "hr_unit_names", ["path"], unique=False)

    connection = op.get_bind()
    has_officials = connection.execute(sa.text(
        "SELECT 1 FROM users WHERE active AND unit_id IS NOT NULL LIMIT 1")).first() is not None
    if has_officials:
        state = sa.table("hr_counts_state", sa.column("id", sa.Integer), sa.column("needs_rebuild", sa.Boolean))
        op.execute(state.insert().values(id=1, needs_rebuild=True))


def downgrade():
    op.drop_index("ix_hr_unit_names_path", table_name="hr_unit_names")
    op.drop_table("hr_unit_names")
    op.drop_table("hr_counts_state")
    op.drop_table("hr_unit_months")
    op.drop_table("hr_unit_qualified_days")
    op.drop_table("hr_unit_competency_days")
    op.drop_table("hr_official_competencies")
    op.drop_index("ix_hr_officials_recount_on", table_name="hr_officials")
    op.drop_index("ix_hr_officials_position_sort", table_name="hr_officials")
    op.drop_index("ix_hr_officials_path_sort", table_name="hr_officials")
    op.drop_index("ix_hr_officials_sort", table_name="hr_officials")
    op.drop_table("hr_officials")
