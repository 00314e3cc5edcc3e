"""Trainer pages under /quizzes/manage/: quiz settings and rules, bank import and export, item statistics."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from courses.models import Course
from quizzes import bp
from quizzes.bank import GRADED_TYPES, categories_tree, search_questions, subtree_ids
from quizzes.manage_forms import (EXPORT_FORMAT_LABELS, FORMAT_LABELS, GRADING_LABELS, QUIZ_STATUS_LABELS,
                                  REVIEW_LABELS, ApplyImportForm, FixedRuleForm, ImportForm, QuizForm,
                                  RandomRuleForm)
from quizzes.models import Attempt, Question, QuestionCategory, QuestionVersion, Quiz, QuizRule
from quizzes.lint import LintItem, lint, ref_of
from quizzes.policy import granting_problems, pass_mark_problem, planned_questions, policy
from quizzes.qtypes import UnknownQuestionType, get_type
from quizzes.richtext import to_safe_html
from quizzes.stats_service import FLAG_LABELS, SERIOUS_FLAGS, WHICH_LABELS, build_report, report_csv
from quizzes.transfer import EXPORTERS, ImportRefused, apply_import, export_category, parse_file
from training.access import access
from training.uploads import claim_upload, purge_uploads, store_upload
from training.admin.forms import ConfirmForm
from training.extensions import db
from training.models import Competency
from training.services import audit
from training.services.competencies import all_competencies
from training.vntext import collation_key, nfc

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
LABELS = {"status": QUIZ_STATUS_LABELS, "grading": GRADING_LABELS, "review": REVIEW_LABELS,
          "formats": FORMAT_LABELS, "export_formats": EXPORT_FORMAT_LABELS, "flags": FLAG_LABELS,
          "which": WHICH_LABELS}


def _error_page(status: int, message: str):
    return render_template("errors/error.html", status=status, message=message), status


def _quiz_or_404(quiz_id: int) -> Quiz:
    return db.get_or_404(Quiz, quiz_id)


def _number(value, digits: int = 2) -> str:
    """A figure as Vietnamese readers write it (decimal comma), or a dash."""
    if value is None:
        return "—"
    return format_decimal(round(value, digits), format="#,##0." + "#" * digits)


def _type_label(qtype: str) -> str:
    try:
        return str(get_type(qtype).label or qtype)
    except UnknownQuestionType:
        return qtype


# --------------------------------------------------------------------------- time zones
def to_utc(local: datetime | None) -> datetime | None:
    """A date-time typed in Vietnam (datetime-local, no zone) as the UTC instant it means."""
    if local is None:
        return None
    return local.replace(tzinfo=VIETNAM).astimezone(timezone.utc)


def to_local(moment: datetime | None) -> datetime | None:
    """A stored UTC instant as the Vietnam wall-clock time a datetime-local input shows."""
    if moment is None:
        return None
    return moment.astimezone(VIETNAM).replace(tzinfo=None, second=0, microsecond=0)


# --------------------------------------------------------------------------- quiz list
@bp.route("/manage/")
@access("trainer", "admin")
def manage_quizzes():
    filters = {"q": nfc(request.args.get("q", "")), "status": request.args.get("status", "")}
    stmt = sa.select(Quiz).order_by(Quiz.title, Quiz.id)
    if filters["q"]:
        stmt = stmt.where(Quiz.title.ilike(f"%{filters['q']}%"))
    if filters["status"] in QUIZ_STATUS_LABELS:
        stmt = stmt.where(Quiz.status == filters["status"])
    page = db.paginate(stmt, per_page=25, error_out=False)
    quizzes = sorted(page.items, key=lambda q: collation_key(q.title))
    counts = {}
    if quizzes:
        counts = dict(db.session.execute(
            sa.select(Attempt.quiz_id, sa.func.count(Attempt.id))
            .where(Attempt.quiz_id.in_([q.id for q in quizzes]), Attempt.state == "finished")
            .group_by(Attempt.quiz_id)).all())
    return render_template("quizzes/manage/index.html", page=page, quizzes=quizzes, counts=counts, filters=filters,
                           labels=LABELS, locale=str(get_locale()))


# --------------------------------------------------------------------------- settings
def _course_choices(quiz: Quiz | None):
    courses = db.session.scalars(sa.select(Course).where(
        sa.or_(Course.status == "published", Course.id == (quiz.course_id if quiz and quiz.course_id else -1))))
    ordered = sorted(courses, key=lambda c: collation_key(c.title))
    return [(0, _("(Không thuộc khóa học nào)"))] + [(c.id, c.title) for c in ordered]


def _competency_choices():
    locale = str(get_locale())
    return [(0, _("(Không gắn với năng lực nào)"))] + [(c.id, c.name(locale)) for c in all_competencies()]


def _settings_data(quiz: Quiz) -> dict:
    return {
        "title": quiz.title, "description": quiz.description, "course_id": quiz.course_id or 0,
        "competency_id": quiz.competency_id or 0, "status": quiz.status, "pass_percent": quiz.pass_percent,
        "time_limit_min": quiz.time_limit_s // 60 if quiz.time_limit_s else None,
        "opens_at": to_local(quiz.opens_at), "closes_at": to_local(quiz.closes_at),
        "max_attempts": quiz.max_attempts, "attempt_delay_min": (quiz.attempt_delay_s or 0) // 60,
        "grading_method": quiz.grading_method, "shuffle_questions": quiz.shuffle_questions,
        "shuffle_options": quiz.shuffle_options, "questions_per_page": quiz.questions_per_page,
        "review_correctness": quiz.review_correctness, "review_right_answers": quiz.review_right_answers,
        "review_feedback": quiz.review_feedback,
    }


def _apply_settings(quiz: Quiz, form: QuizForm) -> None:
    quiz.title = nfc(form.title.data)
    quiz.description = nfc(form.description.data or "")
    quiz.course_id = form.course_id.data or None
    quiz.competency_id = form.competency_id.data or None
    quiz.status = form.status.data
    quiz.pass_percent = float(form.pass_percent.data)
    quiz.time_limit_s = form.time_limit_min.data * 60 if form.time_limit_min.data else None
    quiz.opens_at = to_utc(form.opens_at.data)
    quiz.closes_at = to_utc(form.closes_at.data)
    quiz.max_attempts = form.max_attempts.data
    quiz.attempt_delay_s = form.attempt_delay_min.data * 60
    quiz.grading_method = form.grading_method.data
    quiz.shuffle_questions = bool(form.shuffle_questions.data)
    quiz.shuffle_options = bool(form.shuffle_options.data)
    quiz.questions_per_page = form.questions_per_page.data
    quiz.review_correctness = form.review_correctness.data
    quiz.review_right_answers = form.review_right_answers.data
    quiz.review_feedback = form.review_feedback.data


def _quiz_form(quiz: Quiz | None) -> QuizForm:
    form = QuizForm(data=_settings_data(quiz) if quiz is not None else None)
    form.course_id.choices = _course_choices(quiz)
    form.competency_id.choices = _competency_choices()
    return form


def _category_label(category: QuestionCategory) -> str:
    return "— " * category.depth + category.name


def _pool_stmt(category: QuestionCategory, include_subcategories: bool):
    """The questions a random rule may draw: visible, graded, in the category (and its subtree)."""
    stmt = (sa.select(Question.id).join(QuestionVersion, Question.current_version_id == QuestionVersion.id)
            .where(Question.hidden.is_(False), QuestionVersion.qtype.in_(GRADED_TYPES)))
    if include_subcategories:
        return stmt.where(Question.category_id.in_(subtree_ids(category)))
    return stmt.where(Question.category_id == category.id)


def _pool(category: QuestionCategory, include_subcategories: bool) -> set[int]:
    return set(db.session.scalars(_pool_stmt(category, include_subcategories)))


def _category_choices():
    """Categories as an indented list, each with the number of questions a random rule could draw from it."""
    direct = dict(db.session.execute(
        sa.select(Question.category_id, sa.func.count(Question.id))
        .join(QuestionVersion, Question.current_version_id == QuestionVersion.id)
        .where(Question.hidden.is_(False), QuestionVersion.qtype.in_(GRADED_TYPES))
        .group_by(Question.category_id)).all())
    tree = categories_tree()
    choices = [(0, _("— Chọn danh mục —"))]
    for category in tree:
        total = sum(direct.get(other.id, 0) for other in tree if other.path.startswith(category.path))
        choices.append((category.id, _("%(name)s (%(n)d câu)", name=_category_label(category), n=total)))
    return choices


def _rule_rows(quiz: Quiz) -> list[dict]:
    rows = []
    for rule in quiz.rules:
        row = {"rule": rule, "available": None, "short": False}
        if rule.question_id is None and rule.category is not None:
            row["available"] = len(_pool(rule.category, rule.include_subcategories))
            row["short"] = row["available"] < rule.count
        elif rule.question is not None and rule.question.current_version is not None:
            version = rule.question.current_version
            row["name"], row["type_label"] = version.name, _type_label(version.qtype)
            row["short"] = rule.question.hidden or version.qtype not in GRADED_TYPES
        rows.append(row)
    return rows


def _render_settings(quiz: Quiz | None, form: QuizForm, random_form: RandomRuleForm | None = None,
                     fixed_form: FixedRuleForm | None = None, status: int = 200):
    if quiz is not None:
        random_form = random_form or RandomRuleForm(formdata=None, prefix="random")
        fixed_form = fixed_form or FixedRuleForm(formdata=None, prefix="fixed")
        random_form.category_id.choices = _category_choices()
    rows = _rule_rows(quiz) if quiz is not None else []
    draws = sum(row["rule"].count if row["rule"].question_id is None else 1 for row in rows)
    max_score = sum((row["rule"].count if row["rule"].question_id is None else 1) * row["rule"].mark for row in rows)
    return render_template("quizzes/manage/quiz_form.html", quiz=quiz, form=form, random_form=random_form,
                           fixed_form=fixed_form, rows=rows, draws=draws, max_score=max_score, labels=LABELS,
                           number=_number, granting_problems=granting_problems(quiz) if quiz is not None else []), status


@bp.route("/manage/new", methods=["GET", "POST"])
@bp.route("/manage/<int:quiz_id>", methods=["GET", "POST"])
@access("trainer", "admin")
def manage_quiz(quiz_id: int | None = None):
    quiz = _quiz_or_404(quiz_id) if quiz_id else None
    form = _quiz_form(quiz)
    if form.validate_on_submit() and _granting_policy_holds(quiz, form):
        created = quiz is None
        before = _settings_data(quiz) if quiz is not None else {}
        if created:
            quiz = Quiz()
            db.session.add(quiz)
        _apply_settings(quiz, form)
        db.session.flush()
        after = _settings_data(quiz)
        changes = {key: {"old": _plain(before.get(key)), "new": _plain(value)}
                   for key, value in after.items() if before.get(key) != value}
        audit.record(current_user, "quiz.create" if created else "quiz.update", str(quiz.id), title=quiz.title,
                     changes=changes)
        db.session.commit()
        if created:
            flash(_("Đã tạo bài kiểm tra “%(title)s”. Hãy thêm câu hỏi cho bài.", title=quiz.title), "success")
        else:
            flash(_("Đã lưu cài đặt bài kiểm tra “%(title)s”.", title=quiz.title), "success")
        if quiz.status == "published" and not quiz.rules:
            flash(_("Bài kiểm tra đã xuất bản nhưng chưa có câu hỏi nào; học viên chưa làm được."), "warning")
        return redirect(url_for("quizzes.manage_quiz", quiz_id=quiz.id))
    return _render_settings(quiz, form, status=400 if request.method == "POST" else 200)


def _plain(value):
    """A settings value as JSON can hold it (dates as ISO text) for the audit log."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def _granting_policy_holds(quiz: Quiz | None, form: QuizForm) -> bool:
    """A quiz that grants a competency keeps the admin's floor on its pass mark, and is published only
    with enough graded questions; the form says which rule failed."""
    if not form.competency_id.data:
        return True
    problem = pass_mark_problem(float(form.pass_percent.data))
    if problem:
        form.pass_percent.errors = [*form.pass_percent.errors, problem]
        return False
    _floor, minimum = policy()
    planned = planned_questions(quiz) if quiz is not None else 0
    if form.status.data == "published" and planned < minimum:
        form.status.errors = [*form.status.errors, _(
            "Bài kiểm tra cấp năng lực chỉ được xuất bản khi có ít nhất %(n)d câu hỏi có chấm điểm (hiện có %(m)d). "
            "Hãy lưu ở trạng thái nháp, thêm câu hỏi rồi xuất bản.", n=minimum, m=planned)]
        return False
    return True


