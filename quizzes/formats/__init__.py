"""Question bank file formats: GIFT, Moodle XML and Aiken in; GIFT and Moodle XML out.

Pure Python (no Flask, no database). Each parser takes the file's bytes and returns an
ImportResult: the questions that parsed, the categories the file declares, the errors and
warnings (Vietnamese messages, with the line they come from) and whether Moodle would refuse the
whole file. The parsers only report; the caller applies "all or nothing" per file.

The behaviour follows Moodle 4.5's importers (question/format/{gift,xml,aiken}); the fixtures
in ../shared/fixtures/ and their README are the reference.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from quizzes.qdata import QuestionData, default_name

__all__ = [
    "ImportIssue", "ParsedCategory", "ParsedQuestion", "ImportResult",
    "parse_gift", "export_gift", "parse_moodle_xml", "export_moodle_xml", "parse_aiken",
    "validate_questions",
]


@dataclass
class ImportIssue:
    """One error or warning. `message` is Vietnamese and carries no "Dòng N:" prefix (see `line`)."""
    line: int | None
    message: str
    question: str = ""

    def __str__(self) -> str:
        return f"Dòng {self.line}: {self.message}" if self.line else self.message


@dataclass
class ParsedCategory:
    """A category the file declares; `path` is the list of names below Moodle's "top"."""
    path: list[str]
    description: str = ""
    idnumber: str = ""


@dataclass
class ParsedQuestion:
    category: list[str]
    question: QuestionData
    line: int | None = None


@dataclass
class ImportResult:
    questions: list[ParsedQuestion] = field(default_factory=list)
    categories: list[ParsedCategory] = field(default_factory=list)
    errors: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)
    refused: bool = False          # the whole file is refused (Moodle refuses it): nothing may be imported

    def refuse(self, issue: ImportIssue) -> "ImportResult":
        """Refuse the whole file: keep the reason, drop every question."""
        self.errors.append(issue)
        self.refused = True
        self.questions = []
        return self

    def add_category(self, category: ParsedCategory) -> None:
        """Record a declared category once; a later declaration fills in what an earlier one lacked."""
        for known in self.categories:
            if known.path == category.path:
                known.description = known.description or category.description
                known.idnumber = known.idnumber or category.idnumber
                return
        self.categories.append(category)


# --------------------------------------------------------------------------- shared helpers
NOT_UTF8 = ("Tệp bạn chọn không dùng bảng mã UTF-8. Tệp định dạng {fmt} phải dùng UTF-8 "
            "(hãy lưu lại tệp với bảng mã UTF-8 rồi nhập lại).")

# Moodle's question_bank::fraction_options_full(): the only grades an answer may carry.
ALLOWED_FRACTIONS = (1.0, 0.9, 0.8333333, 0.8, 0.75, 0.7, 0.6666667, 0.6, 0.5, 0.4, 0.3333333, 0.3, 0.25,
                     0.2, 0.1666667, 0.1428571, 0.125, 0.1111111, 0.1, 0.05, 0.0)
_ALL_FRACTIONS = ALLOWED_FRACTIONS + tuple(-f for f in ALLOWED_FRACTIONS if f)

NON_GRADED_LABELS = {"essay": "tự luận", "description": "đoạn mô tả", "cloze": "cloze (điền khuyết nhúng)"}

# PHP's trim() characters: Moodle trims with these, not with every Unicode space.
PHP_WS = " \t\n\r\0\x0b"


def decode_utf8(data: bytes, fmt_label: str, result: ImportResult) -> str | None:
    """The file's text (BOM dropped, line ends unified, NFC), or None after refusing a non-UTF-8 file."""
    if isinstance(data, str):
        text = data
    else:
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            line = bytes(data)[:exc.start].count(b"\n") + 1
            result.refuse(ImportIssue(line, NOT_UTF8.format(fmt=fmt_label)))
            return None
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


_TAG_LIKE = re.compile(r"<[A-Za-z/!?][^<>]*>")     # [^<>]: linear even on "<a<a<a..." without any ">"


def clean_name(name: str) -> str:
    """Moodle's clean_question_name: tags stripped (PARAM_TEXT), trimmed, at most 255 characters."""
    name = _TAG_LIKE.sub("", name or "").strip(PHP_WS)
    if len(name) > 255:
        name = name[:252].rstrip() + "..."
    return name


def make_name(title: str | None, text: str) -> str:
    """The title when there is one, else a name made from the text (never empty)."""
    name = clean_name(title) if title is not None else ""
    # tags go first (in linear time) and only the start of the text is needed for an 80-character name
    return name or default_name(_TAG_LIKE.sub(" ", text or "")[:1000])


