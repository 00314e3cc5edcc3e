"""Session and bearer-token authentication wiring."""
from __future__ import annotations

from flask import g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from training.extensions import db, login_manager
from training.models import User

# Endpoints a user who must change their password can still reach.
_ALLOWED_BEFORE_PASSWORD_CHANGE = {"auth.change_password", "auth.logout", "main.set_language", "static",
                                   "main.healthz"}


def init_app(app) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Vui lòng đăng nhập để tiếp tục.")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(user_id: str):
        try:
            return db.session.get(User, int(user_id))
        except (TypeError, ValueError):
            return None

    @app.before_request
    def bearer_token():
        # Request-scoped values live in `g`; start clean even when an app context outlives a
        # request (tests, jobs that serve several requests in one context).
        g.pop("api_user", None)
        g.pop("bearer_given", None)
        g.pop("_flask_babel", None)
        g.pop("_login_user", None)
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            from training.services.users import user_for_token

            g.api_user = user_for_token(header[len("Bearer "):].strip())
            g.bearer_given = True

    @app.before_request
    def force_password_change():
        if (
            current_user.is_authenticated
            and current_user.must_change_password
            and request.endpoint not in _ALLOWED_BEFORE_PASSWORD_CHANGE
            and not request.path.startswith("/api/")
        ):
            return redirect(url_for("auth.change_password"))
        return None
