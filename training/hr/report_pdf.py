"""Printable PDF summary of a unit: totals, the per-unit table and a heat map, drawn with ReportLab.

`unit_report_data` gathers plain data from the dashboard; `render_unit_report` turns it into bytes
and knows nothing about requests. Vietnamese text needs a TrueType font with its diacritics: the
font directory comes from REPORT_FONT_DIR (Helvetica, without diacritics, only when none is found).
"""
from __future__ import annotations

import glob
import hashlib
import io
import os
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

from flask import current_app
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from training import PROJECT_ROOT
from training.hr import dashboard
from training.models import OrgUnit

# Sequential scale, light to dark; the last two steps carry white text (contrast above 4.5:1).
HEAT_STEPS = ("#f1f8e9", "#c5e1a5", "#8bc34a", "#33691e", "#1b3d0f")
GRID = colors.HexColor("#9e9e9e")
HEADER_BACKGROUND = colors.HexColor("#e8eaf6")


@dataclass
class ReportData:
    unit: OrgUnit
    on: date
    competencies: list  # competency objects: .code, .name_vi
    total: object       # dashboard UnitRow for the whole unit
    rows: list          # dashboard UnitRows, one per unit below
    heatmap: object     # dashboard Heatmap


def unit_report_data(unit: OrgUnit, on: date) -> ReportData:
    """Everything the report shows, from the dashboard's aggregate queries."""
    rows, total = dashboard.summary(unit, on)
    competencies = dashboard.competency_columns()
    return ReportData(unit=unit, on=on, competencies=competencies, total=total, rows=rows,
                      heatmap=dashboard.heatmap_from_rows(rows, competencies))


def report_fonts(font_dir: str | None) -> tuple[str, str]:
    """Register the TrueType fonts found in `font_dir` (regular, bold); Helvetica if there are none."""
    files = sorted(glob.glob(os.path.join(font_dir, "*.ttf"))) if font_dir else []
    if not files:
        return "Helvetica", "Helvetica-Bold"
    upright = [path for path in files if "italic" not in os.path.basename(path).lower()] or files
    regular = next((p for p in upright if "regular" in os.path.basename(p).lower()), upright[0])
    bold = next((p for p in upright if "bold" in os.path.basename(p).lower()), regular)
    names = []
    for path in (regular, bold):
        name = "Report-" + hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:10]
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, path))
        names.append(name)
    return names[0], names[1]


def configured_font_dir() -> str:
    return current_app.config.get("REPORT_FONT_DIR") or os.path.join(PROJECT_ROOT, "certificates", "fonts")


def share_text(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)} %" if whole else "—"


def heat_colour(share: float) -> tuple[colors.Color, colors.Color]:
    """Background and text colour for a share between 0 and 1."""
    step = min(len(HEAT_STEPS) - 1, int(share * len(HEAT_STEPS)))
    return colors.HexColor(HEAT_STEPS[step]), (colors.white if step >= 3 else colors.black)


def render_unit_report(data: ReportData, font_dir: str | None) -> bytes:
    """The PDF report as bytes (landscape A4)."""
    regular, bold = report_fonts(font_dir)
    styles = {
        "title": ParagraphStyle("title", fontName=bold, fontSize=16, leading=20, spaceAfter=4),
        "h2": ParagraphStyle("h2", fontName=bold, fontSize=12, leading=15, spaceBefore=8, spaceAfter=4),
        "body": ParagraphStyle("body", fontName=regular, fontSize=10, leading=13),
        "cell": ParagraphStyle("cell", fontName=regular, fontSize=8, leading=10),
        "head": ParagraphStyle("head", fontName=bold, fontSize=8, leading=10),
    }

    def p(text, style="body"):
        return Paragraph(escape(str(text)), styles[style])

    unit, total = data.unit, data.total
    story = [
        p(_("Báo cáo năng lực số của cán bộ, công chức"), "title"),
        p(_("Đơn vị: %(name)s (mã %(code)s)", name=unit.name, code=unit.code)),
        p(_("Ngày lập báo cáo: %(day)s", day=data.on.strftime("%d/%m/%Y"))),
        Spacer(1, 4 * mm),
        p(_("Tổng hợp"), "h2"),
        p(_("Số cán bộ, công chức: %(n)d", n=total.officials)),
        p(_("Đạt chuẩn công chức số: %(n)d (%(share)s)", n=total.qualified,
            share=share_text(total.qualified, total.officials))),
    ]
    if total.overdue_assignments is not None:
        story.append(p(_("Số người có nhiệm vụ học quá hạn: %(n)d", n=total.overdue_assignments)))
    story.append(Spacer(1, 2 * mm))
    story.append(_competency_table(data, p))
    story += [p(_("Theo đơn vị"), "h2"), _unit_table(data, p)]
    story += [p(_("Bản đồ nhiệt: tỉ lệ công chức có năng lực, theo đơn vị và năng lực"), "h2"),
              _legend(p), Spacer(1, 2 * mm), _heatmap_table(data, p)]

    output = io.BytesIO()
    document = SimpleDocTemplate(
        output, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
        bottomMargin=12 * mm, title=_("Báo cáo năng lực số — %(name)s", name=unit.name), author="Công Chức Số",
        lang="vi")
    document.build(story)
    return output.getvalue()


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
        rows.append([p(name, "cell"), p(row.officials, "cell"), p(row.qualified, "cell"),
                     p(share_text(row.qualified, row.officials), "cell"),
                     *(p(row.held.get(c.code, 0), "cell") for c in data.competencies),
                     p("—" if row.overdue_assignments is None else row.overdue_assignments, "cell")])
    widths = [55 * mm, 20 * mm, 24 * mm, 16 * mm] + [26 * mm] * len(data.competencies) + [22 * mm]
    return Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT",
                 style=_grid_style([("BACKGROUND", (0, -1), (-1, -1), HEADER_BACKGROUND)]))


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
