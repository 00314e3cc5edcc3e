"""True/false: the learner picks "true" or "false"; right is 1, wrong is 0."""
from __future__ import annotations

import random

from quizzes.qdata import Grade, QuestionData
from quizzes.qtypes import QuestionType, register

LABELS = {"true": "Đúng", "false": "Sai"}


def _choice(response) -> str | None:
    if isinstance(response, bool):
        return "true" if response else "false"
    return response if isinstance(response, str) and response in LABELS else None


@register
class TrueFalse(QuestionType):
    name = "truefalse"
    label = "Câu đúng/sai"

    def validate(self, q: QuestionData) -> list[str]:
        if not isinstance(q.data.get("correct"), bool):
            return ["Câu đúng/sai cần chọn đáp án đúng là “Đúng” hay “Sai”."]
        return []

    def initial_order(self, q: QuestionData, rng: random.Random) -> dict:
        return {"options": ["true", "false"], "items": []}

    def learner_view(self, q: QuestionData, order: dict) -> dict:
        view = super().learner_view(q, order)
        view["options"] = [{"id": i, "text_html": LABELS[i]} for i in ("true", "false")]
        return view

    def check_response(self, q: QuestionData, response) -> str | None:
        return None if _choice(response) else "Hãy chọn “Đúng” hoặc “Sai”."

    def grade(self, q: QuestionData, response) -> Grade:
        choice = _choice(response)
        if choice is None:
            return Grade(0.0, [])
        right = "true" if q.data.get("correct") is True else "false"
        return Grade(1.0 if choice == right else 0.0, self.feedback_html(q, q.data.get(f"feedback_{choice}")))

    def right_answer_view(self, q: QuestionData) -> dict:
        right = "true" if q.data.get("correct") is True else "false"
        return {"type": self.name, "option_ids": [right], "answers": [LABELS[right]]}
