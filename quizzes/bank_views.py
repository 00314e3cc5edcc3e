"""Trainer pages of the question bank under /quizzes/bank/: browse, categories, write, preview, hide."""
from __future__ import annotations

import random
from collections import defaultdict
from types import SimpleNamespace
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import escape
from sqlalchemy.orm import selectinload

from quizzes import bp
from quizzes.bank import (BankError, _refresh_path, categories_tree, create_category, create_question,
                          question_data, search_questions, subtree_ids, update_question, validate_question)
from quizzes.bank_forms import QUESTION_FORMS, CategoryForm, show_number
from quizzes.lint import bank_findings, statistics_links
from quizzes.models import Question, QuestionCategory, Tag, question_tags
from quizzes.qdata import QTYPES, QuestionData, to_dict
from quizzes.qtypes import dict_items, fraction_of, get_type, number, percent
from quizzes.richtext import to_safe_html
from training.access import access
from training.admin.forms import ConfirmForm
from training.extensions import db
from training.models import Competency
from training.services import audit
from training.services.competencies import all_competencies
from training.vntext import collation_key, nfc

PER_PAGE = 25
NEW_TEXT_FORMAT = "markdown"
TRAINERS = ("trainer", "admin")


# --------------------------------------------------------------------------- helpers
def _ordered_categories() -> list[QuestionCategory]:
    """Every category in tree order, siblings in Vietnamese alphabetical order."""
    children: dict[int | None, list[QuestionCategory]] = defaultdict(list)
    for category in categories_tree():
        children[category.parent_id].append(category)
    for siblings in children.values():
        siblings.sort(key=lambda c: (c.sort_key or collation_key(c.name), c.id))
    ordered: list[QuestionCategory] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        category = stack.pop()
        ordered.append(category)
        stack.extend(reversed(children.get(category.id, [])))
    return ordered


def _category_label(category: QuestionCategory) -> str:
    return "— " * category.depth + category.name


def _category_choices(exclude: set[int] | None = None) -> list[tuple[int, str]]:
    return [(c.id, _category_label(c)) for c in _ordered_categories() if c.id not in (exclude or set())]


def _competency_choices(blank: str) -> list[tuple[int, str]]:
    return [(0, blank)] + [(c.id, c.name(str(get_locale()))) for c in all_competencies()]


def _category_tree() -> list[dict]:
    """Nested nodes {category, count, total, competency, inherited, children} for the browser's tree."""
    counts = dict(db.session.execute(
        sa.select(Question.category_id, sa.func.count(Question.id)).group_by(Question.category_id)).all())
    nodes = {c.id: {"category": c, "count": counts.get(c.id, 0), "children": []} for c in _ordered_categories()}
    roots = []
    for node in nodes.values():  # dict order is tree order, so a parent always comes first
        category = node["category"]
        parent = nodes.get(category.parent_id)
        if parent is not None:
            parent["children"].append(node)
        else:
            roots.append(node)

    def finish(node, inherited):
        own = node["category"].competency
        node["competency"] = own or inherited
        node["inherited"] = own is None and inherited is not None
        node["total"] = node["count"] + sum(finish(child, own or inherited) for child in node["children"])
        return node["total"]

    for root in roots:
        finish(root, None)
    return roots


def _safe_next(default: str) -> str:
    target = request.form.get("next") or request.args.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc and not parts.scheme:
        return target
    return default


def type_label(qtype: str) -> str:
    try:
        return get_type(qtype).label
    except ValueError:
        return qtype


def learner_preview(q: QuestionData) -> dict:
    """The question as a learner sees it in an attempt (same shape as presenting.slot_view), options in seed-0 order."""
    qtype = get_type(q.qtype)
    view = qtype.learner_view(q, qtype.initial_order(q, random.Random(0)))
    result = {
        "slot": 1,
        "type": view.get("type", q.qtype),
        "text": view.get("text_html", ""),
        "options": [{"id": o["id"], "text": o.get("text_html", "")} for o in view.get("options", [])],
        "mark": q.default_mark,
        "unit": view.get("unit", ""),
    }
    if view.get("items"):
        result["items"] = [{"id": i["id"], "text": i.get("text_html", "")} for i in view["items"]]
    return result


