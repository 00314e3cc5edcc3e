"""Item statistics of a quiz: finished attempts from the database in, the report's data out.

`quizzes.statistics` does the arithmetic on plain data; this module loads the attempts, turns each
answer into a short readable response key (the option ids chosen, the text typed, the pairs matched),
and labels those keys with the question's own option texts for the report and its CSV.
"""
from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from quizzes.models import Attempt, AttemptSlot, QuestionVersion, Quiz
from quizzes.qtypes import UnknownQuestionType, get_type
from quizzes.statistics import (FLAG_EVERYBODY_RIGHT, FLAG_LOW_DISCRIMINATION, FLAG_NEGATIVE_DISCRIMINATION,
                                FLAG_NOBODY_RIGHT, FLAG_TOO_FEW_ATTEMPTS, WHICH_ATTEMPTS, AttemptScores, ItemStats,
                                QuizStatistics, SlotScore, compute_statistics, first_attempts_only)
from training.extensions import db

FLAG_LABELS = {
    FLAG_NEGATIVE_DISCRIMINATION: _l("Độ phân biệt âm: người yếu làm tốt hơn người giỏi (có thể sai đáp án)"),
    FLAG_NOBODY_RIGHT: _l("Không ai làm đúng"),
    FLAG_EVERYBODY_RIGHT: _l("Ai cũng làm đúng"),
    FLAG_LOW_DISCRIMINATION: _l("Độ phân biệt thấp (dưới 20 %)"),
    FLAG_TOO_FEW_ATTEMPTS: _l("Quá ít lượt làm (dưới 5), số liệu chưa đáng tin"),
}
# The flags that say a question is probably broken; the others only ask for caution.
SERIOUS_FLAGS = (FLAG_NEGATIVE_DISCRIMINATION, FLAG_NOBODY_RIGHT, FLAG_EVERYBODY_RIGHT)
WHICH_LABELS = {
    "first": _l("Lần làm đầu tiên của mỗi người"),
    "all": _l("Tất cả các lần làm"),
    "highest": _l("Lần cao điểm nhất của mỗi người"),
    "last": _l("Lần làm cuối cùng của mỗi người"),
}
MAX_KEY_LENGTH = 100


@dataclass
class OptionRow:
    key: str | None
    label: str
    count: int
    percent: float
    correct: bool | None = None   # None when "right" does not apply (a combination, a typed answer)


@dataclass
class QuestionRow:
    item: ItemStats
    question_id: int
    name: str
    qtype: str
    type_label: str
    options: list[OptionRow] = field(default_factory=list)

    @property
    def serious(self) -> bool:
        return any(flag in SERIOUS_FLAGS for flag in self.item.flags)


@dataclass
class StatsReport:
    quiz: Quiz
    which: str
    statistics: QuizStatistics
    questions: list[QuestionRow]

    @property
    def empty(self) -> bool:
        return self.statistics.quiz.n_attempts == 0

    def as_percent(self, marks: float | None) -> float | None:
        """A figure in marks as a percentage of the maximum total (None when the maximum varies)."""
        top = self.statistics.quiz.max_total
        if marks is None or not top:
            return None
        return 100 * marks / top


# --------------------------------------------------------------------------- response keys
def _plain(text: str) -> str:
    """Readable one-line text from stored question text (tags dropped, entities decoded)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]*>", " ", str(text or "")))).strip()


def response_key(qtype: str, response) -> str | None:
    """A short key naming what was answered; None for no answer.

    single / truefalse: the option id; multi: the sorted option ids joined by ","; matching:
    "item=option" pairs sorted by item; shortanswer / numerical: the trimmed text (cut short).
    """
    if response is None or response == "" or response == [] or response == {}:
        return None
    if qtype == "multi" and isinstance(response, list):
        return ",".join(sorted(str(r) for r in response)) or None
    if qtype == "matching" and isinstance(response, dict):
        return ",".join(f"{item}={option}" for item, option in sorted(response.items()) if option) or None
    text = re.sub(r"\s+", " ", str(response)).strip()
    return text[:MAX_KEY_LENGTH] or None


def _option_texts(qtype: str, data: dict) -> dict[str, str]:
    """Option id → readable text, from a version's data."""
    if qtype in ("single", "multi"):
        return {str(o.get("id")): _plain(o.get("text", "")) for o in data.get("options", []) if isinstance(o, dict)}
    if qtype == "truefalse":
        return {"true": _("Đúng"), "false": _("Sai")}
    return {}


def _correct_options(qtype: str, data: dict) -> set[str]:
    if qtype == "single":
        return {str(o.get("id")) for o in data.get("options", []) if isinstance(o, dict)
                and (o.get("fraction") or 0) >= 1 - 1e-6}
    if qtype == "truefalse":
        return {"true" if data.get("correct") else "false"}
    return set()


def _matching_texts(data: dict) -> tuple[dict[str, str], dict[str, str]]:
    items = {str(p.get("id")): _plain(p.get("text", "")) for p in data.get("pairs", []) if isinstance(p, dict)}
    answers: list[str] = []
    for pair in data.get("pairs", []):
        if isinstance(pair, dict) and pair.get("answer") not in answers:
            answers.append(pair.get("answer"))
    for extra in data.get("distractors", []):
        if extra not in answers:
            answers.append(extra)
    return items, {f"a{n}": _plain(text) for n, text in enumerate(answers, start=1)}


