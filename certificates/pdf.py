"""The PDF certificate: plain data in, reproducible PDF bytes out (no Flask, no database).

A4 landscape in the style of a Vietnamese official certificate. Text is drawn with Noto Serif
(shipped in certificates/fonts/ with its SIL OFL licence), embedded as a TrueType subset with a
ToUnicode map, so diacritics render on any machine and can be extracted back. The output is
byte-for-byte reproducible for the same data: ReportLab runs in invariant mode and the PDF dates
are taken from the issue date.
"""
from __future__ import annotations

import io
import os
import unicodedata
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import Paragraph, Table, TableStyle

FONT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fonts")
REGULAR, BOLD, ITALIC = "CCS-NotoSerif", "CCS-NotoSerif-Bold", "CCS-NotoSerif-Italic"

PAGE_W, PAGE_H = landscape(A4)
INK = colors.HexColor("#1A1A1A")
RED = colors.HexColor("#A3161A")       # the red of official seals and titles
GOLD = colors.HexColor("#B8860B")
NAVY = colors.HexColor("#1F3A68")
ROW_TINT = colors.HexColor("#F6F1E4")

SUBTITLE = "Công chức số — Chứng nhận năng lực số"
HEADING = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
QR_CAPTION = "Quét mã để xác minh"


TEST_NOTICE = "BẢN THỬ NGHIỆM — ký bằng khóa thử nghiệm, không có giá trị chứng nhận"


@dataclass(frozen=True)
class CertificateData:
    serial: str
    holder_name: str
    unit_name: str
    position_name: str
    issuer_name: str                      # e.g. "Ủy ban nhân dân Thành phố Hồ Chí Minh"
    competencies: list                    # [(name, score_percent, achieved_on: date, expires_on: date)]
    issued_on: date
    expires_on: date
    place: str                            # e.g. "Thành phố Hồ Chí Minh"
    signer_title: str                     # may hold "\n" for two lines ("KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC")
    signer_name: str
    verify_url: str
    issuer_parent: str = ""               # optional line above the issuer
    test_notice: bool = False             # signed with a test identity: the certificate says so


def nfc(text) -> str:
    return unicodedata.normalize("NFC", str(text or "")).strip()


def vn_date(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def place_date_line(place: str, day: date) -> str:
    return f"{nfc(place)}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year:04d}"


def format_score(score) -> str:
    if score is None or score == "":
        return "—"
    value = round(float(score), 1)
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") + "%"


def _register_fonts() -> None:
    registered = pdfmetrics.getRegisteredFontNames()
    for name, filename in ((REGULAR, "NotoSerif-Regular.ttf"), (BOLD, "NotoSerif-Bold.ttf"),
                           (ITALIC, "NotoSerif-Italic.ttf")):
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, os.path.join(FONT_DIR, filename)))
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=ITALIC, boldItalic=BOLD)


def _fit(text: str, font: str, size: float, width: float, minimum: float = 7) -> float:
    """The largest font size not above `size` at which `text` fits in `width`."""
    while size > minimum and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy word wrap."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and pdfmetrics.stringWidth(candidate, font, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines or [""]


def _centred(c, text: str, x: float, y: float, font: str, size: float, width: float | None = None) -> float:
    if width is not None:
        size = _fit(text, font, size, width)
    c.setFont(font, size)
    c.drawCentredString(x, y, text)
    return pdfmetrics.stringWidth(text, font, size)


def _border(c) -> None:
    c.saveState()
    c.setStrokeColor(RED)
    c.setLineWidth(2.2)
    c.rect(18, 18, PAGE_W - 36, PAGE_H - 36)
    c.setStrokeColor(GOLD)
    c.setLineWidth(0.6)
    c.rect(24, 24, PAGE_W - 48, PAGE_H - 48)
    # small corner ornaments: a diamond in each corner between the two frames
    c.setFillColor(GOLD)
    for cx, cy in ((24, 24), (PAGE_W - 24, 24), (24, PAGE_H - 24), (PAGE_W - 24, PAGE_H - 24)):
        path = c.beginPath()
        path.moveTo(cx, cy - 5)
        path.lineTo(cx + 5, cy)
        path.lineTo(cx, cy + 5)
        path.lineTo(cx - 5, cy)
        path.close()
        c.drawPath(path, stroke=0, fill=1)
    c.restoreState()


