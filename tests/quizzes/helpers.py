"""Builders for quiz tests: a bank category of single-choice questions and a published quiz; and the
statements a block of code sends to the database."""
from contextlib import contextmanager

import sqlalchemy as sa

from quizzes.bank import create_question, ensure_category
from quizzes.models import Quiz, QuizRule
from quizzes.qdata import QuestionData
from training.extensions import db
from training.models import Competency
from training.services.competencies import seed_core_competencies


def single(n: int) -> QuestionData:
    return QuestionData(
        qtype="single", name=f"Câu {n}", text=f"Câu hỏi số {n}: chọn phương án đúng?",
        general_feedback=f"GIAI-THICH-{n}",
        data={"shuffle": True, "options": [
            {"id": "o1", "text": f"Đúng {n}", "format": "moodle", "fraction": 1.0, "feedback": f"KHEN-{n}"},
            {"id": "o2", "text": f"Sai A{n}", "format": "moodle", "fraction": 0.0, "feedback": f"SUA-A{n}"},
            {"id": "o3", "text": f"Sai B{n}", "format": "moodle", "fraction": 0.0, "feedback": f"SUA-B{n}"},
        ]})


def make_quiz(questions: int = 6, draw: int = 4, competency_code: str = "digital_signature", **settings) -> Quiz:
    seed_core_competencies()
    competency = db.session.scalar(sa.select(Competency).where(Competency.code == competency_code))
    category = ensure_category(["Công chức số", "Thử nghiệm"], competency=competency)
    for n in range(1, questions + 1):
        create_question(category, single(n))
    values = {"title": "Kiểm tra chữ ký số", "competency": competency, "status": "published",
              "pass_percent": 70.0, "time_limit_s": 1800, "max_attempts": 3, "questions_per_page": 2,
              "review_correctness": "after_submit", "review_right_answers": "after_close",
              "review_feedback": "after_submit"}
    values.update(settings)
    quiz = Quiz(**values)
    quiz.rules.append(QuizRule(position=1, category=category, count=draw, mark=1.0))
    db.session.add(quiz)
    db.session.commit()
    return quiz


def right_answers(payload: dict) -> dict:
    """The right option id for each slot of an API payload (the option whose text starts 'Đúng')."""
    return {q["slot"]: next(o["id"] for o in q["options"] if o["text"].startswith("Đúng"))
            for q in payload["questions"]}


@contextmanager
def statements_run():
    """The SQL statements sent while the block runs, each on one line."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
