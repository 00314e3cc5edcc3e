"""Login, logout, password change, and the user's own sessions and tokens."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from training.access import access
from training.admin.forms import ConfirmForm
from training.auth import bp
from training.auth.forms import ChangePasswordForm, LoginForm
from training.extensions import db, limiter
from training.main.views import safe_next
from training.models import ApiToken, UserSession
from training.services import audit, throttle
from training.services import sessions as session_service
from training.services import users as user_service
from training.services.sessions import SESSION_KEY, client_address
from training.services.users import AccountError


def _login_burst():
    return current_app.config["LOGIN_BURST_PER_ADDRESS"]


@bp.route("/login", methods=["GET", "POST"])
@access(public=True)
@limiter.limit(_login_burst, scope="login-burst", key_func=client_address, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        outcome = throttle.authenticate(form.email.data, form.password.data)
        if outcome.error == "throttled":
            db.session.commit()
            flash(throttle.wait_message(outcome.retry_after), "error")
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(outcome.retry_after)}
        if outcome.error:
            db.session.commit()  # the failure counts, and is audited
            flash(_("Email hoặc mật khẩu không đúng."), "error")
            return render_template("auth/login.html", form=form), 401
        user = outcome.user
        # A new login gets a new session on the server, and a new CSRF token (never one chosen before).
        language = session.get("lang")
        session.clear()
        if language:
            session["lang"] = language
        session[SESSION_KEY] = session_service.start_session(user, request.headers.get("User-Agent", ""))
        login_user(user)
        user.last_login_at = datetime.now(timezone.utc)
        audit.record(user, "auth.login", user.email)
        db.session.commit()
        if user.must_change_password:
            flash(_("Đây là lần đăng nhập đầu tiên. Vui lòng đặt mật khẩu mới."), "info")
            return redirect(url_for("auth.change_password"))
        return redirect(safe_next(form.next.data, url_for("main.index")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@access()
def logout():
    session_service.end_session(session.get(SESSION_KEY))
    audit.record(current_user, "auth.logout", current_user.email)
    db.session.commit()
    logout_user()
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect(url_for("main.index"))


@bp.route("/password", methods=["GET", "POST"])
@access()
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user_service.change_password(current_user, form.current.data, form.new.data, confirm=form.confirm.data,
                                         keep_session=session.get(SESSION_KEY))
        except AccountError as exc:
            db.session.rollback()
            getattr(form, exc.field or "new", form.new).errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Đã đổi mật khẩu. Các phiên đăng nhập khác và mọi mã truy cập API của bạn đã bị vô hiệu."),
                  "success")
            return redirect(url_for("main.index"))
    return render_template("auth/change_password.html", form=form), 400 if form.errors else 200


# --------------------------------------------------------------------------- my sessions and tokens
@bp.route("/security")
@access()
def security():
    """Where I am signed in and which API tokens act as me; each can be ended here."""
    current_key = session.get(SESSION_KEY)
    from training.models.user import secret_hash

    return render_template("auth/security.html", sessions=session_service.live_sessions(current_user),
                           tokens=session_service.live_tokens(current_user), form=ConfirmForm(),
                           current_hash=secret_hash(current_key) if current_key else None)


@bp.route("/security/sessions/<int:session_id>/end", methods=["POST"])
@access()
def end_session(session_id: int):
    from training.models.user import secret_hash

    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != current_user.id or not ConfirmForm().validate_on_submit():
        abort(404)
    if row.key_hash == secret_hash(session.get(SESSION_KEY) or ""):
        flash(_("Đây là phiên bạn đang dùng; hãy bấm “Đăng xuất” để kết thúc nó."), "info")
        return redirect(url_for("auth.security"))
    if row.revoked_at is None:
        row.revoked_at = datetime.now(timezone.utc)
        audit.record(current_user, "auth.session_end", current_user.email, session_id=row.id)
    db.session.commit()
    flash(_("Đã kết thúc phiên đăng nhập đó."), "success")
    return redirect(url_for("auth.security"))


@bp.route("/security/tokens/<int:token_id>/revoke", methods=["POST"])
@access()
def revoke_token(token_id: int):
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != current_user.id or not ConfirmForm().validate_on_submit():
        abort(404)
    session_service.revoke_token(row, current_user)
    db.session.commit()
    flash(_("Đã thu hồi mã truy cập “%(name)s”.", name=row.name or "—"), "success")
    return redirect(url_for("auth.security"))
