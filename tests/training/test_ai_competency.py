"""Issue 10: the fifth competency (AI) reaches an existing database through a migration."""
from datetime import datetime, timezone

import sqlalchemy as sa
from flask_migrate import upgrade

from training import create_app
from training.extensions import db


def test_migration_adds_ai_to_a_database_with_four(empty_database_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    migrations = app.extensions["migrate"].directory
    with app.app_context():
        upgrade(directory=migrations, revision="0002_courses")  # the schema before the fifth competency
        now = datetime(2026, 1, 5, tzinfo=timezone.utc)
        with db.engine.begin() as conn:
            # No explicit ids: PostgreSQL's sequences must stay in step for the rows the migration adds.
            for n, code in enumerate(("digital_signature", "e_documents", "info_security", "online_services"), 1):
                conn.execute(sa.text(
                    "INSERT INTO competencies (code, name_vi, name_en, description, validity_months, is_core, "
                    "sort_order) VALUES (:code, :code, :code, '', 24, :core, :n)"), {"n": n, "code": code, "core": True})
            conn.execute(sa.text("INSERT INTO positions (code, name, description, sort_key, created_at) "
                                 "VALUES ('CV', 'Chuyên viên', '', '', :now)"), {"now": now})
            position = conn.execute(sa.text("SELECT id FROM positions")).scalar()
            for competency in conn.execute(sa.text("SELECT id FROM competencies")).scalars().all():
                conn.execute(sa.text("INSERT INTO position_competencies (position_id, competency_id) VALUES (:p, :c)"),
                             {"p": position, "c": competency})
            conn.execute(sa.text(
                "INSERT INTO users (email, full_name, sort_key, search_name, active, must_change_password, "
                "created_at, position_id) VALUES ('a@example.vn', 'A', '', 'a', :t, :f, :now, :p)"),
                {"now": now, "t": True, "f": False, "p": position})
            user = conn.execute(sa.text("SELECT id FROM users")).scalar()
            security = conn.execute(sa.text("SELECT id FROM competencies WHERE code = 'info_security'")).scalar()
            conn.execute(sa.text(
                "INSERT INTO competency_records (user_id, competency_id, achieved_at, expires_at, score, evidence_url, "
                "source, created_at) VALUES (:u, :c, :now, :later, 90, '', 'quiz', :now)"),
                {"u": user, "c": security, "now": now, "later": datetime(2027, 1, 5, tzinfo=timezone.utc)})
        upgrade(directory=migrations)
        with db.engine.connect() as conn:
            codes = conn.execute(sa.text("SELECT code FROM competencies ORDER BY sort_order")).scalars().all()
            assert codes == ["digital_signature", "e_documents", "info_security", "online_services", "ai"]
            required = conn.execute(sa.text(
                "SELECT c.code FROM position_competencies pc JOIN competencies c ON c.id = pc.competency_id "
                "JOIN positions p ON p.id = pc.position_id WHERE p.code = 'CV'")).scalars().all()
            assert sorted(required) == sorted(codes)
            assert conn.execute(sa.text("SELECT count(*) FROM competency_records")).scalar() == 1
        # Running setup afterwards changes nothing more (idempotent).
        result = app.test_cli_runner().invoke(args=["setup"])
        assert result.exit_code == 0, result.output
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM competencies")).scalar() == 5
        db.engine.dispose()


def test_ai_bank_imports_with_its_count(runner, app):
    import os

    import quizzes

    path = os.path.join(os.path.dirname(quizzes.__file__), "content", "ai.gift")
    result = runner.invoke(args=["quizzes", "import", path, "--format", "gift"])
    assert result.exit_code == 0, result.output
    assert "Đã nhập 47 câu hỏi" in result.output