def _header(c, data: CertificateData) -> None:
    top = PAGE_H - 62
    # Issuing unit, top left: the parent body (regular) above the issuer (bold), a short rule under it.
    left_x, left_w = 205, 300
    y = top
    c.setFillColor(INK)
    if nfc(data.issuer_parent):
        _centred(c, nfc(data.issuer_parent).upper(), left_x, y, REGULAR, 12, left_w)
        y -= 16
    issuer_lines = _wrap(nfc(data.issuer_name).upper(), BOLD, 12, left_w)[:2]
    width = 0.0
    for line in issuer_lines:
        width = max(width, _centred(c, line, left_x, y, BOLD, 12, left_w))
        y -= 16
    c.setLineWidth(0.8)
    rule = min(width, 140) / 2
    c.line(left_x - rule, y + 8, left_x + rule, y + 8)

    # National heading, top right: bold, the motto underlined across its own width.
    right_x, right_w = 585, 360
    _centred(c, HEADING, right_x, top, BOLD, 12.5, right_w)
    motto_w = _centred(c, MOTTO, right_x, top - 17, BOLD, 13, right_w)
    c.setLineWidth(0.8)
    c.line(right_x - motto_w / 2, top - 21, right_x + motto_w / 2, top - 21)


def _competency_table(data: CertificateData, width: float, max_height: float) -> Table:
    rows = [(nfc(name), format_score(score), vn_date(achieved), vn_date(expires))
            for name, score, achieved, expires in data.competencies]
    col_widths = [36, width - 36 - 62 - 92 - 98, 62, 92, 98]
    for size in (11, 10.5, 10, 9.5, 9, 8.5, 8, 7.5, 7, 6.5, 6):
        head = ParagraphStyle("head", fontName=BOLD, fontSize=size, leading=size * 1.2,
                              alignment=TA_CENTER, textColor=colors.white)
        left = ParagraphStyle("left", fontName=REGULAR, fontSize=size, leading=size * 1.2,
                              alignment=TA_LEFT, textColor=INK)
        mid = ParagraphStyle("mid", parent=left, alignment=TA_CENTER)
        body = [[Paragraph(escape(t), head) for t in ("STT", "Năng lực", "Điểm", "Ngày đạt", "Hiệu lực đến")]]
        for number, (name, score, achieved, expires) in enumerate(rows, start=1):
            body.append([Paragraph(str(number), mid), Paragraph(escape(name), left), Paragraph(score, mid),
                         Paragraph(achieved, mid), Paragraph(expires, mid)])
        pad = max(1.0, size / 2 - 2.5)
        table = Table(body, colWidths=col_widths, repeatRows=1)
        style = [
            ("FONTNAME", (0, 0), (-1, -1), REGULAR),  # else the table selects Helvetica, a non-embedded font
            ("FONTSIZE", (0, 0), (-1, -1), size),
            ("BACKGROUND", (0, 0), (-1, 0), NAVY),
            ("BOX", (0, 0), (-1, -1), 0.8, NAVY),
            ("INNERGRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9AA8C0")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), pad),
            ("BOTTOMPADDING", (0, 0), (-1, -1), pad),
            ("LEFTPADDING", (0, 0), (-1, -1), 5),
            ("RIGHTPADDING", (0, 0), (-1, -1), 5),
        ]
        style += [("BACKGROUND", (0, r), (-1, r), ROW_TINT) for r in range(2, len(body), 2)]
        table.setStyle(TableStyle(style))
        _w, height = table.wrap(width, max_height)
        if height <= max_height:
            break
    return table


def qr_matrix(url: str) -> list[list[bool]]:
    """segno's QR matrix for the URL (error correction M), without the quiet zone."""
    code = segno.make(url, error="m", micro=False, boost_error=False)
    return [[bool(module) for module in row] for row in code.matrix]


def _qr(c, url: str, x: float, y: float, size: float) -> None:
    """Draw the QR code as vector rectangles (one per horizontal run of dark modules) on white."""
    matrix = qr_matrix(url)
    quiet = 2
    count = len(matrix) + 2 * quiet
    module = size / count
    c.saveState()
    c.setFillColor(colors.white)
    c.rect(x, y, size, size, stroke=0, fill=1)
    c.setFillColor(colors.black)
    for r, row in enumerate(matrix):
        top = y + size - (r + quiet) * module
        col = 0
        while col < len(row):
            if row[col]:
                start = col
                while col < len(row) and row[col]:
                    col += 1
                c.rect(x + (start + quiet) * module, top - module, (col - start) * module, module, stroke=0, fill=1)
            else:
                col += 1
    c.restoreState()


