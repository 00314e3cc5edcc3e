"""Login, logout and password change."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from training.access import access
from training.auth import bp
from training.auth.forms import ChangePasswordForm, LoginForm
from training.extensions import db
from training.main.views import safe_next
from training.services import throttle
from training.services import users as user_service
from training.services.users import AccountError


@bp.route("/login", methods=["GET", "POST"])
@access(public=True)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        user, error = throttle.authenticate(current_app.config, form.email.data, form.password.data,
                                            request.remote_addr or "unknown")
        if error == "throttled":
            flash(_("Tài khoản này (hoặc địa chỉ mạng của bạn) đã đăng nhập sai quá nhiều lần. "
                    "Vui lòng đợi 15 phút rồi thử lại, hoặc liên hệ quản trị viên."), "error")
            status = 429
        elif error:
            flash(_("Email hoặc mật khẩu không đúng."), "error")
            status = 401
        else:
            login_user(user)
            user.last_login_at = datetime.now(timezone.utc)
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
    logout_user()
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect(url_for("main.index"))


@bp.route("/password", methods=["GET", "POST"])
@access()
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user_service.change_password(current_user, form.current.data, form.new.data, confirm=form.confirm.data)
        except AccountError as exc:
            getattr(form, exc.field or "new", form.new).errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Đã đổi mật khẩu."), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/change_password.html", form=form)
