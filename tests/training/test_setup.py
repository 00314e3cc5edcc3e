"""`setup` creates the schema through migrations, seeds the framework, loads the demo; idempotent."""
import pytest
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
        # The bank's revision (quizzes.bank_revision) moves on with a change made by the migrated triggers.
        from quizzes.bank import create_category
        from quizzes.models import BankRevision

        before = db.session.get(BankRevision, 1).revision
        create_category("Danh mục mới")
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(BankRevision, 1).revision > before
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


PRODUCTION_ENV = ("SECRET_KEY", "CERT_P12_PATH", "CERT_P12_PASSPHRASE", "PUBLIC_BASE_URL", "TEST_DEPLOYMENT",
                  "RATELIMIT_STORAGE_URI", "RATELIMIT_ALLOW_MEMORY", "TRAINING_CONFIG")


@pytest.fixture
def production_env(monkeypatch, tmp_path):
    """A complete production environment; each test removes or spoils one setting."""
    from certificates.signing import make_dev_identity

    for name in PRODUCTION_ENV:
        monkeypatch.delenv(name, raising=False)
    key = tmp_path / "org.p12"
    make_dev_identity(str(key), "pw")
    values = {"SECRET_KEY": "a-real-secret-" + "x" * 30, "CERT_P12_PATH": str(key), "CERT_P12_PASSPHRASE": "pw",
              "PUBLIC_BASE_URL": "https://congchucso.example.gov.vn", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def refusal() -> str:
    try:
        create_app("production")
    except RuntimeError as exc:
        return str(exc)
    raise AssertionError("production started")


def test_production_starts_with_every_setting(production_env):
    app = create_app("production")
    assert app.config["PUBLIC_BASE_URL"] == "https://congchucso.example.gov.vn"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "CERT_P12_PATH", "CERT_P12_PASSPHRASE", "PUBLIC_BASE_URL",
                                     "RATELIMIT_STORAGE_URI"])
def test_production_refuses_to_start_without_a_setting_and_names_it(production_env, missing):
    production_env.delenv(missing)
    assert missing in refusal()


@pytest.mark.parametrize("name, value", [
    ("CERT_P12_PATH", "/nonexistent/org.p12"),
    ("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
    ("PUBLIC_BASE_URL", "http://localhost"),
    ("PUBLIC_BASE_URL", "congchucso.example.gov.vn"),
    ("SECRET_KEY", "dev-only-not-secret"),
    ("SECRET_KEY", "short"),
    ("RATELIMIT_STORAGE_URI", "memory://"),
])
def test_production_refuses_a_test_key_path_or_a_local_address(production_env, name, value):
    production_env.setenv(name, value)
    assert name in refusal()


def test_a_declared_test_deployment_may_sign_with_the_test_identity(production_env):
    production_env.delenv("CERT_P12_PATH")
    production_env.delenv("CERT_P12_PASSPHRASE")
    production_env.setenv("TEST_DEPLOYMENT", "1")
    app = create_app("production")
    assert app.config["TEST_DEPLOYMENT"] is True
    from certificates.issuing import is_test_identity

    assert is_test_identity(app.config)
