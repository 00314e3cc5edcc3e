"""Short answer: the typed text is compared with each accepted answer; `*` is a wildcard; best fraction wins."""
from __future__ import annotations

import re
import unicodedata

from quizzes.qdata import Grade, QuestionData
from quizzes.qtypes import QuestionType, clamp, dict_items, fraction_of, is_full, number, register

MAX_LENGTH = 1000
_UNESCAPED_STAR = re.compile(r"(?<!\\)\*")


def strip_diacritics(text: str) -> str:
    """Vietnamese text without tone and letter marks, đ/Đ as d/D ("Nguyễn Đức" -> "Nguyen Duc")."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def normalise(text: str, case_sensitive: bool = False, ignore_diacritics: bool = False) -> str:
    """The form both sides are compared in: NFC, trimmed, runs of whitespace collapsed, case and marks folded."""
    text = " ".join(unicodedata.normalize("NFC", text).split())
    if ignore_diacritics:
        text = strip_diacritics(text)
    return text if case_sensitive else text.casefold()


def answer_pattern(answer: str, case_sensitive: bool = False, ignore_diacritics: bool = False) -> re.Pattern:
    """A whole-string regex for an accepted answer: `*` matches any run of characters, `\\*` a literal star."""
    bits = _UNESCAPED_STAR.split(normalise(answer, case_sensitive, ignore_diacritics))
    return re.compile(".*".join(re.escape(bit.replace("\\*", "*")) for bit in bits), re.DOTALL)


def matches(answer: str, response: str, case_sensitive: bool = False, ignore_diacritics: bool = False) -> bool:
    """Does the learner's `response` match the accepted `answer`? An empty response or answer never does."""
    typed = normalise(response, case_sensitive, ignore_diacritics)
    if not typed or not answer.strip():
        return False
    return answer_pattern(answer, case_sensitive, ignore_diacritics).fullmatch(typed) is not None


@register
class ShortAnswer(QuestionType):
    name = "shortanswer"
    label = "Câu trả lời ngắn"

    def validate(self, q: QuestionData) -> list[str]:
        answers = dict_items(q.data.get("answers"))
        if not answers:
            return ["Câu trả lời ngắn cần ít nhất một đáp án."]
        errors = []
        for n, answer in enumerate(answers, start=1):
            if not str(answer.get("text") or "").strip():
                errors.append(f"Đáp án {n} đang để trống.")
            fraction = number(answer.get("fraction", 0))
            if fraction is None or not -1 - 1e-9 <= fraction <= 1 + 1e-9:
                errors.append(f"Điểm của đáp án {n} phải là một số từ -100% đến 100%.")
        if not any(is_full(number(a.get("fraction", 0)) or 0.0) for a in answers):
            errors.append("Cần ít nhất một đáp án được 100% điểm.")
        return errors

    def check_response(self, q: QuestionData, response) -> str | None:
        if not isinstance(response, str):
            return "Câu trả lời phải là một đoạn chữ."
        if len(response) > MAX_LENGTH:
            return f"Câu trả lời quá dài (tối đa {MAX_LENGTH} ký tự)."
        return None

    def grade(self, q: QuestionData, response) -> Grade:
        if not isinstance(response, str) or not response.strip():
            return Grade(0.0, [])
        case_sensitive = bool(q.data.get("case_sensitive"))
        ignore_diacritics = bool(q.data.get("ignore_diacritics"))
        best = None
        for answer in dict_items(q.data.get("answers")):
            text = answer.get("text")
            if isinstance(text, str) and matches(text, response, case_sensitive, ignore_diacritics):
                if best is None or fraction_of(answer) > fraction_of(best):
                    best = answer
        if best is None:
            return Grade(0.0, [])
        return Grade(clamp(fraction_of(best)), self.feedback_html(q, best.get("feedback")))

    def right_answer_view(self, q: QuestionData) -> dict:
        right = [a for a in dict_items(q.data.get("answers")) if is_full(fraction_of(a))]
        return {"type": self.name, "answers": [self.html(a.get("text"), "plain") for a in right]}
