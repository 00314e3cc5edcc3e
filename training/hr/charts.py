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

from training.hr.overview import Heatmap, UnitRow

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
    # No style attribute: the Content-Security-Policy refuses inline styles (app.css sizes the charts).
    n = next(_ids)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" role="img" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-label="{escape(title)}" '
        f'aria-labelledby="chart{n}-title chart{n}-desc" {FONT}>'
        f'<title id="chart{n}-title">{escape(title)}</title><desc id="chart{n}-desc">{escape(desc)}</desc>'
        + "".join(body) + "</svg>")


# --------------------------------------------------------------------------- charts
# Every chart is drawn for a phone first: its viewBox is PHONE_WIDTH wide, so at 360 px (a 328 px
# column) it is shown at its own size, every column and month on screen and the text at 11-13 px;
# on a desktop app.css lets it grow to about 1.6 times that.
PHONE_WIDTH = 328
MIN_CELL = 44  # below this a share no longer fits in a heat-map cell: the chart widens (the table remains)


def heatmap_svg(heat: Heatmap, label: Callable, locale: str = "vi", title: str | None = None) -> Markup:
    """Units × competencies, each cell coloured by the share of officials holding it, the share
    written in the cell. `label(unit, direct)` names a row (direct: officials attached to the unit itself).

    Narrow enough for a phone: the columns are numbered and the numbers explained in a key above
    the grid, and each unit's name is written on its own line above its cells.
    """
    title = title or _("Bản đồ nhiệt năng lực số theo đơn vị")
    columns = heat.competencies
    cell_w = max(MIN_CELL, PHONE_WIDTH / max(len(columns), 1))
    width = max(PHONE_WIDTH, cell_w * len(columns))
    body, y = [], 4
    for i, competency in enumerate(columns, start=1):
        name = competency.name(locale)
        lines = _wrap(f"{i}. {name}", 48, 2)
        tspans = "".join(f'<tspan x="{0 if j == 0 else 16}" y="{y + 14 + 15 * j:.1f}">{escape(line)}</tspan>'
                         for j, line in enumerate(lines))
        body.append(f'<text class="key" font-size="12" fill="{INK}"><title>{escape(name)}</title>{tspans}</text>')
        y += 15 * len(lines) + 2
    y += 10
    for i, competency in enumerate(columns):
        body.append(f'<g class="column-head"><title>{escape(competency.name(locale))}</title>'
                    + _text(i * cell_w + cell_w / 2, y + 12, str(i + 1), 12, "middle", INK, "700") + "</g>")
    y += 20
    row_h, cell_h = 48, 28
    names = [escape(competency.name(locale)) for competency in columns]
    # What every cell shares is said once, on its group: a page of 25 units stays a few dozen KB.
    cells, shares = [], []
    for unit in heat.units:
        name = label(unit, unit.id == heat.direct_unit_id)
        officials = heat.officials.get(unit.id, 0)
        shown_name = _("%(name)s (%(n)d người)", name=_shorten(name, 38), n=officials)
        body.append(f'<g class="row-head"><title>{escape(name)}</title>'
                    + _text(0, y + 13, shown_name, 12, "start", INK, "600") + "</g>")
        top = y + 18
        for i, competency in enumerate(columns):
            x = i * cell_w
            share = heat.share.get((unit.id, competency.code))
            if share is None:
                fill, ink, shown = "#ffffff", MUTED, "—"
            else:
                (fill, ink), shown = cell_colours(share), percent(share)
            cells.append(f'<rect x="{x + 1:.1f}" y="{top:.1f}" width="{cell_w - 2:.1f}" height="{cell_h}" '
                         f'fill="{fill}"><title>{names[i]}: {shown}</title></rect>')
            shares.append(f'<text x="{x + cell_w / 2:.1f}" y="{top + cell_h / 2 + 5:.1f}" fill="{ink}">{shown}</text>')
        y += row_h
    body.append(f'<g class="cell" stroke="{LINE}" stroke-width="1">{"".join(cells)}</g>')
    body.append(f'<g font-size="13" text-anchor="middle" font-weight="600">{"".join(shares)}</g>')
    y += 8
    body.append(_text(0, y + 19, _("Chú giải:"), 12, "start"))
    step = (width - 70) / 5
    for i, share in enumerate((0, 0.25, 0.5, 0.75, 1)):
        fill, ink = cell_colours(share)
        x = 70 + i * step
        body.append(f'<rect x="{x:.1f}" y="{y}" width="{step - 2:.1f}" height="28" fill="{fill}" stroke="{LINE}"/>')
        body.append(_text(x + step / 2, y + 19, percent(share), 12, "middle", ink, "600"))
    height = y + 34
    desc = _("Mỗi ô là tỷ lệ cán bộ, công chức đang hoạt động của đơn vị có năng lực đó còn hiệu lực; "
             "màu càng đậm tỷ lệ càng cao. Số liệu đầy đủ có trong bảng ngay sau biểu đồ.")
    return _svg(width, height, title, desc, body, "heatmap")