# --------------------------------------------------------------------------- rules
def _next_position(quiz: Quiz) -> int:
    return max((rule.position for rule in quiz.rules), default=0) + 1


def _reserved_by_other_rules(quiz: Quiz, pool: set[int]) -> int:
    """How many questions of `pool` the quiz's existing rules may already take (at worst)."""
    reserved = 0
    for rule in quiz.rules:
        if rule.question_id is not None:
            reserved += 1 if rule.question_id in pool else 0
        elif rule.category is not None:
            reserved += min(rule.count, len(pool & _pool(rule.category, rule.include_subcategories)))
    return reserved


@bp.route("/manage/<int:quiz_id>/rules/random", methods=["POST"])
@access("trainer", "admin")
def manage_add_random_rule(quiz_id: int):
    quiz = _quiz_or_404(quiz_id)
    form = RandomRuleForm(prefix="random")
    form.category_id.choices = _category_choices()
    if form.validate_on_submit():
        category = db.session.get(QuestionCategory, form.category_id.data)
        pool = _pool(category, form.include_subcategories.data)
        reserved = _reserved_by_other_rules(quiz, pool)
        if form.count.data + reserved > len(pool):
            where = (_("Danh mục “%(name)s” (gồm danh mục con)", name=category.name) if form.include_subcategories.data
                     else _("Danh mục “%(name)s” (không gồm danh mục con)", name=category.name))
            message = _("%(where)s chỉ có %(n)d câu hỏi có chấm điểm đang hiển thị; không thể lấy %(count)d câu.",
                        where=where, n=len(pool), count=form.count.data)
            if reserved:
                message += " " + _("Các quy tắc khác của bài kiểm tra đã có thể dùng %(r)d câu trong số đó.",
                                   r=reserved)
            form.count.errors.append(message)
        else:
            rule = QuizRule(position=_next_position(quiz), category=category, count=form.count.data,
                            include_subcategories=bool(form.include_subcategories.data), mark=form.mark.data)
            quiz.rules.append(rule)
            db.session.flush()
            audit.record(current_user, "quiz.rule_add", str(quiz.id), category=category.id, count=rule.count)
            db.session.commit()
            flash(_("Đã thêm %(n)d câu ngẫu nhiên từ danh mục “%(name)s”.", n=rule.count, name=category.name),
                  "success")
            return redirect(url_for("quizzes.manage_quiz", quiz_id=quiz.id, _anchor="rules"))
    db.session.rollback()
    return _render_settings(quiz, _quiz_form(quiz), random_form=form, status=400)


