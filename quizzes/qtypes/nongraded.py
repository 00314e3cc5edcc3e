"""Essay, description and cloze: shown, never graded here (imported as non-graded items)."""
from __future__ import annotations

import re

from quizzes.qdata import Grade, QuestionData
from quizzes.qtypes import QuestionType, register

NOT_GRADED = "Câu hỏi loại này không được chấm điểm tự động."
# An embedded cloze answer, e.g. {1:SHORTANSWER:=Hà Nội#Đúng~%50%Huế}; "\}" inside it is an escaped brace.
_CLOZE_GAP = re.compile(r"\{\d*:[A-Za-z_]+:(?:\\.|[^\\}])*\}")
GAP = "[…]"


class NonGraded(QuestionType):
    graded = False

    def check_response(self, q: QuestionData, response) -> str | None:
        return NOT_GRADED

    def grade(self, q: QuestionData, response) -> Grade:
        return Grade(0.0, [NOT_GRADED])


@register
class Essay(NonGraded):
    name = "essay"
    label = "Câu tự luận"


@register
class Description(NonGraded):
    name = "description"
    label = "Đoạn mô tả"


@register
class Cloze(NonGraded):
    name = "cloze"
    label = "Câu điền khuyết (cloze)"

    def learner_view(self, q: QuestionData, order: dict) -> dict:
        # The raw cloze text carries its answers and feedback: show gaps instead.
        return {"type": self.name, "text_html": self.html(_CLOZE_GAP.sub(GAP, q.text or ""), q.text_format),
                "options": []}
