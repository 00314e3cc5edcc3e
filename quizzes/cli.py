"""`flask --app training quizzes ...` and the demo hook that loads the question banks and quizzes."""
from __future__ import annotations

import os
import sys

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from training.extensions import db

quizzes_group = AppGroup("quizzes", help="Question bank and quizzes.")
CONTENT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "content")


def register(app) -> None:
    from quizzes.generate import generate_command

    app.cli.add_command(quizzes_group)
    app.cli.add_command(generate_command)
    app.extensions.setdefault("demo_hooks", []).append(load_demo_quizzes)


def _path(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split("/") if part.strip()]


@quizzes_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["gift", "moodlexml", "aiken"]), required=True)
@click.option("--category", default=None, help="Category path to import under, e.g. 'Công chức số/Chữ ký số'.")
def import_command(file: str, fmt: str, category: str | None) -> None:
    """Import a question bank file (all or nothing)."""
    from quizzes.transfer import ImportRefused, apply_import, parse_file

    with open(file, "rb") as handle:
        data = handle.read()
    try:
        result = parse_file(data, fmt)
        summary = apply_import(result, base_path=_path(category), source=os.path.basename(file))
    except ImportRefused as exc:
        db.session.rollback()
        for issue in exc.issues:
            where = f"Dòng {issue.line}: " if issue.line else ""
            click.echo(f"Lỗi: {where}{issue.message}", err=True)
        click.echo("Không có câu hỏi nào được nhập (nothing imported).", err=True)
        sys.exit(1)
    db.session.commit()
    for issue in summary.warnings:
        where = f"Dòng {issue.line}: " if issue.line else ""
        click.echo(f"Lưu ý: {where}{issue.message}", err=True)
    click.echo(f"Đã nhập {summary.imported} câu hỏi chấm điểm"
               + (f" và {summary.non_graded} mục không chấm điểm" if summary.non_graded else "")
               + f" vào: {'; '.join(summary.categories)}.")


@quizzes_group.command("lint")
@click.option("--category", default=None, help="Category path to check (with its subcategories); all when omitted.")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Check a question file before importing it, instead of the bank.")
@click.option("--format", "fmt", type=click.Choice(["gift", "moodlexml", "aiken"]), default="gift",
              show_default=True, help="Format of --file.")
def lint_command(category: str | None, file: str | None, fmt: str) -> None:
    """The question-quality check: one line per finding; nothing is changed. Exit 1 when anything is found."""
    from flask import url_for

    from quizzes.bank import find_category
    from quizzes.lint import LintItem, bank_findings, lint, ref_of, statistics_links
    from quizzes.transfer import ImportRefused, parse_file

    if file:
        with open(file, "rb") as handle:
            data = handle.read()
        try:
            result = parse_file(data, fmt)
        except ImportRefused as exc:
            for issue in exc.issues:
                click.echo(f"Lỗi: {issue}", err=True)
            sys.exit(2)
        if result.refused or result.errors:
            for issue in result.errors:
                click.echo(f"Lỗi: {issue}", err=True)
            click.echo("Tệp không đọc được theo định dạng này; chưa kiểm tra chất lượng.", err=True)
            sys.exit(2)
        findings = lint([LintItem(ref_of(p.question), p.question, line=p.line) for p in result.questions],
                        os.path.basename(file))
        links = {}
    else:
        scope = find_category(_path(category)) if category else None
        if category and scope is None:
            click.echo(f"Lỗi: không có danh mục “{category}”.", err=True)
            sys.exit(2)
        findings = bank_findings(scope)
        links = statistics_links(f.question_id for f in findings)
    for finding in findings:
        line = str(finding)
        if finding.question_id in links:
            with current_app_url_context():
                line += " — " + "Thống kê: " + url_for("quizzes.manage_statistics", quiz_id=links[finding.question_id],
                                                       _anchor=f"question-{finding.question_id}", _external=True)
        click.echo(line)
    click.echo(f"{len(findings)} phát hiện." if findings else "Không có phát hiện nào.", err=True)
    sys.exit(1 if findings else 0)


def current_app_url_context():
    """A request context for url_for outside a request, at the site's public address."""
    from flask import current_app

    base = current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"
    return current_app.test_request_context(base_url=base)


