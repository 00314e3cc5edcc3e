"""Roster import: officials from a CSV or XLSX file, upserted by email, all or nothing.

The rules below are shown to the admin on the roster page too (templates/admin/roster.html).

Columns. The header row names them, in Vietnamese or English, in any order:
`Họ và tên` (full_name), `Email` (email), `Mã đơn vị` (unit_code) are required; `Mã vị trí việc làm`
(position_code) and `Vai trò` (roles) are optional. Other named columns (STT, Ghi chú ...) are
ignored and listed in the report. Title rows above the header are skipped and reported.
A row whose email exists updates that official. An optional column that is absent keeps what the
official has; an empty position cell clears the position; an empty roles cell keeps the roles
(a new account gets `learner`).

Roles. One cell; several roles are separated by `,`, `;`, `|` or a line break: `learner,hr`,
`learner|hr`, or `"learner;hr"` quoted. A `;`-separated CSV (what Excel writes on a Vietnamese
system) with an unquoted `learner;hr` splits the roles over several cells: when roles is the last
column of the header, the cells after it are joined back into the roles cell; anywhere else, data
in a column without a header is a line error. Every role must be known (the English code or the
Vietnamese name); an unknown role is a line error, never dropped.

CSV: UTF-8 with or without BOM; the separator is `,`, `;` or tab, whichever the header line uses
most. Windows-1258/ANSI and UTF-16 files are refused with the Excel setting that fixes them.
The CSV template uses `;` and UTF-8 with BOM, so Excel on a Vietnamese system opens it in columns.

XLSX: the first worksheet, its first 50 columns, read by openpyxl in read-only mode. A cell of a
column we use must hold a value as typed: a formula, a date, TRUE/FALSE, an error value or a
decimal number is a line error (whole numbers are fine in code columns).

Limits, checked before anything is decompressed: file at most 20 MB; an XLSX at most 50 MB
uncompressed in total and 1,000 parts, no part over 1 MB inflating more than 200 times; at most
200,000 rows; a cell at most 1,000 characters (a name 200); no control characters (NUL ...).
A file breaking any of these is refused as a whole with a message that says why.
"""
from __future__ import annotations

import csv
import io
import logging
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time as clock_time, timedelta

import sqlalchemy as sa
from flask_babel import format_number
from flask_babel import gettext as _

from training.extensions import db
from training.models import ROLES, OrgUnit, Position, User
from training.services import audit
from training.services.users import AccountError, generate_password, normalise_email
from training.vntext import fold, nfc

log = logging.getLogger(__name__)

COLUMNS = ("full_name", "email", "unit_code", "position_code", "roles")
REQUIRED_COLUMNS = ("full_name", "email", "unit_code")
# The headers of the template, in COLUMNS order.
VIETNAMESE_HEADERS = ("Họ và tên", "Email", "Mã đơn vị", "Mã vị trí việc làm", "Vai trò")

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 50
MAX_CELL_CHARS = 1000
MAX_NAME_CHARS = 200  # users.full_name
MAX_XLSX_UNCOMPRESSED = 50 * 1024 * 1024
MAX_XLSX_PARTS = 1000
MAX_XLSX_RATIO = 200  # a real sheet inflates 15-25 times; deflate bombs approach 1,000
XLSX_RATIO_FLOOR = 1024 * 1024  # small parts may compress well without harm
HEADER_SEARCH_ROWS = 10


def _key(text: str) -> str:
    """Header and role names compared without accents, case, punctuation or extra spaces."""
    return " ".join(re.sub(r"[_\-.:*()/]", " ", fold(text or "")).split())


