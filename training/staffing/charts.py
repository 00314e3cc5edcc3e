"""The staffing chart: officials and qualified officials per 1,000 residents, one bar pair per ward.

Drawn as HR's other charts are (training.hr.charts): server-rendered SVG sized for a 360 px phone,
with a title and description, the figures written beside each bar, and the same figures in the table
next to it for screen readers. No inline style (the Content-Security-Policy refuses it).
"""
from __future__ import annotations

from flask_babel import format_decimal
from flask_babel import gettext as _
from markupsafe import Markup, escape

from training.hr.charts import BRAND, INK, MUTED, PHONE_WIDTH, _shorten, _svg, _text

LIGHT = "#4292c6"  # officials: a lighter blue beside the qualified bar (3.4:1 against white, as a graphic needs)


def rate(value: float | None) -> str:
    """A figure per 1,000 residents as Vietnamese write it (0,16); "—" without a population."""
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0.00")


def per_thousand_svg(lines, city_qualified: float | None, title: str | None = None) -> Markup:
    """For each ward (a page of them): a bar of officials per 1,000 residents and, under it, a darker
    bar of qualified officials per 1,000, on one scale; a dashed line marks the city's qualified
    officials per 1,000. Wards without a population are written without bars."""
    title = title or _("Cán bộ, công chức trên 1.000 dân theo phường, xã")
    value_w = 96
    bar_w, bar_h, row_h = PHONE_WIDTH - value_w, 12, 52
    values = [v for line in lines for v in (line.officials_per_1000, line.qualified_per_1000) if v is not None]
    top = max(values + [city_qualified or 0.0, 1e-9])
    body = []
    for r, line in enumerate(lines):
        y = r * row_h
        name = line.unit.name
        officials, qualified = line.officials_per_1000, line.qualified_per_1000
        label = _("%(name)s: %(officials)s cán bộ, %(qualified)s đạt chuẩn trên 1.000 dân", name=name,
                  officials=rate(officials), qualified=rate(qualified))
        parts = [f'<g class="bar"><title>{escape(label)}</title>', _text(0, y + 13, _shorten(name, 46), 12, "start",
                                                                           INK, "600")]
        if officials is None:
            parts.append(_text(0, y + 34, _("Chưa có số dân"), 12, "start", MUTED))
        else:
            first, second = y + 19, y + 19 + bar_h + 2
            parts.append(f'<rect x="0" y="{first}" width="{bar_w * officials / top:.1f}" height="{bar_h}" '
                         f'fill="{LIGHT}"/>')
            parts.append(f'<rect x="0" y="{second}" width="{bar_w * (qualified or 0) / top:.1f}" height="{bar_h}" '
                         f'fill="{BRAND}"/>')
            parts.append(f'<rect x="0" y="{first}" width="{bar_w}" height="{2 * bar_h + 2}" fill="none" '
                         f'stroke="{MUTED}"/>')
            parts.append(_text(bar_w + 6, first + bar_h - 2, rate(officials), 11, "start", INK))
            parts.append(_text(bar_w + 6, second + bar_h - 2, rate(qualified), 11, "start", INK, "700"))
        parts.append("</g>")
        body.append("".join(parts))
    height = row_h * max(len(lines), 1) + 34
    if city_qualified:
        x = bar_w * city_qualified / top
        body.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 30}" stroke="{INK}" '
                    f'stroke-dasharray="4 3"/>')
    legend_y = height - 22
    body.append(f'<rect x="0" y="{legend_y}" width="14" height="10" fill="{LIGHT}"/>')
    body.append(_text(18, legend_y + 9, _("cán bộ"), 11, "start", INK))
    body.append(f'<rect x="80" y="{legend_y}" width="14" height="10" fill="{BRAND}"/>')
    body.append(_text(98, legend_y + 9, _("đạt chuẩn"), 11, "start", INK))
    body.append(f'<line x1="176" y1="{legend_y + 5}" x2="194" y2="{legend_y + 5}" stroke="{INK}" '
                f'stroke-dasharray="4 3"/>')
    body.append(_text(198, legend_y + 9, _("bình quân đạt chuẩn"), 11, "start", INK))
    desc = _("Mỗi phường, xã có hai thanh: số cán bộ, công chức trên 1.000 dân (nhạt) và số người đạt chuẩn công chức "
             "số trên 1.000 dân (đậm); đường gạch là mức đạt chuẩn bình quân của thành phố. Số liệu đầy đủ có trong "
             "bảng ngay sau biểu đồ.")
    return _svg(PHONE_WIDTH, height, title, desc, body, "bars per-thousand")