def answer_key(q: QuestionData) -> dict:
    """For trainers only: the right answer, every option/answer with its percent and feedback, general feedback."""
    qtype = get_type(q.qtype)
    fmt = q.text_format
    rows, columns = [], ()
    if q.qtype in ("single", "multi"):
        columns = (_("Phương án"), _("Điểm"), _("Phản hồi"))
        rows = [(to_safe_html(o.get("text"), o.get("format") or fmt), percent(fraction_of(o)),
                 to_safe_html(o.get("feedback"), fmt)) for o in dict_items(q.data.get("options"))]
    elif q.qtype == "shortanswer":
        columns = (_("Đáp án"), _("Điểm"), _("Phản hồi"))
        rows = [(to_safe_html(a.get("text"), "plain"), percent(fraction_of(a)), to_safe_html(a.get("feedback"), fmt))
                for a in dict_items(q.data.get("answers"))]
    elif q.qtype == "numerical":
        columns = (_("Giá trị ± sai số"), _("Điểm"), _("Phản hồi"))
        for a in dict_items(q.data.get("answers")):
            value = number(a.get("value"))
            shown = "*" if value is None else show_number(value)
            tolerance = number(a.get("tolerance")) or 0.0
            if value is not None and tolerance:
                shown += f" ± {show_number(tolerance)}"
            rows.append((to_safe_html(shown, "plain"), percent(fraction_of(a)), to_safe_html(a.get("feedback"), fmt)))
    elif q.qtype == "truefalse":
        columns = (_("Học viên chọn"), _("Điểm"), _("Phản hồi"))
        correct = q.data.get("correct")
        rows = [(escape(_("Đúng")), percent(1.0 if correct is True else 0.0),
                 to_safe_html(q.data.get("feedback_true"), fmt)),
                (escape(_("Sai")), percent(1.0 if correct is False else 0.0),
                 to_safe_html(q.data.get("feedback_false"), fmt))]
    elif q.qtype == "matching":
        columns = (_("Mục"), _("Câu trả lời đúng"))
        rows = [(to_safe_html(p.get("text"), fmt) if str(p.get("text") or "").strip()
                 else escape(_("(chỉ là câu trả lời sai)")), to_safe_html(p.get("answer"), "plain"))
                for p in dict_items(q.data.get("pairs"))]
        rows += [(escape(_("(câu trả lời gây nhiễu)")), to_safe_html(d, "plain"))
                 for d in q.data.get("distractors") or [] if isinstance(d, str) and d.strip()]
    return {
        "graded": qtype.graded,
        "right": list(qtype.right_answer_view(q).get("answers", [])) if qtype.graded else [],
        "columns": columns,
        "rows": rows,
        "general_feedback": to_safe_html(q.general_feedback, fmt) if q.general_feedback.strip() else "",
    }


BLANK_SLOT = SimpleNamespace(response=None, saved_at=None)


# --------------------------------------------------------------------------- browser
@bp.route("/bank/")
@access(*TRAINERS)
def bank_index():
    args = request.args
    filters = {
        "category": args.get("category", type=int),
        "sub": args.get("sub") == "1",
        "type": args.get("type", "") if args.get("type", "") in QTYPES else "",
        "tag": nfc(args.get("tag", "")).lower(),
        "q": nfc(args.get("q", "")),
        "hidden": args.get("hidden", "") if args.get("hidden", "") in ("0", "1") else "",
    }
    category = db.session.get(QuestionCategory, filters["category"]) if filters["category"] else None
    stmt = search_questions(filters["q"], category=category, include_subcategories=filters["sub"],
                            qtype=filters["type"], tag=filters["tag"],
                            hidden=(filters["hidden"] == "1") if filters["hidden"] else None)
    stmt = stmt.options(selectinload(Question.current_version), selectinload(Question.tags),
                        selectinload(Question.category))
    page = db.paginate(stmt, per_page=PER_PAGE, error_out=False)
    tags = db.session.scalars(sa.select(Tag.name).where(Tag.id.in_(sa.select(question_tags.c.tag_id)))
                              .order_by(Tag.name)).all()
    findings = bank_findings(category) if category is not None else None
    return render_template("quizzes/bank/index.html", page=page, questions=page.items, tree=_category_tree(),
                           category=category, filters=filters, tags=tags, qtypes=QTYPES, type_label=type_label,
                           form=ConfirmForm(), findings=findings,
                           stats=statistics_links(f.question_id for f in findings or []))


