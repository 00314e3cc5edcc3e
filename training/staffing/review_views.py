"""Position fit reviews: open one, read its officials, record a decision per official, close it,
export it (XLSX, and PDF to sign). A review outside my scope does not exist for me (404)."""
from __future__ import annotations

import io
import re
from datetime import datetime

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from training.access import access
from training.extensions import db
from training.hr.overview import as_day
from training.hr.views import find_units
from training.models import OrgUnit, Position
from training.services import audit
from training.staffing import bp, learning
from training.staffing.forms import ConfirmForm, DecisionForm, ReviewOpenForm
from training.staffing.models import VERDICTS, StaffingReviewEntry
from training.staffing.review import (ENTRIES_PER_PAGE, Decision, ReviewError, close_review, competency_names,
                                      decide, default_day, entries_select, open_review, review_in_scope,
                                      reviews_in_scope, tally)
from training.staffing.review_export import decision_text, verdict_text, write_review_pdf, write_review_xlsx
from training.staffing.views import page_arg, scope_or_403
from training.services.qualification import VIETNAM
from training.vntext import nfc

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _locale() -> str:
    return str(get_locale() or "vi")


def _pick_unit(text: str, root: OrgUnit | None) -> tuple[OrgUnit | None, list[OrgUnit], str | None]:
    """The unit a typed name or code names in my scope, or the units it could mean, or why not."""
    text = nfc(text)[:100]
    if not text.isprintable():
        return None, [], _("Tên hoặc mã đơn vị có ký tự không hợp lệ.")
    matches = find_units(root, text)
    if matches and (matches[0].code == text.upper() or len(matches) == 1):
        return matches[0], [], None
    if not matches:
        return None, [], _("Không có đơn vị “%(text)s” trong phạm vi của bạn.", text=text)
    return None, matches[:20], _("Có nhiều đơn vị khớp với “%(text)s”: hãy ghi mã của một đơn vị trong danh sách.",
                                 text=text)


@bp.route("/reviews", methods=["GET", "POST"])
@access("hr", "admin")
def reviews():
    root = scope_or_403()
    form = ReviewOpenForm()
    today = as_day(None)
    matches: list[OrgUnit] = []
    status = 200
    if request.method == "GET":
        form.as_of.data = default_day(today)
        if root is not None:
            form.unit.data = root.code
        if request.args.get("unit"):
            form.unit.data = nfc(request.args["unit"])[:100]
    elif form.validate_on_submit():
        unit, matches, problem = _pick_unit(form.unit.data, root)
        if problem:
            form.unit.errors.append(problem)
        else:
            try:
                review = open_review(unit, form.as_of.data, current_user, form.note.data or "")
            except ReviewError as error:
                db.session.rollback()
                form.unit.errors.append(str(error))
            else:
                db.session.commit()
                flash(_("Đã mở đợt rà soát %(unit)s: %(n)d cán bộ, công chức.", unit=unit.name,
                        n=review.officials), "success")
                return redirect(url_for("staffing.review", review_id=review.id))
        status = 400
    else:
        status = 400
    page = db.paginate(reviews_in_scope(root), page=page_arg(), per_page=20, error_out=False)
    return render_template("staffing/reviews.html", form=form, page=page, matches=matches, root=root,
                           today=today), status


def _review_or_404(review_id: int):
    review = review_in_scope(review_id, scope_or_403())
    if review is None:
        abort(404)
    return review


@bp.route("/reviews/<int:review_id>")
@access("hr", "admin")
def review(review_id: int):
    review = _review_or_404(review_id)
    verdict = request.args.get("verdict", "")
    if verdict not in VERDICTS:
        verdict = ""
    undecided = request.args.get("undecided") == "1"
    page = db.paginate(entries_select(review, verdict, undecided), page=page_arg(), per_page=ENTRIES_PER_PAGE,
                       error_out=False)
    return render_template("staffing/review.html", review=review, tally=tally(review), page=page,
                           verdict=verdict, undecided=undecided, close_form=ConfirmForm(),
                           verdict_text=verdict_text, decision_text=decision_text, names=competency_names,
                           locale=_locale())


def _entry_or_404(review, entry_id: int) -> StaffingReviewEntry:
    entry = db.session.get(StaffingReviewEntry, entry_id)
    if entry is None or entry.review_id != review.id:
        abort(404)
    return entry


