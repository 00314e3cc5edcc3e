"""Pages of the legal-basis register under /courses/manage/legal/: the register (admins edit it,
trainers read it), what is flagged, each lesson's and question's citations and checks, the quizzes'
"leave flagged questions out" setting, and the framework groups (with HR's per-unit view).

Thin views over courses.legal; the small facts other pages show (a badge, the learner's "last
checked" line) come from the template globals registered here.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from courses import bp, legal
from courses.assignments import today_in_vietnam
from courses.models import LEGAL_CHANGE_KINDS, LEGAL_KINDS, Course, LegalText, LegalTextChange, Lesson
from training.access import access
from training.admin.forms import ConfirmForm
from training.extensions import db
from training.forms import BaseForm as FlaskForm
from training.forms import ChoiceField, strip_filter
from training.models import OrgUnit
from training.services.org import get_unit_by_code, scope_root, units_in_scope
from training.vntext import nfc

TRAINERS = ("trainer", "admin")
CHANGE_KIND_LABELS = {kind: legal.CHANGE_LABELS[kind] for kind in LEGAL_CHANGE_KINDS}


class DayField(DateField):
    """A date typed as YYYY-MM-DD (the browser's date picker) with the error in the user's language."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("Ngày không hợp lệ; hãy nhập dạng năm-tháng-ngày, ví dụ 2026-12-05.")) from exc


class TextForm(FlaskForm):
    number = StringField(_l("Số hiệu"), filters=[strip_filter],
                         validators=[DataRequired(_l("Vui lòng nhập số hiệu, ví dụ 118/2025/NĐ-CP.")), Length(max=80)])
    kind = ChoiceField(_l("Loại văn bản"), choices=[(kind, kind) for kind in LEGAL_KINDS])
    title = StringField(_l("Trích yếu (tên văn bản)"), filters=[strip_filter],
                        validators=[DataRequired(_l("Vui lòng nhập trích yếu của văn bản.")), Length(max=500)])
    issued_on = DayField(_l("Ngày ban hành"), validators=[Optional()])
    effective_from = DayField(_l("Ngày có hiệu lực"), validators=[Optional()])
    ends_on = DayField(_l("Ngày cuối cùng áp dụng (văn bản có thời hạn)"), validators=[Optional()])
    notes = TextAreaField(_l("Ghi chú"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 4})
    source = StringField(_l("Nguồn (dòng trong bảng dữ kiện hoặc văn bản đã tra)"), filters=[strip_filter],
                         validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Lưu"))


class ChangeForm(FlaskForm):
    kind = ChoiceField(_l("Thay đổi"), choices=list(CHANGE_KIND_LABELS.items()))
    by_number = StringField(_l("Bởi văn bản (số hiệu)"), filters=[strip_filter],
                            validators=[Optional(), Length(max=80)])
    changed_on = DayField(_l("Có hiệu lực từ ngày"), validators=[DataRequired(_l("Vui lòng nhập ngày."))])
    note = StringField(_l("Ghi chú"), filters=[strip_filter], validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Ghi thay đổi"))


class CitationForm(FlaskForm):
    number = StringField(_l("Số hiệu văn bản"), filters=[strip_filter],
                         validators=[DataRequired(_l("Vui lòng nhập số hiệu, ví dụ 309/2026/NĐ-CP.")), Length(max=80)])
    submit = SubmitField(_l("Thêm trích dẫn"))


# --------------------------------------------------------------------------- globals for other pages
@bp.app_template_global()
def legal_course_facts(course: Course, flags: bool = True) -> dict:
    """What the course pages show: when it was last checked, how many lessons are flagged (for
    trainers), the framework groups it serves."""
    groups = legal.describe_groups(legal.course_group_codes(course))
    return {"checked_on": legal.course_checked_on(course), "flags": legal.course_flag_count(course) if flags else 0,
            "groups": groups, "summary_only": any(g.basis == "summary" for g in groups)}


@bp.app_template_global()
def legal_lesson_facts(lesson: Lesson, flags: bool = True) -> dict:
    groups = legal.describe_groups(lesson.framework or [])
    return {"checked_on": lesson.checked_on, "review_by": lesson.review_by,
            "flagged": flags and lesson.id is not None and legal.is_lesson_flagged(lesson),
            "groups": groups, "summary_only": any(g.basis == "summary" for g in groups)}


@bp.app_template_global()
def legal_question_facts(question_id: int) -> dict:
    return {"checked_on": legal.question_checked_on(question_id), "flagged": legal.is_question_flagged(question_id),
            "citations": [c for c in legal.question_citations(question_id) if c.origin != "removed"]}


@bp.record_once
def _register(state) -> None:
    legal.register(state.app)


# --------------------------------------------------------------------------- the register
def _text_values(form: TextForm) -> dict:
    return {name: getattr(form, name).data for name in legal.TEXT_FIELDS}


@bp.route("/manage/legal/")
@access(*TRAINERS)
def legal_register():
    filters = {"q": nfc(request.args.get("q", "")).strip(), "kind": request.args.get("kind", ""),
               "status": request.args.get("status", "")}
    rows = legal.register_list(filters["q"], filters["kind"], filters["status"])
    page = legal.paginate_list(rows, request.args.get("page", 1, type=int))
    return render_template("courses/legal/index.html", page=page, filters=filters, kinds=LEGAL_KINDS,
                           statuses=legal.STATUS_LABELS, unknown=legal.unknown_cited_numbers(),
                           can_edit=current_user.has_role("admin"))


@bp.route("/manage/legal/texts/new", methods=["GET", "POST"])
@access("admin")
def legal_text_new():
    form = TextForm()
    if request.method == "GET" and request.args.get("number"):
        parsed = legal.parse_number(request.args["number"])
        if parsed is not None:
            form.number.data, kind = parsed
            form.kind.data = kind or form.kind.data
    status = 200
    if form.validate_on_submit():
        try:
            text = legal.create_text(current_user, **_text_values(form))
        except legal.LegalError as exc:
            db.session.rollback()
            form.number.errors.append(str(exc))
            status = 400
        else:
            db.session.commit()
            flash(_("Đã thêm văn bản %(n)s vào sổ.", n=text.number), "success")
            return redirect(url_for("courses.legal_text", text_id=text.id))
    elif request.method == "POST":
        status = 400
    return render_template("courses/legal/text_form.html", form=form, text=None), status


@bp.route("/manage/legal/texts/<int:text_id>", methods=["GET", "POST"])
@access(*TRAINERS)
def legal_text(text_id: int):
    text = db.get_or_404(LegalText, text_id)
    can_edit = current_user.has_role("admin")
    if request.method == "POST" and not can_edit:
        abort(403)
    form = TextForm(obj=text)
    status = 200
    if can_edit and form.validate_on_submit():
        try:
            changed = legal.update_text(text, current_user, **_text_values(form))
        except legal.LegalError as exc:
            db.session.rollback()
            form.number.errors.append(str(exc))
            status = 400
        else:
            db.session.commit()
            flash(_("Đã lưu văn bản %(n)s.", n=text.number) if changed else _("Không có thay đổi nào cần lưu."),
                  "success" if changed else "info")
            return redirect(url_for("courses.legal_text", text_id=text.id))
    elif request.method == "POST":
        status = 400
    return _render_text(text, form, ChangeForm(formdata=None), status)


def _render_text(text: LegalText, form, change_form, status: int = 200):
    lessons, question_ids = legal.citing_items(text)
    provider = legal.question_provider()
    questions = provider.describe(question_ids) if provider is not None else {}
    today = today_in_vietnam()
    flagged_lessons = legal.lesson_reasons(lessons, today)
    flagged_questions = legal.question_reasons(question_ids, today)
    return render_template("courses/legal/text.html", text=text, status=legal.text_status(text, today), form=form,
                           change_form=change_form, lessons=lessons, questions=questions,
                           flagged_lessons=flagged_lessons, flagged_questions=flagged_questions,
                           can_edit=current_user.has_role("admin"), change_labels=legal.CHANGE_LABELS,
                           confirm=ConfirmForm()), status


@bp.route("/manage/legal/texts/<int:text_id>/changes", methods=["POST"])
@access("admin")
def legal_text_change(text_id: int):
    text = db.get_or_404(LegalText, text_id)
    change_form = ChangeForm()
    if change_form.validate_on_submit():
        try:
            change = legal.add_change(text, current_user, kind=change_form.kind.data,
                                      by_number=change_form.by_number.data, changed_on=change_form.changed_on.data,
                                      note=change_form.note.data)
        except legal.LegalError as exc:
            db.session.rollback()
            change_form.by_number.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Đã ghi thay đổi của văn bản %(n)s từ ngày %(d)s. Các bài học và câu hỏi trích dẫn văn bản này "
                    "mà chưa được kiểm tra lại từ ngày đó sẽ được gắn cờ.", n=text.number,
                    d=change.changed_on.strftime("%d/%m/%Y")), "success")
            return redirect(url_for("courses.legal_text", text_id=text.id))
    return _render_text(text, TextForm(obj=text, formdata=None), change_form, 400)


@bp.route("/manage/legal/texts/<int:text_id>/changes/<int:change_id>/delete", methods=["POST"])
@access("admin")
def legal_text_change_delete(text_id: int, change_id: int):
    text = db.get_or_404(LegalText, text_id)
    change = db.session.get(LegalTextChange, change_id)
    if change is None or change.text_id != text.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    legal.remove_change(text, change, current_user)
    db.session.commit()
    flash(_("Đã xóa thay đổi đã ghi nhầm."), "success")
    return redirect(url_for("courses.legal_text", text_id=text.id))


# --------------------------------------------------------------------------- what is flagged
@bp.route("/manage/legal/flags")
@access(*TRAINERS)
def legal_flags():
    today = today_in_vietnam()
    filters = {"kind": request.args.get("kind", ""), "q": nfc(request.args.get("q", "")).strip()}
    items = []
    if filters["kind"] in ("", "lesson"):
        lessons = legal.flagged_lessons(today)
        reasons = legal.lesson_reasons(lessons, today)
        items += [{"kind": "lesson", "title": lesson.title, "where": lesson.course.title,
                   "url": url_for("courses.legal_lesson", lesson_id=lesson.id), "reasons": reasons.get(lesson.id, []),
                   "checked_on": lesson.checked_on} for lesson in lessons]
    provider = legal.question_provider()
    if filters["kind"] in ("", "question") and provider is not None:
        ids = legal.flagged_question_ids(today)
        described = provider.describe(ids)
        reasons = legal.question_reasons(ids, today)
        checked = {qid: legal.question_checked_on(qid) for qid in ids}
        items += [{"kind": "question", "title": described[qid]["name"], "where": described[qid]["category"],
                   "url": url_for("courses.legal_question", question_id=qid), "reasons": reasons.get(qid, []),
                   "checked_on": checked[qid], "hidden": described[qid]["hidden"]}
                  for qid in ids if qid in described]
    if filters["q"]:
        needle = filters["q"].lower()
        items = [item for item in items if needle in item["title"].lower() or needle in item["where"].lower()
                 or any(needle in r.number.lower() for r in item["reasons"])]
    page = legal.paginate_list(items, request.args.get("page", 1, type=int))
    return render_template("courses/legal/flags.html", page=page, filters=filters, today=today)


# --------------------------------------------------------------------------- a lesson
@bp.route("/manage/legal/lessons/<int:lesson_id>")
@access(*TRAINERS)
def legal_lesson(lesson_id: int):
    return _render_lesson(db.get_or_404(Lesson, lesson_id), CitationForm(formdata=None))


def _render_lesson(lesson: Lesson, citation_form, status: int = 200):
    today = today_in_vietnam()
    citations = legal.lesson_citations(lesson)
    return render_template("courses/legal/lesson.html", lesson=lesson, citations=citations,
                           texts=legal.texts_by_key(c.key for c in citations),
                           reasons=legal.lesson_reasons([lesson], today).get(lesson.id, []),
                           groups=legal.describe_groups(lesson.framework or []), citation_form=citation_form,
                           confirm=ConfirmForm(), origins=legal.ORIGIN_LABELS, today=today), status


@bp.route("/manage/legal/lessons/<int:lesson_id>/checked", methods=["POST"])
@access(*TRAINERS)
def legal_lesson_checked(lesson_id: int):
    lesson = db.get_or_404(Lesson, lesson_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    legal.mark_lesson_checked(lesson, current_user)
    db.session.commit()
    flash(_("Đã ghi nhận: bài “%(t)s” được kiểm tra theo văn bản pháp luật hiện hành hôm nay.", t=lesson.title),
          "success")
    return redirect(url_for("courses.legal_lesson", lesson_id=lesson.id))


@bp.route("/manage/legal/lessons/<int:lesson_id>/citations", methods=["POST"])
@access(*TRAINERS)
def legal_lesson_citation(lesson_id: int):
    lesson = db.get_or_404(Lesson, lesson_id)
    return _correct_citation(
        lambda number, action: legal.correct_lesson_citation(lesson, number, action, current_user),
        lambda form: _render_lesson(lesson, form, 400),
        url_for("courses.legal_lesson", lesson_id=lesson.id))


def _correct_citation(correct, render_invalid, back: str):
    """The one way a trainer adds, removes or restores a citation, for a lesson or a question."""
    action = request.form.get("action", "add")
    if action == "add":
        form = CitationForm()
        if not form.validate_on_submit():
            return render_invalid(form)
        number = form.number.data
    else:
        form = CitationForm(formdata=None)
        if not ConfirmForm().validate_on_submit() or action not in ("remove", "restore"):
            abort(400)
        number = request.form.get("number", "")
    try:
        number = correct(number, action)
    except legal.LegalError as exc:
        db.session.rollback()
        form.number.errors = [*form.number.errors, str(exc)]
        return render_invalid(form)
    db.session.commit()
    flash(_citation_message(action, number), "success")
    return redirect(back)


def _citation_message(action: str, number: str) -> str:
    if action == "add":
        return _("Đã thêm trích dẫn %(n)s.", n=number)
    if action == "remove":
        return _("Đã bỏ trích dẫn %(n)s; lần tìm lại sau sẽ không thêm lại văn bản này.", n=number)
    return _("Đã khôi phục trích dẫn %(n)s.", n=number)


# --------------------------------------------------------------------------- a question
def _question_or_404(question_id: int) -> dict:
    provider = legal.question_provider()
    if provider is None or not provider.exists(question_id):
        abort(404)
    return provider.describe([question_id])[question_id]


@bp.route("/manage/legal/questions/<int:question_id>")
@access(*TRAINERS)
def legal_question(question_id: int):
    return _render_question(_question_or_404(question_id), CitationForm(formdata=None))


def _render_question(question: dict, citation_form, status: int = 200):
    today = today_in_vietnam()
    citations = legal.question_citations(question["id"])
    return render_template("courses/legal/question.html", question=question, citations=citations,
                           texts=legal.texts_by_key(c.key for c in citations),
                           reasons=legal.question_reasons([question["id"]], today).get(question["id"], []),
                           checked_on=legal.question_checked_on(question["id"]), citation_form=citation_form,
                           confirm=ConfirmForm(), origins=legal.ORIGIN_LABELS, today=today), status


@bp.route("/manage/legal/questions/<int:question_id>/checked", methods=["POST"])
@access(*TRAINERS)
def legal_question_checked(question_id: int):
    question = _question_or_404(question_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    legal.mark_question_checked(question_id, current_user)
    db.session.commit()
    flash(_("Đã ghi nhận: câu hỏi “%(t)s” được kiểm tra theo văn bản pháp luật hiện hành hôm nay.",
            t=question["name"]), "success")
    return redirect(url_for("courses.legal_question", question_id=question_id))


@bp.route("/manage/legal/questions/<int:question_id>/citations", methods=["POST"])
@access(*TRAINERS)
def legal_question_citation(question_id: int):
    question = _question_or_404(question_id)
    return _correct_citation(
        lambda number, action: legal.correct_question_citation(question_id, number, action, current_user),
        lambda form: _render_question(question, form, 400),
        url_for("courses.legal_question", question_id=question_id))


# --------------------------------------------------------------------------- quizzes
@bp.route("/manage/legal/quizzes", methods=["GET", "POST"])
@access(*TRAINERS)
def legal_quizzes():
    provider = legal.question_provider()
    if provider is None:
        abort(404)
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit() or request.form.get("skip") not in ("1", "0"):
            abort(400)
        quiz = provider.set_skip(request.form.get("quiz_id", type=int) or 0, request.form["skip"] == "1",
                                 current_user)
        if quiz is None:
            abort(404)
        db.session.commit()
        flash(_("Bài kiểm tra “%(t)s” sẽ bỏ các câu hỏi bị gắn cờ khỏi đề.", t=quiz.title)
              if quiz.skip_flagged_questions else
              _("Bài kiểm tra “%(t)s” vẫn rút cả các câu hỏi bị gắn cờ.", t=quiz.title), "success")
        return redirect(url_for("courses.legal_quizzes"))
    rows = provider.quizzes()
    page = legal.paginate_list(rows, request.args.get("page", 1, type=int))
    return render_template("courses/legal/quizzes.html", page=page, confirm=ConfirmForm())


# --------------------------------------------------------------------------- framework groups
@bp.route("/manage/legal/framework")
@access("trainer", "admin", "hr")
def legal_framework():
    groups = {g.code: g for g in legal.framework_groups()}
    courses = db.session.scalars(sa.select(Course).where(Course.status == "published").order_by(Course.title)).all()
    served: dict[str, list] = {}
    for course in courses:
        for code in legal.course_group_codes(course):
            served.setdefault(code, []).append(course)
    views = legal.describe_groups(set(groups) | set(served), groups)
    return render_template("courses/legal/framework.html", views=views, groups=groups, served=served,
                           courses=courses, describe=legal.describe_groups)


@bp.route("/manage/legal/framework/units/<unit_code>")
@access("hr", "admin")
def legal_framework_unit(unit_code: str):
    root = scope_root(current_user)
    if root is None and not current_user.has_role("admin"):
        abort(403)
    unit = get_unit_by_code(nfc(unit_code).upper())
    if unit is None or (root is not None and not unit.is_within(root)):
        abort(404)
    children = db.session.scalars(units_in_scope(unit).where(OrgUnit.parent_id == unit.id,
                                                             OrgUnit.unit_type != "department")).all()
    return render_template("courses/legal/unit.html", unit=unit, coverage=legal.unit_framework(unit),
                           children=children)
