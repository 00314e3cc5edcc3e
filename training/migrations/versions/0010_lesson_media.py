"""Lesson media: pictures, short videos and sound uploaded to a lesson (files in the instance folder).

Revision ID: 0010_lesson_media
Revises: 0009_learner_plan
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_lesson_media"
# After the learner plan's migration, written at the same time from 0008: one line of history, one head.
down_revision = "0009_learner_plan"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "lesson_media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("mime", sa.String(length=50), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("alt_text", sa.String(length=300), nullable=False),
        sa.Column("caption", sa.String(length=500), nullable=False),
        sa.Column("captions_name", sa.String(length=64), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('image', 'video', 'audio')", name=op.f("ck_lesson_media_kind")),
        sa.ForeignKeyConstraint(["lesson_id"], ["lessons.id"], name=op.f("fk_lesson_media_lesson_id_lessons"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_lesson_media_created_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesson_media")),
        sa.UniqueConstraint("name", name=op.f("uq_lesson_media_name")),
        sa.UniqueConstraint("captions_name", name=op.f("uq_lesson_media_captions_name")),
    )
    op.create_index(op.f("ix_lesson_media_lesson_id"), "lesson_media", ["lesson_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_lesson_media_lesson_id"), table_name="lesson_media")
    op.drop_table("lesson_media")
