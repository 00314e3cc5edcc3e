"""Printable PDF report of a unit, as a Vietnamese administrative report is laid out, drawn with ReportLab.

National motto header, totals, the per-unit table and heat map, then the list of who lacks what
(name, unit, position, missing competencies, those about to lapse) and the signature block: place
and date line, "NGƯỜI LẬP BIỂU" and "THỦ TRƯỞNG ĐƠN VỊ".

`unit_report_data` gathers the figures of the overview (training.hr.overview) and a lazy reader of the list;
`render_unit_report` draws them and knows nothing about requests. The list is read from the database
a chunk at a time while the document is being laid out, one page of rows in memory at a time.
ReportLab keeps each finished page until it saves (about 1 KB per official listed), so the list
stops at LIST_LIMIT officials with a line saying where the whole list is (the Excel export of the
same scope): a report to be signed stays readable and its size bounded whatever the scope. A scope with
more than TABLE_ROWS_INLINE units below it is drawn by a job (training.hr.export_views).
Vietnamese text needs a TrueType font with its
diacritics: the font directory comes from REPORT_FONT_DIR, by default the Noto fonts the
certificates use (Helvetica, without diacritics, only when none is found).
"""
from __future__ import annotations

import glob
import hashlib
import io
import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO
from xml.sax.saxutils import escape

from flask import current_app
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (Flowable, KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table,
                                TableStyle)

from training import PROJECT_ROOT
from training.hr import overview
from training.hr.exports import OfficialsExport, Shortfall, competency_list, shortfall_rows
from training.models import OrgUnit

# At most this many officials in the list of who lacks what; the rest are in the Excel export.
LIST_LIMIT = 1000
# Above this many units below the scope, the report is made by a job (its tables alone are pages long).
TABLE_ROWS_INLINE = 200
# Sequential scale, light to dark; the last two steps carry white text (contrast above 4.5:1).
HEAT_STEPS = ("#f1f8e9", "#c5e1a5", "#8bc34a", "#33691e", "#1b3d0f")
GRID = colors.HexColor("#9e9e9e")
HEADER_BACKGROUND = colors.HexColor("#e8eaf6")
PAGE = landscape(A4)
MARGIN = 12 * mm
# Number, name, unit, position, missing, expiring: 273 mm, the width of landscape A4 inside the margins.
SHORTFALL_WIDTHS = [10 * mm, 45 * mm, 50 * mm, 45 * mm, 73 * mm, 50 * mm]
# Administrative words in front of a place name; Decree 30/2020 dates a document with the place alone
# ("Cầu Ông Lãnh, ngày ..."), except where the name is a number ("Phường 5").
_PLACE_PREFIX = re.compile(r"^(phường|xã|thị trấn|đặc khu|thành phố|tỉnh|tp\.)\s+(?=\D)", re.IGNORECASE)


@dataclass
class ReportData:
    unit: OrgUnit | None  # None: every unit (an admin's national report)
    on: date
    competencies: list  # competency objects: .code, .name_vi
    total: object       # overview UnitRow for the whole unit
    rows: list          # overview UnitRows, one per unit below
    heatmap: object     # overview Heatmap
    shortfalls: Callable[[], Iterable[Shortfall]]  # read while drawing, a chunk at a time
    prepared_by: str = ""
    listed: int = 0     # officials drawn in the list, known once rendered
    on_page: Callable[[int], None] | None = None  # told each page number as it is drawn (a job's progress)

    @property
    def unit_name(self) -> str:
        return self.unit.name if self.unit is not None else _("Tất cả đơn vị")


def unit_report_data(unit: OrgUnit | None, on: date, *, prepared_by: str = "", locale: str = "vi") -> ReportData:
    """Everything the report shows: the overview's figures and a reader of who lacks what."""
    result = overview.summary(unit, on)
    rows, total = result.rows, result.total
    competencies = overview.competency_columns()
    export = OfficialsExport(root_id=unit.id if unit is not None else None, on=on, locale=locale)
    names = competency_list(locale)
    return ReportData(unit=unit, on=on, competencies=competencies, total=total, rows=rows,
                      heatmap=overview.heatmap_from_rows(rows, competencies),
                      shortfalls=lambda: shortfall_rows(export, names), prepared_by=prepared_by)


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    italic: str


