"""Single choice (Moodle multichoice, one answer): one radio button; the chosen option's fraction is the grade."""
from __future__ import annotations

import random

from quizzes.qdata import Grade, QuestionData
from quizzes.qtypes import QuestionType, clamp, dict_items, fraction_of, is_full, number, register


class ChoiceType(QuestionType):
    """What single and multiple choice share: options with ids, fractions and feedback."""

    min_options = 2

    @staticmethod
    def options(q: QuestionData) -> list[dict]:
        return [o for o in dict_items(q.data.get("options")) if isinstance(o.get("id"), str)]

    def option_errors(self, q: QuestionData) -> list[str]:
        errors = []
        options = dict_items(q.data.get("options"))
        if len(options) < self.min_options:
            errors.append(f"{self.label} cần ít nhất {self.min_options} phương án.")
        for n, option in enumerate(options, start=1):
            if not str(option.get("text") or "").strip():
                errors.append(f"Phương án {n} chưa có nội dung.")
            fraction = number(option.get("fraction", 0))
            if fraction is None or not -1 - 1e-9 <= fraction <= 1 + 1e-9:
                errors.append(f"Điểm của phương án {n} phải là một số từ -100% đến 100%.")
        return errors

    def initial_order(self, q: QuestionData, rng: random.Random) -> dict:
        ids = [o["id"] for o in self.options(q)]
        return {"options": self.shuffled(ids, bool(q.data.get("shuffle", True)), rng), "items": []}

    def learner_view(self, q: QuestionData, order: dict) -> dict:
        by_id = {o["id"]: o for o in self.options(q)}
        ids = self.ordered(list(by_id), (order or {}).get("options"))
        view = super().learner_view(q, order)
        view["options"] = [{"id": i, "text_html": self.html(by_id[i].get("text"), by_id[i].get("format")
                                                            or q.text_format)} for i in ids]
        view["numbering"] = str(q.data.get("numbering") or "abc")
        return view

    def right_answer_view(self, q: QuestionData) -> dict:
        right = self.right_options(q)
        return {"type": self.name, "option_ids": [o["id"] for o in right],
                "answers": [self.html(o.get("text"), o.get("format") or q.text_format) for o in right]}

    def right_options(self, q: QuestionData) -> list[dict]:
        """The options shown as the right answer in review; single and multi choice define it."""
        raise NotImplementedError(f"{type(self).__name__} must define right_options")


@register
class SingleChoice(ChoiceType):
    name = "single"
    label = "Câu một lựa chọn"

    def validate(self, q: QuestionData) -> list[str]:
        errors = self.option_errors(q)
        full = [o for o in dict_items(q.data.get("options")) if is_full(number(o.get("fraction", 0)) or 0.0)]
        if not full:
            errors.append("Câu một lựa chọn cần một phương án đúng (100% điểm).")
        # Several 100% options are allowed, as in Moodle (any of them earns full marks).
        return errors

    def check_response(self, q: QuestionData, response) -> str | None:
        if not isinstance(response, str) or response not in {o["id"] for o in self.options(q)}:
            return "Hãy chọn một phương án của câu hỏi."
        return None

    def grade(self, q: QuestionData, response) -> Grade:
        for option in self.options(q):
            if isinstance(response, str) and option["id"] == response:
                return Grade(clamp(fraction_of(option)), self.feedback_html(q, option.get("feedback")))
        return Grade(0.0, [])

    def right_options(self, q: QuestionData) -> list[dict]:
        options = self.options(q)
        best = max((fraction_of(o) for o in options), default=0.0)
        return [o for o in options if best > 0 and abs(fraction_of(o) - best) < 1e-6]
