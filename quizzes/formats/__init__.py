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
    "validate_questions", "check_bank_limits", "looks_like", "MAX_CATEGORY_DEPTH",
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
    line: int | None = field(default=None, compare=False)     # where the file declares it (for messages)


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
                known.line = known.line or category.line
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


# The first bytes of files people pick by mistake instead of a question bank exported as text.
_BINARY_SIGNATURES = (
    (b"PK\x03\x04", "tệp nén ZIP (ví dụ tệp Word .docx hoặc Excel .xlsx)"),
    (b"%PDF-", "tệp PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "tệp Word hoặc Excel đời cũ (.doc, .xls)"),
    (b"\x1f\x8b", "tệp nén gzip (ví dụ bản sao lưu Moodle .mbz)"),
    (b"\x89PNG", "tệp ảnh PNG"),
    (b"\xff\xd8\xff", "tệp ảnh JPEG"),
    (b"{\\rtf", "tệp RTF (WordPad, Word)"),
)
FORMAT_NAMES = {"gift": "GIFT", "moodlexml": "Moodle XML", "aiken": "Aiken"}
NOT_TEXT = ("Tệp này là {kind}, không phải tệp văn bản {fmt}: toàn bộ tệp bị từ chối. Hãy xuất câu hỏi ra "
            "tệp {fmt} (văn bản UTF-8) rồi tải lên lại.")
NUL_BYTE = ("Tệp có ký tự NUL (mã 0): đây là tệp nhị phân hoặc tệp UTF-16, không phải văn bản {fmt} UTF-8. "
            "Hãy lưu lại tệp dưới dạng văn bản UTF-8 rồi nhập lại.")
WRONG_FORMAT = ("Tệp này có vẻ là tệp {likely}, không phải {fmt}: toàn bộ tệp bị từ chối. Hãy nhập lại "
                "với định dạng {likely}.")


def decode_utf8(data: bytes, fmt_label: str, result: ImportResult) -> str | None:
    """The file's text (BOM dropped, line ends unified, NFC), or None after refusing the file.

    Refused: bytes that are not UTF-8 (Moodle's rule), files that are plainly not text (ZIP, PDF,
    images, UTF-16, anything with a NUL byte, which PostgreSQL cannot store) and empty files.
    """
    if isinstance(data, str):
        text = data
    else:
        data = bytes(data)
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            result.refuse(ImportIssue(None, f"Tệp dùng bảng mã UTF-16. Tệp định dạng {fmt_label} phải dùng UTF-8 "
                                            "(hãy lưu lại tệp với bảng mã UTF-8 rồi nhập lại)."))
            return None
        for signature, kind in _BINARY_SIGNATURES:
            if data.startswith(signature):
                result.refuse(ImportIssue(None, NOT_TEXT.format(kind=kind, fmt=fmt_label)))
                return None
        if b"\x00" in data:
            # before decoding: UTF-16 without its BOM is also "not UTF-8", but this says what it is
            line = data[:data.index(b"\x00")].count(b"\n") + 1
            result.refuse(ImportIssue(line, NUL_BYTE.format(fmt=fmt_label)))
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            result.refuse(ImportIssue(line, NOT_UTF8.format(fmt=fmt_label)))
            return None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        result.refuse(ImportIssue(line, NUL_BYTE.format(fmt=fmt_label)))
        return None
    if not text.strip():
        result.refuse(ImportIssue(None, "Tệp rỗng: không có câu hỏi nào để nhập."))
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


# Possessive quantifiers: no backtracking, so a hostile file cannot make these take quadratic time.
_GIFT_ANSWERS = re.compile(r"\{[^{}=~#]*+[=~#][^{}]*+\}|\{[ \t\n]*+(?:TRUE|FALSE|T|F)[ \t\n]*+(?:#[^{}]*+)?\}"
                           r"|\{[ \t\n]*+\}")
_GIFT_TITLE = re.compile(r"^[ \t]*+::[^\n]*::", re.MULTILINE)
_AIKEN_ANSWER = re.compile(r"^[ \t]*ANSWER:[ \t]*[A-Z]\b", re.MULTILINE)
_AIKEN_CHOICE = re.compile(r"^[ \t]*[A-Z][).][ \t]", re.MULTILINE)


def looks_like(text: str) -> str | None:
    """The format a decoded file most likely is: "moodlexml", "html", "aiken", "gift", or None.

    Only used to explain a refusal; the chosen format's own parser decides what is read.
    """
    head = text.lstrip()[:300].lower()
    if head.startswith(("<!doctype html", "<html")):
        return "html"
    if head.startswith(("<?xml", "<quiz")) or (head.startswith("<!--") and "<quiz" in text[:5000].lower()):
        return "moodlexml"
    if _AIKEN_ANSWER.search(text) and len(_AIKEN_CHOICE.findall(text)) >= 2:
        return "aiken"
    if _GIFT_ANSWERS.search(text) or _GIFT_TITLE.search(text):
        return "gift"
    return None


def refuse_wrong_format(result: ImportResult, chosen: str, likely: str) -> ImportResult:
    """Refuse a file that is another format than the one chosen, naming the likely one."""
    result.errors = []
    result.warnings = []
    result.categories = []
    if likely == "html":
        return result.refuse(ImportIssue(None, f"Tệp này là một trang web (HTML), không phải tệp {chosen}: toàn bộ "
                                               f"tệp bị từ chối. Hãy xuất câu hỏi ra tệp {chosen} rồi tải lên lại."))
    return result.refuse(ImportIssue(None, WRONG_FORMAT.format(likely=FORMAT_NAMES.get(likely, likely), fmt=chosen)))


_TAG_LIKE = re.compile(r"<[A-Za-z/!?][^<>]*>")     # [^<>]: linear even on "<a<a<a..." without any ">"


def clean_name(name: str, limit: int | None = 255) -> str:
    """Moodle's clean_question_name: tags stripped (PARAM_TEXT), trimmed, at most `limit` characters."""
    name = _TAG_LIKE.sub("", name or "").strip(PHP_WS)
    if limit is not None and len(name) > limit:
        name = name[:limit - 3].rstrip() + "..."
    return name


def make_name(title: str | None, text: str) -> str:
    """The title when there is one, else a name made from the text (never empty, nor only spaces)."""
    name = clean_name(title) if title is not None else ""
    if not name.strip():
        # tags go first (in linear time) and only the start of the text is needed for an 80-character name
        name = default_name(_TAG_LIKE.sub(" ", text or "")[:1000])
    return name


_TAG_NASTIES = re.compile(r"[\x00-\x1f\x7f<>`]")


def clean_tag(tag: str) -> str:
    """Moodle's PARAM_TAG: control characters and < > ` removed, runs of spaces made one, trimmed.

    Unlike Moodle the length is not cut: a tag longer than the bank allows is reported instead.
    """
    return re.sub(r"\s+", " ", _TAG_NASTIES.sub("", tag or "")).strip()


def parse_category_path(raw: str) -> list[str]:
    """"$course$/top/A/B" -> ["A", "B"]; "//" inside a name is a literal "/" (Moodle's split_category_path).

    Names are not shortened (a name too long for the bank is reported by check_bank_limits), and a
    part that is only spaces is dropped, as an empty one is.
    """
    raw = (raw or "").strip()
    match = re.match(r"^\$[a-z]+\$(/|$)", raw)
    if match:
        raw = raw[match.end():]
    names = [part.replace("//", "/").strip() for part in re.split(r"(?<!/)/(?!/)", raw)]
    names = [clean_name(n, limit=None) for n in names]
    names = [n for n in names if n.strip()]
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
        # the bank's own rule (quizzes.bank.validate_question): a graded question needs a text
        if not unicodedata.normalize("NFC", q.text or "").strip():
            result.errors.append(ImportIssue(
                parsed.line, f"Câu hỏi “{q.name}”: nội dung (đề bài) của câu hỏi đang để trống.", q.name))
            continue
        problems = qtype.validate(q)
        if problems:
            result.errors.append(ImportIssue(parsed.line, f"Câu hỏi “{q.name}”: " + " ".join(problems), q.name))
    return result


# What the bank's columns hold (quizzes/models.py); a longer value would pass on SQLite and fail on
# PostgreSQL, so the file is checked against these before anything is written.
NAME_MAX = 255            # QuestionVersion.name, QuestionCategory.name
IDNUMBER_MAX = 100        # Question.idnumber, QuestionCategory.idnumber
TAG_MAX = 100             # Tag.name (stored in lower case)
# QuestionCategory.path ("/1/4/...") holds 500 characters: 20 levels leave room for ids of any size,
# and no bank a person reads needs more.
MAX_CATEGORY_DEPTH = 20


def _strings(value):
    """Every string inside a question's data (walked without recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def _question_limits(q: QuestionData) -> list[str]:
    problems = []
    texts = [q.name, q.text, q.general_feedback, q.idnumber, *q.tags, *_strings(q.data)]
    if any("\x00" in t for t in texts):
        problems.append("có ký tự NUL (mã 0), cơ sở dữ liệu không lưu được ký tự này.")
    if len(q.name) > NAME_MAX:
        problems.append(f"tên câu hỏi dài {len(q.name)} ký tự (tối đa {NAME_MAX}).")
    if len(q.idnumber) > IDNUMBER_MAX:
        problems.append(f"mã câu hỏi (ID number) dài {len(q.idnumber)} ký tự (tối đa {IDNUMBER_MAX}).")
    for tag in q.tags:
        stored = unicodedata.normalize("NFC", tag).strip().lower()     # as quizzes.bank stores it
        if len(stored) > TAG_MAX:
            problems.append(f"thẻ “{tag[:40]}...” dài {len(stored)} ký tự (tối đa {TAG_MAX}).")
    return problems


def check_bank_limits(result: ImportResult, base_path: list[str] | None = None) -> list[ImportIssue]:
    """The errors the bank would meet writing this file under `base_path`: lengths, NUL bytes, depth.

    Returns the issues, with their lines; `result` is not changed. Everything the database
    would refuse is found here, so that a file the preview accepts is one the import can write, on
    SQLite (which does not enforce lengths) as on PostgreSQL (which does).
    """
    base = list(base_path or [])
    issues: list[ImportIssue] = []
    for parsed in result.questions:
        problems = _question_limits(parsed.question)
        if problems:
            issues.append(ImportIssue(parsed.line, f"Câu hỏi “{parsed.question.name[:80]}”: " + " ".join(problems),
                                      parsed.question.name))
    # each category once, at the line that declares it or else the first question placed in it
    where: dict[tuple, tuple[int | None, ParsedCategory | None]] = {}
    for category in result.categories:
        where.setdefault(tuple(category.path), (category.line, category))
    for parsed in result.questions:
        where.setdefault(tuple(parsed.category), (parsed.line, None))
    reported_names: set[str] = set()
    for path, (line, declared) in where.items():
        full = base + list(path)
        problems = []
        for name in full:
            if name in reported_names:
                continue
            if len(name) > NAME_MAX:
                reported_names.add(name)
                problems.append(f"tên danh mục “{name[:40]}...” dài {len(name)} ký tự (tối đa {NAME_MAX}).")
            if "\x00" in name:
                reported_names.add(name)
                problems.append("tên danh mục có ký tự NUL (mã 0).")
        if len(full) > MAX_CATEGORY_DEPTH:
            problems.append(f"danh mục lồng {len(full)} cấp (tối đa {MAX_CATEGORY_DEPTH} cấp, tính cả danh mục "
                            "nhập vào). Hãy gộp bớt các cấp danh mục.")
        if declared is not None:
            if len(declared.idnumber) > IDNUMBER_MAX:
                problems.append(f"mã danh mục (ID number) dài {len(declared.idnumber)} ký tự "
                                f"(tối đa {IDNUMBER_MAX}).")
            if "\x00" in declared.description + declared.idnumber:
                problems.append("mô tả danh mục có ký tự NUL (mã 0).")
        if problems:
            shown = " / ".join(name if len(name) <= 40 else name[:37] + "..." for name in full[-3:])
            if len(full) > 3:
                shown = "... / " + shown
            issues.append(ImportIssue(line, f"Danh mục “{shown}”: " + " ".join(problems)))
    return issues


def finish(result: ImportResult) -> ImportResult:
    """The checks every parser ends with: allowed grades (whole-file refusal), the question types' own,
    then what the bank can store."""
    if not result.refused:
        check_grades(result)
    if not result.refused:
        validate_questions(result)
        result.errors.extend(check_bank_limits(result))
    if not result.refused and not result.questions and not result.categories and not result.errors:
        result.refuse(ImportIssue(None, "Tệp không có câu hỏi nào để nhập."))
    result.errors.sort(key=lambda issue: issue.line or 0)       # stable: a file's order, line by line
    return result


from quizzes.formats.aiken import parse_aiken  # noqa: E402  (the helpers above come first)
from quizzes.formats.gift import export_gift, parse_gift  # noqa: E402
from quizzes.formats.moodlexml import export_moodle_xml, parse_moodle_xml  # noqa: E402
