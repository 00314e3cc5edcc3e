"""The roster template an admin downloads, and the codes that may be written in it.

Both files are in Vietnamese whatever the page language, since they go to a ward's staff:
- XLSX: sheet "Danh sách" with the Vietnamese headers (the importer reads the first sheet), then
  "Hướng dẫn", "Mã đơn vị" and "Mã vị trí việc làm" (drop-down lists in the first sheet use them).
- CSV: UTF-8 with BOM, `;`-separated as Excel writes and reads CSV on a Vietnamese system; the
  header row only. The codes come as a second CSV (`codes_csv`), since a CSV has one table.
Units are listed in Vietnamese alphabetical order of their names, at most MAX_UNITS of them.
"""
from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from flask_babel import force_locale
from sqlalchemy.orm import selectinload

from training.extensions import db
from training.labels import UNIT_TYPE_LABELS
from training.models import ROLES, OrgUnit, Position
from training.services.roster import MAX_ROWS, ROLE_NAMES_VI, VIETNAMESE_HEADERS

MAX_UNITS = 5000
MAX_POSITIONS = 1000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ROLE_MEANINGS = {
    "learner": "Học, làm bài kiểm tra, nhận chứng nhận",
    "trainer": "Soạn bài học và ngân hàng câu hỏi",
    "hr": "Theo dõi, giao học, xuất báo cáo trong đơn vị mình",
    "admin": "Quản trị hệ thống (đơn vị, tài khoản, cài đặt)",
}
INSTRUCTIONS = (
    "Điền mỗi cán bộ, công chức một dòng ở trang “Danh sách”; giữ nguyên dòng tiêu đề.",
    "Bắt buộc: Họ và tên, Email, Mã đơn vị. Không bắt buộc: Mã vị trí việc làm, Vai trò.",
    "Mã đơn vị và mã vị trí việc làm lấy ở hai trang “Mã đơn vị” và “Mã vị trí việc làm”.",
    "Vai trò: learner (Học viên), trainer (Giảng viên), hr (Nhân sự), admin (Quản trị). "
    "Nhiều vai trò trong một ô thì cách nhau bằng dấu phẩy, ví dụ: learner,hr. Để trống: tài khoản mới là "
    "học viên, tài khoản đã có giữ nguyên vai trò.",
    "Người đã có tài khoản (trùng email) được cập nhật họ tên, đơn vị, vị trí, vai trò.",
    "Nhập giá trị, không dùng công thức; không để ngày tháng hay số trong cột chữ.",
    "Nếu tệp có bất kỳ dòng lỗi nào thì không có thay đổi nào được ghi; trang nhập báo từng dòng lỗi và lý do.",
    f"Tối đa {MAX_ROWS:,} dòng, 20 MB.".replace(",", "."),
)


