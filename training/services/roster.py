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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time as clock_time, timedelta, timezone

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


@dataclass(slots=True)
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
    changes: list[RowChange] = field(default_factory=list)  # the first MAX_CHANGES_KEPT
    change_count: int = 0
    passwords: dict[str, str] = field(default_factory=dict)
    activations: int = 0  # activation links made for new accounts
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


def precheck(data: bytes, filename: str) -> None:
    """The checks of a whole file that cost nothing (size, kind, a workbook's structure), so a large file
    that is refused outright is told at once instead of after a job. Raises RosterFileError."""
    if len(data) > MAX_FILE_BYTES:
        raise RosterFileError(_("Tệp quá lớn: tối đa %(n)d MB.", n=MAX_FILE_BYTES // 1024 // 1024))
    if not data.strip():
        raise RosterFileError(_("Tệp trống: không có dòng tiêu đề."))
    if _sniff_format(data, filename) == "xlsx":
        _check_zip(data)
    else:
        _decode_csv(data[:4096].rsplit(b"\n", 1)[0] if len(data) > 4096 else data)


def read_rows(data: bytes, filename: str) -> list[tuple[int, list]]:
    """The non-blank rows of a CSV or XLSX upload as (line number, cells), within the size and row
    limits every table import shares (the roster and the population file). Raises RosterFileError."""
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
    return raw


def read_roster(data: bytes, filename: str) -> RosterReport:
    """Parse and validate a roster file; nothing is written.

    Raises RosterFileError when the file as a whole cannot be read; row problems are in report.errors.
    """
    raw = read_rows(data, filename)
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
# The preview lists this many changes; beyond it only the counts are kept (a 100,000-row file).
MAX_CHANGES_KEPT = 1000
# Rows written per statement: memory stays flat whatever the file's length.
WRITE_CHUNK = 1000


def _roles_text(roles) -> str:
    return ", ".join(sorted(roles)) or "—"


@dataclass(slots=True)
class _Existing:
    """An official already in the database, as plain values (no ORM object per row)."""

    id: int
    full_name: str
    unit_id: int | None
    position_id: int | None
    roles: set[str]


def _existing_officials(emails: list[str]) -> dict[str, _Existing]:
    from training.models import UserRole

    existing: dict[str, _Existing] = {}
    for start in range(0, len(emails), 500):
        chunk = emails[start:start + 500]
        found = {}
        for user_id, email, full_name, unit_id, position_id in db.session.execute(
                sa.select(User.id, User.email, User.full_name, User.unit_id, User.position_id)
                .where(User.email.in_(chunk))):
            found[user_id] = email
            existing[email] = _Existing(user_id, full_name, unit_id, position_id, set())
        if found:
            for user_id, role in db.session.execute(sa.select(UserRole.user_id, UserRole.role)
                                                    .where(UserRole.user_id.in_(list(found)))):
                existing[found[user_id]].roles.add(role)
    return existing


def import_roster(data: bytes, filename: str, *, actor: User | None = None, dry_run: bool = False,
                  credentials: str = "activation", on_activation=None, on_progress=None) -> RosterReport:
    """Validate the whole file, then upsert every official, or change nothing at all.

    With dry_run the report says what would be created and updated (report.changes, the first
    MAX_CHANGES_KEPT of report.change_count). New accounts get no password: with
    credentials="activation" each gets a one-time activation link (training.services.activation),
    handed to `on_activation(email, full_name, unit_code, token)` as it is made; with "password" a
    temporary password (in report.passwords, must be changed at first login; slow: one hash each).
    Rows are written in bulk, WRITE_CHUNK at a time, in the caller's transaction: 100,000 officials
    import in minutes with flat memory, and the caller's rollback undoes all of it.
    `on_progress(done, total)` reports progress.
    """
    from training.models import ActivationToken, UserRole
    from training.services.activation import activation_expiry, new_token
    from training.vntext import name_sort_key

    report = read_roster(data, filename)
    if not report.ok:
        return report
    units = {u.code: u.id for u in db.session.scalars(sa.select(OrgUnit))}
    positions = {p.code: p.id for p in db.session.scalars(sa.select(Position))}
    position_codes = {position_id: code for code, position_id in positions.items()}
    unit_codes = {unit_id: code for code, unit_id in units.items()}
    existing = _existing_officials([row.email for row in report.rows])

    if actor is not None:
        for row in report.rows:
            if row.email == actor.email and row.roles is not None and "admin" not in row.roles:
                report.errors.append(RowError(row.line, _("dòng này bỏ quyền quản trị của chính bạn; hãy thêm vai "
                                                          "trò admin hoặc xóa dòng")))
        if report.errors:
            return report

    def note(make_change) -> None:
        """Count a change; describe it (translated texts) only while the preview still lists changes."""
        report.change_count += 1
        if len(report.changes) < MAX_CHANGES_KEPT:
            report.changes.append(make_change())

    now = datetime.now(tz=timezone.utc)
    expires = activation_expiry(now)
    total = len(report.rows)
    for start in range(0, total, WRITE_CHUNK):
        new_users, updates, role_sets = [], [], {}
        for row in report.rows[start:start + WRITE_CHUNK]:
            unit_id = units[row.unit_code]
            known = existing.get(row.email)
            if known is None:
                position_id = positions.get(row.position_code) if row.position_code else None
                roles = row.roles or ["learner"]
                report.created.append(row.email)
                note(lambda: RowChange(row.line, row.email, row.full_name, "create", [
                    _("đơn vị %(unit)s", unit=row.unit_code),
                    _("vị trí %(position)s", position=row.position_code or "—"),
                    _("vai trò %(roles)s", roles=_roles_text(roles))]))
                full_name = nfc(row.full_name)
                new_users.append(({"email": row.email, "full_name": full_name, "sort_key": name_sort_key(full_name),
                                   "search_name": fold(full_name), "unit_id": unit_id, "position_id": position_id,
                                   "active": True, "must_change_password": True, "created_at": now,
                                   "password_hash": None}, roles, row))
                continue
            position_id = known.position_id
            if row.position_code is not None:
                position_id = positions.get(row.position_code) if row.position_code else None
            details = []
            if known.full_name != row.full_name:
                details.append(_("họ tên: %(old)s → %(new)s", old=known.full_name, new=row.full_name))
            if known.unit_id != unit_id:
                details.append(_("đơn vị: %(old)s → %(new)s", old=unit_codes.get(known.unit_id, "—"),
                                 new=row.unit_code))
            if known.position_id != position_id:
                details.append(_("vị trí: %(old)s → %(new)s", old=position_codes.get(known.position_id, "—"),
                                 new=position_codes.get(position_id, "—")))
            if row.roles is not None and known.roles != set(row.roles):
                details.append(_("vai trò: %(old)s → %(new)s", old=_roles_text(known.roles),
                                 new=_roles_text(row.roles)))
            if not details:
                report.unchanged.append(row.email)
                continue
            report.updated.append(row.email)
            note(lambda: RowChange(row.line, row.email, row.full_name, "update", details))
            full_name = nfc(row.full_name)
            updates.append({"id": known.id, "full_name": full_name, "sort_key": name_sort_key(full_name),
                            "search_name": fold(full_name), "unit_id": unit_id, "position_id": position_id})
            if row.roles is not None and known.roles != set(row.roles):
                role_sets[known.id] = row.roles
        if dry_run:
            continue
        if new_users:
            if credentials == "password":
                for values, _roles, row in new_users:
                    password = generate_password()
                    holder = User(email=row.email)
                    holder.set_password(password)
                    values["password_hash"] = holder.password_hash
                    report.passwords[row.email] = password
            ids = list(db.session.scalars(sa.insert(User).returning(User.id, sort_by_parameter_order=True),
                                          [values for values, _roles, _row in new_users]))
            db.session.execute(sa.insert(UserRole), [{"user_id": user_id, "role": role}
                                                     for user_id, (_v, roles, _r) in zip(ids, new_users)
                                                     for role in roles])
            if credentials == "activation":
                tokens = []
                for user_id, (values, _roles, row) in zip(ids, new_users):
                    token, token_hash = new_token()
                    tokens.append({"user_id": user_id, "token_hash": token_hash, "created_at": now,
                                   "expires_at": expires, "created_by_id": actor.id if actor else None})
                    report.activations += 1
                    if on_activation is not None:
                        on_activation(row.email, values["full_name"], row.unit_code, token)
                db.session.execute(sa.insert(ActivationToken), tokens)
        if updates:
            db.session.execute(sa.update(User), updates)
        if role_sets:
            db.session.execute(sa.delete(UserRole).where(UserRole.user_id.in_(list(role_sets))))
            db.session.execute(sa.insert(UserRole), [{"user_id": user_id, "role": role}
                                                     for user_id, roles in role_sets.items() for role in roles])
        if on_progress is not None:
            on_progress(min(start + WRITE_CHUNK, total), total)
    if not dry_run:
        db.session.expire_all()  # officials loaded before (the admin) show what was written
        audit.record(actor, "roster.import", _shorten(filename or "", 200), created=len(report.created),
                     updated=len(report.updated), unchanged=len(report.unchanged))
        report.applied = True
    return report


# --------------------------------------------------------------------------- activation links (CSV, e-mail)
def activation_csv_header() -> list[str]:
    return [_("Họ và tên"), _("Email"), _("Mã đơn vị"), _("Đường dẫn kích hoạt"), _("Dùng được đến")]


class ActivationLinks:
    """Collects the activation links of an import as it goes: CSV lines for HR to print or hand out
    (`;`, UTF-8 with BOM, as the roster template) and, with `send`, one e-mail each through the outbox.
    Holds at most `keep` links for a page to show; the CSV is produced chunk by chunk."""

    def __init__(self, base_url: str, *, send: bool = False, keep: int = 0, now: datetime | None = None):
        from training.services.activation import activation_expiry

        self.base_url = base_url
        self.send = send
        self.keep = keep
        self.expires = activation_expiry(now)
        self.expires_text = ""  # formatted on first use, in the locale of the import
        self.shown: list[tuple[str, str, str]] = []  # (full name, email, link)
        self.count = 0
        self.queued = 0
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, delimiter=";", lineterminator="\r\n")
        self._buffer.write("\ufeff")
        self._writer.writerow(activation_csv_header())

    def __call__(self, email: str, full_name: str, unit_code: str, token: str) -> None:
        from flask import current_app

        from training.i18n import moment
        from training.models.user import secret_hash
        from training.services.activation import activation_email, activation_url

        link = activation_url(token, self.base_url)
        self.count += 1
        if len(self.shown) < self.keep:
            self.shown.append((full_name, email, link))
        if not self.expires_text:
            self.expires_text = moment(self.expires)
        self._writer.writerow([full_name, email, unit_code, link, self.expires_text])
        if self.send:
            subject, body = activation_email(full_name, link, self.expires)
            # The outbox belongs to courses; the core reaches it through the app (dependencies point one way).
            current_app.extensions["outbox"]["queue_email"](email, subject, body,
                                                            key=f"activation:{secret_hash(token)[:40]}")
            self.queued += 1

    def take(self) -> bytes:
        """The CSV written since the last call, as bytes."""
        data = self._buffer.getvalue().encode("utf-8")
        self._buffer.seek(0)
        self._buffer.truncate()
        return data


# --------------------------------------------------------------------------- on the job queue
CHECK_JOB = "training.services.roster.check_job"
APPLY_JOB = "training.services.roster.apply_job"
ERRORS_SHOWN = 200
CHANGES_SHOWN = 100


def _errors_csv(report: RosterReport) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow([_("Dòng"), _("Lý do")])
    for count, error in enumerate(report.errors, start=1):
        writer.writerow([error.line, error.message])
        if count % 1000 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _changes_table(report: RosterReport) -> dict:
    rows = [[change.line, f"{change.full_name} ({change.email})",
             (_("Tạo mới") if change.action == "create" else _("Cập nhật")) + ": " + "; ".join(change.details)]
            for change in report.changes[:CHANGES_SHOWN]]
    caption = _("Những thay đổi sẽ được ghi")
    if report.change_count > CHANGES_SHOWN:
        caption += " (" + _("100 dòng đầu trong %(n)d", n=report.change_count) + ")"
    return {"caption": caption, "headers": [_("Dòng"), _("Cán bộ"), _("Thay đổi")], "rows": rows}


def _counts(report: RosterReport) -> list[str]:
    return [_("Tạo mới: %(n)d", n=len(report.created)), _("Cập nhật: %(n)d", n=len(report.updated)),
            _("Không thay đổi: %(n)d", n=len(report.unchanged))]


def check_job(job) -> dict:
    """Job: check a large roster file (nothing is written). Ends with the line errors (and a CSV of all
    of them), or the counts and the first changes with "Nhập ngay" to import this same file."""
    from training.jobs import JobError, Progress, read_input, set_download

    progress = Progress(job, aside=True)
    progress.update(0, step=_("Đang kiểm tra tệp…"), force=True)
    actor = db.session.get(User, job.user_id) if job.user_id else None
    filename = job.params.get("filename") or ""
    try:
        report = import_roster(read_input(job), filename, actor=actor, dry_run=True,
                               on_progress=lambda done, total: progress.update(done, total=total))
    except RosterFileError as exc:
        raise JobError(str(exc)) from exc
    if not report.ok:
        set_download(job, _errors_csv(report), "loi-danh-sach-can-bo.csv", "text/csv; charset=utf-8")
        return {"summary": _("Tệp có %(n)d dòng lỗi. Chưa có thay đổi nào được ghi; hãy sửa tệp và kiểm tra lại.",
                             n=len(report.errors)),
                "notes": report.notices,
                "errors": [{"line": e.line, "message": e.message} for e in report.errors[:ERRORS_SHOWN]],
                "errors_total": len(report.errors), "ok": False}
    result = {"summary": _("Tệp không có lỗi (chỉ kiểm tra, chưa ghi)."), "notes": report.notices + _counts(report),
              "table": _changes_table(report), "ok": True, "rows": len(report.rows)}
    if report.created or report.updated:
        result["action"] = {"endpoint": "admin.roster_apply_job", "values": {"job_id": job.id},
                            "label": _("Nhập ngay"), "fields": {"send_links": False},
                            "labels": {"send_links": _("Gửi đường dẫn kích hoạt qua email cho từng người mới")},
                            "hint": _("Người mới nhận đường dẫn kích hoạt để tự đặt mật khẩu; danh sách đường dẫn "
                                      "được tải về sau khi nhập.")}
    else:
        result["notes"].append(_("Tệp không có gì cần thay đổi."))
    return result


def apply_job(job) -> dict:
    """Job: import the roster file checked by job `params["source_job_id"]`, all or nothing: the officials,
    their activation links (a CSV download, and with `send_links` one e-mail each) and this job's "done"
    are committed together, so a job run twice imports once."""
    from training.jobs import FileWriter, JobError, Progress, read_file

    progress = Progress(job, aside=True)
    progress.update(0, step=_("Đang nhập danh sách…"), force=True)
    source_id = int(job.params["source_job_id"])
    data = b"".join(read_file(source_id, "input"))
    actor = db.session.get(User, job.user_id) if job.user_id else None
    links = ActivationLinks(job.params.get("base_url") or "", send=bool(job.params.get("send_links")))
    filename = job.params.get("filename") or ""
    output = FileWriter(job, "output")

    def each_chunk(done: int, total: int) -> None:
        output.write(links.take())  # the links CSV goes to the database as the officials do
        progress.update(done, total=total)

    try:
        report = import_roster(data, filename, actor=actor, on_activation=links, on_progress=each_chunk)
    except (RosterFileError, sa.exc.SQLAlchemyError) as exc:
        db.session.rollback()
        log.exception("roster import job %s failed", job.id)
        raise JobError(_("Không nhập được tệp; chưa có thay đổi nào được ghi. Hãy kiểm tra lại tệp.")) from exc
    if not report.ok:
        db.session.rollback()
        raise JobError(_("Dữ liệu đã thay đổi từ lúc kiểm tra: tệp có %(n)d dòng lỗi. Chưa có thay đổi nào được "
                         "ghi; hãy kiểm tra lại tệp.", n=len(report.errors)))
    notes = _counts(report)
    output.write(links.take())
    size = output.close()
    if links.count:
        job.download_name = "duong-dan-kich-hoat.csv"
        job.download_type = "text/csv; charset=utf-8"
        job.download_size = size
        notes.append(_("Tải danh sách đường dẫn kích hoạt để in hoặc chuyển cho từng người (chỉ bạn tải được; mỗi "
                       "đường dẫn dùng một lần)."))
    if links.queued:
        from flask import current_app

        from training.jobs import after_commit

        after_commit(current_app.extensions["outbox"]["request_send"])
        notes.append(_("Đã xếp %(n)d email kích hoạt vào hàng gửi.", n=links.queued))
    return {"summary": _("Đã nhập danh sách: %(c)d tạo mới, %(u)d cập nhật, %(n)d không đổi.",
                         c=len(report.created), u=len(report.updated), n=len(report.unchanged)),
            "notes": notes, "created": len(report.created), "updated": len(report.updated)}
