"""Who a request is: one identity per request, from a bearer token or from a server-side session.

A request that carries `Authorization: Bearer …` is that token's user for everything (role checks,
data scope, audit), whatever cookie it also carries: the session is not even read. Anything else is
the user of the browser session, which must still be live on the server (see services.sessions).
"""
from __future__ import annotations

from flask import g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from training.extensions import login_manager

# Endpoints a user who must change their password can still reach.
_ALLOWED_BEFORE_PASSWORD_CHANGE = {"auth.change_password", "auth.logout", "main.set_language", "static",
                                   "main.healthz"}


def bearer_token() -> str | None:
    """The bearer token the request carries, if any ("" for a malformed header)."""
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    return header[7:].strip()


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session, which builds its signer only when there is a cookie to check:
    API requests (bearer tokens, exam-day autosaves) carry none and need no key derivation."""

    def open_session(self, app, request):
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class() if app.secret_key else None
        return super().open_session(app, request)


def init_app(app) -> None:
    from training.services.sessions import SESSION_KEY, session_user, user_for_token

    app.session_interface = CookieSessions()

    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Vui lòng đăng nhập để tiếp tục.")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(user_id: str):
        return session_user(user_id, session.get(SESSION_KEY))

    @app.before_request
    def identify():
        # Request-scoped values live in `g`; start clean even when an app context outlives a
        # request (tests, jobs that serve several requests in one context).
        for name in ("_login_user", "_flask_babel", "auth_by_token", "csrf_token"):
            g.pop(name, None)
        token = bearer_token()
        if token is not None:
            g.auth_by_token = True
            user = user_for_token(token)
            # Flask-Login reads g._login_user first: the token's user (or nobody) is the identity.
            g._login_user = user if user is not None else login_manager.anonymous_user()
        else:
            current_user.is_authenticated  # noqa: B018 (load the session's user now, before any view work)

    @app.before_request
    def force_password_change():
        if not current_user.is_authenticated or not current_user.must_change_password:
            return None
        if request.endpoint in _ALLOWED_BEFORE_PASSWORD_CHANGE:
            return None
        if request.path.startswith("/api/"):
            from training.errors import json_error

            return json_error(403, _("Bạn cần đổi mật khẩu tạm thời trước khi dùng hệ thống."),
                              "password_change_required")
        return redirect(url_for("auth.change_password"))


def by_token() -> bool:
    """Whether this request is authenticated (or refused) by a bearer token rather than a session."""
    return bool(g.get("auth_by_token"))