def _decision_form(entry: StaffingReviewEntry, data=None) -> DecisionForm:
    form = DecisionForm(formdata=data)
    missing = _("Các khóa dạy năng lực còn thiếu") if entry.training else _("Chọn khóa học")
    form.course.choices = [(0, missing)] + [(c.id, c.title) for c in learning.published_courses()]
    form.move_position.choices = [(0, _("Giữ vị trí hiện tại"))] + [
        (p.id, p.name) for p in db.session.scalars(
            db.select(Position).order_by(Position.sort_key, Position.code))]
    return form


@bp.route("/reviews/<int:review_id>/entries/<int:entry_id>", methods=["GET", "POST"])
@access("hr", "admin")
def entry(review_id: int, entry_id: int):
    """One official of a review: what they hold against their position, and HR's decision."""
    root = scope_or_403()
    review = _review_or_404(review_id)
    entry = _entry_or_404(review, entry_id)
    form = _decision_form(entry, request.form if request.method == "POST" else None)
    matches: list[OrgUnit] = []
    status = 200
    if request.method == "GET":
        form.decision.data = entry.decision
        form.due_on.data = entry.due_on
        form.note.data = entry.note
        form.move_position.data = entry.move_position_id or 0
        form.move_unit.data = entry.move_unit.code if entry.move_unit is not None else ""
        form.course.data = 0
    elif not review.is_open:
        flash(_("Đợt rà soát này đã chốt; không sửa được quyết định."), "error")
        return redirect(url_for("staffing.review", review_id=review.id))
    elif form.validate_on_submit():
        move_unit = None
        if form.decision.data == "move" and form.move_unit.data:
            move_unit, matches, problem = _pick_unit(form.move_unit.data, root)
            if problem:
                form.move_unit.errors.append(problem)
        if form.decision.data == "train" and not form.due_on.data:
            form.due_on.errors.append(_("Hãy chọn hạn hoàn thành khóa học."))
        if not form.move_unit.errors and not form.due_on.errors:
            position = db.session.get(Position, form.move_position.data) if form.move_position.data else None
            decision = Decision(kind=form.decision.data, due_on=form.due_on.data,
                                course_ids=[form.course.data] if form.course.data else None,
                                move_unit=move_unit, move_position=position, note=form.note.data or "")
            try:
                decide(entry, decision, current_user, as_day(None))
            except ReviewError as error:
                db.session.rollback()  # no assignment of a failed decision stays behind
                flash(str(error), "error")
            else:
                db.session.commit()
                flash(_("Đã lưu quyết định cho %(name)s.", name=entry.full_name), "success")
                return redirect(url_for("staffing.review", review_id=review.id, page=request.args.get("page"))
                                + f"#entry-{entry.id}")
        status = 400
    else:
        status = 400
    return render_template("staffing/entry.html", review=review, entry=entry, form=form, matches=matches,
                           names=competency_names, locale=_locale(), verdict_text=verdict_text,
                           decision_text=decision_text), status


@bp.route("/reviews/<int:review_id>/close", methods=["POST"])
@access("hr", "admin")
def close(review_id: int):
    review = _review_or_404(review_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("Biểu mẫu đã hết hạn; hãy tải lại trang và thử lại."), "error")
    else:
        try:
            close_review(review, current_user)
        except ReviewError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("Đã chốt đợt rà soát; các quyết định được lưu làm hồ sơ."), "success")
    return redirect(url_for("staffing.review", review_id=review.id))


def _filename(review, extension: str) -> str:
    stem = re.sub(r"[^a-z0-9-]+", "-", f"ra-soat-{review.unit_code}".lower()).strip("-")
    return f"{stem}-{review.id}-{datetime.now(VIETNAM):%Y%m%d}.{extension}"


def _send(review, kind: str, produce, mimetype: str):
    """Produce a review file, audit it with its line count, and send it (never cached: personal data)."""
    out = io.BytesIO()
    lines = produce(out)
    audit.record(current_user, "staffing.review.export", review.unit_code, review_id=review.id, format=kind,
                 rows=lines)
    db.session.commit()
    out.seek(0)
    response = send_file(out, mimetype=mimetype, as_attachment=True, download_name=_filename(review, kind))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/reviews/<int:review_id>/export.xlsx")
@access("hr", "admin")
def export_xlsx(review_id: int):
    review = _review_or_404(review_id)
    return _send(review, "xlsx", lambda out: write_review_xlsx(review, out, _locale()), XLSX_TYPE)


@bp.route("/reviews/<int:review_id>/export.pdf")
@access("hr", "admin")
def export_pdf(review_id: int):
    review = _review_or_404(review_id)
    return _send(review, "pdf", lambda out: write_review_pdf(review, out, today=as_day(None),
                                                             prepared_by=current_user.full_name, locale=_locale()),
                 "application/pdf")