def report_fonts(font_dir: str | None) -> Fonts:
    """Register the TrueType fonts found in `font_dir` (regular, bold, italic); Helvetica if there are none."""
    files = sorted(glob.glob(os.path.join(font_dir, "*.ttf"))) if font_dir else []
    if not files:
        return Fonts("Helvetica", "Helvetica-Bold", "Helvetica-Oblique")

    def named(path: str, *words: str, exclude: tuple[str, ...] = ()) -> bool:
        base = os.path.basename(path).lower()
        return all(word in base for word in words) and not any(word in base for word in exclude)

    upright = [path for path in files if not named(path, "italic")] or files
    regular = next((p for p in upright if named(p, "regular")), upright[0])
    bold = next((p for p in upright if named(p, "bold")), regular)
    italic = next((p for p in files if named(p, "italic", exclude=("bold",))), regular)
    names = []
    for path in (regular, bold, italic):
        name = "Report-" + hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:10]
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, path))
        names.append(name)
    return Fonts(*names)


def configured_font_dir() -> str:
    return current_app.config.get("REPORT_FONT_DIR") or os.path.join(PROJECT_ROOT, "certificates", "fonts")


def share_text(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)} %" if whole else "—"


def heat_colour(share: float) -> tuple[colors.Color, colors.Color]:
    """Background and text colour for a share between 0 and 1."""
    step = min(len(HEAT_STEPS) - 1, int(share * len(HEAT_STEPS)))
    return colors.HexColor(HEAT_STEPS[step]), (colors.white if step >= 3 else colors.black)


def place_name(unit: OrgUnit | None) -> str:
    """The place a report is dated at: the ward or commune (a department's parent), without its
    administrative word; dots to fill in by hand when there is none."""
    while unit is not None and unit.unit_type == "department" and unit.parent is not None:
        unit = unit.parent
    if unit is None:
        return "…………"
    return _PLACE_PREFIX.sub("", unit.name).strip() or unit.name


def date_line(place: str, day: date) -> str:
    """"Cầu Ông Lãnh, ngày 05 tháng 6 năm 2026": a day below 10 and the months 1 and 2 take a
    leading zero (Decree 30/2020/NĐ-CP, Appendix I)."""
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return _("%(place)s, ngày %(day)s tháng %(month)s năm %(year)d", place=place, day=f"{day.day:02d}",
             month=month, year=day.year)


class _LazyStory(list):
    """A story that takes its flowables from an iterator as ReportLab consumes it.

    `BaseDocTemplate.build` looks at the head of the list (and asks its length each turn), and further
    only for flowables marked keepWithNext (none here), so topping it up one item at a time keeps one
    page of the long list in memory instead of the whole list.
    """

    AHEAD = 1  # one flowable at a time: a generator resumes only once what it gave has been laid out

    def __init__(self, flowables: Iterable[Flowable]):
        super().__init__()
        self._source = iter(flowables)
        self._top_up()

    def _top_up(self) -> None:
        while self._source is not None and list.__len__(self) < self.AHEAD:
            item = next(self._source, None)
            if item is None:
                self._source = None
            else:
                self.append(item)

    def __len__(self) -> int:
        self._top_up()
        return list.__len__(self)


def report_styles(fonts) -> dict[str, ParagraphStyle]:
    """The paragraph styles of every signed report (the unit report, the staffing review)."""
    return {
        "title": ParagraphStyle("title", fontName=fonts.bold, fontSize=15, leading=19, spaceBefore=6, spaceAfter=4,
                                alignment=TA_CENTER),
        "subtitle": ParagraphStyle("subtitle", fontName=fonts.italic, fontSize=11, leading=14, spaceAfter=6,
                                   alignment=TA_CENTER),
        "h2": ParagraphStyle("h2", fontName=fonts.bold, fontSize=12, leading=15, spaceBefore=8, spaceAfter=4),
        "body": ParagraphStyle("body", fontName=fonts.regular, fontSize=10, leading=13),
        "cell": ParagraphStyle("cell", fontName=fonts.regular, fontSize=8, leading=10),
        "head": ParagraphStyle("head", fontName=fonts.bold, fontSize=8, leading=10),
        "centre": ParagraphStyle("centre", fontName=fonts.regular, fontSize=11, leading=14, alignment=TA_CENTER),
        "centre-bold": ParagraphStyle("centre-bold", fontName=fonts.bold, fontSize=11, leading=14,
                                      alignment=TA_CENTER),
        "centre-italic": ParagraphStyle("centre-italic", fontName=fonts.italic, fontSize=10, leading=13,
                                        alignment=TA_CENTER),
    }


