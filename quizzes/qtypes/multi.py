"""Multiple choice (Moodle multichoice, several answers): checkboxes; chosen fractions add up, clamped to [0, 1]."""
from __future__ import annotations

from quizzes.qdata import Grade, QuestionData
from quizzes.qtypes import clamp, dict_items, number, percent, register
from quizzes.qtypes.single import ChoiceType


@register
class MultipleChoice(ChoiceType):
    name = "multi"
    label = "Câu nhiều lựa chọn"

    def validate(self, q: QuestionData) -> list[str]:
        errors = self.option_errors(q)
        positive = [f for f in (number(o.get("fraction", 0)) for o in dict_items(q.data.get("options")))
                    if f is not None and f > 0]
        if not positive:
            errors.append("Câu nhiều lựa chọn cần ít nhất một phương án đúng (điểm dương).")
        elif abs(sum(positive) - 1.0) > 0.01:
            errors.append(f"Tổng điểm các phương án đúng phải bằng 100% (hiện là {percent(sum(positive))}).")
        return errors

    def check_response(self, q: QuestionData, response) -> str | None:
        ids = {o["id"] for o in self.options(q)}
        if not isinstance(response, list) or not all(isinstance(r, str) and r in ids for r in response):
            return "Câu trả lời phải là danh sách các phương án của câu hỏi."
        return None

    def grade(self, q: QuestionData, response) -> Grade:
        chosen = set(r for r in response if isinstance(r, str)) if isinstance(response, list) else set()
        picked = [o for o in self.options(q) if o["id"] in chosen]
        total = sum(number(o.get("fraction", 0)) or 0.0 for o in picked)
        return Grade(clamp(total), self.feedback_html(q, *(o.get("feedback") for o in picked)))

    def right_options(self, q: QuestionData) -> list[dict]:
        return [o for o in self.options(q) if (number(o.get("fraction", 0)) or 0.0) > 0]