def _key_label(qtype: str, key: str, versions: list[QuestionVersion]) -> str:
    """The readable label of a response key, from the first version that knows its parts."""
    if qtype in ("single", "truefalse", "multi"):
        parts = key.split(",") if qtype == "multi" else [key]
        texts = {}
        for version in versions:
            for option_id, text in _option_texts(qtype, version.data or {}).items():
                texts.setdefault(option_id, text)
        return "; ".join(texts.get(part, part) for part in parts)
    if qtype == "matching":
        items, options = {}, {}
        for version in versions:
            version_items, version_options = _matching_texts(version.data or {})
            for k, v in version_items.items():
                items.setdefault(k, v)
            for k, v in version_options.items():
                options.setdefault(k, v)
        pairs = [part.split("=", 1) for part in key.split(",") if "=" in part]
        return "; ".join(f"{items.get(item, item)} → {options.get(option, option)}" for item, option in pairs)
    return key


def _type_label(qtype: str) -> str:
    try:
        return str(get_type(qtype).label or qtype)
    except UnknownQuestionType:
        return qtype


# --------------------------------------------------------------------------- loading
def finished_attempts(quiz: Quiz) -> list[Attempt]:
    stmt = (sa.select(Attempt).where(Attempt.quiz_id == quiz.id, Attempt.state == "finished")
            .options(selectinload(Attempt.slots).selectinload(AttemptSlot.question_version))
            .order_by(Attempt.user_id, Attempt.number, Attempt.id))
    return list(db.session.scalars(stmt))


def attempt_scores(attempt: Attempt) -> AttemptScores:
    """The statistics input of one finished attempt (slot → mark, maximum, response key; slot → question)."""
    slots, question_ids = {}, {}
    for slot in attempt.slots:
        version = slot.question_version
        slots[slot.slot] = SlotScore(mark=slot.mark or 0.0, max_mark=slot.max_mark or 0.0,
                                     response_key=response_key(version.qtype, slot.response))
        question_ids[slot.slot] = version.question_id
    return AttemptScores(attempt_id=attempt.id, slots=slots, question_ids=question_ids)


def build_report(quiz: Quiz, which: str = "first") -> StatsReport:
    """The statistics page's data for `quiz`, over the attempts `which` picks (first by default)."""
    if which not in WHICH_ATTEMPTS:
        which = "first"
    attempts = finished_attempts(quiz)
    versions: dict[int, list[QuestionVersion]] = {}
    for attempt in attempts:
        for slot in attempt.slots:
            seen = versions.setdefault(slot.question_version.question_id, [])
            if slot.question_version not in seen:
                seen.append(slot.question_version)
    for seen in versions.values():
        seen.sort(key=lambda v: -v.version)  # the newest wording names the options
    chosen = first_attempts_only(((a.user_id, a.number, attempt_scores(a)) for a in attempts), which)
    statistics = compute_statistics(chosen)
    rows = [_question_row(item, versions.get(item.question_id, [])) for item in statistics.questions]
    return StatsReport(quiz=quiz, which=which, statistics=statistics, questions=rows)


def _question_row(item: ItemStats, versions: list[QuestionVersion]) -> QuestionRow:
    latest = versions[0] if versions else None
    qtype = latest.qtype if latest else ""
    row = QuestionRow(item=item, question_id=int(item.question_id), name=latest.name if latest else "",
                      qtype=qtype, type_label=_type_label(qtype))
    frequencies = item.option_frequencies
    if qtype in ("single", "truefalse") and latest is not None:
        # Every option is listed, chosen or not: an option nobody picks is a finding too.
        data = latest.data or {}
        right = _correct_options(qtype, data)
        for option_id, text in _option_texts(qtype, data).items():
            found = frequencies.get(option_id)
            row.options.append(OptionRow(option_id, text, found.count if found else 0,
                                         found.percent if found else 0.0, option_id in right))
        listed = {o.key for o in row.options}
        extra = [key for key in frequencies if key is not None and key not in listed]
    else:
        extra = [key for key in frequencies if key is not None]
    for key in extra:
        row.options.append(OptionRow(key, _key_label(qtype, key, versions), frequencies[key].count,
                                     frequencies[key].percent))
    if None in frequencies:
        row.options.append(OptionRow(None, _("(Không trả lời)"), frequencies[None].count, frequencies[None].percent))
    return row


# --------------------------------------------------------------------------- CSV
def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _cell(text: str) -> str:
    """Text that a spreadsheet will show, not run: a leading =, +, - or @ would start a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_csv(report: StatsReport) -> str:
    """The per-question table as CSV text, with a BOM so that Excel reads the Vietnamese right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Vị trí"), _("Mã câu hỏi"), _("Câu hỏi"), _("Loại"), _("Số lượt"), _("Điểm tối đa"),
                     _("Độ dễ (%)"), _("Độ lệch chuẩn (%)"), _("Chỉ số phân biệt (%)"),
                     _("Hiệu quả phân biệt (%)"), _("Cảnh báo")])
    for row in report.questions:
        item = row.item
        writer.writerow([
            ", ".join(str(s) for s in item.slots), row.question_id, _cell(row.name), row.type_label, item.n,
            _number(item.max_mark), _number(item.facility), _number(item.sd), _number(item.discrimination_index),
            _number(item.discriminative_efficiency), "; ".join(str(FLAG_LABELS.get(f, f)) for f in item.flags)])
    return "\ufeff" + out.getvalue()
