"""What HR exports, as rows of plain values: the filtered officials, who lacks what, the gaps by position.

Every function here takes plain values (a unit id, the filters, a moment) and reads the database
itself, a chunk at a time, through whichever session is current. That is what lets the same code
run inside a streamed response after its view has returned (the request's first session is gone by
then: holding one of its objects was the DetachedInstanceError of wave 1), in an RQ job or in the
CLI. No ORM object is kept from one chunk to the next, so memory stays flat whatever the scope.

Writers: `csv_chunks` (UTF-8 with BOM, what Excel opens with its diacritics intact) and
`write_xlsx` (write-only workbook: bold header, frozen pane, fitted widths, real dates).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import IO

import sqlalchemy as sa
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import aliased

from training.extensions import db
from training.hr.gaps import position_gaps
from training.hr.officials_filter import (COUNT_CAP, MISSING, OfficialFilters, Selection, Total, competency_states,
                                          officials_rows, qualified_ids, select_officials)
from training.hr.officials_filter import count_officials as count_selection
from training.hr.overview import as_day
from training.models import Competency, OrgUnit, Position, User
from training.services.qualification import VIETNAM, required_competencies

CHUNK = 1000
DATE_FORMAT = "DD/MM/YYYY"
MAX_TEXT_WIDTH = 60
COMPETENCY_WIDTH = 22  # long competency names wrap in the header instead of widening the column
# A cell starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --------------------------------------------------------------------------- what to export
@dataclass(frozen=True)
class CompetencyColumn:
    """A competency as plain values: safe to keep after the session that read it is gone."""

    id: int
    code: str
    name: str


def competency_list(locale: str = "vi") -> list[CompetencyColumn]:
    """Every competency of the framework in its order (the columns of every export)."""
    rows = db.session.execute(sa.select(Competency.id, Competency.code, Competency.name_vi, Competency.name_en)
                              .order_by(Competency.sort_order, Competency.code))
    return [CompetencyColumn(id_, code, name_en if locale == "en" else name_vi)
            for id_, code, name_vi, name_en in rows]


@dataclass(frozen=True)
class OfficialsExport:
    """One export of officials, in plain values: it outlives the request that asked for it.

    `root_id` is the HR scope (None: every unit, for an admin); `filters` narrow it as the list pages
    do; `on` is the one day (in Vietnam) every state is evaluated on, as the pages do.
    """

    root_id: int | None
    filters: OfficialFilters = field(default_factory=OfficialFilters)
    on: date = field(default_factory=lambda: as_day(None))
    locale: str = "vi"

    def audit_details(self, kind: str) -> dict:
        return {"format": kind, "filters": self.filters.as_dict()}


def officials_statement(export: OfficialsExport) -> Selection:
    """The officials to export (the one officials filter, as the list pages use it), checked in the
    current session. Raises FilterError for a filter that cannot be applied, as the list pages do."""
    root = db.session.get(OrgUnit, export.root_id) if export.root_id is not None else None
    return select_officials(root, export.filters, export.on)


def _plain_rows(selection: Selection):
    """The officials as tuples (id, name, e-mail, unit label, position id, position name), in the list's order."""
    unit, parent = aliased(OrgUnit), aliased(OrgUnit)
    return officials_rows(selection, User.id, User.full_name, User.email, unit.name, unit.unit_type, parent.name,
                          User.position_id, Position.name) \
        .outerjoin(unit, unit.id == User.unit_id).outerjoin(parent, parent.id == unit.parent_id) \
        .outerjoin(Position, Position.id == User.position_id)


def _chunks(selection: Selection) -> Iterator[list[tuple]]:
    result = db.session.execute(_plain_rows(selection).execution_options(yield_per=CHUNK))
    for partition in result.partitions(CHUNK):
        yield [_person(row) for row in partition]


def _person(row) -> tuple:
    user_id, name, email, unit_name, unit_type, parent_name, position_id, position_name = row
    label = unit_name or ""
    if unit_type == "department" and parent_name:
        label = f"{unit_name}, {parent_name}"
    return user_id, name, email, label, position_id, position_name or ""


def export_size(export: OfficialsExport, cap: int = COUNT_CAP) -> Total:
    """How many officials the export holds, exactly up to `cap` (so a caller can choose between
    streaming it and running it as a job without counting a whole country)."""
    return count_selection(officials_statement(export), cap)


def count_officials(export: OfficialsExport, cap: int = COUNT_CAP) -> int:
    """How many officials the export holds; past `cap` the answer is `cap + 1` ("more than"), which is
    all a caller choosing between a streamed file and a job needs."""
    total = export_size(export, cap)
    return total.n if total.exact else cap + 1


# --------------------------------------------------------------------------- officials
@dataclass
class Column:
    header: str
    width: float


def export_columns(export: OfficialsExport, competencies: list[CompetencyColumn], *, fit: bool = True
                   ) -> list[Column]:
    """Headers; with `fit`, widths fitted to the longest value in the selection (one aggregate query)."""
    longest = (None, None, None, None)
    if fit:
        ids = officials_rows(officials_statement(export), User.id.label("id")).order_by(None).subquery()
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
    columns += [Column(c.name, COMPETENCY_WIDTH) for c in competencies]
    digital = _("Công chức số")
    columns.append(Column(digital, fitted(digital, 5)))
    return columns


