"""The competency framework: the core competencies every official is expected to hold."""
from __future__ import annotations

import sqlalchemy as sa

from training.extensions import db
from training.models import Competency

CORE_COMPETENCIES = (
    {
        "code": "digital_signature",
        "name_vi": "Chữ ký số",
        "name_en": "Digital signatures",
        "description": "Ký số văn bản điện tử, phân biệt chữ ký số với chữ ký scan, kiểm tra "
                       "hiệu lực chữ ký trên tệp PDF, xử lý khi mất thiết bị ký.",
        "validity_months": 24,
    },
    {
        "code": "e_documents",
        "name_vi": "Văn bản điện tử",
        "name_en": "Electronic documents",
        "description": "Soạn thảo đúng thể thức, đăng ký, gửi, nhận, theo dõi và lưu trữ văn bản "
                       "điện tử trên hệ thống quản lý văn bản.",
        "validity_months": 24,
    },
    {
        "code": "info_security",
        "name_vi": "An toàn thông tin",
        "name_en": "Information security",
        "description": "Mật khẩu và xác thực nhiều lớp, nhận diện lừa đảo, bảo vệ dữ liệu cá nhân, "
                       "báo cáo sự cố an toàn thông tin.",
        "validity_months": 12,
    },
    {
        "code": "online_services",
        "name_vi": "Dịch vụ công trực tuyến",
        "name_en": "Online public services",
        "description": "Hướng dẫn người dân sử dụng Cổng Dịch vụ công quốc gia và VNeID, xử lý hồ sơ "
                       "điện tử, gỡ các lỗi thường gặp.",
        "validity_months": 24,
    },
    {
        "code": "ai",
        "name_vi": "Ứng dụng trí tuệ nhân tạo an toàn trong công việc",
        "name_en": "Using AI safely at work",
        "description": "Dùng chatbot và công cụ AI có kiểm chứng, không đưa dữ liệu mật hay dữ liệu cá nhân "
                       "vào công cụ công cộng, gắn nhãn nội dung do AI tạo, nhận diện lừa đảo deepfake.",
        "validity_months": 12,
    },
)


def seed_core_competencies() -> list[Competency]:
    """Create the core competencies that are missing; never overwrite an admin's edits."""
    existing = {c.code: c for c in db.session.scalars(sa.select(Competency))}
    result = []
    for order, spec in enumerate(CORE_COMPETENCIES, start=1):
        competency = existing.get(spec["code"])
        if competency is None:
            competency = Competency(sort_order=order, is_core=True, **spec)
            db.session.add(competency)
        result.append(competency)
    db.session.flush()
    return result


def all_competencies() -> list[Competency]:
    return list(db.session.scalars(sa.select(Competency).order_by(Competency.sort_order, Competency.code)))
