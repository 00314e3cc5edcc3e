"""Roster import: officials from a CSV or XLSX file, upserted by email, all or nothing.

The header row is `full_name,email,unit_code,position_code,roles` (roles separated by `;`).
Vietnamese headers (Họ và tên, Email, Mã đơn vị, Mã vị trí, Vai trò) are accepted too, as are
Vietnamese role names, because the file usually comes out of a ward's own spreadsheet.
"""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _

from training.extensions import db
from training.models import ROLES, OrgUnit, Position, User
from training.services import audit
from training.services.users import AccountError, generate_password, normalise_email
from training.vntext import fold, nfc

COLUMNS = ("full_name", "email", "unit_code", "position_code", "roles")
_HEADER_ALIASES = {
    "full_name": "full_name", "ho va ten": "full_name", "ho ten": "full_name", "name": "full_name",
    "email": "email", "e-mail": "email", "thu dien tu": "email",
    "unit_code": "unit_code", "ma don vi": "unit_code", "unit": "unit_code",
    "position_code": "position_code", "ma vi tri": "position_code", "ma vi tri viec lam": "position_code",
    "position": "position_code",
    "roles": "roles", "vai tro": "roles", "role": "roles",
}
_ROLE_ALIASES = {
    "learner": "learner", "hoc vien": "learner", "cong chuc": "learner",
    "trainer": "trainer", "giang vien": "trainer",
    "hr": "hr", "nhan su": "hr", "to chuc can bo": "hr",
    "admin": "admin", "quan tri": "admin", "quan tri vien": "admin",
}
REQUIRED_COLUMNS = ("full_name", "email", "unit_code")


class RosterFileError(ValueError):
    """The file as a whole cannot be read (format, encoding, header)."""


@dataclass
class RosterRow:
    line: int
    full_name: str
    email: str
    unit_code: str
    position_code: str
    roles: list[str] | None  # None: keep an existing official's roles


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class RosterReport:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=dict)
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


# --------------------------------------------------------------------------- reading
def _header_map(header: list[str]) -> dict[str, int]:
    mapping: dict[str, int] = {}
    for index, name in enumerate(header):
        key = _HEADER_ALIASES.get(fold(name or "").strip())
        if key and key not in mapping:
            mapping[key] = index
    missing = [column for column in REQUIRED_COLUMNS if column not in mapping]
    if missing:
        raise RosterFileError(
            _("Dòng tiêu đề thiếu cột: %(cols)s. Dòng tiêu đề cần có: %(header)s.",
              cols=", ".join(missing), header=",".join(COLUMNS))
        )
    return mapping


