"""Server-rendered SVG charts for the HR dashboard: no JavaScript, they print, they scale.

Each chart is an <svg role="img"> with a <title>, a <desc> and an aria-label; the page puts the
same numbers in a table next to it for screen readers. Every number drawn on a coloured cell is
written in black or white, whichever contrasts more with the cell (always at least 4.5:1).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date

from flask_babel import gettext as _
from markupsafe import Markup, escape

from training.hr.dashboard import Heatmap, UnitRow

INK = "#1b1f24"
MUTED = "#4a5562"
LINE = "#c9d1d9"
BRAND = "#0b4f8a"
# A sequential blue scale (ColorBrewer "Blues" end points): readable in greyscale and by people
# with red-green colour blindness.
LOW = (0xf7, 0xfb, 0xff)
HIGH = (0x08, 0x30, 0x6b)
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, Noto Sans, Arial, sans-serif"'

_ids = itertools.count(1)


def percent(share: float) -> str:
    return f"{round(share * 100)}%"


# --------------------------------------------------------------------------- colours
def _hex(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % rgb


def _rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def luminance(colour: str) -> float:
    """Relative luminance as WCAG 2.1 defines it."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio between two colours (1 to 21)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def cell_colours(share: float) -> tuple[str, str]:
    """(fill, text) for a share 0..1: darker blue for more, text in black or white, whichever reads
    better; any colour contrasts at least 4.58:1 with one of the two."""
    share = min(max(share, 0.0), 1.0)
    fill = _hex(tuple(round(lo + (hi - lo) * share) for lo, hi in zip(LOW, HIGH)))
    text = "#000000" if contrast(fill, "#000000") >= contrast(fill, "#ffffff") else "#ffffff"
    return fill, text


# --------------------------------------------------------------------------- helpers
def _text(x, y, content, size=13, anchor="start", fill=INK, weight="normal", extra="") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
            f'font-weight="{weight}"{extra}>{escape(content)}</text>')


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _wrap(text: str, width: int, lines: int) -> list[str]:
    words, result, current = text.split(), [], ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if len(candidate) <= width or not current:
            current = candidate
        else:
            result.append(current)
            current = word
    if current:
        result.append(current)
    if len(result) > lines:
        result = result[:lines - 1] + [_shorten(" ".join(result[lines - 1:]), width)]
    return result


def _svg(width: float, height: float, title: str, desc: str, body: list[str], css_class: str) -> Markup:
    n = next(_ids)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" role="img" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'style="max-width:{width:.0f}px" aria-label="{escape(title)}" '
        f'aria-labelledby="chart{n}-title chart{n}-desc" {FONT}>'
        f'<title id="chart{n}-title">{escape(title)}</title><desc id="chart{n}-desc">{escape(desc)}</desc>'
        + "".join(body) + "</svg>")


# --------------------------------------------------------------------------- charts
def heatmap_svg(heat: Heatmap, label: Callable, locale: str = "vi", title: str | None = None) -> Markup:
    """Units × competencies, each cell coloured by the share of officials holding it, the share
    written in the cell. `label(unit, direct)` names a row (direct: officials attached to the unit itself)."""
    title = title or _("Bản đồ nhiệt năng lực số theo đơn vị")
    left, cell_w, cell_h, head = 270, 96, 30, 64
    columns = heat.competencies
    width = left + cell_w * max(len(columns), 1) + 10
    legend_y = head + cell_h * len(heat.units) + 24
    height = legend_y + 46
    body = []
    for i, competency in enumerate(columns):
        x = left + i * cell_w + cell_w / 2
        lines = _wrap(competency.name(locale), 15, 3)
        top = head - 8 - 14 * (len(lines) - 1)
        tspans = "".join(f'<tspan x="{x:.1f}" y="{top + 14 * j:.1f}">{escape(line)}</tspan>'
                         for j, line in enumerate(lines))
        body.append(f'<text font-size="11" text-anchor="middle" fill="{INK}" font-weight="600">'
                    f'<title>{escape(competency.name(locale))}</title>{tspans}</text>')
    for r, unit in enumerate(heat.units):
        y = head + r * cell_h
        name = label(unit, unit.id == heat.direct_unit_id)
        body.append(f'<g><title>{escape(name)}</title>'
                    + _text(left - 8, y + cell_h / 2 + 4, _shorten(name, 40), 12, "end") + "</g>")
        for i, competency in enumerate(columns):
            x = left + i * cell_w
            share = heat.share.get((unit.id, competency.code))
            if share is None:
                fill, ink, shown = "#ffffff", MUTED, "—"
            else:
                (fill, ink), shown = cell_colours(share), percent(share)
            body.append(f'<rect x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{fill}" '
                        f'stroke="{LINE}" stroke-width="1"><title>{escape(name)} — '
                        f'{escape(competency.name(locale))}: {shown}</title></rect>')
            body.append(_text(x + cell_w / 2, y + cell_h / 2 + 5, shown, 13, "middle", ink, "600"))
    body.append(_text(left - 8, legend_y + 19, _("Chú giải:"), 12, "end"))
    for i, share in enumerate((0, 0.25, 0.5, 0.75, 1)):
        fill, ink = cell_colours(share)
        x = left + i * 60
        body.append(f'<rect x="{x}" y="{legend_y}" width="58" height="28" fill="{fill}" stroke="{LINE}"/>')
        body.append(_text(x + 29, legend_y + 19, percent(share), 12, "middle", ink, "600"))
    desc = _("Mỗi ô là tỷ lệ cán bộ, công chức đang hoạt động của đơn vị có năng lực đó còn hiệu lực; "
             "màu càng đậm tỷ lệ càng cao. Số liệu đầy đủ có trong bảng ngay sau biểu đồ.")
    return _svg(width, height, title, desc, body, "heatmap")


