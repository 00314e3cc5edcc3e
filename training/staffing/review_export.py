"""A position fit review as files: an XLSX workbook of every line, and a PDF to sign.

The PDF is laid out as the unit report is (training.hr.report_pdf): the unit and the national motto
at the top, the lines in a table, then the place and date and the signature block "NGƯỜI LẬP BIỂU /
THỦ TRƯỞNG ĐƠN VỊ", in the Noto fonts so the diacritics survive. Both read the review's lines a chunk
at a time and take plain values, so they can run anywhere a session is.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from types import SimpleNamespace
from typing import IO
from xml.sax.saxutils import escape

import sqlalchemy as sa
from flask_babel import gettext as _
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

from training.extensions import db
from training.hr.exports import Column, write_xlsx
from training.hr.report_pdf import (MARGIN, PAGE, _grid_style, _letterhead, _signature_block, configured_font_dir,
                                    report_fonts, report_styles)
from training.staffing.models import StaffingReview, StaffingReviewEntry
from training.staffing.review import competency_names

CHUNK = 500
PDF_WIDTHS = [10 * mm, 36 * mm, 38 * mm, 34 * mm, 48 * mm, 52 * mm, 55 * mm]  # 273 mm: landscape A4 inside the margins


def verdict_text(entry: StaffingReviewEntry, locale: str = "vi") -> str:
    if entry.verdict == "fits":
        return _("Phù hợp")
    courses = "; ".join(title for _id, title, _code in entry.training)
    if entry.verdict == "fits_after_training":
        return _("Phù hợp sau khi học: %(courses)s", courses=courses)
    if not entry.position_id and not entry.position_name:
        return _("Chưa phù hợp: chưa được bố trí vị trí việc làm")
    taught = {code for _id, _title, code in entry.training}
    untaught = [code for code in entry.missing if code not in taught]
    if untaught:
        return _("Chưa phù hợp: chưa có khóa học cho %(names)s",
                 names="; ".join(competency_names(entry, untaught, locale)))
    return _("Chưa phù hợp: thiếu %(n)d trên %(total)d năng lực vị trí yêu cầu", n=len(entry.missing),
             total=len(entry.required))


def decision_text(entry: StaffingReviewEntry) -> str:
    if entry.decision == "keep":
        text = _("Giữ nguyên vị trí")
    elif entry.decision == "train":
        text = _("Bồi dưỡng, hạn %(day)s", day=entry.due_on.strftime("%d/%m/%Y") if entry.due_on else "—")
    elif entry.decision == "move":
        text = _("Đề xuất điều chuyển: %(where)s", where=entry.move_text or "—")
    else:
        return _("Chưa quyết định")
    return f"{text}. {entry.note}" if entry.note else text


def _entries(review_id: int) -> Iterator[StaffingReviewEntry]:
    last = None
    while True:
        stmt = sa.select(StaffingReviewEntry).where(StaffingReviewEntry.review_id == review_id) \
            .order_by(StaffingReviewEntry.sort_key, StaffingReviewEntry.id).limit(CHUNK)
        if last is not None:
            stmt = stmt.where(sa.tuple_(StaffingReviewEntry.sort_key, StaffingReviewEntry.id) > last)
        chunk = list(db.session.scalars(stmt))
        if not chunk:
            return
        yield from chunk
        last = (chunk[-1].sort_key, chunk[-1].id)


def xlsx_columns() -> list[Column]:
    return [Column(_("STT"), 6), Column(_("Họ và tên"), 28), Column(_("Email"), 28), Column(_("Đơn vị"), 34),
            Column(_("Vị trí việc làm"), 32), Column(_("Năng lực vị trí yêu cầu"), 40),
            Column(_("Năng lực đang có"), 40), Column(_("Năng lực còn thiếu"), 40), Column(_("Kết luận"), 40),
            Column(_("Quyết định"), 14), Column(_("Hạn bồi dưỡng"), 14), Column(_("Đề xuất điều chuyển"), 34),
            Column(_("Ghi chú"), 30), Column(_("Người quyết định"), 24)]


def _decision_word(entry: StaffingReviewEntry) -> str:
    return {"keep": _("Giữ nguyên"), "train": _("Bồi dưỡng"), "move": _("Điều chuyển")}.get(entry.decision or "",
                                                                                                 _("Chưa quyết định"))


def xlsx_rows(review_id: int, locale: str = "vi") -> Iterator[tuple]:
    for number, entry in enumerate(_entries(review_id), start=1):
        required = [code for code, _vi, _en in entry.required]
        yield (number, entry.full_name, entry.email, entry.unit_name, entry.position_name or _("Chưa có vị trí"),
               "; ".join(competency_names(entry, required, locale)),
               "; ".join(competency_names(entry, entry.held, locale)) or "—",
               "; ".join(competency_names(entry, entry.missing, locale)) or "—",
               verdict_text(entry, locale), _decision_word(entry), entry.due_on, entry.move_text or "",
               entry.note or "", entry.decided_by_name or "")


def write_review_xlsx(review: StaffingReview, out: IO[bytes], locale: str = "vi") -> int:
    """The review's lines as a workbook into `out`; how many lines."""
    counted = {"n": 0}

    def rows():
        for row in xlsx_rows(review.id, locale):
            counted["n"] += 1
            yield row

    write_xlsx(xlsx_columns(), rows(), _("Rà soát %(code)s", code=review.unit_code), out)
    return counted["n"]


