"""Units' populations: the figures with their history, and loading them from a CSV or XLSX file.

A file has a header row naming its columns, in Vietnamese or English, in any order:
`Mã đơn vị` (unit_code), `Ngày số liệu` (as_of), `Nguồn` (source) are required, and at least one of
`Dân số theo đăng ký` (registered) and `Dân số thực tế` (actual). A line adds one figure to the
unit's history; a line with the same unit, day and source as a figure already kept corrects it.
Numbers may be written 88000, 88.000, 88,000 or 88 000; days as 01/10/2025 or 2025-10-01 (or a
date cell in Excel). The file is read with the roster's reader and limits (size, rows, cells, a
workbook's structure, checked before anything is decompressed) and lands whole or not at all:
every bad line is reported with its number and reason, and then nothing is written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from training.extensions import db
from training.models import OrgUnit, User
from training.services import audit
from training.services.roster import (HEADER_SEARCH_ROWS, MAX_FILE_BYTES, MAX_ROWS, RosterFileError, _key, _shorten,
                                      _text, _Value, read_rows)
from training.staffing.models import UnitPopulation
from training.vntext import nfc

COLUMNS = ("unit_code", "registered", "actual", "as_of", "source")
REQUIRED_COLUMNS = ("unit_code", "as_of", "source")
VIETNAMESE_HEADERS = ("Mã đơn vị", "Dân số theo đăng ký", "Dân số thực tế", "Ngày số liệu", "Nguồn")
MAX_RESIDENTS = 50_000_000  # more than any province: a figure above it is a typing slip
MAX_SOURCE_CHARS = 200
EARLIEST = date(1900, 1, 1)
CHUNK = 500


class PopulationFileError(RosterFileError):
    """The file as a whole cannot be read."""


_HEADERS = {_key(name): column for name, column in {
    "unit_code": "unit_code", "mã đơn vị": "unit_code", "unit": "unit_code", "mã phường xã": "unit_code",
    "registered": "registered", "dân số theo đăng ký": "registered", "dân số đăng ký": "registered",
    "dân số thường trú": "registered", "dân số trên giấy": "registered",
    "actual": "actual", "dân số thực tế": "actual", "dân số thực": "actual",
    "as_of": "as_of", "ngày số liệu": "as_of", "ngày": "as_of", "date": "as_of", "tính đến ngày": "as_of",
    "source": "source", "nguồn": "source", "nguồn số liệu": "source",
}.items()}
_NUMBER = re.compile(r"^\d{1,3}(?:[.,  ]\d{3})+$|^\d+$")
_DAY_VN = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@dataclass
class PopulationRow:
    line: int
    unit_id: int
    unit_code: str
    registered: int | None
    actual: int | None
    as_of: date
    source: str


@dataclass
class PopulationReport:
    rows: list[PopulationRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    notices: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


# --------------------------------------------------------------------------- reading the figures
@dataclass(frozen=True)
class Figure:
    """A unit's population figure as plain values (a page of a city reads thousands of them)."""

    unit_id: int
    registered: int | None
    actual: int | None
    as_of: date
    source: str

    @property
    def residents(self) -> int | None:
        """As UnitPopulation.residents: the actual population when known, else the registered one."""
        return self.actual if self.actual is not None else self.registered


def latest_figures(unit_ids) -> sa.Subquery:
    """SQL: each unit's latest figure (by day, then the last entered that day), one row per unit of
    `unit_ids` (ids, or a select of them) that has one: unit_id, registered, actual, as_of, source and
    residents (UnitPopulation.residents)."""
    p = UnitPopulation
    ranked = sa.select(p.unit_id, p.registered, p.actual, p.as_of, p.source, p.residents.label("residents"),
                       sa.func.row_number().over(partition_by=p.unit_id, order_by=(p.as_of.desc(), p.id.desc()))
                       .label("newest")) \
        .where(p.unit_id.in_(unit_ids)).subquery()
    return sa.select(*(ranked.c[name] for name in ("unit_id", "registered", "actual", "as_of", "source",
                                                   "residents"))) \
        .where(ranked.c.newest == 1).subquery("latest_figures")