_HEADER_ALIASES = {_key(name): column for name, column in {
    "full_name": "full_name", "họ và tên": "full_name", "họ tên": "full_name", "name": "full_name",
    "email": "email", "e-mail": "email", "thư điện tử": "email", "địa chỉ email": "email",
    "unit_code": "unit_code", "mã đơn vị": "unit_code", "unit": "unit_code",
    "position_code": "position_code", "mã vị trí": "position_code", "mã vị trí việc làm": "position_code",
    "position": "position_code", "mã vtvl": "position_code",
    "roles": "roles", "vai trò": "roles", "role": "roles",
}.items()}
_ROLE_ALIASES = {_key(name): role for name, role in {
    "learner": "learner", "học viên": "learner", "công chức": "learner",
    "trainer": "trainer", "giảng viên": "trainer",
    "hr": "hr", "nhân sự": "hr", "tổ chức cán bộ": "hr", "tổ chức - nhân sự": "hr",
    "cán bộ tổ chức - nhân sự": "hr",
    "admin": "admin", "quản trị": "admin", "quản trị viên": "admin", "quản trị hệ thống": "admin",
}.items()}
# What the template and the page list as accepted role names, per role.
ROLE_NAMES_VI = {"learner": "Học viên", "trainer": "Giảng viên", "hr": "Nhân sự", "admin": "Quản trị"}
_ROLE_SEPARATORS = re.compile(r"[,;|\r\n]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


class RosterFileError(ValueError):
    """The file as a whole cannot be read (format, encoding, size, header)."""


@dataclass
class RosterRow:
    line: int
    full_name: str
    email: str
    unit_code: str
    position_code: str | None  # None: the column is absent, keep an existing official's position
    roles: list[str] | None  # None: keep an existing official's roles


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class RowChange:
    """What importing one row does, for the preview."""

    line: int
    email: str
    full_name: str
    action: str  # "create" or "update"
    details: list[str]


@dataclass
class RosterReport:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    changes: list[RowChange] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=dict)
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Value:
    """An XLSX cell that holds something other than text."""

    kind: str  # formula, date, bool, number, error
    value: object


def _shorten(text: str, limit: int = 60) -> str:
    text = _CONTROL.sub("?", str(text))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _count(number: int) -> str:
    return format_number(number)


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


# --------------------------------------------------------------------------- reading CSV
def _decode_csv(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:400].count(b"\x00") > len(data[:400]) // 4:
        raise RosterFileError(_(
            "Tệp được lưu dạng Unicode (UTF-16), chưa phải UTF-8. Trong Excel, chọn Lưu thành → "
            "“CSV UTF-8 (Comma delimited) (*.csv)”, hoặc tải lên tệp .xlsx."))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise RosterFileError(_(
            "Tệp không được mã hóa UTF-8 (ký tự lạ ở dòng %(line)d; có thể tệp được lưu bằng Windows-1258 "
            "hoặc ANSI). Trong Excel, chọn Lưu thành → “CSV UTF-8 (Comma delimited) (*.csv)”, hoặc tải lên "
            "tệp .xlsx.", line=line)) from exc


def _read_csv(data: bytes) -> list[tuple[int, list]]:
    text = _decode_csv(data)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((",", ";", "\t"), key=first_line.count)
    if first_line.count(delimiter) == 0:
        delimiter = ","
    # strict: a stray quote is an error, not a row silently swallowed into one cell
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    start = 1
    try:
        for record in reader:
            if len(rows) > MAX_ROWS:
                raise RosterFileError(_("Tệp có hơn %(n)s dòng; hãy chia thành nhiều tệp.", n=_count(MAX_ROWS)))
            rows.append((start, record))
            start = reader.line_num + 1
    except csv.Error as exc:
        if "field larger" in str(exc):
            reason = _("có ô dài quá %(n)d ký tự", n=MAX_CELL_CHARS)
        elif "NUL" in str(exc):
            reason = _("có ký tự NUL")
        else:
            reason = _("dấu ngoặc kép (\") không khớp; một ô bắt đầu bằng dấu ngoặc kép phải kết thúc bằng "
                       "dấu ngoặc kép")
        raise RosterFileError(_("Tệp CSV bị lỗi ở dòng %(line)d: %(reason)s.", line=start, reason=reason)) from exc
    return rows