def render_unit_report(data: ReportData, font_dir: str | None, out: IO[bytes] | None = None) -> bytes | None:
    """Draw the report (landscape A4) into `out`; without `out`, return its bytes."""
    fonts = report_fonts(font_dir)
    styles = report_styles(fonts)

    def p(text, style="body"):
        return Paragraph(escape(str(text)), styles[style])

    total = data.total
    story: list[Flowable] = [
        _letterhead(data, p),
        p(_("BÁO CÁO NĂNG LỰC SỐ CỦA CÁN BỘ, CÔNG CHỨC"), "title"),
        p(_("Đơn vị: %(name)s", name=data.unit_name) + (f" ({data.unit.code})" if data.unit is not None else ""),
          "subtitle"),
        p(_("Số liệu tính đến ngày %(day)s", day=data.on.strftime("%d/%m/%Y")), "subtitle"),
        p(_("Tổng hợp"), "h2"),
        p(_("Số cán bộ, công chức: %(n)d", n=total.officials)),
        p(_("Đạt chuẩn công chức số: %(n)d (%(share)s)", n=total.qualified,
            share=share_text(total.qualified, total.officials))),
    ]
    if total.overdue_assignments is not None:
        story.append(p(_("Số người có nhiệm vụ học quá hạn: %(n)d", n=total.overdue_assignments)))
    story.append(Spacer(1, 2 * mm))
    story.append(_competency_table(data, p))
    if data.rows:
        # A heading never ends a page apart from its table (a table longer than a page still splits).
        story += [KeepTogether([p(_("Theo đơn vị"), "h2"), _unit_table(data, p)])]
        story += [KeepTogether([p(_("Bản đồ nhiệt: tỉ lệ công chức có năng lực, theo đơn vị và năng lực"), "h2"),
                                _legend(p), Spacer(1, 2 * mm), _heatmap_table(data, p)])]

    document = SimpleDocTemplate(
        out if out is not None else io.BytesIO(), pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN,
        topMargin=MARGIN, bottomMargin=MARGIN + 4 * mm, title=_("Báo cáo năng lực số — %(name)s", name=data.unit_name),
        author="Công Chức Số", lang="vi", pageCompression=1)
    # The frame's own padding (6 pt each side) comes off the page's usable height.
    frame_height = document.height - 12
    footer = _footer(data, fonts)
    lazy = _LazyStory(itertools.chain(story, _shortfall_section(data, p, fonts, frame_height),
                                      [_signature_block(data, p)]))
    document.build(lazy, onFirstPage=footer, onLaterPages=footer)
    if out is None:
        return document.filename.getvalue()
    return None