def current_populations(unit_ids) -> dict[int, Figure]:
    """Each unit's latest figure (`latest_figures`); units without one are absent.
    `unit_ids`: ids, or a select of them (a city's wards, read in one statement)."""
    if isinstance(unit_ids, sa.Select):
        chunks = [unit_ids]
    else:
        ids = sorted(set(unit_ids))
        chunks = [ids[start:start + CHUNK] for start in range(0, len(ids), CHUNK)]
    latest: dict[int, Figure] = {}
    for chunk in chunks:
        figures = latest_figures(chunk)
        for unit_id, registered, actual, as_of, source in db.session.execute(
                sa.select(figures.c.unit_id, figures.c.registered, figures.c.actual, figures.c.as_of,
                          figures.c.source)):
            latest[unit_id] = Figure(unit_id, registered, actual, as_of, source)
    return latest


def population_history(unit_id: int, limit: int = 20) -> list[UnitPopulation]:
    """A unit's figures, newest first."""
    return list(db.session.scalars(sa.select(UnitPopulation).where(UnitPopulation.unit_id == unit_id)
                                   .order_by(UnitPopulation.as_of.desc(), UnitPopulation.id.desc()).limit(limit)))


def per_thousand(count: int, residents: int | None) -> float | None:
    """`count` per 1,000 residents, None without a population."""
    if not residents:
        return None
    return count * 1000 / residents


# --------------------------------------------------------------------------- reading a file
def _header_map(header: list) -> tuple[dict[str, int], list[str]]:
    mapping: dict[str, int] = {}
    ignored: list[str] = []
    for index, name in enumerate(header):
        if not isinstance(name, str) or not name.strip():
            continue
        column = _HEADERS.get(_key(name))
        if column is None:
            ignored.append(_shorten(nfc(name), 40))
        elif column in mapping:
            raise PopulationFileError(_("Cột “%(name)s” có hai lần trong dòng tiêu đề; hãy xóa một cột.",
                                        name=_shorten(nfc(name), 40)))
        else:
            mapping[column] = index
    return mapping, ignored


def _find_header(raw: list[tuple[int, list]]) -> int:
    for index, (_line, cells) in enumerate(raw[:HEADER_SEARCH_ROWS]):
        mapping, _ignored = _header_map(cells)
        if all(column in mapping for column in REQUIRED_COLUMNS) and ("registered" in mapping or "actual" in mapping):
            return index
    raise PopulationFileError(_(
        "Không tìm thấy dòng tiêu đề. Dòng tiêu đề cần có: %(header)s (hoặc tên tiếng Anh %(english)s); "
        "có ít nhất một trong hai cột dân số.", header=", ".join(VIETNAMESE_HEADERS), english=",".join(COLUMNS)))


def parse_count(value, label: str) -> tuple[int | None, str | None]:
    """A number of residents from a cell: (number or None when empty, a problem)."""
    if isinstance(value, _Value):
        if value.kind == "number" and float(value.value).is_integer():
            number = int(value.value)
        else:
            shown = _shorten(str(value.value), 30)
            return None, _("cột “%(col)s” phải là số nguyên (đang là %(v)s)", col=label, v=shown)
    else:
        text = nfc(value).replace("\u00a0", " ")
        if not text:
            return None, None
        if not _NUMBER.match(text):
            return None, _("cột “%(col)s” phải là số người, ví dụ 88000 hoặc 88.000 (đang là “%(v)s”)",
                           col=label, v=_shorten(text, 30))
        number = int(re.sub(r"\D", "", text))
    if number < 0 or number > MAX_RESIDENTS:
        return None, _("cột “%(col)s” có số %(v)s không hợp lý", col=label, v=number)
    return number, None