def bars_svg(rows: list[UnitRow], label: Callable, title: str | None = None) -> Markup:
    """One horizontal bar per unit: the share of its officials who qualify as công chức số."""
    title = title or _("Tỷ lệ công chức số theo đơn vị")
    left, bar_w, bar_h, gap, top = 270, 340, 22, 8, 10
    width = left + bar_w + 130
    height = top + (bar_h + gap) * max(len(rows), 1) + 10
    body = []
    for tick in (0, 0.5, 1):
        x = left + bar_w * tick
        body.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 8}" stroke="{LINE}"/>')
    for r, row in enumerate(rows):
        y = top + r * (bar_h + gap)
        name = label(row.unit, row.direct)
        share = row.qualified_share
        value = f"{percent(share)} ({row.qualified}/{row.officials})"
        body.append(f'<g><title>{escape(name)}: {escape(value)}</title>'
                    + _text(left - 8, y + bar_h / 2 + 4, _shorten(name, 40), 12, "end")
                    + f'<rect x="{left}" y="{y}" width="{bar_w * share:.1f}" height="{bar_h}" fill="{BRAND}"/>'
                    + f'<rect x="{left}" y="{y}" width="{bar_w}" height="{bar_h}" fill="none" stroke="{MUTED}"/>'
                    + _text(left + bar_w + 6, y + bar_h / 2 + 4, value, 12) + "</g>")
    desc = _("Mỗi thanh là tỷ lệ cán bộ, công chức đang hoạt động của đơn vị đạt chuẩn công chức số; "
             "bên cạnh là số người đạt trên tổng số.")
    return _svg(width, height, title, desc, body, "bars")


def trend_svg(points: list[tuple[date, float]], title: str | None = None) -> Markup:
    """The share of qualified officials at the end of each month, as a line."""
    title = title or _("Tỷ lệ công chức số theo tháng")
    left, top, plot_w, plot_h = 48, 24, 600, 180
    width, height = left + plot_w + 24, top + plot_h + 40
    body = []
    for tick in (0, 0.25, 0.5, 0.75, 1):
        y = top + plot_h * (1 - tick)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{LINE}"/>')
        body.append(_text(left - 6, y + 4, percent(tick), 11, "end", MUTED))
    step = plot_w / max(len(points) - 1, 1)
    coords = []
    for i, (day, share) in enumerate(points):
        x = left + (i * step if len(points) > 1 else plot_w / 2)
        y = top + plot_h * (1 - share)
        coords.append((x, y))
        body.append(_text(x, top + plot_h + 18, f"{day.month:02d}/{day.year % 100:02d}", 11, "middle", MUTED))
    if coords:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body.append(f'<polyline points="{path}" fill="none" stroke="{BRAND}" stroke-width="3"/>')
        for (x, y), (day, share) in zip(coords, points):
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{BRAND}"><title>'
                        f'{day.month:02d}/{day.year}: {percent(share)}</title></circle>')
            body.append(_text(x, y - 9, percent(share), 11, "middle", INK, "600"))
    desc = _("Đường biểu diễn tỷ lệ cán bộ, công chức đang hoạt động đạt chuẩn công chức số vào cuối "
             "mỗi tháng; tháng hiện tại tính đến hôm nay.")
    return _svg(width, height, title, desc, body, "trend")
