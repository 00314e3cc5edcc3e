"""Trust: opaque answer ids, at most one attempt in progress, at most one valid certificate,
revoked competency records that stay revoked, admin settings (granting policy).

Revision ID: 0007_trust
Revises: 0006_hr_indexes
"""
import secrets
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0007_trust"
down_revision = "0006_hr_indexes"
branch_labels = None
depends_on = None

ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def _public_ids(order):
    """The same map quizzes.opaque.with_public_ids draws (kept here: a migration must not change)."""
    order = dict(order or {})
    known = dict(order.get("ids") or {})
    taken = set(known.values())
    for bank_id in list(order.get("options") or []) + list(order.get("items") or []):
        if isinstance(bank_id, str) and bank_id not in known:
            while True:
                candidate = "".join(secrets.choice(ALPHABET) for _ in range(8))
                if candidate not in taken:
                    break
            taken.add(candidate)
            known[bank_id] = candidate
    order["ids"] = known
    return order


def upgrade():
    now = datetime.now(timezone.utc)
    conn = op.get_bind()

    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_settings_updated_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )

    with op.batch_alter_table("competency_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("revoked_reason", sa.String(length=500), nullable=False, server_default=""))
        batch_op.create_foreign_key(batch_op.f("fk_competency_records_revoked_by_id_users"), "users",
                                    ["revoked_by_id"], ["id"], ondelete="SET NULL")

    # Attempts: close all but the latest of several attempts in progress for one learner and quiz (the
    # race the index now prevents); they are finished with no score, as abandoned.
    attempts = sa.table("attempts", sa.column("id", sa.Integer), sa.column("quiz_id", sa.Integer),
                        sa.column("user_id", sa.Integer), sa.column("number", sa.Integer),
                        sa.column("state", sa.String), sa.column("submitted_at", sa.DateTime(timezone=True)),
                        sa.column("score", sa.Float), sa.column("max_score", sa.Float),
                        sa.column("percent", sa.Float), sa.column("passed", sa.Boolean),
                        sa.column("auto_submitted", sa.Boolean))
    rows = conn.execute(sa.select(attempts.c.id, attempts.c.quiz_id, attempts.c.user_id, attempts.c.number)
                        .where(attempts.c.state == "in_progress")
                        .order_by(attempts.c.quiz_id, attempts.c.user_id, attempts.c.number.desc())).all()
    seen = set()
    for row in rows:
        key = (row.quiz_id, row.user_id)
        if key in seen:
            conn.execute(sa.update(attempts).where(attempts.c.id == row.id).values(
                state="finished", submitted_at=now, score=0.0, max_score=0.0, percent=0.0, passed=False,
                auto_submitted=True))
        seen.add(key)
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f("ck_attempts_state"), "state IN ('in_progress', 'finished')")
    op.create_index("uq_attempts_one_in_progress", "attempts", ["quiz_id", "user_id"], unique=True,
                    postgresql_where=sa.text("state = 'in_progress'"), sqlite_where=sa.text("state = 'in_progress'"))

    # Opaque ids for the slots of attempts in progress (finished ones draw theirs when next shown).
    slots = sa.table("attempt_slots", sa.column("id", sa.Integer), sa.column("attempt_id", sa.Integer),
                     sa.column("order", sa.JSON))
    open_ids = sa.select(attempts.c.id).where(attempts.c.state == "in_progress")
    last = 0
    while True:
        batch = conn.execute(sa.select(slots.c.id, slots.c.order).where(
            slots.c.attempt_id.in_(open_ids), slots.c.id > last).order_by(slots.c.id).limit(2000)).all()
        if not batch:
            break
        for slot in batch:
            conn.execute(sa.update(slots).where(slots.c.id == slot.id).values(order=_public_ids(slot.order)))
        last = batch[-1].id

    # Certificates: exactly one current per official among the unrevoked ones (the latest); an older
    # duplicate that is still valid came from the double-issuing race and is revoked as a duplicate.
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_current", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("test_identity", sa.Boolean(), nullable=False, server_default=sa.false()))
    certificates = sa.table("certificates", sa.column("id", sa.Integer), sa.column("user_id", sa.Integer),
                            sa.column("serial", sa.String), sa.column("issued_at", sa.DateTime(timezone=True)),
                            sa.column("expires_at", sa.DateTime(timezone=True)),
                            sa.column("revoked_at", sa.DateTime(timezone=True)),
                            sa.column("revoked_reason", sa.String), sa.column("is_current", sa.Boolean))
    rows = conn.execute(sa.select(certificates.c.id, certificates.c.user_id, certificates.c.serial,
                                  certificates.c.expires_at)
                        .where(certificates.c.revoked_at.is_(None))
                        .order_by(certificates.c.user_id, certificates.c.issued_at.desc(),
                                  certificates.c.id.desc())).all()
    kept: dict = {}
    for row in rows:
        if row.user_id not in kept:
            kept[row.user_id] = row.serial
            conn.execute(sa.update(certificates).where(certificates.c.id == row.id).values(is_current=True))
            continue
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=timezone.utc)
        if expires > now:
            conn.execute(sa.update(certificates).where(certificates.c.id == row.id).values(
                revoked_at=now, revoked_reason=f"Cấp trùng; thay bằng giấy chứng nhận {kept[row.user_id]}"))
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f("ck_certificates_current_not_revoked"),
                                         "NOT is_current OR revoked_at IS NULL")
    op.create_index("uq_certificates_one_current", "certificates", ["user_id"], unique=True,
                    postgresql_where=sa.text("is_current"), sqlite_where=sa.text("is_current = 1"))


def downgrade():
    op.drop_index("uq_certificates_one_current", table_name="certificates")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_certificates_current_not_revoked"), type_="check")
        batch_op.drop_column("test_identity")
        batch_op.drop_column("is_current")
    op.drop_index("uq_attempts_one_in_progress", table_name="attempts")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_attempts_state"), type_="check")
    with op.batch_alter_table("competency_records", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_competency_records_revoked_by_id_users"), type_="foreignkey")
        batch_op.drop_column("revoked_reason")
        batch_op.drop_column("revoked_by_id")
    op.drop_table("settings")
