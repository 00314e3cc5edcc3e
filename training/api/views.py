"""JSON API: tokens. Domain packages add their own endpoints under /api/v1."""
from __future__ import annotations

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from training.access import access
from training.api import bp
from training.auth_setup import by_token
from training.errors import json_error
from training.extensions import csrf, db, limiter
from training.services import throttle
from training.services.sessions import client_address, create_api_token

csrf.exempt(bp)


@bp.before_request
def check_auth_mode():
    """A bearer token must be valid; a browser session must send its CSRF token on writes."""
    if by_token():
        if not current_user.is_authenticated:
            return json_error(401, _("Mã truy cập không hợp lệ, đã hết hạn hoặc đã bị thu hồi."), "invalid_token")
        return None
    if (request.method not in ("GET", "HEAD", "OPTIONS") and current_user.is_authenticated
            and current_app.config.get("WTF_CSRF_ENABLED", True)):
        csrf.protect()
    return None


def json_body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


@bp.route("/token", methods=["POST"])
@access(public=True)
@limiter.limit(lambda: current_app.config["LOGIN_BURST_PER_ADDRESS"], scope="login-burst",
               key_func=client_address)
def create_token():
    body = json_body()
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        return json_error(422, _("Cần gửi JSON có \"email\" và \"password\"."), "invalid")
    outcome = throttle.authenticate(email, password)
    if outcome.error == "throttled":
        db.session.commit()
        response = json_error(429, throttle.wait_message(outcome.retry_after), "throttled")
        response.headers["Retry-After"] = str(outcome.retry_after)
        return response
    if outcome.error:
        db.session.commit()  # the failure counts, and is audited
        return json_error(401, _("Email hoặc mật khẩu không đúng."), "invalid_credentials")
    user = outcome.user
    if user.must_change_password:
        db.session.commit()
        return json_error(403, _("Bạn cần đăng nhập trên trang web và đổi mật khẩu tạm thời trước khi nhận mã "
                                 "truy cập."), "password_change_required")
    name = body.get("name") if isinstance(body.get("name"), str) else ""
    token, row = create_api_token(user, name=name or _("Mã truy cập qua API"))
    db.session.commit()
    return jsonify({"token": token, "expires_at": row.expires_at.isoformat()}), 201


@bp.route("/me")
@access()
def me():
    """The signed-in (or token) user's own profile and competency standing."""
    from training.services.standing import competency_standing

    user = current_user
    return jsonify({
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "unit": user.unit.code if user.unit else None,
        "position": user.position.code if user.position else None,
        "roles": sorted(user.roles),
        "competencies": [
            {"code": item.competency.code, "required": item.required, "state": item.state,
             "expires_at": item.record.expires_at.isoformat() if item.record else None}
            for item in competency_standing(user)
        ],
    })
