"""`setup` creates the schema through migrations, seeds the framework, loads the demo; idempotent."""
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from courses.models import Assignment, Course
from training import create_app
from training.extensions import db
from training.models import Competency, OrgUnit, Position, User


def _app(url):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "DEMO_PASSWORD": "Demo-pass-2025"})


def test_migrations_from_empty_match_the_models(empty_database_url):
    app = _app(empty_database_url)
    result = app.test_cli_runner().invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), db.metadata)
        assert diff == []
        assert {c.code for c in db.session.scalars(sa.select(Competency))} == {
            "digital_signature", "e_documents", "info_security", "online_services", "ai"}
        db.engine.dispose()


def test_setup_demo_is_idempotent(empty_database_url):
    app = _app(empty_database_url)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["setup", "--demo"])
    assert first.exit_code == 0, first.output
    assert "admin@demo.example" in first.output and "Demo-pass-2025" in first.output

    def snapshot():
        with app.app_context():
            return {
                "units": db.session.scalar(sa.select(sa.func.count(OrgUnit.id))),
                "positions": db.session.scalar(sa.select(sa.func.count(Position.id))),
                "users": sorted((u.email, u.password_hash, u.full_name) for u in db.session.scalars(sa.select(User))),
                "competencies": db.session.scalar(sa.select(sa.func.count(Competency.id))),
                "courses": sorted(db.session.scalars(sa.select(Course.slug))),
                "assignments": db.session.scalar(sa.select(sa.func.count(Assignment.id))),
            }

    before = snapshot()
    assert len(before["courses"]) == 5 and before["assignments"] == 2
    second = runner.invoke(args=["setup", "--demo"])
    assert second.exit_code == 0, second.output
    assert "mật khẩu không thay đổi" in second.output
    assert snapshot() == before
    with app.app_context():
        wards = db.session.scalars(sa.select(OrgUnit.name).where(OrgUnit.unit_type == "ward")).all()
        assert len(wards) == 10 and "Phường Cầu Ông Lãnh" in wards
        hr_ward = db.session.scalar(sa.select(User).where(User.email == "hr.ward@demo.example"))
        assert hr_ward.unit.name == "Phường Cầu Ông Lãnh" and hr_ward.roles == {"hr"}
        learner = db.session.scalar(sa.select(User).where(User.email == "learner@demo.example"))
        assert learner.unit.parent.name == "Phường Cầu Ông Lãnh"
        assert not learner.must_change_password
        assert before["users"].__len__() >= 40
        db.engine.dispose()


def test_demo_accounts_can_log_in(empty_database_url):
    app = _app(empty_database_url)
    assert app.test_cli_runner().invoke(args=["setup", "--demo"]).exit_code == 0
    client = app.test_client()
    for email in ("admin@demo.example", "trainer@demo.example", "hr.city@demo.example",
                  "hr.ward@demo.example", "learner@demo.example"):
        response = client.post("/auth/login", data={"email": email, "password": "Demo-pass-2025"})
        assert response.status_code == 302 and response.headers["Location"] == "/", email
        assert client.get("/").status_code == 200
        client.post("/auth/logout")
    with app.app_context():
        db.engine.dispose()


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    try:
        create_app("production")
    except RuntimeError as exc:
        assert "SECRET_KEY" in str(exc)
    else:
        raise AssertionError("production started without SECRET_KEY")
    monkeypatch.setenv("SECRET_KEY", "a-real-secret")
    assert create_app("production").config["SECRET_KEY"] == "a-real-secret"