@bp.route("/manage/<int:quiz_id>/rules/fixed", methods=["POST"])
@access("trainer", "admin")
def manage_add_fixed_rule(quiz_id: int):
    """Add the question chosen in the picker's results; the search stays in the query string, so the
    trainer comes back to the same results (and a refusal is shown next to them)."""
    quiz = _quiz_or_404(quiz_id)
    form = FixedRuleForm(prefix="fixed")
    if form.validate_on_submit():
        question = db.session.get(Question, form.question_id.data)
        version = question.current_version if question is not None else None
        problem = None
        if version is None:
            problem = _("Không có câu hỏi #%(id)d trong ngân hàng.", id=form.question_id.data)
        elif question.hidden:
            problem = _("Câu hỏi #%(id)d đang bị ẩn trong ngân hàng.", id=question.id)
        elif version.qtype not in GRADED_TYPES:
            problem = _("Câu hỏi #%(id)d thuộc loại “%(type)s”, không chấm điểm được.", id=question.id,
                        type=_type_label(version.qtype))
        elif any(rule.question_id == question.id for rule in quiz.rules):
            problem = _("Câu hỏi #%(id)d đã có trong bài kiểm tra.", id=question.id)
        if problem:
            form.question_id.errors.append(problem)
        else:
            quiz.rules.append(QuizRule(position=_next_position(quiz), question=question, count=1,
                                       mark=form.mark.data))
            db.session.flush()
            audit.record(current_user, "quiz.rule_add", str(quiz.id), question=question.id)
            db.session.commit()
            flash(_("Đã thêm câu hỏi cố định #%(id)d: %(name)s.", id=question.id, name=version.name), "success")
            return redirect(url_for("quizzes.manage_quiz", quiz_id=quiz.id, **picker_args(request.args),
                                    _anchor="add-fixed"))
    db.session.rollback()
    return _render_settings(quiz, _quiz_form(quiz), fixed_form=form, status=400)