def _read_csv(data: bytes) -> list[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterFileError(
            _("Tệp không được mã hóa UTF-8. Trong Excel, hãy lưu bằng \"CSV UTF-8 (Comma delimited)\".")
        ) from exc
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for record in reader:
            rows.append((reader.line_num, record))
    except csv.Error as exc:
        raise RosterFileError(_("Tệp CSV bị lỗi ở dòng %(line)d: %(reason)s", line=reader.line_num,
                                reason=str(exc))) from exc
    return rows


def _read_xlsx(data: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise RosterFileError(_("Không đọc được tệp XLSX. Hãy kiểm tra tệp có đúng định dạng Excel (.xlsx).")) from exc
    sheet = workbook.worksheets[0]
    rows = []
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        rows.append((number, ["" if value is None else str(value) for value in values]))
    workbook.close()
    return rows


def read_roster(data: bytes, filename: str) -> RosterReport:
    """Parse and validate a roster file; nothing is written."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        raw = _read_xlsx(data)
    elif name.endswith(".csv") or name.endswith(".txt"):
        raw = _read_csv(data)
    else:
        raise RosterFileError(_("Chỉ nhận tệp .csv hoặc .xlsx."))
    raw = [(line, cells) for line, cells in raw if any(nfc(cell) for cell in cells)]
    if not raw:
        raise RosterFileError(_("Tệp trống: không có dòng tiêu đề."))
    header_line, header = raw[0]
    columns = _header_map(header)
    report = RosterReport()
    if len(raw) == 1:
        raise RosterFileError(_("Tệp chỉ có dòng tiêu đề, không có cán bộ nào."))

    units = {u.code: u for u in db.session.scalars(sa.select(OrgUnit))}
    positions = {p.code: p for p in db.session.scalars(sa.select(Position))}
    seen: dict[str, int] = {}

    def cell(cells: list[str], column: str) -> str:
        index = columns.get(column)
        return nfc(cells[index]) if index is not None and index < len(cells) else ""

    for line, cells in raw[1:]:
        problems = []
        full_name = " ".join(cell(cells, "full_name").split())
        if not full_name:
            problems.append(_("thiếu họ và tên"))
        email = cell(cells, "email")
        try:
            email = normalise_email(email)
        except AccountError:
            problems.append(_("email không hợp lệ: \"%(email)s\"", email=email) if email else _("thiếu email"))
        else:
            if email in seen:
                problems.append(_("email %(email)s trùng với dòng %(line)d", email=email, line=seen[email]))
            else:
                seen[email] = line
        unit_code = cell(cells, "unit_code").upper()
        if not unit_code:
            problems.append(_("thiếu mã đơn vị"))
        elif unit_code not in units:
            problems.append(_("không có đơn vị mã \"%(code)s\"", code=unit_code))
        position_code = cell(cells, "position_code").upper()
        if position_code and position_code not in positions:
            problems.append(_("không có vị trí việc làm mã \"%(code)s\"", code=position_code))
        roles_text = cell(cells, "roles")
        roles = None
        if roles_text:
            roles = []
            for part in roles_text.replace(",", ";").split(";"):
                if not part.strip():
                    continue
                role = _ROLE_ALIASES.get(fold(part).strip())
                if role is None:
                    problems.append(_("vai trò không hợp lệ: \"%(role)s\" (dùng: %(roles)s)", role=part.strip(),
                                      roles=", ".join(ROLES)))
                elif role not in roles:
                    roles.append(role)
        if problems:
            report.errors.append(RowError(line, "; ".join(problems)))
        else:
            report.rows.append(RosterRow(line, full_name, email, unit_code, position_code, roles))
    return report


# --------------------------------------------------------------------------- writing
def import_roster(data: bytes, filename: str, *, actor: User | None = None, dry_run: bool = False) -> RosterReport:
    """Validate the whole file, then upsert every official, or change nothing at all.

    With dry_run the report says what would be created and updated. New accounts get a
    temporary password (in report.passwords) that must be changed at first login.
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

    for row in report.rows:
        unit = units[row.unit_code]
        position = positions.get(row.position_code) if row.position_code else None
        user = existing.get(row.email)
        if user is None:
            report.created.append(row.email)
            if dry_run:
                continue
            user = User(email=row.email, unit=unit, position=position, must_change_password=True)
            user.set_name(row.full_name)
            user.set_roles(row.roles or ["learner"])
            password = generate_password()
            user.set_password(password)
            report.passwords[row.email] = password
            db.session.add(user)
            continue
        changed = (
            user.full_name != row.full_name
            or user.unit_id != unit.id
            or user.position_id != (position.id if position else None)
            or (row.roles is not None and user.roles != set(row.roles))
        )
        if not changed:
            report.unchanged.append(row.email)
            continue
        report.updated.append(row.email)
        if dry_run:
            continue
        user.set_name(row.full_name)
        user.unit = unit
        user.position = position
        if row.roles is not None:
            user.set_roles(row.roles)
    if not dry_run:
        db.session.flush()
        audit.record(actor, "roster.import", filename, created=len(report.created), updated=len(report.updated),
                     unchanged=len(report.unchanged))
        report.applied = True
    return report
