"""JSON API: tokens. Domain packages add their own endpoints under /api/v1."""
from __future__ import annotations

from flask import current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from training.access import access
from training.api import bp
from training.errors import json_error
from training.extensions import csrf, db, limiter
from training.services import throttle
from training.services.users import create_api_token

csrf.exempt(bp)


@bp.before_request
def check_auth_mode():
    """A bearer token must be valid; a browser session must send its CSRF token on writes."""
    if g.get("bearer_given"):
        if g.get("api_user") is None:
            return json_error(401, _("Mã truy cập không hợp lệ hoặc đã hết hạn."), "invalid_token")
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
@limiter.limit("60 per minute")
def create_token():
    body = json_body()
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        return json_error(422, _("Cần gửi JSON có \"email\" và \"password\"."), "invalid")
    user, error = throttle.authenticate(current_app.config, email, password, request.remote_addr or "unknown")
    if error == "throttled":
        return json_error(429, _("Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau 15 phút."), "throttled")
    if error:
        return json_error(401, _("Email hoặc mật khẩu không đúng."), "invalid_credentials")
    token, row = create_api_token(user, days=current_app.config["API_TOKEN_DAYS"])
    db.session.commit()
    return jsonify({"token": token, "expires_at": row.expires_at.isoformat()}), 201


@bp.route("/me")
@access()
def me():
    """The signed-in (or token) user's own profile and competency standing."""
    from training.services.standing import competency_standing

    user = g.get("api_user") or current_user
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