@quizzes_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["gift", "moodlexml"]), required=True)
@click.option("--category", default=None, help="Category path to export (with its subcategories).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
def export_command(fmt: str, category: str | None, output: str) -> None:
    """Export questions to a GIFT or Moodle XML file."""
    from quizzes.bank import find_category
    from quizzes.transfer import export_category

    node = None
    if category:
        node = find_category(_path(category))
        if node is None:
            click.echo(f"Lỗi: không có danh mục '{category}'.", err=True)
            sys.exit(1)
    text = export_category(node, fmt)
    with open(output, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    click.echo(f"Đã xuất ra {output}.")


@quizzes_group.command("close-overdue")
def close_overdue_command() -> None:
    """Submit every attempt whose time is up, with the answers saved (cron-able)."""
    from quizzes.attempts import close_overdue

    count = close_overdue()
    db.session.commit()
    click.echo(f"Đã tự động nộp {count} bài làm quá giờ.")


DEMO_QUIZ_SETTINGS = {"pass_percent": 70.0, "time_limit_s": 30 * 60, "max_attempts": 3, "attempt_delay_s": 0,
                      "grading_method": "highest", "questions_per_page": 5}
DEMO_QUESTIONS_PER_QUIZ = 20


def _comparable(q) -> dict:
    from quizzes.qdata import to_dict
    from training.vntext import nfc

    data = to_dict(q)
    data["tags"] = sorted(nfc(t).lower() for t in data["tags"])
    for key in ("name", "text", "general_feedback"):
        data[key] = nfc(data[key])
    return data


def sync_shipped_bank(result, category) -> int:
    """Bring a shipped bank already in the database up to date with its file, question by question
    (matched by ID number): changed questions get a new version (attempts keep theirs), new ones are
    added, and shipped questions no longer in the file are hidden. Returns how many changed."""
    from quizzes.bank import create_question, question_data, update_question
    from quizzes.models import Question

    existing = {q.idnumber: q for q in db.session.scalars(
        sa.select(Question).where(Question.category_id == category.id, Question.idnumber != ""))}
    changed = 0
    shipped = set()
    for parsed in result.questions:
        q = parsed.question
        if not q.idnumber:
            continue
        shipped.add(q.idnumber)
        question = existing.get(q.idnumber)
        if question is None:
            create_question(category, q)
            changed += 1
        elif _comparable(question_data(question)) != _comparable(q) or question.hidden:
            update_question(question, q)
            question.hidden = False
            changed += 1
    for idnumber, question in existing.items():
        if idnumber not in shipped and not question.hidden:
            question.hidden = True
            changed += 1
    db.session.flush()
    return changed


def load_demo_quizzes() -> None:
    """Import the shipped GIFT banks (one per competency) and publish one quiz per competency."""
    from courses.models import Course
    from quizzes.bank import find_category
    from quizzes.models import Question, Quiz, QuizRule
    from quizzes.transfer import ImportRefused, apply_import, parse_file
    from training.models import Competency

    made = 0
    for filename in sorted(os.listdir(CONTENT_DIR)):
        if not filename.endswith(".gift"):
            continue
        code = filename[:-len(".gift")]
        competency = db.session.scalar(sa.select(Competency).where(Competency.code == code))
        if competency is None:
            continue
        with open(os.path.join(CONTENT_DIR, filename), "rb") as handle:
            result = parse_file(handle.read(), "gift")
        category_path = result.questions[0].category if result.questions else []
        category = find_category(category_path) if category_path else None
        if category is None or db.session.scalar(
                sa.select(sa.func.count(Question.id)).where(Question.category_id == category.id)) == 0:
            try:
                apply_import(result, competency=competency, source=filename)
            except ImportRefused as exc:
                db.session.rollback()
                click.echo(f"{filename}: {exc}", err=True)
                continue
            category = find_category(category_path)
        else:
            changed = sync_shipped_bank(result, category)
            if changed:
                click.echo(f"{filename}: đã cập nhật {changed} câu hỏi theo ngân hàng mới.")
        category.competency = competency
        if db.session.scalar(sa.select(Quiz.id).where(Quiz.competency_id == competency.id)) is None:
            course = db.session.scalar(sa.select(Course).where(Course.competency_id == competency.id))
            quiz = Quiz(title=f"Kiểm tra: {competency.name_vi}", competency=competency, status="published",
                        course_id=course.id if course else None,
                        description="Đề gồm câu hỏi ngẫu nhiên từ ngân hàng câu hỏi của năng lực này. "
                                    "Đạt từ 70% trở lên để được ghi nhận năng lực.",
                        **DEMO_QUIZ_SETTINGS)
            quiz.rules.append(QuizRule(position=1, category=category, count=DEMO_QUESTIONS_PER_QUIZ, mark=1.0))
            db.session.add(quiz)
            made += 1
        db.session.flush()
    if made:
        click.echo(f"Đã tạo {made} bài kiểm tra mẫu.")