# --------------------------------------------------------------------------- fixed-question picker
PICKER_PER_PAGE = 20
PICKER_ARGS = ("q", "category", "type", "page")


def picker_args(args) -> dict:
    """The picker's search as query arguments (to keep across adding a question), unknown ones left out."""
    kept = {name: args.get(name, "").strip()[:200] for name in PICKER_ARGS if args.get(name, "").strip()}
    return {"pick": "1", **kept} if kept or args.get("pick") else {}


def question_picker(quiz: Quiz, args=None) -> dict:
    """The fixed-question picker of the quiz page: its filters and, once the trainer has searched, one
    page of the questions a quiz may use (visible and graded), found by the bank's own search.

    Read from the query string (`pick=1&q=…&category=…&type=…&page=…`), so the search is a plain GET
    form that reloads the quiz page, and the same results come back after adding a question.
    """
    args = request.args if args is None else args
    category_choices = _category_choices()
    filters = {"q": nfc(args.get("q", "")).strip()[:200], "category": args.get("category", 0, type=int) or 0,
               "type": args.get("type", "") if args.get("type", "") in GRADED_TYPES else ""}
    picker = {"filters": filters, "searched": bool(args.get("pick") or filters["q"]), "page": None, "rows": [],
              "categories": [(0, _("Tất cả danh mục"))] + category_choices[1:],
              "types": [("", _("Tất cả loại có chấm điểm"))] + [(t, _type_label(t)) for t in GRADED_TYPES],
              "args": picker_args(args)}
    if not picker["searched"]:
        return picker
    category = db.session.get(QuestionCategory, filters["category"]) if filters["category"] else None
    stmt = search_questions(filters["q"], category=category, include_subcategories=True, qtype=filters["type"],
                            hidden=False, graded_only=True)
    page = db.paginate(stmt.options(selectinload(Question.current_version), selectinload(Question.category)),
                       page=args.get("page", 1, type=int), per_page=PICKER_PER_PAGE, error_out=False)
    in_quiz = {rule.question_id for rule in quiz.rules if rule.question_id is not None}
    for question in page.items:
        version = question.current_version
        excerpt = " ".join(Markup(to_safe_html(version.text, version.text_format)).striptags().split())
        picker["rows"].append({
            "question": question, "name": version.name, "type_label": _type_label(version.qtype),
            "category": question.category.name, "excerpt": excerpt[:160] + ("…" if len(excerpt) > 160 else ""),
            "mark": _number(version.default_mark), "in_quiz": question.id in in_quiz})
    picker["page"] = page
    return picker


