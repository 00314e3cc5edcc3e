"""The activation page: an official imported from a roster opens their one-time link, chooses a
password and is signed in (training.services.activation)."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from wtforms import PasswordField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from training.access import access
from training.extensions import db, limiter
from training.forms import BaseForm
from training.models import User
from training.services import audit
from training.services import sessions as session_service
from training.services.activation import activate, find_activation, reason_message
from training.services.sessions import SESSION_KEY, client_address
from training.services.users import AccountError

bp = Blueprint("activation", __name__)


class ActivationForm(BaseForm):
    new = PasswordField(_l("Mật khẩu mới"),
                        validators=[DataRequired(_l("Vui lòng nhập mật khẩu mới.")),
                                    Length(min=10, message=_l("Mật khẩu phải có ít nhất 10 ký tự."))],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Nhập lại mật khẩu mới"),
                            validators=[DataRequired(_l("Vui lòng nhập lại mật khẩu mới.")),
                                        EqualTo("new", _l("Hai lần nhập mật khẩu mới không khớp."))],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Đặt mật khẩu và đăng nhập"))


def _burst():
    return current_app.config["LOGIN_BURST_PER_ADDRESS"]


@bp.route("/activate/<token>", methods=["GET", "POST"])
@access(public=True)
@limiter.limit(_burst, scope="activation-burst", key_func=client_address, methods=["POST"])
def activate_account(token: str):
    row, reason = find_activation(token)
    if row is None:
        return render_template("auth/activate.html", form=None, problem=reason_message(reason), user=None), \
            404 if reason == "unknown" else 410
    user = db.session.get(User, row.user_id)
    form = ActivationForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = activate(token, form.new.data, form.confirm.data)
        except AccountError as exc:
            db.session.rollback()
            if exc.field == "token":
                return render_template("auth/activate.html", form=None, problem=str(exc), user=None), 410
            getattr(form, exc.field or "new", form.new).errors.append(str(exc))
            status = 400
        else:
            # Signed in as after a login: a new server-side session, a fresh CSRF token.
            if current_user.is_authenticated:
                logout_user()
            language = session.get("lang")
            session.clear()
            if language:
                session["lang"] = language
            session[SESSION_KEY] = session_service.start_session(user, request.headers.get("User-Agent", ""))
            login_user(user)
            user.last_login_at = datetime.now(timezone.utc)
            audit.record(user, "auth.login", user.email, via="activation")
            db.session.commit()
            flash(_("Đã đặt mật khẩu. Chào mừng bạn đến với Công Chức Số."), "success")
            return redirect(url_for("main.index"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/activate.html", form=form, problem=None, user=user), status