def _letterhead(data: ReportData, p) -> Table:
    """The unit on the left, the national name and motto on the right, as on every official document."""
    unit = data.unit
    left = []
    if unit is not None and unit.parent is not None:
        left.append(p(unit.parent.name.upper(), "centre"))
    left.append(p(data.unit_name.upper(), "centre-bold"))
    right = [p(_("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), "centre-bold"),
             p(_("Độc lập - Tự do - Hạnh phúc"), "centre-bold")]
    return Table([[left, right]], colWidths=[110 * mm, 150 * mm], hAlign="CENTER",
                 style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))


def _footer(data: ReportData, fonts: Fonts):
    text = _("Báo cáo năng lực số — %(name)s — %(day)s", name=data.unit_name, day=data.on.strftime("%d/%m/%Y"))

    def draw(canvas, document):
        canvas.saveState()
        canvas.setFont(fonts.regular, 8)
        canvas.setFillColor(colors.HexColor("#444444"))
        canvas.drawString(MARGIN, MARGIN, text)
        canvas.drawRightString(PAGE[0] - MARGIN, MARGIN, _("Trang %(n)d", n=document.page))
        canvas.restoreState()
        if data.on_page is not None:
            data.on_page(document.page)

    return draw


class _Room(Flowable):
    """Takes no space; records the height left in the frame at the point where it is laid out."""

    _ZEROSIZE = True  # laid out (and measuring) even when the frame is full

    def __init__(self):
        super().__init__()
        self.left: float | None = None

    def wrap(self, available_width, available_height):
        self.left = available_height
        return 0, 0

    def draw(self):
        pass


def _shortfall_section(data: ReportData, p, fonts: Fonts, frame_height: float) -> Iterator[Flowable]:
    """"Who lacks what": one table per page, each with its header row, cut where the page is full.

    Cells are plain text wrapped here to their column (a Paragraph per cell costs ten times as
    much to lay out, and a city lists thousands of people), so each row's height is known as it
    is read: no page holds more than fits, and no more than one page of rows is in memory. The
    story is consumed one flowable at a time, so the `_Room` probe has been laid out, and knows
    what is left of the current page, when this generator resumes after it.
    """
    heading = p(_("Danh sách cán bộ, công chức còn thiếu năng lực hoặc có năng lực sắp hết hạn"), "h2")
    note = p(_("Năng lực còn thiếu: năng lực vị trí việc làm yêu cầu mà người đó chưa có hoặc đã hết hạn. "
               "Sắp hết hạn: còn hiệu lực nhưng hết hạn trong 30 ngày tới (ghi ngày cuối còn hiệu lực)."), "cell")
    size, leading, padding = 8, 10, 3
    style = _grid_style([("FONTNAME", (0, 0), (-1, 0), fonts.bold), ("FONTNAME", (0, 1), (-1, -1), fonts.regular),
                         ("FONTSIZE", (0, 0), (-1, -1), size), ("LEADING", (0, 0), (-1, -1), leading),
                         ("TOPPADDING", (0, 0), (-1, -1), padding), ("BOTTOMPADDING", (0, 0), (-1, -1), padding),
                         ("VALIGN", (0, 0), (-1, -1), "TOP")])

    def cells(texts, font) -> tuple[list[str], float]:
        """The texts wrapped to their columns, and the row's height."""
        wrapped = [simpleSplit(str(text), font, size, width - 12) or [""]  # 6 pt padding each side
                   for text, width in zip(texts, SHORTFALL_WIDTHS)]
        return ["\n".join(lines) for lines in wrapped], max(len(lines) for lines in wrapped) * leading + 2 * padding

    header, header_height = cells([_("STT"), _("Họ và tên"), _("Đơn vị"), _("Vị trí việc làm"),
                                   _("Năng lực còn thiếu"), _("Năng lực sắp hết hạn")], fonts.bold)

    def table(rows) -> Table:
        return Table([header, *rows], colWidths=SHORTFALL_WIDTHS, repeatRows=1, hAlign="LEFT", style=style)

    width = sum(SHORTFALL_WIDTHS)
    intro = heading.getSpaceBefore() + sum(flowable.wrap(width, frame_height)[1] + flowable.getSpaceAfter()
                                           for flowable in (heading, note))
    slack = 6  # points kept free for rounding in the layout
    probe = _Room()
    yield probe
    room = (probe.left or 0) - intro - slack
    if room < header_height + 6 * leading:  # not even a few rows: begin on a new page
        yield PageBreak()
        room = frame_height - intro - slack
    yield heading
    yield note
    rows, used = [], header_height
    more = False
    for shortfall in data.shortfalls():
        if data.listed >= LIST_LIMIT:
            more = True
            break
        data.listed += 1
        row, row_height = cells(_shortfall_texts(data.listed, shortfall), fonts.regular)
        if rows and used + row_height > room:
            yield table(rows)
            yield PageBreak()
            rows, used, room = [], header_height, frame_height - slack
        rows.append(row)
        used += row_height
    if rows:
        yield table(rows)
    else:
        yield p(_("Không có cán bộ, công chức nào thiếu năng lực được yêu cầu hay có năng lực sắp hết hạn."))
    if more:
        yield p(_("Danh sách trên gồm %(n)d người đầu tiên theo thứ tự tên. Danh sách đầy đủ: tải tệp Excel "
                  "“Danh sách cán bộ, công chức” của đơn vị này trên trang Tổng quan.", n=LIST_LIMIT))


def _shortfall_texts(number: int, item: Shortfall) -> list[str]:
    missing = "; ".join(name if lapsed is None else _("%(name)s (hết hạn %(day)s)", name=name,
                                                        day=lapsed.strftime("%d/%m/%Y"))
                        for name, lapsed in item.missing)
    expiring = "; ".join(_("%(name)s (đến %(day)s)", name=name, day=last.strftime("%d/%m/%Y"))
                         for name, last in item.expiring)
    return [str(number), item.name, item.unit, item.position or "—", missing or "—", expiring or "—"]


def _signature_block(data: ReportData, p) -> KeepTogether:
    """Place and date, then who drew up the report and the head of the unit, each with room to sign."""
    rows = [
        ["", p(date_line(place_name(data.unit), data.on), "centre-italic")],
        [p(_("NGƯỜI LẬP BIỂU"), "centre-bold"), p(_("THỦ TRƯỞNG ĐƠN VỊ"), "centre-bold")],
        [p(_("(Ký, ghi rõ họ tên)"), "centre-italic"), p(_("(Ký tên, đóng dấu)"), "centre-italic")],
        ["", ""],
        [p(data.prepared_by, "centre-bold") if data.prepared_by else "", ""],
    ]
    table = Table(rows, colWidths=[120 * mm, 140 * mm], rowHeights=[None, None, None, 24 * mm, None],
                  hAlign="CENTER", style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return KeepTogether([Spacer(1, 8 * mm), table])


def _direct_label(unit) -> str:
    return _("%(name)s (cán bộ trực thuộc)", name=unit.name)


def _grid_style(extra=()):
    return TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_BACKGROUND),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        *extra,
    ])