@bp.context_processor
def _question_picker_helper():
    # The quiz page calls question_picker(quiz) itself: the settings views render it unchanged.
    return {"question_picker": question_picker}


@bp.route("/manage/<int:quiz_id>/rules/fixed/search")
@access("trainer", "admin")
def manage_search_questions(quiz_id: int):
    """The picker's results alone (an HTML fragment), for question_picker.js to refresh as the trainer types."""
    quiz = _quiz_or_404(quiz_id)
    args = request.args.copy()
    args["pick"] = "1"
    return render_template("quizzes/manage/_question_picker_results.html", quiz=quiz,
                           picker=question_picker(quiz, args))


@bp.route("/manage/<int:quiz_id>/rules/<int:rule_id>/delete", methods=["POST"])
@access("trainer", "admin")
def manage_delete_rule(quiz_id: int, rule_id: int):
    quiz = _quiz_or_404(quiz_id)
    rule = db.session.get(QuizRule, rule_id)
    if rule is None or rule.quiz_id != quiz.id:
        return _error_page(404, _("Không có quy tắc này trong bài kiểm tra."))
    if not ConfirmForm().validate_on_submit():
        return _error_page(400, _("Biểu mẫu đã hết hạn; hãy tải lại trang rồi thử lại."))
    quiz.rules.remove(rule)
    for position, other in enumerate(quiz.rules, start=1):
        other.position = position
    db.session.flush()
    audit.record(current_user, "quiz.rule_remove", str(quiz.id), rule=rule_id)
    db.session.commit()
    flash(_("Đã bỏ quy tắc khỏi bài kiểm tra. Các lần làm đã bắt đầu không thay đổi."), "success")
    return redirect(url_for("quizzes.manage_quiz", quiz_id=quiz.id, _anchor="rules"))


# --------------------------------------------------------------------------- import
def _upload_folder() -> Path:
    return Path(current_app.config.get("QUIZ_UPLOAD_FOLDER") or Path(current_app.instance_path) / "uploads")




