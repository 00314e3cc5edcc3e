"""The legal-basis register: legal texts and their changes, what lessons and questions cite, when
each was last checked, the framework groups courses and lessons serve, and a quiz setting that leaves
flagged questions out of the draw.

Revision ID: 0012_legal_register
Revises: 0011_sittings
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_legal_register"
down_revision = "0011_sittings"
branch_labels = None
depends_on = None


def _citations(table: str, item: str, items: str) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(item, sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("number", sa.String(length=80), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.CheckConstraint("origin IN ('found', 'added', 'removed')", name=op.f(f"ck_{table}_origin")),
        sa.ForeignKeyConstraint([item], [f"{items}.id"], name=op.f(f"fk_{table}_{item}_{items}"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint(item, "key", name=f"uq_{table}_{item.split('_')[0]}_key"),
    )
    op.create_index(op.f(f"ix_{table}_{item}"), table, [item], unique=False)
    op.create_index(op.f(f"ix_{table}_key"), table, ["key"], unique=False)


def upgrade():
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checked_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("framework", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("lessons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checked_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("review_by", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("framework", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("sources", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("skip_flagged_questions", sa.Boolean(), nullable=False,
                                      server_default=sa.true()))

    op.create_table(
        "legal_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_texts")),
        sa.UniqueConstraint("key", name=op.f("uq_legal_texts_key")),
    )
    op.create_table(
        "legal_text_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("by_number", sa.String(length=80), nullable=False),
        sa.Column("changed_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('amended', 'repealed', 'expired')", name=op.f("ck_legal_text_changes_kind")),
        sa.ForeignKeyConstraint(["text_id"], ["legal_texts.id"], name=op.f("fk_legal_text_changes_text_id_legal_texts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_text_changes")),
        sa.UniqueConstraint("text_id", "kind", "by_number", "changed_on", name="uq_legal_text_changes_once"),
    )
    op.create_index(op.f("ix_legal_text_changes_text_id"), "legal_text_changes", ["text_id"], unique=False)
    _citations("lesson_citations", "lesson_id", "lessons")
    _citations("question_citations", "question_id", "questions")
    op.create_table(
        "question_legal_checks",
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("checked_by_id", sa.Integer(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"],
                                name=op.f("fk_question_legal_checks_question_id_questions"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["checked_by_id"], ["users.id"],
                                name=op.f("fk_question_legal_checks_checked_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("question_id", name=op.f("pk_question_legal_checks")),
    )
    op.create_table(
        "framework_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("basis", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("basis IN ('summary', 'text')", name=op.f("ck_framework_groups_basis")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_framework_groups")),
        sa.UniqueConstraint("code", name=op.f("uq_framework_groups_code")),
    )

    # Lessons already in the database count as checked when they were last written (by a sync or
    # in the browser), as a sync would date them; questions, when their current version was written.
    # Both are UTC days here; later writes use the day in Vietnam.
    if op.get_bind().dialect.name == "postgresql":
        day_of = "CAST({} AS DATE)"
    else:
        day_of = "DATE({})"
    op.execute(sa.text(f"UPDATE lessons SET checked_on = {day_of.format('updated_at')}"))
    op.execute(sa.text(
        "INSERT INTO question_legal_checks (question_id, checked_on, checked_at) "
        f"SELECT q.id, {day_of.format('v.created_at')}, v.created_at FROM questions q "
        "JOIN question_versions v ON v.id = q.current_version_id"))


def downgrade():
    op.drop_table("framework_groups")
    op.drop_table("question_legal_checks")
    for table, item in (("question_citations", "question_id"), ("lesson_citations", "lesson_id")):
        op.drop_index(op.f(f"ix_{table}_key"), table_name=table)
        op.drop_index(op.f(f"ix_{table}_{item}"), table_name=table)
        op.drop_table(table)
    op.drop_index(op.f("ix_legal_text_changes_text_id"), table_name="legal_text_changes")
    op.drop_table("legal_text_changes")
    op.drop_table("legal_texts")
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        batch_op.drop_column("skip_flagged_questions")
    with op.batch_alter_table("lessons", schema=None) as batch_op:
        batch_op.drop_column("sources")
        batch_op.drop_column("framework")
        batch_op.drop_column("review_by")
        batch_op.drop_column("checked_on")
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_column("framework")
        batch_op.drop_column("checked_on")
