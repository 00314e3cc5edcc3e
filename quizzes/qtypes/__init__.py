"""Question types: one class per type, one file per class, all with the same small interface.

A new type is one module in this package that defines a QuestionType subclass decorated with
`@register`; `get_type` imports every module of the package the first time it is called.
Pure Python: no Flask, no database.
"""
from __future__ import annotations

import importlib
import math
import pkgutil
import random

from quizzes.qdata import Grade, QuestionData
from quizzes.richtext import to_safe_html

_REGISTRY: dict[str, "QuestionType"] = {}
_loaded = False


class UnknownQuestionType(ValueError):
    """There is no question type of that name."""


class QuestionType:
    """The interface every question type implements (see /tmp/quiz_spec.md)."""

    name: str = ""
    label: str = ""          # Vietnamese name shown to authors
    graded: bool = True

    def validate(self, q: QuestionData) -> list[str]:
        """Authoring errors, as Vietnamese messages; [] when the question can be used."""
        return []

    def learner_view(self, q: QuestionData, order: dict) -> dict:
        """What the learner sees: type, text, options (ids and HTML) in `order`; never the key or feedback."""
        return {"type": self.name, "text_html": to_safe_html(q.text, q.text_format), "options": []}

    def initial_order(self, q: QuestionData, rng: random.Random) -> dict:
        """Option (and matching item) ids in the order drawn for an attempt; shuffled only when allowed."""
        return {"options": [], "items": []}

    def check_response(self, q: QuestionData, response) -> str | None:
        """None when the response has the right shape for this type, else a Vietnamese message (API 422)."""
        return None

    def grade(self, q: QuestionData, response) -> Grade:
        """The fraction in [0, 1] earned by `response` and the feedback of what was chosen."""
        return Grade(0.0, [])

    def right_answer_view(self, q: QuestionData) -> dict:
        """The correct answer(s) for review: {"type", "answers": [HTML...], ...type-specific ids}."""
        return {"type": self.name, "answers": []}

    # ------------------------------------------------------------------ helpers for the types
    @staticmethod
    def html(text, text_format: str) -> str:
        return to_safe_html(text, text_format)

    @staticmethod
    def feedback_html(q: QuestionData, *texts) -> list[str]:
        return [to_safe_html(t, q.text_format) for t in texts if isinstance(t, str) and t.strip()]

    @staticmethod
    def ordered(source_ids: list[str], wanted) -> list[str]:
        """`source_ids` in the stored order `wanted`; ids it lacks follow in source order, unknown ids are dropped."""
        wanted = [i for i in (wanted or []) if i in source_ids]
        seen = set(wanted)
        return list(dict.fromkeys(wanted)) + [i for i in source_ids if i not in seen]

    @staticmethod
    def shuffled(ids: list[str], shuffle: bool, rng: random.Random) -> list[str]:
        ids = list(ids)
        if shuffle:
            rng.shuffle(ids)
        return ids


def number(value) -> float | None:
    """A finite float from an int/float (not a bool) or a numeric string; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    if not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def fraction_of(item: dict) -> float:
    """The fraction of an option/answer dict, 0 when missing or not a number."""
    value = number(item.get("fraction")) if isinstance(item, dict) else None
    return value if value is not None else 0.0


def is_full(fraction: float) -> bool:
    return abs(fraction - 1.0) < 1e-6


def clamp(fraction: float) -> float:
    """A grade in [0, 1]; three stored thirds (0.3333333 each) make exactly 1."""
    return round(max(0.0, min(1.0, fraction)), 6)


def percent(fraction: float) -> str:
    """0.333 -> "33,3%" (Vietnamese decimal comma)."""
    return f"{round(fraction * 100, 2):g}".replace(".", ",") + "%"


def dict_items(value) -> list[dict]:
    """The dicts of a list in stored data (anything else is ignored)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def register(cls: type[QuestionType]) -> type[QuestionType]:
    """Class decorator: make the type available to `get_type(cls.name)`."""
    _REGISTRY[cls.name] = cls()
    return cls


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{module.name}")
        _loaded = True


def get_type(name: str) -> QuestionType:
    """The question type called `name`; raises UnknownQuestionType (a ValueError) for any other name."""
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownQuestionType(f"Không có loại câu hỏi “{name}”.") from None


def all_types() -> dict[str, QuestionType]:
    """Every registered type by name."""
    _load()
    return dict(_REGISTRY)