def _category_path(text: str | None) -> list[str]:
    return [nfc(part.strip())[:255] for part in (text or "").split("/") if part.strip()]


def _issue_rows(issues) -> list[dict]:
    return [{"line": issue.line, "message": issue.message, "question": getattr(issue, "question", "")}
            for issue in issues]


def _preview(result, base: list[str], token: str | None) -> dict:
    """What the preview page shows of a parsed file."""
    by_type: dict[str, int] = {}
    by_category: dict[str, int] = {}
    questions = []
    for parsed in result.questions:
        q = parsed.question
        label = _type_label(q.qtype)
        by_type[label] = by_type.get(label, 0) + 1
        path = " / ".join(base + list(parsed.category)) or _("Mặc định")
        by_category[path] = by_category.get(path, 0) + 1
        questions.append({"line": parsed.line, "name": q.name, "type": label, "category": path,
                          "graded": q.qtype in GRADED_TYPES})
    importable = token is not None
    findings = lint([LintItem(ref_of(p.question), p.question, line=p.line) for p in result.questions
                     if p.question.qtype in GRADED_TYPES], _("Tệp"))
    return {"by_type": sorted(by_type.items(), key=lambda kv: collation_key(kv[0])), "findings": findings,
            "by_category": sorted(by_category.items(), key=lambda kv: collation_key(kv[0])),
            "questions": questions, "errors": _issue_rows(result.errors), "warnings": _issue_rows(result.warnings),
            "refused": bool(result.refused), "importable": importable, "token": token}