def _expiry_day(moment: datetime) -> date:
    return moment.astimezone(VIETNAM).date()


def export_rows(export: OfficialsExport, competencies: list[CompetencyColumn]) -> Iterator[tuple]:
    """One tuple of plain values (str, date) per official, in name order: name, e-mail, unit,
    position, per competency the expiry date while held ("Hết hạn" / "Chưa đạt" otherwise), and
    whether they qualify as công chức số. Two aggregate queries per chunk of officials."""
    lapsed, missing, yes, no = _("Hết hạn"), _("Chưa đạt"), _("Có"), _("Không")
    for people in _chunks(officials_statement(export)):
        ids = [person[0] for person in people]
        states = competency_states(ids, export.on)
        qualified = qualified_ids(ids, export.on)
        for user_id, name, email, unit, _position_id, position in people:
            cells = []
            for competency in competencies:
                state = states[user_id].get(competency.id, MISSING)
                if state.state in ("held", "expiring"):
                    cells.append(_expiry_day(state.expires_at))
                else:
                    cells.append(lapsed if state.state == "expired" else missing)
            yield (name, email, unit, position, *cells, yes if user_id in qualified else no)


# --------------------------------------------------------------------------- who lacks what
@dataclass(frozen=True)
class Shortfall:
    """One official who lacks a required competency or will soon lose one."""

    name: str
    unit: str
    position: str
    missing: tuple[tuple[str, date | None], ...]  # (competency name, the day it lapsed, or None: never held)
    expiring: tuple[tuple[str, date], ...]  # (competency name, last valid day)


def _requirements(position_ids: Iterable[int | None], known: dict) -> None:
    """Fill `known` (position id or None → required competency ids) for positions not yet in it.

    Asks `required_competencies`, where the rule lives (the core set without a position), once
    per position rather than once per official.
    """
    wanted = [pid for pid in set(position_ids) if pid not in known]
    if not wanted:
        return
    positions = {p.id: p for p in db.session.scalars(
        sa.select(Position).where(Position.id.in_([pid for pid in wanted if pid is not None])))}
    for pid in wanted:
        holder = SimpleNamespace(position=positions.get(pid) if pid is not None else None)
        known[pid] = [c.id for c in required_competencies(holder)]


def shortfall_rows(export: OfficialsExport, competencies: list[CompetencyColumn]) -> Iterator[Shortfall]:
    """The officials of the export who miss a competency their position requires, or hold one that
    lapses within the expiring window (30 days), in name order; read a chunk at a time."""
    names = {c.id: c.name for c in competencies}
    required: dict[int | None, list[int]] = {}
    for people in _chunks(officials_statement(export)):
        _requirements((person[4] for person in people), required)
        states = competency_states([person[0] for person in people], export.on)
        for user_id, name, _email, unit, position_id, position in people:
            missing, expiring = [], []
            for competency_id in required[position_id]:
                state = states[user_id].get(competency_id, MISSING)
                label = names.get(competency_id, "")
                if state.state == "expiring":
                    expiring.append((label, _expiry_day(state.expires_at)))
                elif state.state != "held":
                    lapsed = _expiry_day(state.expires_at) if state.expires_at is not None else None
                    missing.append((label, lapsed))
            if missing or expiring:
                yield Shortfall(name, unit, position, tuple(missing), tuple(expiring))


# --------------------------------------------------------------------------- gaps by position
def gaps_columns(competencies: list[CompetencyColumn]) -> list[Column]:
    columns = [Column(_("Vị trí việc làm"), 40), Column(_("Số người"), 10)]
    return columns + [Column(c.name, COMPETENCY_WIDTH) for c in competencies]


def gaps_rows(root_id: int | None, competencies: list[CompetencyColumn], on: date | datetime,
              position_id: int | None = None) -> Iterator[tuple]:
    """The gaps page's table: per position, its officials and how many lack each required
    competency ("—": not required), from `training.hr.gaps.position_gaps`."""
    root = db.session.get(OrgUnit, root_id) if root_id is not None else None
    not_required = "—"
    for gap in position_gaps(root, on, position_id):
        yield (gap.position.name, gap.officials,
               *(gap.lacking.get(c.code, not_required) for c in competencies))


# --------------------------------------------------------------------------- writers
def _safe_text(value):
    """Keep a spreadsheet from running a cell as a formula (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_chunks(columns: list[Column], rows: Iterable[tuple]) -> Iterator[bytes]:
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


def write_xlsx(columns: list[Column], rows: Iterable[tuple], title: str, out: IO[bytes]) -> None:
    """An XLSX workbook into `out` (write-only, so memory stays flat): bold header, panes frozen
    under it, fitted column widths, dates as real dates, formula-like text kept as text."""
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
    try:
        for row in rows:
            sheet.append([cell(value, number_format=DATE_FORMAT) if isinstance(value, date) else cell(value)
                          for value in row])
    except BaseException:
        # Close the half-written sheet in order and drop its temporary file; left to the garbage
        # collector, openpyxl's generators fail noisily and the file stays behind.
        sheet.close()
        sheet._writer.cleanup()
        raise
    workbook.save(out)


def xlsx_bytes(columns: list[Column], rows: Iterable[tuple], title: str) -> bytes:
    output = io.BytesIO()
    write_xlsx(columns, rows, title, output)
    return output.getvalue()
