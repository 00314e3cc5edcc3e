"""Fixtures in the style of the Flask tutorial: app, client, runner, auth, and factories.

The database is SQLite (a temporary file) unless TEST_DATABASE_URL points at PostgreSQL.
The schema is created once per session; each test starts from empty tables.
"""
from __future__ import annotations

import contextvars
import os
import uuid

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient

from training import create_app
from training.config import normalise_database_url
from training.extensions import db

TEST_PASSWORD = "Mat-khau-2025"


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalise_database_url(url)
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = _database_url(tmp_path_factory)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()
    yield url
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


class RequestCycleClient(FlaskClient):
    """A test client whose every request runs as in production: in its own app context, with its own
    database session and `g`, torn down (teardown_appcontext, session removal) when it ends.

    The test body keeps its own app context for reading the database; Flask would otherwise reuse it
    for the request, and a bug that only request teardown reveals (an export streamed after its
    session was removed) would pass unseen. After each request the test's session forgets what it
    had loaded, so what it reads next is what the request committed.
    """

    def open(self, *args, **kwargs):
        context = contextvars.Context()
        response = context.run(super().open, *args, **kwargs)
        if response.is_streamed:
            # The body is produced later, as a WSGI server would read it: in the request's own
            # context, after the view's app context (and its session) has been torn down.
            response.response = _InContext(context, response.response)
        if has_app_context():
            db.session.expire_all()
        return response


class _InContext:
    """An iterable whose every step (and close) runs in a given contextvars.Context."""

    def __init__(self, context: contextvars.Context, iterable):
        self._context = context
        self._iterator = context.run(iter, iterable)
        self._iterable = iterable

    def __iter__(self):
        return self

    def __next__(self):
        return self._context.run(next, self._iterator)

    def close(self):
        close = getattr(self._iterable, "close", None)
        if close is not None:
            self._context.run(close)


def _forget_process_caches() -> None:
    """Each test empties the database, so its ids repeat: what a long-lived server process keeps per
    attempt or token (quizzes.attempts, training.services.sessions) must not outlive the test."""
    from quizzes import attempts
    from training.services import sessions

    attempts._SLOT_SNAPSHOTS.clear()
    attempts._BANK_CACHE = None
    sessions._OWNERS.clear()


@pytest.fixture
def app(database_url):
    _forget_process_caches()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "DEMO_PASSWORD": None})
    app.test_client_class = RequestCycleClient
    with app.app_context():
        yield app
        db.session.rollback()
        db.session.remove()
        with db.engine.begin() as conn:
            # questions and question_versions point at each other: break the cycle first.
            conn.execute(sa.text("UPDATE questions SET current_version_id = NULL"))
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def empty_database_url(tmp_path):
    """A brand-new, empty database (for migrations and `setup`)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield "sqlite:///" + str(tmp_path / "empty.sqlite")
        return
    base = normalise_database_url(base)
    name = f"ccs_empty_{uuid.uuid4().hex[:10]}"
    admin_engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


# --------------------------------------------------------------------------- factories
@pytest.fixture
def make_unit(app):
    from training.services.org import create_unit

    def make(code: str, name: str | None = None, unit_type: str = "ward", parent=None):
        unit = create_unit(code, name or f"Phường {code}", unit_type, parent)
        db.session.commit()
        return unit

    return make


@pytest.fixture
def make_position(app):
    from training.services.competencies import seed_core_competencies
    from training.services.org import create_position

    def make(code: str = "CV", name: str = "Chuyên viên", competencies=None):
        seed_core_competencies()
        position = create_position(code, name, "", competencies)
        db.session.commit()
        return position

    return make


@pytest.fixture
def make_user(app):
    from training.services.users import create_user

    counter = {"n": 0}

    def make(email: str | None = None, full_name: str = "Nguyễn Văn An", roles=("learner",), unit=None,
             position=None, password: str | None = TEST_PASSWORD, must_change_password: bool = False):
        counter["n"] += 1
        user = create_user(email or f"user{counter['n']}@example.vn", full_name, password=password, roles=roles,
                           unit=unit, position=position, must_change_password=must_change_password)
        db.session.commit()
        return user

    return make


@pytest.fixture
def org(make_unit, make_position):
    """A small city: HCM with two wards, a department under the first."""
    city = make_unit("HCM", "Thành phố Hồ Chí Minh", "city")
    ward_a = make_unit("HCM-COL", "Phường Cầu Ông Lãnh", "ward", city)
    ward_b = make_unit("HCM-BT", "Phường Bến Thành", "ward", city)
    dept_a = make_unit("HCM-COL-VP", "Văn phòng HĐND và UBND", "department", ward_a)
    position = make_position("CV-VP", "Chuyên viên Văn phòng")
    return {"city": city, "ward_a": ward_a, "ward_b": ward_b, "dept_a": dept_a, "position": position}


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email: str, password: str = TEST_PASSWORD, next_url: str | None = None):
        data = {"email": email, "password": password}
        if next_url is not None:
            data["next"] = next_url
        return self._client.post("/auth/login", data=data)

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


def shared_dir():
    """The steering folder `shared/` (Moodle fixtures, content facts): beside the checkout in CI,
    or where SHARED_DIR points."""
    from pathlib import Path

    candidates = [os.environ.get("SHARED_DIR", ""), str(Path(__file__).resolve().parents[1].parent / "shared"),
                  "/work/shared"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "fixtures").is_dir():
            return Path(candidate)
    raise FileNotFoundError("shared/ not found beside the checkout; set SHARED_DIR")