def _render_import(form: ImportForm, status: int = 200, preview: dict | None = None, apply_error: str | None = None):
    apply_form = ApplyImportForm(formdata=None, data={"token": preview["token"]} if preview else None)
    export_categories = [(c.id, _category_label(c)) for c in categories_tree()]
    return render_template("quizzes/manage/import.html", form=form, apply_form=apply_form, preview=preview,
                           apply_error=apply_error, export_categories=export_categories, labels=LABELS,
                           max_mb=MAX_UPLOAD_BYTES // (1024 * 1024)), status


@bp.route("/manage/import", methods=["GET", "POST"])
@access("trainer", "admin")
def manage_import():
    purge_uploads(_upload_folder())
    form = ImportForm()
    form.competency_id.choices = _competency_choices()
    if request.method == "POST" and "token" in request.form:
        return _apply_stored_upload(form)
    if not form.validate_on_submit():
        return _render_import(form, 400 if request.method == "POST" else 200)
    upload = form.file.data
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        form.file.errors.append(_("Tệp quá lớn: tối đa %(n)d MB.", n=MAX_UPLOAD_BYTES // (1024 * 1024)))
        return _render_import(form, 400)
    if not data.strip():
        form.file.errors.append(_("Tệp rỗng, không có gì để nhập."))
        return _render_import(form, 400)
    base = _category_path(form.category.data)
    try:
        result = parse_file(data, form.format.data, [])
    except ImportRefused as exc:
        form.file.errors.extend(issue.message for issue in exc.issues)
        return _render_import(form, 400)
    except Exception:  # a parser failure on a user's file must not become a 500 page
        current_app.logger.exception("import preview failed for %s", upload.filename)
        form.file.errors.append(_("Không đọc được tệp này theo định dạng đã chọn. Hãy kiểm tra định dạng và "
                                  "bảng mã (UTF-8)."))
        return _render_import(form, 400)
    token = None
    if not result.refused and not result.errors and result.questions:
        token = store_upload(_upload_folder(), data, user_id=current_user.id, meta={
            "format": form.format.data, "category": base,
            "competency_id": form.competency_id.data or None, "filename": upload.filename or "",
        })
    return _render_import(form, 200, preview=_preview(result, base, token))


def _apply_stored_upload(form: ImportForm):
    apply_form = ApplyImportForm()
    if not apply_form.validate_on_submit():
        return _render_import(form, 400, apply_error=_("Biểu mẫu đã hết hạn; hãy tải tệp lên và xem trước lại."))
    token = apply_form.token.data
    stored = claim_upload(_upload_folder(), token, user_id=current_user.id)
    if stored is None:
        return _render_import(form, 400, apply_error=_(
            "Không tìm thấy tệp đã xem trước (mã không hợp lệ hoặc đã quá 1 giờ). Hãy tải tệp lên và xem trước "
            "lại; chưa có câu hỏi nào được nhập."))
    data, meta = stored
    if len(data) >= int(current_app.config.get("QUESTION_IMPORT_JOB_MIN_BYTES", 256 * 1024)):
        # A big bank (thousands of questions) is written by a job with a progress page: the request
        # would outlast the server's timeout (issue 18).
        from quizzes.import_job import IMPORT_JOB
        from training.jobs import create_job, start

        job = create_job(IMPORT_JOB, user=current_user, input_data=data, params={
            "format": meta.get("format", ""), "category": list(meta.get("category") or []),
            "competency_id": meta.get("competency_id"), "filename": meta.get("filename", "")},
            title=_("Nhập câu hỏi từ tệp %(name)s", name=meta.get("filename") or "—"))
        db.session.commit()
        start(job)
        return redirect(url_for("jobs.detail", job_id=job.id))
    competency = db.session.get(Competency, meta["competency_id"]) if meta.get("competency_id") else None
    try:
        result = parse_file(data, meta.get("format", ""), [])
        summary = apply_import(result, actor=current_user, base_path=list(meta.get("category") or []),
                               competency=competency, source=meta.get("filename", ""))
    except ImportRefused as exc:
        db.session.rollback()
        reasons = "; ".join(str(issue) for issue in exc.issues[:5])
        return _render_import(form, 400, apply_error=_("Tệp bị từ chối, không có câu hỏi nào được nhập: %(r)s",
                                                       r=reasons))
    except Exception:  # all or nothing: whatever failed, nothing stays written
        db.session.rollback()
        current_app.logger.exception("import apply failed for %s", meta.get("filename"))
        return _render_import(form, 400, apply_error=_("Không nhập được tệp; không có câu hỏi nào được nhập."))
    db.session.commit()
    message = _("Đã nhập %(n)d câu hỏi chấm điểm vào: %(where)s.", n=summary.imported,
                where="; ".join(summary.categories))
    if summary.non_graded:
        message += " " + _("Thêm %(n)d mục không chấm điểm (tự luận, mô tả, cloze).", n=summary.non_graded)
    flash(message, "success")
    if summary.warnings:
        flash(_("Có %(n)d lưu ý khi nhập; xem lại các câu hỏi vừa nhập.", n=len(summary.warnings)), "warning")
    return redirect(url_for("quizzes.bank_index"))


# --------------------------------------------------------------------------- export
@bp.route("/manage/export")
@access("trainer", "admin")
def manage_export():
    fmt = request.args.get("format", "gift")
    if fmt not in EXPORTERS:
        return _error_page(400, _("Định dạng xuất không hỗ trợ: “%(fmt)s”. Chọn GIFT hoặc Moodle XML.", fmt=fmt))
    raw = request.args.get("category", "").strip()
    category = None
    if raw:
        category = db.session.get(QuestionCategory, int(raw)) if raw.isdigit() and len(raw) < 10 else None
        if category is None:
            return _error_page(400, _("Không có danh mục câu hỏi này."))
    text = export_category(category, fmt)
    name = f"cau-hoi-{category.id if category else 'tat-ca'}"
    audit.record(current_user, "questions.export", " / ".join(category.names()) if category else "*", format=fmt,
                 bytes=len(text.encode("utf-8")))
    db.session.commit()
    filename, mimetype = ((f"{name}.gift.txt", "text/plain") if fmt == "gift" else (f"{name}.xml", "application/xml"))
    return Response(text.encode("utf-8"), content_type=f"{mimetype}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --------------------------------------------------------------------------- statistics
@bp.route("/manage/<int:quiz_id>/statistics")
@access("trainer", "admin")
def manage_statistics(quiz_id: int):
    quiz = _quiz_or_404(quiz_id)
    report = build_report(quiz, request.args.get("attempts", "first"))
    return render_template("quizzes/manage/statistics.html", quiz=quiz, report=report, labels=LABELS,
                           serious=SERIOUS_FLAGS, number=_number)


@bp.route("/manage/<int:quiz_id>/statistics.csv")
@access("trainer", "admin")
def manage_statistics_csv(quiz_id: int):
    quiz = _quiz_or_404(quiz_id)
    report = build_report(quiz, request.args.get("attempts", "first"))
    filename = f"thong-ke-bai-kiem-tra-{quiz.id}-{report.which}.csv"
    return Response(report_csv(report).encode("utf-8"), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