# --------------------------------------------------------------------------- reading XLSX
def _check_zip(data: bytes) -> None:
    """Refuse a zip that is not a workbook or inflates too much, before anything is decompressed.

    The sizes come from the zip's central directory; Python's zipfile never inflates an entry
    past its declared size (it stops, and the CRC check then fails), so checking them is enough.
    """
    not_xlsx = _("Không đọc được tệp XLSX: đây không phải tệp Excel .xlsx hợp lệ (tệp bị hỏng, bị cắt cụt hoặc chỉ "
                 "được đổi đuôi). Hãy mở tệp trong Excel và lưu lại dạng “Excel Workbook (*.xlsx)”.")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterFileError(_("Đây là tệp Excel 97-2003 (.xls) hoặc tệp Excel có đặt mật khẩu. Hãy bỏ mật khẩu "
                                "và lưu lại dạng “Excel Workbook (*.xlsx)”."))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except Exception as exc:  # zipfile raises BadZipFile, NotImplementedError, struct.error ... on a damaged file
        raise RosterFileError(not_xlsx) from exc
    if len(parts) > MAX_XLSX_PARTS:
        raise RosterFileError(_("Tệp XLSX có quá nhiều thành phần (%(n)d; tối đa %(max)d).", n=len(parts),
                                max=MAX_XLSX_PARTS))
    total = sum(part.file_size for part in parts)
    if total > MAX_XLSX_UNCOMPRESSED:
        raise RosterFileError(_(
            "Tệp XLSX khi giải nén lên tới %(size)s MB, vượt giới hạn %(max)d MB. Hãy chia danh sách thành "
            "nhiều tệp nhỏ hơn.", size=_count(round(total / 1024 / 1024)),
            max=MAX_XLSX_UNCOMPRESSED // 1024 // 1024))
    for part in parts:
        if part.file_size > XLSX_RATIO_FLOOR and part.file_size > MAX_XLSX_RATIO * max(part.compress_size, 1):
            raise RosterFileError(_(
                "Tệp XLSX có phần nén bất thường (giải nén gấp %(ratio)d lần), có thể là tệp độc hại; "
                "tệp bị từ chối.", ratio=part.file_size // max(part.compress_size, 1)))
        if part.flag_bits & 0x1:
            raise RosterFileError(_("Tệp XLSX có phần được mã hóa; hãy bỏ mật khẩu và lưu lại."))
    names = {part.filename for part in parts}
    if "[Content_Types].xml" not in names or not any(name.startswith("xl/") for name in names):
        raise RosterFileError(not_xlsx)


def _unescape_excel(text: str) -> str:
    """Excel writes control characters as _xHHHH_ (ST_Xstring); read them as the character they are."""
    return _EXCEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def _cell_value(cell) -> object:
    value = cell.value
    if value is None:
        return ""
    kind = cell.data_type
    if kind == "f":
        return _Value("formula", value)
    if kind == "e":
        return _Value("error", value)
    if isinstance(value, str):
        return _unescape_excel(value)
    if isinstance(value, bool):
        return _Value("bool", value)
    if isinstance(value, (datetime, date, clock_time, timedelta)):
        return _Value("date", value)
    if isinstance(value, (int, float)):
        return _Value("number", value)
    return _Value("error", value)


def _read_xlsx(data: bytes) -> list[tuple[int, list]]:
    _check_zip(data)
    from openpyxl import load_workbook
    from openpyxl.cell.read_only import EMPTY_CELL

    workbook = None
    rows = []
    try:
        with warnings.catch_warnings():
            # openpyxl warns about parts it drops (extensions, odd properties): not the user's concern
            warnings.simplefilter("ignore")
            # data_only=False so that a formula shows as one: its cached value may be stale or absent.
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
            if not workbook.worksheets:
                raise RosterFileError(_("Tệp XLSX không có trang tính nào. Danh sách phải nằm ở trang tính đầu "
                                        "tiên."))
            sheet = workbook.worksheets[0]
            # The declared dimensions may be wrong (rows would be dropped) or huge (a sheet of padding).
            sheet.reset_dimensions()
            for number, row in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS), start=1):
                if number > MAX_ROWS + 1:
                    raise RosterFileError(_("Trang tính có hơn %(n)s dòng (tính cả dòng trống); hãy chia thành "
                                            "nhiều tệp.", n=_count(MAX_ROWS)))
                if row and row[0] is EMPTY_CELL and all(cell is EMPTY_CELL for cell in row):
                    continue  # a row absent from the sheet, padded by openpyxl: nothing to read
                rows.append((number, [_cell_value(cell) for cell in row]))
    except RosterFileError:
        raise
    except Exception as exc:  # openpyxl raises many kinds of errors on a damaged file; none may be a 500
        log.info("roster: unreadable XLSX: %r", exc)
        raise RosterFileError(_(
            "Không đọc được tệp XLSX: nội dung bên trong bị hỏng hoặc không đúng định dạng Excel. Hãy mở tệp "
            "trong Excel và lưu lại dạng “Excel Workbook (*.xlsx)”.")) from exc
    finally:
        if workbook is not None:
            workbook.close()
    return rows


# --------------------------------------------------------------------------- header and cells
def _header_map(header: list) -> tuple[dict[str, int], list[str]]:
    """Column name → index, and the names of the columns that are not used."""
    mapping: dict[str, int] = {}
    ignored: list[str] = []
    for index, name in enumerate(header):
        if not isinstance(name, str) or not name.strip():
            continue
        column = _HEADER_ALIASES.get(_key(name))
        if column is None:
            ignored.append(_shorten(nfc(name), 40))
        elif column in mapping:
            raise RosterFileError(_("Cột “%(name)s” có hai lần trong dòng tiêu đề (cột %(a)s và %(b)s); hãy xóa "
                                    "một cột.", name=_shorten(nfc(name), 40), a=_column_letter(mapping[column]),
                                    b=_column_letter(index)))
        else:
            mapping[column] = index
    return mapping, ignored


def _missing_columns_error(header: list) -> RosterFileError:
    mapping, _ignored = _header_map(header)
    missing = [column for column in REQUIRED_COLUMNS if column not in mapping]
    return RosterFileError(
        _("Dòng tiêu đề thiếu cột: %(cols)s. Dòng tiêu đề cần có: %(header)s (hoặc tên tiếng Anh %(english)s).",
          cols=", ".join(missing), header=", ".join(VIETNAMESE_HEADERS), english=",".join(COLUMNS)))


def _find_header(raw: list[tuple[int, list]]) -> int:
    """Index in `raw` of the header row: the first of the first rows that names every required column."""
    for index, (_line, cells) in enumerate(raw[:HEADER_SEARCH_ROWS]):
        mapping, _ignored = _header_map(cells)
        if all(column in mapping for column in REQUIRED_COLUMNS):
            return index
    raise _missing_columns_error(raw[0][1])


def _text(value, label: str, *, number_ok: bool = False) -> tuple[str, str | None]:
    """The text of a cell, or a problem for the line's error message."""
    if isinstance(value, _Value):
        shown = _shorten(value.value.isoformat() if hasattr(value.value, "isoformat") else value.value, 40)
        if value.kind == "formula":
            return "", _("cột “%(col)s” chứa công thức %(f)s; hãy chép rồi dán giá trị (Dán đặc biệt → Giá trị)",
                         col=label, f=shown)
        if value.kind == "date":
            return "", _("cột “%(col)s” là ngày giờ (%(v)s), cần là chữ", col=label, v=shown)
        if value.kind == "bool":
            return "", _("cột “%(col)s” là giá trị đúng/sai (%(v)s), cần là chữ", col=label, v=shown)
        if value.kind == "number":
            number = value.value
            if number_ok and float(number).is_integer() and abs(number) < 10 ** 15:
                return str(int(number)), None
            return "", _("cột “%(col)s” là số (%(v)s), cần là chữ; hãy định dạng cột là Văn bản (Text)",
                         col=label, v=shown)
        return "", _("cột “%(col)s” có giá trị lỗi %(v)s", col=label, v=shown)
    text = nfc(value)
    if len(text) > MAX_CELL_CHARS:
        return "", _("cột “%(col)s” dài %(n)d ký tự, quá giới hạn %(max)d", col=label, n=len(text), max=MAX_CELL_CHARS)
    bad = _CONTROL.search(text)
    if bad:
        return "", _("cột “%(col)s” có ký tự điều khiển không hợp lệ (U+%(code)04X)", col=label, code=ord(bad.group()))
    return text, None


# --------------------------------------------------------------------------- validating
def _sniff_format(data: bytes, filename: str) -> str:
    name = (filename or "").lower()
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        return "xlsx"  # whatever its name says, it is a zip (or an old Excel file), not text
    if name.endswith(".xlsx"):
        return "xlsx"
    if name.endswith((".csv", ".txt")):
        return "csv"
    if name.endswith(".xls"):
        raise RosterFileError(_("Tệp .xls (Excel 97-2003) không được hỗ trợ; hãy lưu lại dạng .xlsx."))
    raise RosterFileError(_("Chỉ nhận tệp .csv hoặc .xlsx."))


def read_roster(data: bytes, filename: str) -> RosterReport:
    """Parse and validate a roster file; nothing is written.

    Raises RosterFileError when the file as a whole cannot be read; row problems are in report.errors.
    """
    if len(data) > MAX_FILE_BYTES:
        raise RosterFileError(_("Tệp quá lớn: tối đa %(n)d MB.", n=MAX_FILE_BYTES // 1024 // 1024))
    if not data.strip():
        raise RosterFileError(_("Tệp trống: không có dòng tiêu đề."))
    kind = _sniff_format(data, filename)
    raw = _read_xlsx(data) if kind == "xlsx" else _read_csv(data)
    raw = [(line, cells) for line, cells in raw
           if any(isinstance(cell, _Value) or nfc(cell) for cell in cells)]
    if not raw:
        raise RosterFileError(_("Tệp trống: không có dòng tiêu đề."))
    header_index = _find_header(raw)
    header_line, header = raw[header_index]
    columns, ignored = _header_map(header)
    report = RosterReport()
    if header_index:
        report.notices.append(_("Đã bỏ qua %(n)d dòng phía trên dòng tiêu đề (dòng %(line)d).", n=header_index,
                                line=header_line))
    if ignored:
        report.notices.append(_("Các cột không dùng (bỏ qua): %(cols)s.", cols=", ".join(ignored)))
    data_rows = raw[header_index + 1:]
    if not data_rows:
        raise RosterFileError(_("Tệp chỉ có dòng tiêu đề, không có cán bộ nào."))
    if len(data_rows) > MAX_ROWS:
        raise RosterFileError(_("Tệp có hơn %(n)s dòng; hãy chia thành nhiều tệp.", n=_count(MAX_ROWS)))

    labels = {column: _shorten(nfc(header[index]), 40) for column, index in columns.items()}
    used = set(columns.values())
    roles_last = "roles" in columns and columns["roles"] == max(used)
    units = {u.code: u for u in db.session.scalars(sa.select(OrgUnit))}
    positions = {p.code: p for p in db.session.scalars(sa.select(Position))}
    seen: dict[str, int] = {}

    for line, cells in data_rows:
        problems: list[str] = []

        def cell(column: str, number_ok: bool = False) -> str | None:
            """The cell's text; None (and a problem noted) when it cannot be used as text."""
            index = columns.get(column)
            if index is None or index >= len(cells):
                return ""
            text, problem = _text(cells[index], labels[column], number_ok=number_ok)
            if problem:
                problems.append(problem)
                return None
            return text

        # Cells in columns without a header: the rest of a split roles cell, or a line error.
        roles_extra = []
        for index, value in enumerate(cells):
            named = index < len(header) and isinstance(header[index], str) and header[index].strip()
            if index in used or named or not (isinstance(value, _Value) or nfc(value)):
                continue
            if roles_last and index > columns["roles"]:
                roles_extra.append(value)
            else:
                shown = nfc(value) if isinstance(value, str) else value.value
                problems.append(_("có dữ liệu ở cột %(col)s nhưng cột này không có tiêu đề (“%(v)s”)",
                                  col=_column_letter(index), v=_shorten(shown, 40)))

        full_name = cell("full_name")
        if full_name is not None:
            full_name = " ".join(full_name.split())
            if not full_name:
                problems.append(_("thiếu họ và tên"))
            elif len(full_name) > MAX_NAME_CHARS:
                problems.append(_("họ và tên dài %(n)d ký tự, tối đa %(max)d", n=len(full_name), max=MAX_NAME_CHARS))
        email = cell("email")
        if email is not None:
            try:
                email = normalise_email(email)
            except AccountError:
                problems.append(_("email không hợp lệ: \"%(email)s\"", email=_shorten(email)) if email
                                else _("thiếu email"))
            else:
                if email in seen:
                    problems.append(_("email %(email)s trùng với dòng %(line)d", email=email, line=seen[email]))
                else:
                    seen[email] = line
        unit_code = cell("unit_code", number_ok=True)
        if unit_code is not None:
            unit_code = unit_code.upper()
            if not unit_code:
                problems.append(_("thiếu mã đơn vị"))
            elif unit_code not in units:
                problems.append(_("không có đơn vị mã \"%(code)s\"", code=_shorten(unit_code)))
        position_code = None
        if "position_code" in columns:
            position_code = (cell("position_code", number_ok=True) or "").upper()
            if position_code and position_code not in positions:
                problems.append(_("không có vị trí việc làm mã \"%(code)s\"", code=_shorten(position_code)))
        roles_text = cell("roles") or ""
        for value in roles_extra:
            text, problem = _text(value, labels["roles"])
            if problem:
                problems.append(problem)
            roles_text += ";" + text
        roles = None
        if roles_text.strip(" ;"):
            roles = []
            for part in _ROLE_SEPARATORS.split(roles_text):
                if not part.strip():
                    continue
                role = _ROLE_ALIASES.get(_key(part))
                if role is None:
                    problems.append(_("vai trò không hợp lệ: \"%(role)s\" (dùng: %(roles)s)",
                                      role=_shorten(part.strip()), roles=", ".join(ROLES)))
                elif role not in roles:
                    roles.append(role)
        if problems:
            report.errors.append(RowError(line, "; ".join(problems)))
        else:
            report.rows.append(RosterRow(line, full_name, email, unit_code, position_code, roles))
    return report


# --------------------------------------------------------------------------- writing
def _roles_text(roles) -> str:
    return ", ".join(sorted(roles)) or "—"


def import_roster(data: bytes, filename: str, *, actor: User | None = None, dry_run: bool = False) -> RosterReport:
    """Validate the whole file, then upsert every official, or change nothing at all.

    With dry_run the report says what would be created and updated (report.changes). New accounts
    get a temporary password (in report.passwords) that must be changed at first login.
    """
    report = read_roster(data, filename)
    if not report.ok:
        return report
    units = {u.code: u for u in db.session.scalars(sa.select(OrgUnit))}
    positions = {p.code: p for p in db.session.scalars(sa.select(Position))}
    existing = {}
    emails = [row.email for row in report.rows]
    for start in range(0, len(emails), 500):
        chunk = emails[start:start + 500]
        for user in db.session.scalars(sa.select(User).where(User.email.in_(chunk))):
            existing[user.email] = user

    if actor is not None:
        for row in report.rows:
            if row.email == actor.email and row.roles is not None and "admin" not in row.roles:
                report.errors.append(RowError(row.line, _("dòng này bỏ quyền quản trị của chính bạn; hãy thêm vai "
                                                          "trò admin hoặc xóa dòng")))
        if report.errors:
            return report

    for row in report.rows:
        unit = units[row.unit_code]
        user = existing.get(row.email)
        if user is None:
            position = positions.get(row.position_code) if row.position_code else None
            roles = row.roles or ["learner"]
            report.created.append(row.email)
            report.changes.append(RowChange(row.line, row.email, row.full_name, "create", [
                _("đơn vị %(unit)s", unit=unit.code),
                _("vị trí %(position)s", position=position.code if position else "—"),
                _("vai trò %(roles)s", roles=_roles_text(roles))]))
            if dry_run:
                continue
            user = User(email=row.email, unit=unit, position=position, must_change_password=True)
            user.set_name(row.full_name)
            user.set_roles(roles)
            password = generate_password()
            user.set_password(password)
            report.passwords[row.email] = password
            db.session.add(user)
            continue
        position = user.position
        if row.position_code is not None:
            position = positions.get(row.position_code) if row.position_code else None
        details = []
        if user.full_name != row.full_name:
            details.append(_("họ tên: %(old)s → %(new)s", old=user.full_name, new=row.full_name))
        if user.unit_id != unit.id:
            details.append(_("đơn vị: %(old)s → %(new)s", old=user.unit.code if user.unit else "—", new=unit.code))
        if user.position_id != (position.id if position else None):
            details.append(_("vị trí: %(old)s → %(new)s", old=user.position.code if user.position else "—",
                             new=position.code if position else "—"))
        if row.roles is not None and user.roles != set(row.roles):
            details.append(_("vai trò: %(old)s → %(new)s", old=_roles_text(user.roles), new=_roles_text(row.roles)))
        if not details:
            report.unchanged.append(row.email)
            continue
        report.updated.append(row.email)
        report.changes.append(RowChange(row.line, row.email, row.full_name, "update", details))
        if dry_run:
            continue
        user.set_name(row.full_name)
        user.unit = unit
        user.position = position
        if row.roles is not None:
            user.set_roles(row.roles)
    if not dry_run:
        db.session.flush()
        audit.record(actor, "roster.import", _shorten(filename or "", 200), created=len(report.created),
                     updated=len(report.updated), unchanged=len(report.unchanged))
        report.applied = True
    return report


