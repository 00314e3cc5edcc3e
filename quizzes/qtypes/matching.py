"""Matching: each item (left) is paired with one option (right); the grade is the share of items matched right.

The options are the distinct answers of all pairs (pairs without text only add wrong answers, as in
Moodle) plus the distractors, with ids "a1", "a2", ... in first-appearance order.
"""
from __future__ import annotations

import random

from quizzes.qdata import Grade, QuestionData
from quizzes.qtypes import QuestionType, dict_items, register


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def items(q: QuestionData) -> list[dict]:
    """The pairs the learner must match (those with text and an id)."""
    return [p for p in dict_items(q.data.get("pairs")) if _text(p.get("text")) and isinstance(p.get("id"), str)]


def options(q: QuestionData) -> dict[str, str]:
    """Option id -> answer text, for the distinct answers and distractors in first-appearance order."""
    texts = [_text(p.get("answer")) for p in dict_items(q.data.get("pairs"))]
    texts += [_text(d) for d in q.data.get("distractors") or [] if isinstance(d, str)]
    distinct = list(dict.fromkeys(t for t in texts if t))
    return {f"a{n}": text for n, text in enumerate(distinct, start=1)}


def key(q: QuestionData) -> dict[str, str]:
    """Item id -> the id of its right option."""
    ids = {text: option_id for option_id, text in options(q).items()}
    return {p["id"]: ids.get(_text(p.get("answer")), "") for p in items(q)}


@register
class Matching(QuestionType):
    name = "matching"
    label = "Câu ghép đôi"

    def validate(self, q: QuestionData) -> list[str]:
        errors = []
        pairs = dict_items(q.data.get("pairs"))
        questions = [p for p in pairs if _text(p.get("text"))]
        answers = [p for p in pairs if _text(p.get("answer"))]
        distractors = [d for d in q.data.get("distractors") or [] if _text(d)]
        if len(questions) < 2 or len(answers) + len(distractors) < 3:
            errors.append("Câu ghép đôi cần ít nhất hai câu hỏi và ba câu trả lời.")
        for n, pair in enumerate(pairs, start=1):
            if _text(pair.get("text")) and not _text(pair.get("answer")):
                errors.append(f"Mục {n} chưa có câu trả lời để ghép.")
        return errors

    def initial_order(self, q: QuestionData, rng: random.Random) -> dict:
        shuffle = bool(q.data.get("shuffle", True))
        return {"items": self.shuffled([p["id"] for p in items(q)], shuffle, rng),
                "options": self.shuffled(list(options(q)), shuffle, rng)}

    def learner_view(self, q: QuestionData, order: dict) -> dict:
        order = order or {}
        by_id = {p["id"]: p for p in items(q)}
        choices = options(q)
        view = super().learner_view(q, order)
        view["items"] = [{"id": i, "text_html": self.html(by_id[i].get("text"), q.text_format)}
                         for i in self.ordered(list(by_id), order.get("items"))]
        view["options"] = [{"id": i, "text_html": self.html(choices[i], "plain")}
                           for i in self.ordered(list(choices), order.get("options"))]
        return view

    def check_response(self, q: QuestionData, response) -> str | None:
        item_ids = {p["id"] for p in items(q)}
        option_ids = set(options(q))
        if not isinstance(response, dict) or not all(
                k in item_ids and (v in ("", None) or (isinstance(v, str) and v in option_ids))
                for k, v in response.items()):
            return "Câu trả lời phải ghép các mục của câu hỏi với các lựa chọn của nó."
        return None

    def grade(self, q: QuestionData, response) -> Grade:
        right = key(q)
        if not right or not isinstance(response, dict):
            return Grade(0.0, [])
        hits = sum(1 for item_id, option_id in right.items() if option_id and response.get(item_id) == option_id)
        return Grade(round(hits / len(right), 7), [])

    def right_answer_view(self, q: QuestionData) -> dict:
        choices = options(q)
        pairs = [{"item_id": item_id, "option_id": option_id} for item_id, option_id in key(q).items()]
        texts = {p["id"]: p.get("text") for p in items(q)}
        return {"type": self.name, "pairs": pairs,
                "answers": [f"{self.html(texts[p['item_id']], q.text_format)} → "
                            f"{self.html(choices.get(p['option_id'], ''), 'plain')}" for p in pairs]}