def parse_day(value, label: str, today: date) -> tuple[date | None, str | None]:
    """The day a figure is counted on: dd/mm/yyyy, yyyy-mm-dd or a date cell; not in the future."""
    day = None
    if isinstance(value, _Value):
        if value.kind == "date" and isinstance(value.value, (date, datetime)):
            day = value.value.date() if isinstance(value.value, datetime) else value.value
    else:
        text = nfc(value)
        if not text:
            return None, _("thiếu ngày số liệu")
        match = _DAY_VN.match(text)
        try:
            if match:
                day = date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
            else:
                day = date.fromisoformat(text)
        except ValueError:
            day = None
    if day is None:
        shown = value.value if isinstance(value, _Value) else nfc(value)
        return None, _("cột “%(col)s” phải là ngày dạng 01/10/2025 (đang là “%(v)s”)", col=label,
                       v=_shorten(str(shown), 30))
    if day > today:
        return None, _("ngày số liệu %(day)s ở tương lai", day=day.strftime("%d/%m/%Y"))
    if day < EARLIEST:
        return None, _("ngày số liệu %(day)s quá xa", day=day.strftime("%d/%m/%Y"))
    return day, None


def read_populations(data: bytes, filename: str, root: OrgUnit | None, today: date) -> PopulationReport:
    """Parse and check a population file against the units of `root`'s subtree (None: every unit);
    nothing is written. Raises PopulationFileError when the file as a whole cannot be read."""
    try:
        raw = read_rows(data, filename)
    except RosterFileError as error:
        raise PopulationFileError(str(error)) from error
    header_index = _find_header(raw)
    header_line, header = raw[header_index]
    columns, ignored = _header_map(header)
    report = PopulationReport()
    if header_index:
        report.notices.append(_("Đã bỏ qua %(n)d dòng phía trên dòng tiêu đề (dòng %(line)d).", n=header_index,
                                line=header_line))
    if ignored:
        report.notices.append(_("Các cột không dùng (bỏ qua): %(cols)s.", cols=", ".join(ignored)))
    rows = raw[header_index + 1:]
    if not rows:
        raise PopulationFileError(_("Tệp chỉ có dòng tiêu đề, không có số liệu nào."))
    if len(rows) > MAX_ROWS:
        raise PopulationFileError(_("Tệp có quá nhiều dòng; hãy chia thành nhiều tệp."))
    labels = {column: _shorten(nfc(header[index]), 40) for column, index in columns.items()}
    codes = set()
    for _line, cells in rows:
        index = columns["unit_code"]
        if index < len(cells) and isinstance(cells[index], str):
            codes.add(nfc(cells[index]).upper())
    units = _units_by_code(codes)
    seen: dict[tuple, int] = {}
    for line, cells in rows:
        problems: list[str] = []

        def cell(column: str):
            index = columns.get(column)
            return cells[index] if index is not None and index < len(cells) else ""

        code, problem = _text(cell("unit_code"), labels["unit_code"], number_ok=True)
        code = code.upper()
        unit = None
        if problem:
            problems.append(problem)
        elif not code:
            problems.append(_("thiếu mã đơn vị"))
        else:
            unit = units.get(code)
            if unit is None or (root is not None and not unit.path.startswith(root.path)):
                problems.append(_("không có đơn vị mã “%(code)s” trong phạm vi của bạn", code=_shorten(code, 40)))
                unit = None
        registered, problem = parse_count(cell("registered"), labels.get("registered", "registered"))
        counts_readable = problem is None
        if problem:
            problems.append(problem)
        actual, problem = parse_count(cell("actual"), labels.get("actual", "actual"))
        counts_readable = counts_readable and problem is None
        if problem:
            problems.append(problem)
        if registered is None and actual is None and counts_readable:
            problems.append(_("cần ít nhất một trong hai số dân (theo đăng ký hoặc thực tế)"))
        as_of, problem = parse_day(cell("as_of"), labels["as_of"], today)
        if problem:
            problems.append(problem)
        source, problem = _text(cell("source"), labels["source"], number_ok=True)
        source = " ".join(source.split())
        if problem:
            problems.append(problem)
        elif not source:
            problems.append(_("thiếu nguồn số liệu (ví dụ: Công an phường, Thống kê)"))
        elif len(source) > MAX_SOURCE_CHARS:
            problems.append(_("nguồn số liệu dài quá %(n)d ký tự", n=MAX_SOURCE_CHARS))
        if unit is not None and as_of is not None and source:
            key = (unit.id, as_of, source.casefold())
            if key in seen:
                problems.append(_("trùng đơn vị, ngày và nguồn với dòng %(line)d", line=seen[key]))
            else:
                seen[key] = line
        if problems:
            report.errors.append((line, "; ".join(problems)))
        else:
            report.rows.append(PopulationRow(line, unit.id, unit.code, registered, actual, as_of, source))
    return report