def bars_svg(rows: list[UnitRow], label: Callable, title: str | None = None) -> Markup:
    """One horizontal bar per unit: the share of its officials who qualify as công chức số.
    The unit's name is written above its bar, the figures beside it, so it fits a phone."""
    title = title or _("Tỷ lệ công chức số theo đơn vị")
    value_w = 112
    bar_w, bar_h, row_h = PHONE_WIDTH - value_w, 20, 46
    width = PHONE_WIDTH
    height = row_h * max(len(rows), 1) + 4
    body = []
    for r, row in enumerate(rows):
        y = r * row_h
        name = label(row.unit, row.direct)
        share = row.qualified_share
        value = f"{percent(share)} ({row.qualified}/{row.officials})"
        top = y + 18
        body.append(f'<g class="bar"><title>{escape(name)}: {escape(value)}</title>'
                    + _text(0, y + 13, _shorten(name, 46), 12, "start", INK, "600")
                    + f'<rect x="0" y="{top}" width="{bar_w * share:.1f}" height="{bar_h}" fill="{BRAND}"/>'
                    + f'<rect x="0" y="{top}" width="{bar_w}" height="{bar_h}" fill="none" stroke="{MUTED}"/>'
                    + _text(bar_w + 6, top + bar_h / 2 + 4, value, 12) + "</g>")
    desc = _("Mỗi thanh là tỷ lệ cán bộ, công chức đang hoạt động của đơn vị đạt chuẩn công chức số; "
             "bên cạnh là số người đạt trên tổng số.")
    return _svg(width, height, title, desc, body, "bars")


def trend_svg(points: list[tuple[date, float]], title: str | None = None) -> Markup:
    """The share of qualified officials at the end of each month, one column per month, oldest first.

    Every month has its column, its label and its value written above it (a month at 0 says "0"),
    so no month, and no single non-zero month, can be lost off the side of a phone.
    """
    title = title or _("Tỷ lệ công chức số theo tháng")
    left, top, plot_h = 32, 18, 150
    slot = (PHONE_WIDTH - left) / max(len(points), 1)
    width = PHONE_WIDTH
    bar_w = max(4.0, min(slot * 0.62, 40))
    base = top + plot_h
    height = base + 40
    body = []
    for tick in (0, 0.25, 0.5, 0.75, 1):
        y = base - plot_h * tick
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" stroke="{LINE}"/>')
        body.append(_text(left - 3, y + 4, percent(tick), 10, "end", MUTED))
    previous_year = None
    for i, (day, share) in enumerate(points):
        centre = left + slot * i + slot / 2
        bar_h = plot_h * share
        if share > 0:
            bar_h = max(bar_h, 2)  # a small share still shows
        value = str(round(share * 100))
        label = f"{day.month:02d}/{day.year}: {percent(share)}"
        body.append(f'<g class="month"><title>{escape(label)}</title>'
                    f'<rect x="{centre - bar_w / 2:.1f}" y="{base - bar_h:.1f}" width="{bar_w:.1f}" '
                    f'height="{bar_h:.1f}" fill="{BRAND}"/>'
                    + _text(centre, base - bar_h - 4, value, 11, "middle", INK, "600", ' class="value"')
                    + _text(centre, base + 15, f"{day.month:02d}", 11, "middle", INK, extra=' class="label"')
                    + "</g>")
        if day.year != previous_year:
            body.append(_text(centre, base + 31, str(day.year), 11, "middle", MUTED))
            previous_year = day.year
    desc = _("Mỗi cột là tỷ lệ phần trăm cán bộ, công chức đang hoạt động đạt chuẩn công chức số vào cuối "
             "mỗi tháng, số trên đầu cột; tháng hiện tại tính đến hôm nay.")
    return _svg(width, height, title, desc, body, "trend")