def _competency_table(data: ReportData, p) -> Table:
    header = [p(_("Năng lực"), "head"), p(_("Đang có"), "head"), p(_("Hết hạn trong 30 ngày"), "head"),
              p(_("Hết hạn trong 60 ngày"), "head"), p(_("Hết hạn trong 90 ngày"), "head")]
    rows = [header]
    for competency in data.competencies:
        expiring = data.total.expiring.get(competency.code, {})
        rows.append([p(competency.name_vi, "cell"), p(data.total.held.get(competency.code, 0), "cell"),
                     *(p(expiring.get(days, 0), "cell") for days in (30, 60, 90))])
    return Table(rows, colWidths=[110 * mm, 30 * mm, 35 * mm, 35 * mm, 35 * mm], repeatRows=1, hAlign="LEFT",
                 style=_grid_style())


def _unit_table(data: ReportData, p) -> Table:
    header = [p(_("Đơn vị"), "head"), p(_("Số công chức"), "head"), p(_("Đạt chuẩn công chức số"), "head"),
              p(_("Tỉ lệ"), "head")]
    header += [p(c.name_vi, "head") for c in data.competencies]
    header.append(p(_("Có nhiệm vụ quá hạn"), "head"))
    rows = [header]
    for row in [*data.rows, data.total]:
        if row is data.total:
            name = _("Tổng cộng")
        else:
            name = _direct_label(row.unit) if row.direct else row.unit.name
        # Figures as plain strings (a Paragraph per cell costs ten times as much to lay out, and a
        # province has thousands of communes); only the name wraps.
        rows.append([p(name, "cell"), str(row.officials), str(row.qualified), share_text(row.qualified, row.officials),
                     *(str(row.held.get(c.code, 0)) for c in data.competencies),
                     "—" if row.overdue_assignments is None else str(row.overdue_assignments)])
    widths = [55 * mm, 20 * mm, 24 * mm, 16 * mm] + [26 * mm] * len(data.competencies) + [22 * mm]
    font = p("", "cell").style.fontName
    return Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT",
                 style=_grid_style([("BACKGROUND", (0, -1), (-1, -1), HEADER_BACKGROUND),
                                    ("FONTNAME", (1, 1), (-1, -1), font), ("FONTSIZE", (1, 1), (-1, -1), 8)]))


