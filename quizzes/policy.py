"""Granting policy: when a quiz may turn a pass into a competency record.

One home for the rule, used by the quiz settings form, the trainer's quiz page and grading itself
(so a quiz that slips below the policy later, by an edited rule, still grants nothing).
"""
from __future__ import annotations

from flask_babel import gettext as _

from quizzes.bank import GRADED_TYPES
from quizzes.models import Attempt, Quiz
from training.services.settings import get_setting


def policy() -> tuple[float, int]:
    """(minimum pass percent, minimum graded questions) for a quiz that grants a competency."""
    return float(get_setting("grant_min_pass_percent")), int(get_setting("grant_min_questions"))


def planned_questions(quiz: Quiz) -> int:
    """How many questions an attempt of the quiz draws, by its rules."""
    return sum(rule.count if rule.question_id is None else 1 for rule in quiz.rules)


def pass_mark_problem(pass_percent: float | None) -> str | None:
    """Why this pass mark cannot grant a competency, or None."""
    floor, _minimum = policy()
    if pass_percent is None or pass_percent + 1e-9 < floor:
        return _("Bài kiểm tra cấp năng lực phải có điểm đạt từ %(p)s%% trở lên (quy định của quản trị).",
                 p=f"{floor:g}")
    return None


def granting_problems(quiz: Quiz) -> list[str]:
    """Why the quiz cannot grant its competency now ([] when it can or grants none)."""
    if quiz.competency_id is None:
        return []
    problems = []
    problem = pass_mark_problem(quiz.pass_percent)
    if problem:
        problems.append(problem)
    _floor, minimum = policy()
    if planned_questions(quiz) < minimum:
        problems.append(_("Bài kiểm tra cấp năng lực cần ít nhất %(n)d câu hỏi có chấm điểm; hiện có %(m)d.",
                          n=minimum, m=planned_questions(quiz)))
    return problems


def attempt_may_grant(attempt: Attempt) -> bool:
    """Whether this passed attempt may record a competency: the pass mark and the number of graded
    questions the learner actually answered meet the policy at the moment of grading."""
    floor, minimum = policy()
    graded = sum(1 for slot in attempt.slots if slot.question_version.qtype in GRADED_TYPES)
    return attempt.quiz.pass_percent + 1e-9 >= floor and graded >= minimum
