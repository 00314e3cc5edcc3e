"""The neutral question data shared by the importers, the question types, the bank and the UI.

Pure Python (no Flask, no database): a QuestionData is what a parser produces, what a stored
version turns back into, and what a question type validates, shows and grades.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

QTYPES = ("single", "multi", "truefalse", "shortanswer", "numerical", "matching",   # graded
          "essay", "description", "cloze")                                          # not graded here
TEXT_FORMATS = ("html", "moodle", "plain", "markdown")
DEFAULT_NAME = "Câu hỏi"


@dataclass
class QuestionData:
    qtype: str
    name: str                      # Moodle "name" / GIFT title; never empty (see default_name)
    text: str                      # question text as written, in `text_format`
    text_format: str = "moodle"
    general_feedback: str = ""
    default_mark: float = 1.0      # Moodle defaultgrade
    penalty: float = 0.3333333
    idnumber: str = ""
    tags: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)   # per type (JSON-serialisable only), see /tmp/quiz_spec.md

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> "QuestionData":
        return from_dict(raw)


@dataclass
class Grade:
    """The result of grading one response: a fraction of the mark in [0, 1] and the feedback to show."""
    fraction: float = 0.0
    feedback: list[str] = field(default_factory=list)   # sanitised HTML snippets


def to_dict(q: QuestionData) -> dict:
    """A JSON-ready dict of the question (lists and dicts are copied, not shared)."""
    return {
        "qtype": q.qtype, "name": q.name, "text": q.text, "text_format": q.text_format,
        "general_feedback": q.general_feedback, "default_mark": q.default_mark, "penalty": q.penalty,
        "idnumber": q.idnumber, "tags": list(q.tags), "data": _copy(q.data),
    }


def from_dict(raw: dict) -> QuestionData:
    """The QuestionData stored by `to_dict`; unknown keys are ignored and missing ones take defaults."""
    return QuestionData(
        qtype=str(raw.get("qtype", "")), name=str(raw.get("name") or ""), text=str(raw.get("text") or ""),
        text_format=str(raw.get("text_format") or "moodle"), general_feedback=str(raw.get("general_feedback") or ""),
        default_mark=float(raw.get("default_mark", 1.0)), penalty=float(raw.get("penalty", 0.3333333)),
        idnumber=str(raw.get("idnumber") or ""), tags=[str(t) for t in raw.get("tags") or []],
        data=_copy(raw.get("data") or {}),
    )


def default_name(text: str, fallback: str = DEFAULT_NAME, length: int = 80) -> str:
    """A question name made from its text, as Moodle does: tags dropped, spaces collapsed, cut near `length`."""
    plain = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]*>", " ", text or ""))).strip()
    if len(plain) > length:
        cut = plain[:length - 3]
        plain = (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "..."
    return plain or fallback


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    return value
