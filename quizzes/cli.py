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
