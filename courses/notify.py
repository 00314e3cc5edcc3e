"""Telling an official something: an in-app notification and, when they have an address, an e-mail
through the outbox. A notification with a `key` is sent at most once per official, whoever asks
and however often (the database's unique index decides, not a check that a race could pass)."""
from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from flask_babel import force_locale
from sqlalchemy.exc import IntegrityError

from courses.mail import queue_email
from courses.models import Notification
from training.extensions import db
from training.models import User
from training.models.types import utcnow


def _base_url(config: Mapping | None) -> str:
    from flask import current_app, has_app_context, has_request_context, request

    config = config if config is not None else (current_app.config if has_app_context() else {})
    if config.get("PUBLIC_BASE_URL"):
        return config["PUBLIC_BASE_URL"].rstrip("/")
    return request.url_root.rstrip("/") if has_request_context() else ""


def notify(user: User, title, body, link: str = "", *, key: str | None = None, email: bool = True,
           config: Mapping | None = None) -> Notification | None:
    """Notify `user` (texts are callables or lazy strings, rendered in the user's language). Returns
    the notification, or None when one with this key was already sent. Flushes; the caller commits."""
    note_row, email_row = message_rows(user, title, body, link, key=key, email=email, config=config)
    note = Notification(**note_row)
    if key is not None:
        savepoint = db.session.begin_nested()
        try:
            db.session.add(note)
            db.session.flush()
        except IntegrityError:
            savepoint.rollback()
            return None
        savepoint.commit()
    else:
        db.session.add(note)
        db.session.flush()
    if email_row is not None:
        queue_email(email_row["to_email"], email_row["subject"], email_row["body"], email_row["created_at"])
    return note


def message_rows(user: User, title, body, link: str = "", *, key: str | None = None, email: bool = True,
                 config: Mapping | None = None, now=None) -> tuple[dict, dict | None]:
    """What notifying `user` writes, as rows: the notification, and its e-mail in the outbox (None when
    there is no e-mail to send), their texts in the user's language. `notify` writes them one by one;
    a bulk writer (certificate issuing) writes them in one statement."""
    from flask import current_app

    from courses.mail import outbox_row

    now = now or utcnow()
    languages = tuple(current_app.config.get("LANGUAGES") or ("vi",))
    locale = user.locale if user.locale in languages else current_app.config.get("BABEL_DEFAULT_LOCALE", "vi")
    with force_locale(locale):
        title_text = str(title() if callable(title) else title)[:300]
        body_text = str(body() if callable(body) else body)
        greeting = str(_greeting(user.full_name))
    note = {"user_id": user.id, "title": title_text, "body": body_text, "link": link[:500], "key": key,
            "created_at": now, "read_at": None}
    if not (email and user.email and user.active):
        return note, None
    url = _base_url(config) + link if link else _base_url(config)
    return note, outbox_row(user.email, title_text, f"{greeting}\n\n{body_text}\n\n{url}\n", now)


def _greeting(name: str):
    from flask_babel import gettext as _

    return _("Kính gửi %(name)s,", name=name)


def already_notified(user_id: int, key: str) -> bool:
    return db.session.scalar(sa.select(Notification.id).where(Notification.user_id == user_id,
                                                              Notification.key == key)) is not None