def render_certificate(data: CertificateData) -> bytes:
    """The certificate as PDF bytes, identical for identical data."""
    _register_fonts()
    buffer = io.BytesIO()
    c = rl_canvas.Canvas(buffer, pagesize=(PAGE_W, PAGE_H), invariant=1, pageCompression=1, lang="vi-VN",
                         initialFontName=REGULAR, initialFontSize=12)
    issued = data.issued_on
    c.setDateFormatter(lambda *_: f"D:{issued.year:04d}{issued.month:02d}{issued.day:02d}000000+07'00'")
    c.setTitle(f"Giấy chứng nhận {nfc(data.serial)} — {nfc(data.holder_name)}")
    c.setAuthor(nfc(data.issuer_name))
    c.setSubject(SUBTITLE)
    c.setCreator("Công Chức Số")
    c.setProducer("Công Chức Số (ReportLab)")
    c.setKeywords(nfc(data.serial))

    _border(c)
    _header(c, data)
    centre = PAGE_W / 2
    content_w = PAGE_W - 140

    c.setFillColor(RED)
    _centred(c, "GIẤY CHỨNG NHẬN", centre, PAGE_H - 150, BOLD, 32)
    c.setFillColor(NAVY)
    _centred(c, SUBTITLE, centre, PAGE_H - 172, ITALIC, 14)

    c.setFillColor(INK)
    _centred(c, "Chứng nhận ông/bà", centre, PAGE_H - 200, ITALIC, 12)
    c.setFillColor(NAVY)
    _centred(c, nfc(data.holder_name), centre, PAGE_H - 226, BOLD, 22, content_w)
    c.setFillColor(INK)
    unit_line = f"Đơn vị: {nfc(data.unit_name) or '—'}     Chức vụ: {nfc(data.position_name) or '—'}"
    _centred(c, unit_line, centre, PAGE_H - 248, REGULAR, 12, content_w)
    _centred(c, "đã đạt chuẩn năng lực số với các năng lực sau:", centre, PAGE_H - 268, ITALIC, 12)

    table_top, table_bottom = PAGE_H - 278, 188
    table_w, room = 600, table_top - table_bottom
    table = _competency_table(data, table_w, room)
    _w, height = table.wrap(table_w, room)
    scale = min(1.0, room / height)  # a very long list is shrunk to fit rather than cut
    c.saveState()
    c.translate(centre - table_w * scale / 2, table_top - height * scale)
    c.scale(scale, scale)
    table.drawOn(c, 0, 0)
    c.restoreState()

    # Bottom left: QR code, its caption, the serial, the validity and the verification address.
    qr_size, qr_x, qr_y = 92, 50, 52
    _qr(c, nfc(data.verify_url), qr_x, qr_y, qr_size)
    _centred(c, QR_CAPTION, qr_x + qr_size / 2, qr_y - 11, ITALIC, 8.5)
    info_x, info_w = qr_x + qr_size + 12, 270
    lines = [
        ((REGULAR, "Số hiệu: "), (BOLD, nfc(data.serial))),
        ((REGULAR, "Ngày cấp: "), (BOLD, vn_date(data.issued_on))),
        ((REGULAR, "Có giá trị đến: "), (BOLD, vn_date(data.expires_on))),
    ]
    y = qr_y + qr_size - 14
    for (f1, label), (f2, value) in lines:  # one text object per line, so readers extract it as one line
        text = c.beginText(info_x, y)
        text.setFont(f1, 11)
        text.textOut(label)
        text.setFont(f2, 11)
        text.textOut(value)
        c.drawText(text)
        y -= 17
    c.setFont(REGULAR, 8.5)
    c.drawString(info_x, y, "Xác minh tại:")
    url = nfc(data.verify_url)
    c.setFont(REGULAR, _fit(url, REGULAR, 8.5, info_w, 5))
    c.drawString(info_x, y - 11, url)

    # Bottom right: place and date, signer's title, room for the signature, signer's name.
    sign_x, sign_w = 620, 300
    c.setFillColor(INK)
    _centred(c, place_date_line(data.place, data.issued_on), sign_x, 170, ITALIC, 12, sign_w)
    y = 152
    for line in [nfc(part) for part in str(data.signer_title or "").split("\n") if nfc(part)][:2]:
        _centred(c, line.upper(), sign_x, y, BOLD, 12, sign_w)
        y -= 15
    c.setFillColor(colors.HexColor("#555555"))
    _centred(c, "(Đã ký số)", sign_x, y - 2, ITALIC, 9)
    c.setFillColor(INK)
    _centred(c, nfc(data.signer_name), sign_x, 56, BOLD, 13, sign_w)

    if data.test_notice:
        # A test deployment's certificate must never pass for a real one, on screen or on paper.
        c.saveState()
        c.setFillColor(RED)
        _centred(c, TEST_NOTICE, centre, PAGE_H - 40, BOLD, 12, content_w)
        c.translate(centre, PAGE_H / 2)
        c.rotate(24)
        c.setFillColor(colors.Color(0.64, 0.09, 0.1, alpha=0.13))
        _centred(c, "BẢN THỬ NGHIỆM", 0, 0, BOLD, 88)
        c.restoreState()

    c.showPage()
    c.save()
    return buffer.getvalue()