def _safe(value: str) -> str:
    """Keep a spreadsheet from running a name as a formula (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def reference_units() -> tuple[list[OrgUnit], int]:
    """The units to list (Vietnamese order of names, at most MAX_UNITS) and how many exist."""
    total = db.session.scalar(sa.select(sa.func.count(OrgUnit.id))) or 0
    units = db.session.scalars(sa.select(OrgUnit).options(selectinload(OrgUnit.parent))
                               .order_by(OrgUnit.sort_key, OrgUnit.code).limit(MAX_UNITS)).all()
    return list(units), total


def reference_positions() -> list[Position]:
    return list(db.session.scalars(sa.select(Position).order_by(Position.sort_key, Position.code)
                                   .limit(MAX_POSITIONS)))


def _unit_type(unit: OrgUnit) -> str:
    with force_locale("vi"):
        return str(UNIT_TYPE_LABELS.get(unit.unit_type, unit.unit_type))


def template_csv() -> bytes:
    """The header row, `;`-separated, UTF-8 with BOM."""
    return ("\ufeff" + ";".join(VIETNAMESE_HEADERS) + "\r\n").encode("utf-8")


def codes_csv() -> bytes:
    """Every code an admin may write in the roster: units, positions, roles (`;`, UTF-8 with BOM)."""
    units, total = reference_units()
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Danh mục", "Mã", "Tên", "Loại", "Thuộc đơn vị"])
    for unit in units:
        writer.writerow(["Đơn vị", unit.code, _safe(unit.name), _unit_type(unit),
                         _safe(unit.parent.name) if unit.parent else ""])
    if total > len(units):
        writer.writerow(["Đơn vị", "", f"… còn {total - len(units)} đơn vị nữa: xem trang Quản trị → Đơn vị", "", ""])
    for position in reference_positions():
        writer.writerow(["Vị trí việc làm", position.code, _safe(position.name), "", ""])
    for role in ROLES:
        writer.writerow(["Vai trò", role, ROLE_NAMES_VI[role], ROLE_MEANINGS[role], ""])
    return buffer.getvalue().encode("utf-8")


def template_xlsx() -> bytes:
    """The XLSX template: the list to fill, the instructions, the unit and position codes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    units, total = reference_units()
    positions = reference_positions()
    bold = Font(bold=True)
    workbook = Workbook()

    def put(sheet, row: int, column: int, value, **style):
        cell = sheet.cell(row=row, column=column, value=value)
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"  # a name, not a formula
        for name, setting in style.items():
            setattr(cell, name, setting)
        return cell

    sheet = workbook.active
    sheet.title = "Danh sách"
    for column, (header, width) in enumerate(zip(VIETNAMESE_HEADERS, (32, 34, 16, 22, 22)), start=1):
        put(sheet, 1, column, header, font=bold)
        letter = sheet.cell(row=1, column=column).column_letter
        sheet.column_dimensions[letter].width = width
        sheet.column_dimensions[letter].number_format = "@"  # codes like 001 stay text
    sheet.freeze_panes = "A2"

    guide = workbook.create_sheet("Hướng dẫn")
    guide.column_dimensions["A"].width = 18
    guide.column_dimensions["B"].width = 30
    guide.column_dimensions["C"].width = 60
    put(guide, 1, 1, "Cách điền danh sách cán bộ, công chức", font=bold)
    row = 2
    for row, text in enumerate(INSTRUCTIONS, start=2):
        put(guide, row, 1, f"{row - 1}. {text}")
    row += 2
    for column, header in enumerate(("Cột", "Tên tiếng Anh (cũng được nhận)", "Ghi chú"), start=1):
        put(guide, row, column, header, font=bold)
    notes = ("Bắt buộc", "Bắt buộc; trùng email thì cập nhật người đã có", "Bắt buộc; xem trang “Mã đơn vị”",
             "Không bắt buộc; ô trống thì bỏ vị trí", "Không bắt buộc; nhiều vai trò cách nhau bằng dấu phẩy")
    for header, english, note in zip(VIETNAMESE_HEADERS, ("full_name", "email", "unit_code", "position_code", "roles"),
                                     notes):
        row += 1
        put(guide, row, 1, header)
        put(guide, row, 2, english)
        put(guide, row, 3, note)
    row += 2
    for column, header in enumerate(("Vai trò", "Tên tiếng Việt (cũng được nhận)", "Quyền"), start=1):
        put(guide, row, column, header, font=bold)
    for role in ROLES:
        row += 1
        put(guide, row, 1, role)
        put(guide, row, 2, ROLE_NAMES_VI[role])
        put(guide, row, 3, ROLE_MEANINGS[role], alignment=Alignment(wrap_text=True))

    unit_sheet = workbook.create_sheet("Mã đơn vị")
    for column, (header, width) in enumerate(zip(("Mã đơn vị", "Tên đơn vị", "Loại", "Thuộc đơn vị"),
                                                 (18, 40, 26, 40)), start=1):
        put(unit_sheet, 1, column, header, font=bold)
        unit_sheet.column_dimensions[unit_sheet.cell(row=1, column=column).column_letter].width = width
    unit_sheet.freeze_panes = "A2"
    for row, unit in enumerate(units, start=2):
        put(unit_sheet, row, 1, unit.code)
        put(unit_sheet, row, 2, unit.name)
        put(unit_sheet, row, 3, _unit_type(unit))
        put(unit_sheet, row, 4, unit.parent.name if unit.parent else "")
    if total > len(units):
        put(unit_sheet, len(units) + 3, 1, f"Còn {total - len(units)} đơn vị nữa: xem trang Quản trị → Đơn vị.")

    position_sheet = workbook.create_sheet("Mã vị trí việc làm")
    for column, (header, width) in enumerate(zip(("Mã vị trí việc làm", "Tên vị trí việc làm"), (22, 50)), start=1):
        put(position_sheet, 1, column, header, font=bold)
        position_sheet.column_dimensions[position_sheet.cell(row=1, column=column).column_letter].width = width
    position_sheet.freeze_panes = "A2"
    for row, position in enumerate(positions, start=2):
        put(position_sheet, row, 1, position.code)
        put(position_sheet, row, 2, position.name)

    # Drop-down lists help; a warning (not a stop) lets a code typed by hand through.
    for letter, source, count in (("C", "'Mã đơn vị'", len(units) if total == len(units) else 0),
                                  ("D", "'Mã vị trí việc làm'", len(positions))):
        if count:
            validation = DataValidation(type="list", formula1=f"{source}!$A$2:$A${count + 1}", allow_blank=True,
                                        errorStyle="warning", showErrorMessage=True,
                                        errorTitle="Mã chưa có trong danh mục",
                                        error="Mã này không có trong danh mục; tệp sẽ bị báo lỗi khi nhập.")
            validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
            sheet.add_data_validation(validation)

    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