def parse_category_path(raw: str) -> list[str]:
    """"$course$/top/A/B" -> ["A", "B"]; "//" inside a name is a literal "/" (Moodle's split_category_path)."""
    raw = (raw or "").strip()
    match = re.match(r"^\$[a-z]+\$(/|$)", raw)
    if match:
        raw = raw[match.end():]
    names = [part.replace("//", "/").strip() for part in re.split(r"(?<!/)/(?!/)", raw)]
    names = [clean_name(n) for n in names]
    names = [n for n in names if n]
    if names and names[0] == "top":
        names = names[1:]
    return names


def category_path_text(path: list[str]) -> str:
    """The Moodle form of a path: ["A", "B/C"] -> "$course$/top/A/B//C"."""
    return "/".join(["$course$", "top"] + [name.replace("/", "//") for name in path])


def format_number(value: float) -> str:
    """A float written without noise: 1822.0 -> "1822", 3.1415 -> "3.1415"."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def format_percent(fraction: float) -> str:
    """0.3333333 -> "33.33333", 1.0 -> "100", -0.5 -> "-50"."""
    text = f"{float(fraction) * 100:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def snap_fraction(value: float) -> float | None:
    """The allowed grade within 0.00001 of `value` (Moodle's match_grade_options), else None."""
    for allowed in _ALL_FRACTIONS:
        if abs(value - allowed) < 0.00001:
            return allowed
    return None


def _fraction_lists(q: QuestionData) -> list[list[dict]]:
    if q.qtype in ("single", "multi"):
        return [q.data.get("options") or []]
    if q.qtype in ("shortanswer", "numerical"):
        return [q.data.get("answers") or []]
    return []


def check_grades(result: ImportResult) -> None:
    """Moodle refuses a whole file when an answer carries a grade that is not one of its allowed grades."""
    bad_any = False
    for parsed in result.questions:
        bad = []
        for items in _fraction_lists(parsed.question):
            for item in items:
                snapped = snap_fraction(float(item.get("fraction", 0.0)))
                if snapped is None:
                    bad.append(item.get("fraction", 0.0))
                else:
                    item["fraction"] = snapped
        if bad:
            bad_any = True
            grades = ", ".join(format_percent(b) + "%" for b in bad)
            result.errors.append(ImportIssue(
                parsed.line,
                f"Câu hỏi “{parsed.question.name}” có điểm không hợp lệ: {grades}. Moodle chỉ cho phép các mức "
                "100%, 90%, 83.33333%, 80%, 75%, 70%, 66.66667%, 60%, 50%, 40%, 33.33333%, 30%, 25%, 20%, "
                "16.66667%, 14.28571%, 12.5%, 11.11111%, 10%, 5%, 0% (và các mức âm tương ứng), "
                "nên toàn bộ tệp bị từ chối.",
                parsed.question.name))
    if bad_any:
        result.refused = True
        result.questions = []


def note_non_graded(result: ImportResult, parsed: ParsedQuestion) -> None:
    label = NON_GRADED_LABELS.get(parsed.question.qtype)
    if label:
        result.warnings.append(ImportIssue(
            parsed.line, f"Câu hỏi “{parsed.question.name}” thuộc loại {label}: được nhập như mục không chấm điểm.",
            parsed.question.name))


def validate_questions(result: ImportResult) -> ImportResult:
    """Add an error (with its line) for every graded question its question type would not accept."""
    from quizzes.qtypes import get_type   # imported late: the types pull in the HTML sanitiser

    for parsed in result.questions:
        q = parsed.question
        try:
            qtype = get_type(q.qtype)
        except ValueError as exc:
            result.errors.append(ImportIssue(parsed.line, str(exc), q.name))
            continue
        if not qtype.graded:
            continue
        problems = qtype.validate(q)
        if problems:
            result.errors.append(ImportIssue(parsed.line, f"Câu hỏi “{q.name}”: " + " ".join(problems), q.name))
    return result


def finish(result: ImportResult) -> ImportResult:
    """The checks every parser ends with: allowed grades (whole-file refusal) then the question types' own."""
    if not result.refused:
        check_grades(result)
    if not result.refused:
        validate_questions(result)
    return result


from quizzes.formats.aiken import parse_aiken  # noqa: E402  (the helpers above come first)
from quizzes.formats.gift import export_gift, parse_gift  # noqa: E402
from quizzes.formats.moodlexml import export_moodle_xml, parse_moodle_xml  # noqa: E402