def _heatmap_table(data: ReportData, p) -> Table:
    """The heat map as a coloured grid: one row per unit, one column per competency, the share in each cell."""
    heatmap = data.heatmap
    competencies = list(heatmap.competencies)
    rows = [[p(_("Đơn vị"), "head"), *(p(getattr(c, "name_vi", c), "head") for c in competencies)]]
    extra = []
    for r, unit in enumerate(heatmap.units, start=1):
        officials = heatmap.officials.get(unit.id, 0)
        name = _direct_label(unit) if unit.id == getattr(heatmap, "direct_unit_id", None) else unit.name
        cells = [p(f"{name} ({officials})", "cell")]
        for col, competency in enumerate(competencies, start=1):
            share = heatmap.share.get((unit.id, getattr(competency, "code", competency)))
            if share is None or not officials:
                cells.append("—")
                continue
            background, ink = heat_colour(share)
            cells.append(f"{round(100 * share)} %")
            extra += [("BACKGROUND", (col, r), (col, r), background), ("TEXTCOLOR", (col, r), (col, r), ink)]
        rows.append(cells)
    font = p("", "cell").style.fontName
    widths = [70 * mm] + [36 * mm] * len(competencies)
    return Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT", style=_grid_style([
        ("FONTNAME", (1, 1), (-1, -1), font), ("FONTSIZE", (1, 1), (-1, -1), 9),
        ("ALIGN", (1, 1), (-1, -1), "CENTER"), *extra]))


def _legend(p) -> Table:
    """What each colour of the heat map means."""
    size = 100 // len(HEAT_STEPS)
    cells, style = [p(_("Chú giải:"), "cell")], []
    for step, colour in enumerate(HEAT_STEPS):
        low, high = step * size, 100 if step == len(HEAT_STEPS) - 1 else (step + 1) * size - 1
        cells.append(f"{low}–{high} %")
        ink = colors.white if step >= 3 else colors.black
        style += [("BACKGROUND", (step + 1, 0), (step + 1, 0), colors.HexColor(colour)),
                  ("TEXTCOLOR", (step + 1, 0), (step + 1, 0), ink)]
    font = p("", "cell").style.fontName
    return Table([cells], colWidths=[25 * mm] + [24 * mm] * len(HEAT_STEPS), hAlign="LEFT", style=TableStyle([
        ("GRID", (1, 0), (-1, 0), 0.5, GRID), ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("ALIGN", (1, 0), (-1, 0), "CENTER"), *style]))


# --------------------------------------------------------------------------- as a job
def unit_report_job(job) -> dict:
    """Job (training.jobs): the report of a scope too large to draw within a request, stored for
    download; its page count is the progress shown. Audited like the report made in a request."""
    from training.export_jobs import produce_download
    from training.extensions import db
    from training.jobs import Progress
    from training.models import User
    from training.services import audit

    params = job.params
    unit = db.session.get(OrgUnit, params["unit_id"]) if params.get("unit_id") else None
    data = unit_report_data(unit, date.fromisoformat(params["on"]), prepared_by=params.get("preparer") or "",
                            locale=params.get("locale") or "vi")
    progress = Progress(job, aside=True)
    data.on_page = lambda page: progress.update(page, step=_("Đang vẽ trang %(n)d", n=page))
    size = produce_download(job, filename=params["filename"], mimetype="application/pdf",
                            write=lambda out: render_unit_report(data, configured_font_dir(), out))
    actor = db.session.get(User, job.user_id) if job.user_id else None
    target = unit.code if unit is not None else "all"
    audit.record(actor, "hr.export", target, format="pdf", filters={"unit": target}, status="done",
                 rows=data.listed, job_id=job.id)
    return {"summary": _("Đã lập báo cáo %(name)s.", name=data.unit_name), "rows": data.listed, "size": size}
