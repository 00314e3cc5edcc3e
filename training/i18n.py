"""Language and time zone: Vietnamese by default, English on request."""
from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and jobs speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    wanted = request.args.get("lang") or session.get("lang")
    if wanted in languages:
        return wanted
    user = current_user
    if user is not None and getattr(user, "is_authenticated", False) and user.locale in languages:
        return user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


DATE_FORMATS = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}
DATETIME_FORMATS = {"vi": "HH:mm dd/MM/yyyy", "en": "d MMM yyyy, HH:mm"}


def day(value) -> str:
    """A date (or the local date of a UTC datetime) as officials write it: 05/12/2026."""
    if value is None:
        return "—"
    return format_date(value, DATE_FORMATS.get(str(get_locale()), "dd/MM/yyyy"))


def moment(value) -> str:
    """A UTC datetime shown in Asia/Ho_Chi_Minh: 14:05 05/12/2026."""
    if value is None:
        return "—"
    return format_datetime(value, DATETIME_FORMATS.get(str(get_locale()), "HH:mm dd/MM/yyyy"))


def isoday(value: str) -> str:
    """`day` for an ISO 8601 string kept in JSON snapshots."""
    from datetime import datetime

    try:
        return day(datetime.fromisoformat(value))
    except (TypeError, ValueError):
        return value or "—"


def init_app(app) -> None:
    app.add_template_filter(day, "day")
    app.add_template_filter(isoday, "isoday")
    app.add_template_filter(moment, "moment")
    @app.context_processor
    def inject_locale():
        return {"current_locale": str(get_locale()), "languages": app.config["LANGUAGES"]}
