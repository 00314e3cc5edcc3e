"""Error pages in the user's language, and JSON errors for the API."""
from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from training.extensions import db

_MESSAGES = {
    400: lambda: _("Yêu cầu không hợp lệ."),
    401: lambda: _("Bạn cần đăng nhập hoặc cung cấp mã truy cập hợp lệ."),
    403: lambda: _("Bạn không có quyền truy cập trang này."),
    404: lambda: _("Không tìm thấy trang hoặc dữ liệu bạn yêu cầu."),
    405: lambda: _("Phương thức không được hỗ trợ."),
    409: lambda: _("Yêu cầu xung đột với trạng thái hiện tại."),
    413: lambda: _("Tệp tải lên quá lớn."),
    422: lambda: _("Dữ liệu gửi lên không hợp lệ."),
    429: lambda: _("Bạn thao tác quá nhanh. Vui lòng thử lại sau ít phút."),
    500: lambda: _("Hệ thống gặp lỗi. Vui lòng thử lại sau."),
    503: lambda: _("Hệ thống đang quá tải. Vui lòng thử lại sau ít giây."),
}

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid",
          429: "rate_limited", 500: "server_error", 503: "overloaded"}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def json_error(status: int, message: str | None = None, code: str | None = None):
    message = message or _MESSAGES.get(status, _MESSAGES[500])()
    response = jsonify({"error": {"code": code or _CODES.get(status, "error"), "message": message}})
    response.status_code = status
    return response


def init_app(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        message = _("Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. Vui lòng tải lại trang và thử lại.")
        if wants_json():
            return json_error(400, message, "csrf")
        return render_template("errors/error.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        message = _MESSAGES.get(status, lambda: error.description)()
        if wants_json():
            response = json_error(status, message)
        else:
            response = app.make_response((render_template("errors/error.html", status=status, message=message),
                                          status))
        if status == 429:
            limit = getattr(error, "limit", None)
            window = getattr(getattr(limit, "limit", None), "get_expiry", lambda: 60)()
            response.headers.setdefault("Retry-After", str(int(window)))
        return response

    @app.errorhandler(Exception)
    def server_error(error):
        if isinstance(error, HTTPException):
            return http_error(error)
        app.logger.exception("Unhandled error", exc_info=error)
        db.session.rollback()
        if wants_json():
            return json_error(500)
        return render_template("errors/error.html", status=500, message=_MESSAGES[500]()), 500
