"""Display labels for codes stored in the database, in the user's language."""
from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "learner": _l("Học viên"),
    "trainer": _l("Giảng viên"),
    "hr": _l("Cán bộ tổ chức - nhân sự"),
    "admin": _l("Quản trị hệ thống"),
}

UNIT_TYPE_LABELS = {
    "city": _l("Thành phố trực thuộc Trung ương"),
    "province": _l("Tỉnh"),
    "ward": _l("Phường"),
    "commune": _l("Xã"),
    "special_zone": _l("Đặc khu"),
    "department": _l("Phòng, ban chuyên môn"),
}

STATE_LABELS = {
    "held": _l("Đạt"),
    "expiring": _l("Sắp hết hạn"),
    "expired": _l("Đã hết hạn"),
    "missing": _l("Chưa đạt"),
}


def init_app(app) -> None:
    @app.context_processor
    def inject_labels():
        return {"ROLE_LABELS": ROLE_LABELS, "UNIT_TYPE_LABELS": UNIT_TYPE_LABELS, "STATE_LABELS": STATE_LABELS}
