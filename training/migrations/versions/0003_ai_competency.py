"""A fifth core competency: using AI safely at work, required by every position.

Revision ID: 0003_ai_competency
Revises: 0002_courses
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_ai_competency"
down_revision = "0002_courses"
branch_labels = None
depends_on = None

competencies = sa.table(
    "competencies",
    sa.column("id", sa.Integer), sa.column("code", sa.String), sa.column("name_vi", sa.String),
    sa.column("name_en", sa.String), sa.column("description", sa.Text), sa.column("validity_months", sa.Integer),
    sa.column("is_core", sa.Boolean), sa.column("sort_order", sa.Integer),
)
positions = sa.table("positions", sa.column("id", sa.Integer))
position_competencies = sa.table("position_competencies", sa.column("position_id", sa.Integer),
                                 sa.column("competency_id", sa.Integer))


def upgrade():
    conn = op.get_bind()
    existing = conn.execute(sa.select(competencies.c.id).where(competencies.c.code == "ai")).scalar()
    if existing is None:
        conn.execute(competencies.insert().values(
            code="ai",
            name_vi="Ứng dụng trí tuệ nhân tạo an toàn trong công việc",
            name_en="Using AI safely at work",
            description="Dùng chatbot và công cụ AI có kiểm chứng, không đưa dữ liệu mật hay dữ liệu cá nhân vào "
                        "công cụ công cộng, gắn nhãn nội dung do AI tạo, nhận diện lừa đảo deepfake.",
            validity_months=12, is_core=True, sort_order=5,
        ))
        existing = conn.execute(sa.select(competencies.c.id).where(competencies.c.code == "ai")).scalar()
    linked = set(conn.execute(sa.select(position_competencies.c.position_id)
                              .where(position_competencies.c.competency_id == existing)).scalars())
    rows = [{"position_id": pid, "competency_id": existing}
            for pid in conn.execute(sa.select(positions.c.id)).scalars() if pid not in linked]
    if rows:
        conn.execute(position_competencies.insert(), rows)


def downgrade():
    conn = op.get_bind()
    ai_id = conn.execute(sa.select(competencies.c.id).where(competencies.c.code == "ai")).scalar()
    if ai_id is not None:
        conn.execute(position_competencies.delete().where(position_competencies.c.competency_id == ai_id))
        conn.execute(competencies.delete().where(competencies.c.id == ai_id))
