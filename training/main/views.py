"""Home page, language switch and the health check."""
from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from training.access import access
from training.extensions import db, limiter
from training.main import bp


def safe_next(target: str | None, fallback: str) -> str:
    """Follow `next` only when it is a local path on this site.

    Control characters are refused outright: CR/LF would break the Location header, and browsers
    drop tabs and newlines from URLs, so "/<tab>/evil.example" would arrive as "//evil.example".
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    if any(unicodedata.category(char).startswith("C") for char in target):
        return fallback
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. an unbalanced "[" that urlsplit reads as an IPv6 host
        return fallback
    if parts.scheme or parts.netloc:
        return fallback
    return target


@bp.route("/")
@access(public=True)
def index():
    if not current_user.is_authenticated:
        return render_template("main/landing.html")
    from training.services.plan import learner_plan

    return render_template("main/home.html", plan=learner_plan(current_user))


@bp.route("/lang/<code>", methods=["GET", "POST"])
@access(public=True)
def set_language(code: str):
    """Switch the interface language.

    The header's switch POSTs (with its CSRF token) and saves the choice on the account, so e-mails
    and the next login speak it too. GET still works for old links and bookmarks but only changes
    this session: a GET must never change stored state (a link or an <img> could trigger it).
    """
    if code not in current_app.config["LANGUAGES"]:
        flash(_("Ngôn ngữ này chưa được hỗ trợ."), "error")
    else:
        session["lang"] = code
        if request.method == "POST" and current_user.is_authenticated and current_user.locale != code:
            current_user.locale = code
            db.session.commit()
    return redirect(safe_next(request.values.get("next"), url_for("main.index")))


@bp.route("/healthz")
@access(public=True)
@limiter.exempt
def healthz():
    """{"status", "database"} and, with REDIS_URL, "redis" ("ok"/"down") and "queue" (jobs waiting).

    Redis down does not make the app unhealthy for a load balancer: pages still work and jobs wait in
    the database until the queue is back (training.jobs.recover); monitoring reads "redis"."""
    from training.jobs import queue_status

    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception:  # any failure to reach the database is "down"
        current_app.logger.warning("health check: database unreachable", exc_info=True)
        db.session.rollback()
        return jsonify({"status": "error", "database": "down", **queue_status()}), 503
    return jsonify({"status": "ok", "database": "ok", **queue_status()})
