"""Language and time zone: Vietnamese by default, English on request."""
from __future__ import annotations

from flask import current_app, g, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and jobs speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    wanted = request.args.get("lang") or session.get("lang")
    if wanted in languages:
        return wanted
    user = getattr(g, "api_user", None) or current_user
    if user is not None and getattr(user, "is_authenticated", False) and user.locale in languages:
        return user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def init_app(app) -> None:
    @app.context_processor
    def inject_locale():
        return {"current_locale": str(get_locale()), "languages": app.config["LANGUAGES"]}
