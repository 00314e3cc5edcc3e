"""Công Chức Số: digital-skills training and certification for civil servants."""
from __future__ import annotations

import os
from collections.abc import Mapping

from flask import Flask

__version__ = "0.1.0"

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_config(app: Flask, config) -> None:
    from training.config import CONFIGS, TestingConfig, DevelopmentConfig, env_overrides

    if config is None:
        config = os.environ.get("TRAINING_CONFIG", "development")
    if isinstance(config, str):
        if config not in CONFIGS:
            raise RuntimeError(f"Unknown config {config!r}; use one of development, testing, production")
        app.config.from_object(CONFIGS[config])
        app.config.update(env_overrides())
    elif isinstance(config, Mapping):
        app.config.from_object(TestingConfig if config.get("TESTING") else DevelopmentConfig)
        app.config.update(env_overrides())
        app.config.update(config)
    else:
        app.config.from_object(config)
        app.config.update(env_overrides())

    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "training.sqlite")
    production = not app.config.get("DEBUG") and not app.config.get("TESTING")
    if not app.config.get("SECRET_KEY") and not production:
        app.config["SECRET_KEY"] = _instance_secret(app)
    if not os.environ.get("TRAINING_CONFIG") and config is None and not _serving_with_flask_run():
        app.logger.warning("TRAINING_CONFIG is not set: running the DEVELOPMENT configuration. A real deployment "
                           "sets TRAINING_CONFIG=production (see gunicorn.conf.py).")
    if production:
        from training.config import production_problems

        problems = production_problems(app.config)
        if problems:
            raise RuntimeError("Refusing to start in production:\n- " + "\n- ".join(problems))


def _instance_secret(app: Flask) -> str:
    """A random secret made once for this instance folder (mode 0600) and reused by every process that
    shares it: a development server never signs sessions with a published key."""
    import secrets

    os.makedirs(app.instance_path, exist_ok=True)
    path = os.path.join(app.instance_path, "secret_key")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(path, encoding="ascii") as handle:
            secret = handle.read().strip()
        if len(secret) >= 32:
            return secret
        descriptor = os.open(path, os.O_WRONLY | os.O_TRUNC)
    secret = secrets.token_hex(32)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secret)
    return secret


def _serving_with_flask_run() -> bool:
    """Under the `flask` command (run, setup, …) rather than a WSGI server such as gunicorn."""
    return os.environ.get("FLASK_RUN_FROM_CLI") == "true"


def create_app(config=None) -> Flask:
    """Build the application.

    `config` is a config class name ("development", "testing", "production" or the class name),
    a config class, or a mapping of settings (which start from the testing defaults when they set
    TESTING, else from development). Environment variables (DATABASE_URL, SECRET_KEY, REDIS_URL,
    RATELIMIT_STORAGE_URI, DEMO_PASSWORD) override the class.
    """
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=os.path.join(PROJECT_ROOT, "templates"),
    )
    _load_config(app, config)

    from training.extensions import babel, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from training import i18n

    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone,
                   default_translation_directories=os.path.join(os.path.dirname(__file__), "translations"))
    i18n.init_app(app)

    from training import auth_setup, errors, labels, security, serving

    serving.init_app(app)
    security.init_app(app)
    auth_setup.init_app(app)
    errors.init_app(app)
    labels.init_app(app)

    from training import models  # noqa: F401  (register the tables)
    from training.admin import bp as admin_bp
    from training.api import bp as api_bp
    from training.auth import bp as auth_bp
    from training.hr import bp as hr_bp
    from training.main import bp as main_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(hr_bp)
    app.register_blueprint(api_bp)
    from training.activation_views import bp as activation_bp  # issue 18: activation links, job pages
    from training.jobs_views import bp as jobs_bp

    app.register_blueprint(jobs_bp)
    app.register_blueprint(activation_bp)
    from training.staffing import bp as staffing_bp  # issue 20: ward staffing

    app.register_blueprint(staffing_bp)

    # Domain packages, imported only here so that dependencies point one way.
    import courses
    import quizzes

    import certificates

    courses.init_app(app)
    quizzes.init_app(app)
    certificates.init_app(app)

    from training.cli import register_cli

    register_cli(app)
    return app