def _units_by_code(codes: set[str]) -> dict[str, OrgUnit]:
    found: dict[str, OrgUnit] = {}
    ordered = sorted(codes)
    for start in range(0, len(ordered), CHUNK):
        for unit in db.session.scalars(sa.select(OrgUnit).where(OrgUnit.code.in_(ordered[start:start + CHUNK]))):
            found[unit.code] = unit
    return found


# --------------------------------------------------------------------------- writing
def import_populations(data: bytes, filename: str, *, actor: User | None, root: OrgUnit | None, today: date,
                       dry_run: bool = False) -> PopulationReport:
    """Check a population file and, unless `dry_run` or a line is wrong, add its figures to the units'
    history (a figure with the same unit, day and source is corrected in place). Flushes; the caller
    commits. Raises PopulationFileError for a file that cannot be read at all."""
    report = read_populations(data, filename, root, today)
    if not report.ok:
        return report
    existing: dict[tuple, UnitPopulation] = {}
    unit_ids = sorted({row.unit_id for row in report.rows})
    for start in range(0, len(unit_ids), CHUNK):
        for figure in db.session.scalars(sa.select(UnitPopulation).where(
                UnitPopulation.unit_id.in_(unit_ids[start:start + CHUNK]))):
            existing[(figure.unit_id, figure.as_of, figure.source.casefold())] = figure
    for row in report.rows:
        figure = existing.get((row.unit_id, row.as_of, row.source.casefold()))
        if figure is None:
            report.created += 1
            if not dry_run:
                db.session.add(UnitPopulation(unit_id=row.unit_id, registered=row.registered, actual=row.actual,
                                              as_of=row.as_of, source=row.source,
                                              created_by_id=actor.id if actor is not None else None))
        elif (figure.registered, figure.actual) == (row.registered, row.actual):
            report.unchanged += 1
        else:
            report.updated += 1
            if not dry_run:
                figure.registered, figure.actual = row.registered, row.actual
    if not dry_run:
        db.session.flush()
        report.applied = True
        audit.record(actor, "staffing.population.import", (filename or "")[:200], created=report.created,
                     updated=report.updated, unchanged=report.unchanged, rows=len(report.rows))
    return report


def add_population(unit: OrgUnit, *, registered: int | None, actual: int | None, as_of: date, source: str,
                   actor: User | None = None) -> UnitPopulation:
    """Add (or correct) one figure of a unit's history, as a file line would."""
    source = " ".join(nfc(source).split())
    figure = db.session.scalar(sa.select(UnitPopulation).where(
        UnitPopulation.unit_id == unit.id, UnitPopulation.as_of == as_of, UnitPopulation.source == source))
    if figure is None:
        figure = UnitPopulation(unit_id=unit.id, as_of=as_of, source=source,
                                created_by_id=actor.id if actor is not None else None)
        db.session.add(figure)
    figure.registered, figure.actual = registered, actual
    db.session.flush()
    return figure


def template_csv() -> bytes:
    """The file to fill in: UTF-8 with BOM and `;` (what Excel on a Vietnamese system opens in columns)."""
    lines = [";".join(VIETNAMESE_HEADERS), "HCM-BANCO;88000;101000;01/10/2025;Công an phường"]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")