def write_review_pdf(review: StaffingReview, out: IO[bytes], *, today: date, prepared_by: str = "",
                     locale: str = "vi") -> int:
    """The review as a document to sign into `out`; how many lines it lists."""
    fonts = report_fonts(configured_font_dir())
    styles = report_styles(fonts)

    def p(text, style="body"):
        return Paragraph(escape(str(text)), styles[style])

    unit = review.unit
    # The report's letterhead and signature block read a unit, its name, a day and who prepared it.
    letter = SimpleNamespace(unit=unit, unit_name=review.unit_name, on=today, prepared_by=prepared_by)
    header = [p(_("STT"), "head"), p(_("Họ và tên"), "head"), p(_("Đơn vị"), "head"), p(_("Vị trí việc làm"), "head"),
              p(_("Năng lực còn thiếu"), "head"), p(_("Kết luận"), "head"), p(_("Quyết định"), "head")]
    rows = [header]
    for number, entry in enumerate(_entries(review.id), start=1):
        missing = "; ".join(competency_names(entry, entry.missing, locale)) or "—"
        rows.append([str(number), p(entry.full_name, "cell"), p(entry.unit_name, "cell"),
                     p(entry.position_name or _("Chưa có vị trí"), "cell"), p(missing, "cell"),
                     p(verdict_text(entry, locale), "cell"), p(decision_text(entry), "cell")])
    listed = len(rows) - 1
    state = _("đã chốt") if not review.is_open else _("đang mở")
    story = [
        _letterhead(letter, p),
        p(_("KẾT QUẢ RÀ SOÁT BỐ TRÍ CÔNG CHỨC THEO VỊ TRÍ VIỆC LÀM"), "title"),
        p(_("Đơn vị: %(name)s (%(code)s)", name=review.unit_name, code=review.unit_code), "subtitle"),
        p(_("Đánh giá năng lực tại ngày %(day)s; đợt rà soát %(state)s", day=review.as_of.strftime("%d/%m/%Y"),
            state=state), "subtitle"),
        p(_("Căn cứ Nghị định số 361/2025/NĐ-CP về vị trí việc làm công chức. Kết luận dựa trên năng lực số mà vị "
            "trí việc làm yêu cầu và hồ sơ năng lực còn hiệu lực tại ngày đánh giá."), "cell"),
        Spacer(1, 3 * mm),
        Table(rows, colWidths=PDF_WIDTHS, repeatRows=1, hAlign="LEFT",
              style=_grid_style([("FONTNAME", (0, 1), (0, -1), fonts.regular), ("FONTSIZE", (0, 1), (0, -1), 8),
                                 ("VALIGN", (0, 0), (-1, -1), "TOP")])),
        _signature_block(letter, p),
    ]
    document = SimpleDocTemplate(out, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                                 bottomMargin=MARGIN, title=_("Rà soát vị trí việc làm — %(name)s",
                                                              name=review.unit_name),
                                 author="Công Chức Số", lang="vi", pageCompression=1)
    document.build(story)
    return listed


def review_pdf_bytes(review: StaffingReview, *, today: date, prepared_by: str = "", locale: str = "vi") -> bytes:
    out = io.BytesIO()
    write_review_pdf(review, out, today=today, prepared_by=prepared_by, locale=locale)
    return out.getvalue()
