"""Numerical: a typed number is right when within an answer's tolerance (a range is value ± half-width)."""
from __future__ import annotations

import math
import re

from quizzes.qdata import Grade, QuestionData
from quizzes.qtypes import QuestionType, clamp, dict_items, fraction_of, is_full, number, register

NOT_A_NUMBER = "Hãy nhập một số."
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def parse_number(response, unit: str = "") -> float | None:
    """The learner's number: " 3.5 ", "3,5" (Vietnamese decimal comma), "-2", "5 m" when the unit is "m"."""
    if isinstance(response, bool):
        return None
    if isinstance(response, (int, float)):
        return float(response) if math.isfinite(response) else None
    if not isinstance(response, str):
        return None
    text = response.strip()
    unit = (unit or "").strip()
    if unit and text.casefold().endswith(unit.casefold()):
        text = text[:-len(unit)].strip()
    text = text.replace("−", "-")   # a typographic minus sign
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def within(answer: dict, value: float) -> bool:
    """Is `value` inside the answer's interval (boundaries included)? A value of None is Moodle's "*"."""
    if answer.get("value") is None:
        return True
    target = number(answer.get("value"))
    if target is None:
        return False
    tolerance = abs(number(answer.get("tolerance", 0)) or 0.0)
    # A hair of slack so that 3.6 is within 3.5 ± 0.1 despite binary floating point.
    slack = 1e-9 * max(1.0, abs(target), tolerance)
    return abs(value - target) <= tolerance + slack


def _show(value: float) -> str:
    return f"{value:.10g}".replace(".", ",")


@register
class Numerical(QuestionType):
    name = "numerical"
    label = "Câu trả lời số"

    def validate(self, q: QuestionData) -> list[str]:
        answers = dict_items(q.data.get("answers"))
        if not answers:
            return ["Câu trả lời số cần ít nhất một đáp án."]
        errors = []
        for n, answer in enumerate(answers, start=1):
            if answer.get("value") is not None and number(answer.get("value")) is None:
                errors.append(f"Giá trị của đáp án {n} phải là một số.")
            tolerance = number(answer.get("tolerance", 0))
            if tolerance is None or tolerance < 0:
                errors.append(f"Sai số của đáp án {n} phải là một số không âm.")
            fraction = number(answer.get("fraction", 0))
            if fraction is None or not -1 - 1e-9 <= fraction <= 1 + 1e-9:
                errors.append(f"Điểm của đáp án {n} phải là một số từ -100% đến 100%.")
        if not any(is_full(number(a.get("fraction", 0)) or 0.0) for a in answers):
            errors.append("Cần ít nhất một đáp án được 100% điểm.")
        return errors

    def learner_view(self, q: QuestionData, order: dict) -> dict:
        view = super().learner_view(q, order)
        view["unit"] = str(q.data.get("unit") or "")
        return view

    def check_response(self, q: QuestionData, response) -> str | None:
        if parse_number(response, str(q.data.get("unit") or "")) is None:
            return NOT_A_NUMBER
        return None

    def grade(self, q: QuestionData, response) -> Grade:
        value = parse_number(response, str(q.data.get("unit") or ""))
        if value is None:
            return Grade(0.0, [])
        best = None
        for answer in dict_items(q.data.get("answers")):
            if within(answer, value) and (best is None or fraction_of(answer) > fraction_of(best)):
                best = answer
        if best is None:
            return Grade(0.0, [])
        return Grade(clamp(fraction_of(best)), self.feedback_html(q, best.get("feedback")))

    def right_answer_view(self, q: QuestionData) -> dict:
        shown = []
        unit = str(q.data.get("unit") or "")
        for answer in dict_items(q.data.get("answers")):
            if not is_full(fraction_of(answer)):
                continue
            value = number(answer.get("value"))
            if answer.get("value") is None or value is None:
                text = "*"
            else:
                tolerance = abs(number(answer.get("tolerance", 0)) or 0.0)
                text = _show(value) + (f" ± {_show(tolerance)}" if tolerance else "")
                text += f" {unit}" if unit else ""
            shown.append(self.html(text, "plain"))
        return {"type": self.name, "answers": shown}