# --------------------------------------------------------------------------- categories
@bp.route("/bank/categories/new", methods=["GET", "POST"])
@bp.route("/bank/categories/<int:category_id>", methods=["GET", "POST"])
@access(*TRAINERS)
def bank_category(category_id: int | None = None):
    category = db.get_or_404(QuestionCategory, category_id) if category_id else None
    form = CategoryForm(obj=category)
    forbidden = set(db.session.scalars(subtree_ids(category))) if category is not None else set()
    form.parent_id.choices = [(0, _("(Không có — cấp cao nhất)"))] + _category_choices(exclude=forbidden)
    form.parent_id.forbidden = forbidden
    form.competency_id.choices = _competency_choices(_("(Không gắn — dùng năng lực của danh mục cha)"))
    if request.method == "GET":
        if category is not None:
            form.parent_id.data = category.parent_id or 0
            form.competency_id.data = category.competency_id or 0
        else:
            wanted = request.args.get("parent", 0, type=int)
            form.parent_id.data = wanted if wanted in dict(form.parent_id.choices) else 0
            form.competency_id.data = 0
    status = 200
    if form.validate_on_submit():
        parent = db.session.get(QuestionCategory, form.parent_id.data) if form.parent_id.data else None
        competency = db.session.get(Competency, form.competency_id.data) if form.competency_id.data else None
        name = nfc(form.name.data)
        sibling = db.session.scalar(sa.select(QuestionCategory.id).where(
            QuestionCategory.name == name,
            QuestionCategory.parent_id == parent.id if parent else QuestionCategory.parent_id.is_(None)))
        if sibling is not None and (category is None or sibling != category.id):
            form.name.errors.append(_("Đã có danh mục “%(name)s” ở cùng cấp này.", name=name))
            status = 400
        else:
            try:
                if category is None:
                    category = create_category(name, parent, competency, form.description.data or "",
                                               form.idnumber.data or "")
                    audit.record(current_user, "question_category.create", str(category.id), name=category.name)
                    message = _("Đã tạo danh mục “%(name)s”.", name=category.name)
                else:
                    _update_category(category, name, parent, competency, form.description.data or "",
                                     form.idnumber.data or "")
                    audit.record(current_user, "question_category.update", str(category.id), name=category.name,
                                 parent=parent.id if parent else None)
                    message = _("Đã lưu danh mục “%(name)s”.", name=category.name)
            except BankError as exc:
                db.session.rollback()
                form.name.errors.append(str(exc))
                status = 400
            else:
                db.session.commit()
                flash(message, "success")
                return redirect(url_for("quizzes.bank_index", category=category.id, sub=1))
    elif request.method == "POST":
        status = 400
    count = db.session.scalar(sa.select(sa.func.count(Question.id)).where(
        Question.category_id.in_(subtree_ids(category)))) if category is not None else 0
    return render_template("quizzes/bank/category_form.html", form=form, category=category, count=count), status


def _update_category(category: QuestionCategory, name: str, parent: QuestionCategory | None,
                     competency: Competency | None, description: str, idnumber: str) -> None:
    if parent is not None and parent.path.startswith(category.path):
        raise BankError(_("Không thể chọn chính danh mục này hoặc một danh mục con của nó làm danh mục cha."))
    category.name = name
    category.sort_key = collation_key(name)[:400]  # the key can be twice the name; the column holds 400
    category.competency = competency
    category.description = nfc(description)
    category.idnumber = nfc(idnumber)
    if category.parent_id != (parent.id if parent else None):
        category.parent = parent
        db.session.flush()
        _refresh_path(category)
    db.session.flush()


# --------------------------------------------------------------------------- questions
def _same(a: QuestionData, b: QuestionData) -> bool:
    """Would saving `a` over the stored `b` change nothing (texts compared as the bank stores them)?"""
    def normal(q: QuestionData) -> dict:
        values = to_dict(q)
        for key in ("name", "text", "general_feedback", "idnumber"):
            values[key] = nfc(values[key])
        values["tags"] = sorted({nfc(t).lower() for t in values["tags"] if nfc(t)})
        return values

    return normal(a) == normal(b)


def _option_format(q: QuestionData | None) -> str | None:
    """The format the options of an existing question share (kept when it is edited), else None."""
    if q is None:
        return None
    formats = {o.get("format") for o in dict_items(q.data.get("options")) if o.get("format")}
    return formats.pop() if len(formats) == 1 else None


