"""Home page, language switch and the health check."""
from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user

from training.access import access
from training.extensions import db, limiter
from training.main import bp
from training.services.standing import competency_standing


def safe_next(target: str | None, fallback: str) -> str:
    """Follow `next` only when it is a local path on this site."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target


@bp.route("/")
@access(public=True)
def index():
    if not current_user.is_authenticated:
        return render_template("main/landing.html")
    standing = competency_standing(current_user)
    return render_template("main/home.html", standing=standing)


@bp.route("/lang/<code>", methods=["GET", "POST"])
@access(public=True)
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    return redirect(safe_next(request.values.get("next"), url_for("main.index")))


@bp.route("/healthz")
@access(public=True)
@limiter.exempt
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception:  # any failure to reach the database is "down"
        current_app.logger.warning("health check: database unreachable", exc_info=True)
        db.session.rollback()
        return jsonify({"status": "error", "database": "down"}), 503
    return jsonify({"status": "ok", "database": "ok"})
