"""Demo data: Ho Chi Minh City, the ten wards of the first emulation cluster, people per role."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import sqlalchemy as sa

from training.extensions import db
from training.models import OrgUnit, Position, User
from training.services.org import create_position, create_unit, get_position_by_code, get_unit_by_code
from training.services.users import create_user, generate_password, get_user_by_email

CITY = ("HCM", "Thành phố Hồ Chí Minh", "city")
WARDS = (
    ("HCM-SAIGON", "Phường Sài Gòn"),
    ("HCM-TANDINH", "Phường Tân Định"),
    ("HCM-BENTHANH", "Phường Bến Thành"),
    ("HCM-CAUONGLANH", "Phường Cầu Ông Lãnh"),
    ("HCM-XUANHOA", "Phường Xuân Hòa"),
    ("HCM-BANCO", "Phường Bàn Cờ"),
    ("HCM-NHIEULOC", "Phường Nhiêu Lộc"),
    ("HCM-DIENHONG", "Phường Diên Hồng"),
    ("HCM-VUONLAI", "Phường Vườn Lài"),
    ("HCM-HOAHUNG", "Phường Hòa Hưng"),
)
# The commune-level apparatus after 1 July 2025: an office and specialised sections, plus the
# public administrative service centre.
DEPARTMENTS = (
    ("VP", "Văn phòng HĐND và UBND"),
    ("KT", "Phòng Kinh tế, Hạ tầng và Đô thị"),
    ("VHXH", "Phòng Văn hóa - Xã hội"),
    ("TTHCC", "Trung tâm Phục vụ hành chính công"),
)
POSITIONS = (
    ("LD-UBND", "Lãnh đạo UBND phường", "Chủ tịch, Phó Chủ tịch UBND phường."),
    ("CV-VP", "Chuyên viên tổng hợp Văn phòng", "Tham mưu tổng hợp, theo dõi văn bản đến, văn bản đi."),
    ("VT", "Văn thư - Lưu trữ", "Đăng ký, phát hành, quản lý văn bản và hồ sơ lưu trữ."),
    ("CV-TP", "Chuyên viên Tư pháp - Hộ tịch", "Hộ tịch, chứng thực, phổ biến pháp luật."),
    ("CV-KT", "Chuyên viên Kinh tế - Đô thị", "Địa chính, xây dựng, đô thị, môi trường."),
    ("CV-VHXH", "Chuyên viên Văn hóa - Xã hội", "Văn hóa, lao động, chính sách xã hội, y tế, giáo dục."),
    ("CV-HCC", "Chuyên viên tiếp nhận hồ sơ một cửa", "Tiếp nhận, hướng dẫn hồ sơ và trả kết quả."),
    ("CV-TCNS", "Chuyên viên Tổ chức - Nhân sự", "Quản lý cán bộ, công chức, đào tạo, bồi dưỡng."),
)
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Hoàng", "Phan", "Võ", "Vũ", "Đặng", "Bùi", "Đỗ",
          "Hồ", "Ngô", "Dương", "Lý", "Trương", "Đinh", "Lâm", "Mai")
MIDDLE_F = ("Thị", "Ngọc", "Thanh", "Thu", "Kim", "Mỹ", "Bảo", "Hoài", "Phương", "Minh")
MIDDLE_M = ("Văn", "Minh", "Quốc", "Đức", "Hữu", "Thanh", "Hoàng", "Công", "Tuấn", "Gia")
GIVEN_F = ("An", "Anh", "Châu", "Diễm", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hương",
           "Lan", "Linh", "Loan", "Mai", "My", "Ngân", "Nhung", "Oanh", "Phượng", "Quyên", "Thảo", "Trâm",
           "Trang", "Tuyết", "Uyên", "Vân", "Vy", "Yến")
GIVEN_M = ("Bảo", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Định", "Hải", "Hiếu", "Hòa", "Hùng", "Huy",
           "Khang", "Khoa", "Kiên", "Lâm", "Long", "Lộc", "Minh", "Nam", "Nghĩa", "Phát", "Phúc", "Quân",
           "Sơn", "Tài", "Thắng", "Thịnh", "Trí", "Tuấn")

DEMO_ACCOUNTS = (
    # email, full name, roles, unit code, position code
    ("admin@demo.example", "Trương Minh Khoa", ("admin",), "HCM", None),
    ("trainer@demo.example", "Lê Thị Thu Hà", ("trainer",), "HCM", None),
    ("hr.city@demo.example", "Phạm Quốc Bảo", ("hr",), "HCM", "CV-TCNS"),
    ("hr.ward@demo.example", "Nguyễn Thị Ngọc Hân", ("hr",), "HCM-CAUONGLANH", "CV-TCNS"),
    ("learner@demo.example", "Trần Văn Minh", ("learner",), "HCM-CAUONGLANH-VP", "CV-VP"),
)
OFFICIALS_PER_WARD = 8


@dataclass
class DemoResult:
    created_accounts: bool
    password: str | None
    accounts: list[tuple[str, str]] = field(default_factory=list)  # (email, roles)
    officials: int = 0


def random_name(rng: random.Random) -> str:
    """A realistic Vietnamese full name: family, middle and given name."""
    if rng.random() < 0.5:
        return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_F)} {rng.choice(GIVEN_F)}"
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_M)} {rng.choice(GIVEN_M)}"


def _ensure_unit(code: str, name: str, unit_type: str, parent: OrgUnit | None) -> OrgUnit:
    return get_unit_by_code(code) or create_unit(code, name, unit_type, parent)


def _ensure_position(code: str, name: str, description: str) -> Position:
    return get_position_by_code(code) or create_position(code, name, description)


def load_demo(password: str | None) -> DemoResult:
    """Create the demo city, wards, departments, positions and accounts; idempotent.

    Existing demo accounts keep their passwords: running it again changes nothing.
    """
    city = _ensure_unit(*CITY, None)
    for ward_code, ward_name in WARDS:
        ward = _ensure_unit(ward_code, ward_name, "ward", city)
        for dept_code, dept_name in DEPARTMENTS:
            _ensure_unit(f"{ward_code}-{dept_code}", dept_name, "department", ward)
    positions = {code: _ensure_position(code, name, desc) for code, name, desc in POSITIONS}

    first_time = get_user_by_email(DEMO_ACCOUNTS[0][0]) is None
    result = DemoResult(created_accounts=first_time, password=None)
    if first_time:
        password = password or generate_password()
        result.password = password
    else:
        password = None  # accounts that exist keep theirs; none is reset
    for email, name, roles, unit_code, position_code in DEMO_ACCOUNTS:
        result.accounts.append((email, ",".join(roles)))
        if get_user_by_email(email) is None:
            create_user(email, name, password=password, roles=roles, unit=get_unit_by_code(unit_code),
                        position=positions.get(position_code), must_change_password=False)

    # A few dozen officials spread over the wards, same names on every run (fixed seed).
    rng = random.Random(20250701)
    staff_positions = [code for code, _, _ in POSITIONS if code not in ("LD-UBND", "CV-TCNS")]
    count = 0
    shared_hash = None
    created = []
    for ward_index, (ward_code, _) in enumerate(WARDS):
        for n in range(OFFICIALS_PER_WARD):
            name = random_name(rng)
            dept_code = DEPARTMENTS[n % len(DEPARTMENTS)][0]
            position_code = staff_positions[(ward_index + n) % len(staff_positions)]
            email = f"canbo{ward_index + 1:02d}{n + 1:02d}@demo.example"
            count += 1
            if get_user_by_email(email) is None:
                official = create_user(email, name, password=None, roles=("learner",),
                                       unit=get_unit_by_code(f"{ward_code}-{dept_code}"),
                                       position=positions[position_code], must_change_password=False)
                if password:
                    if shared_hash is None:  # one hash for all demo officials keeps setup fast
                        official.set_password(password)
                        shared_hash = official.password_hash
                    official.password_hash = shared_hash
                created.append((ward_index, official))
    result.officials = count
    db.session.flush()
    _demo_records(created)
    from training.staffing.demo import load_demo_populations  # issue 20: the wards' populations

    load_demo_populations()
    return result


def _demo_records(created) -> None:
    """Competency records for the demo officials, with shares that differ by ward and competency,
    achieved over the last two years (some already expired), so HR's heat map tells a story."""
    from datetime import datetime, timedelta, timezone

    from training.models import CompetencyRecord
    from training.services.competencies import all_competencies

    if not created:
        return
    rng = random.Random(3321)
    now = datetime.now(timezone.utc)
    competencies = all_competencies()
    for ward_index, official in created:
        for index, competency in enumerate(competencies):
            # Wards further down the cluster list are behind; AI is the newest and least held.
            share = 0.97 - 0.045 * ward_index - (0.25 if competency.code == "ai" else 0.04 * index)
            if rng.random() > max(0.1, share):
                continue
            achieved = now - timedelta(days=rng.randint(20, 700))
            months = competency.validity_months
            expires = achieved + timedelta(days=round(months * 30.44))
            db.session.add(CompetencyRecord(user_id=official.id, competency_id=competency.id, achieved_at=achieved,
                                            expires_at=expires, score=round(rng.uniform(72, 100), 1),
                                            source="demo"))
    db.session.flush()


def demo_user_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(User.id)).where(User.email.like("%@demo.example")))