@bp.route("/bank/questions/new", methods=["GET", "POST"])
@bp.route("/bank/questions/<int:question_id>", methods=["GET", "POST"])
@access(*TRAINERS)
def bank_question(question_id: int | None = None):
    question = db.get_or_404(Question, question_id) if question_id else None
    if question is not None and question.current_version is None:
        abort(404)
    stored = question_data(question) if question is not None else None
    qtype = stored.qtype if stored is not None else request.args.get("type", "")
    if question is None and qtype not in QUESTION_FORMS:
        status = 400 if qtype or request.method == "POST" else 200
        if status == 400:
            flash(_("Không thể soạn loại câu hỏi này trên web; hãy chọn một loại trong danh sách."), "error")
        return render_template("quizzes/bank/choose_type.html", forms=QUESTION_FORMS, type_label=type_label,
                               category=request.args.get("category", type=int)), status
    if qtype not in QUESTION_FORMS:
        # Essay, description and cloze come from imports: shown, never edited here.
        return _render_preview(question, stored, read_only=True), 400 if request.method == "POST" else 200
    categories = _category_choices()
    if not categories:
        flash(_("Hãy tạo một danh mục câu hỏi trước khi thêm câu hỏi."), "info")
        return redirect(url_for("quizzes.bank_category"))

    form_class = QUESTION_FORMS[qtype]
    if request.method == "POST":
        form = form_class()
    elif stored is not None:
        form = form_class(data=form_class.initial(stored, question.category_id))
    else:
        wanted = request.args.get("category", type=int)
        form = form_class(data={"category_id": wanted if wanted in dict(categories) else categories[0][0]})
    form.category_id.choices = categories
    text_format = stored.text_format if stored is not None else NEW_TEXT_FORMAT
    penalty = stored.penalty if stored is not None else 0.3333333

    messages: list[str] = []
    preview = None
    status = 200
    if request.method == "POST":
        if form.more.data:
            form.add_rows()
        else:
            valid = form.validate()
            data = form.question_data(text_format, penalty, _option_format(stored))
            if form.preview.data:
                # Nothing is saved; problems are shown so the trainer can fix them before saving.
                preview = learner_preview(data)
                messages = validate_question(data) if form.text.data else []
            else:
                messages = validate_question(data) if valid else []
                if not valid or messages:
                    status = 400
                else:
                    return _save(question, stored, data, form)
    versions = question.versions if question is not None else []
    return render_template("quizzes/bank/question_form.html", form=form, question=question, qtype=qtype,
                           type_label=type_label(qtype), messages=messages, preview=preview, slot=BLANK_SLOT,
                           text_format=text_format, versions=versions), status


def _save(question: Question | None, stored: QuestionData | None, data: QuestionData, form):
    category = db.session.get(QuestionCategory, form.category_id.data)
    try:
        if question is None:
            question = create_question(category, data, current_user)
            audit.record(current_user, "question.create", str(question.id), qtype=data.qtype)
            message = _("Đã thêm câu hỏi “%(name)s”.", name=question.current_version.name)
        elif _same(data, stored):
            # Moving a question to another category is not a new version of its content.
            if category.id == question.category_id:
                flash(_("Không có thay đổi nào cần lưu."), "info")
                return redirect(url_for("quizzes.bank_question", question_id=question.id))
            question.category = category
            audit.record(current_user, "question.move", str(question.id), category=category.id)
            message = _("Đã chuyển câu hỏi sang danh mục “%(name)s”.", name=category.name)
        else:
            before = question.current_version.version
            version = update_question(question, data, current_user, category)
            if version.version != before:
                message = _("Đã lưu thành phiên bản mới %(n)d; các bài làm cũ vẫn chấm theo phiên bản cũ.",
                            n=version.version)
            else:
                message = _("Đã lưu câu hỏi “%(name)s”.", name=version.name)
    except BankError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("quizzes.bank_index"))
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("quizzes.bank_question", question_id=question.id))


def _render_preview(question: Question, q: QuestionData, read_only: bool = False):
    return render_template("quizzes/bank/question_preview.html", question=question, data=q,
                           preview=learner_preview(q), slot=BLANK_SLOT, key=answer_key(q),
                           type_label=type_label(q.qtype), read_only=read_only, editable=q.qtype in QUESTION_FORMS,
                           form=ConfirmForm())


@bp.route("/bank/questions/<int:question_id>/preview")
@access(*TRAINERS)
def bank_preview(question_id: int):
    question = db.get_or_404(Question, question_id)
    if question.current_version is None:
        abort(404)
    return _render_preview(question, question_data(question))


@bp.route("/bank/questions/<int:question_id>/hide", methods=["POST"])
@access(*TRAINERS)
def bank_toggle_hidden(question_id: int):
    question = db.get_or_404(Question, question_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    question.hidden = not question.hidden
    audit.record(current_user, "question.hide" if question.hidden else "question.show", str(question.id))
    db.session.commit()
    name = question.current_version.name if question.current_version else str(question.id)
    flash(_("Đã ẩn câu hỏi “%(name)s”: câu hỏi sẽ không được rút vào bài kiểm tra mới.", name=name)
          if question.hidden else _("Đã hiện lại câu hỏi “%(name)s”.", name=name), "success")
    return redirect(_safe_next(url_for("quizzes.bank_index")))

