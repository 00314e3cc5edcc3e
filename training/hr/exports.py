"""Exports of a filtered list of officials: CSV for Excel (UTF-8 with BOM) and XLSX.

Columns: name, e-mail, unit, position, one column per competency (the expiry date while held,
"Chưa đạt" or "Hết hạn" otherwise), and whether the official qualifies as "công chức số".
Rows are read in chunks with one aggregate query per chunk, so a city-wide export stays flat in memory.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import aliased, joinedload

from training.extensions import db
from training.hr.dashboard import qualified_ids
from training.hr.officials_filter import MISSING, competency_states, moment_of
from training.models import Competency, OrgUnit, Position, User
from training.services.qualification import VIETNAM

CHUNK = 1000
DATE_FORMAT = "DD/MM/YYYY"
MAX_TEXT_WIDTH = 60
COMPETENCY_WIDTH = 22  # long competency names wrap in the header instead of widening the column
# A cell starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Column:
    header: str
    width: float


def unit_label(unit: OrgUnit | None) -> str:
    if unit is None:
        return ""
    if unit.unit_type == "department" and unit.parent is not None:
        return f"{unit.name}, {unit.parent.name}"
    return unit.name


def _expiry_day(moment: datetime) -> date:
    return moment.astimezone(VIETNAM).date()


def export_rows(stmt, competencies: list[Competency], on: date | datetime | None = None) -> Iterator[list]:
    """Rows of plain values (str, date) for the officials selected by `stmt`, in its order."""
    moment = moment_of(on)
    lapsed, missing, yes, no = _("Hết hạn"), _("Chưa đạt"), _("Có"), _("Không")
    stmt = stmt.options(joinedload(User.unit).joinedload(OrgUnit.parent), joinedload(User.position))
    result = db.session.scalars(stmt.execution_options(yield_per=CHUNK))
    for users in result.partitions(CHUNK):
        ids = [user.id for user in users]
        states = competency_states(ids, moment)
        qualified = qualified_ids(ids, moment)
        for user in users:
            cells = []
            for competency in competencies:
                state = states[user.id].get(competency.id, MISSING)
                if state.state in ("held", "expiring"):
                    cells.append(_expiry_day(state.expires_at))
                else:
                    cells.append(lapsed if state.state == "expired" else missing)
            yield [user.full_name, user.email, unit_label(user.unit), user.position.name if user.position else "",
                   *cells, yes if user.id in qualified else no]


def export_columns(stmt, competencies: list[Competency]) -> list[Column]:
    """Headers, with widths fitted to the longest value in the selection (one aggregate query)."""
    locale = str(get_locale() or "vi")
    ids = stmt.with_only_columns(User.id).order_by(None).subquery()
    parent = aliased(OrgUnit)
    unit_length = sa.func.length(OrgUnit.name) + sa.case(
        (OrgUnit.unit_type == "department", sa.func.coalesce(sa.func.length(parent.name) + 2, 0)), else_=0)
    longest = db.session.execute(
        sa.select(sa.func.max(sa.func.length(User.full_name)), sa.func.max(sa.func.length(User.email)),
                  sa.func.max(unit_length), sa.func.max(sa.func.length(Position.name)))
        .select_from(User).join(ids, ids.c.id == User.id)
        .outerjoin(OrgUnit, OrgUnit.id == User.unit_id).outerjoin(parent, parent.id == OrgUnit.parent_id)
        .outerjoin(Position, Position.id == User.position_id)).one()

    def fitted(header: str, data_length) -> float:
        return min(MAX_TEXT_WIDTH, max(len(header), data_length or 0) + 2)

    headers = [_("Họ và tên"), _("Email"), _("Đơn vị"), _("Vị trí việc làm")]
    columns = [Column(header, fitted(header, length)) for header, length in zip(headers, longest)]
    columns += [Column(c.name(locale), COMPETENCY_WIDTH) for c in competencies]
    digital = _("Công chức số")
    columns.append(Column(digital, fitted(digital, 5)))
    return columns


def _safe_text(value):
    """Keep a spreadsheet from running a cell as a formula (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_chunks(columns: list[Column], rows: Iterator[list]) -> Iterator[bytes]:
    """CSV that Excel opens correctly: UTF-8 with a BOM, "," separated, CRLF line ends, ISO dates."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=",", lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow([column.header for column in columns])
    for count, row in enumerate(rows, start=1):
        writer.writerow([value.isoformat() if isinstance(value, date) else _safe_text(value) for value in row])
        if count % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def xlsx_bytes(columns: list[Column], rows: Iterator[list], title: str) -> bytes:
    """An XLSX workbook (write-only, so memory stays flat): bold header, panes frozen under it,
    fitted column widths, dates as real dates."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")

    def cell(value, **style):
        item = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str) and value.startswith("="):
            item.data_type = "s"  # text, not a formula
        for name, setting in style.items():
            setattr(item, name, setting)
        return item

    sheet.append([cell(column.header, font=bold, alignment=wrap) for column in columns])
    for row in rows:
        sheet.append([cell(value, number_format=DATE_FORMAT) if isinstance(value, date) else cell(value)
                      for value in row])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
