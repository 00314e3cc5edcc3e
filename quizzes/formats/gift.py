"""GIFT in and out, as Moodle 4.5's qformat_gift reads and writes it.

The grammar in brief is in ../shared/fixtures/GIFT_SPEC_NOTES.md. Points worth knowing:
- blocks are separated by blank lines; every line is trimmed; `//` lines are comments
  (`[id:...]` and `[tag:...]` inside them set the ID number and tags);
- escapes (\\: \\# \\= \\{ \\} \\~ \\n \\\\) are swapped for placeholders before any parsing; one more,
  \\>, is ours: GIFT has no way to write "->" inside an answer block (Moodle reads any "=" with "->"
  as a matching question), so the exporter writes "-\\>" there and this reader takes it back as "->"
  (where Moodle can read it, a short answer with a single answer, it is written without "=" instead);
- the first `{` and the first `}` delimit the answers; text after them makes a "missing word"
  question (the answers become a blank "_____");
- the type is decided in Moodle's order: no braces = description, empty = essay, `#` = numerical,
  `~` = multiple choice, `=` and `->` = matching, T/TRUE/F/FALSE = true/false, else short answer.
"""
from __future__ import annotations

import math
import re

from quizzes.formats import (PHP_WS, ImportIssue, ImportResult, ParsedCategory, ParsedQuestion, category_path_text,
                             clean_name, clean_tag, decode_utf8, finish, format_number, format_percent, looks_like,
                             make_name, note_non_graded, parse_category_path, refuse_wrong_format)
from quizzes.qdata import QuestionData

# Escaped control characters become private-use placeholders before parsing (Moodle's escapedchar_pre).
_ESCAPES = {":": "\ue03a", "#": "\ue023", "=": "\ue03d", "{": "\ue07b", "}": "\ue07d", "~": "\ue07e", "n": "\ue00a",
            ">": "\ue03e"}
_UNESCAPED = {ph: ("\n" if ch == "n" else ch) for ch, ph in _ESCAPES.items()}
_BACKSLASH = "\ue05c"

_WEIGHT = re.compile(r"^%-*([0-9]{1,2})\.?([0-9]*)%")     # Moodle's $giftanswerweightregex
_FORMATS = ("moodle", "html", "plain", "markdown")
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_ID = re.compile(r"\[id:((?:\\\]|[^\]\x00-\x1f\x7f])+)\]")
_TAG = re.compile(r"\[tag:((?:\\\]|[^\]<>`\x00-\x1f\x7f])+)\]")


class _GiftError(Exception):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


def _pre(text: str) -> str:
    text = text.replace("\\\\", _BACKSLASH)
    for char, placeholder in _ESCAPES.items():
        text = text.replace("\\" + char, placeholder)
    return text.replace(_BACKSLASH, "\\")


def _post(text: str) -> str:
    for placeholder, char in _UNESCAPED.items():
        text = text.replace(placeholder, char)
    return text


def _trim(text: str) -> str:
    return text.strip(PHP_WS)


def _with_format(text: str, default: str = "moodle") -> tuple[str, str]:
    """Moodle's parse_text_with_format: an optional [html]/[moodle]/[plain]/[markdown] prefix, then unescape."""
    fmt = default
    if text.startswith("["):
        end = text.find("]")
        if end > 0 and text[1:end] in _FORMATS:
            fmt = text[1:end]
            text = text[end + 1:]
    return _trim(_post(text)), fmt


def _comment(answer: str, default: str) -> tuple[tuple[str, str], str]:
    """Moodle's commentparser: answer#feedback (the first # splits)."""
    bits = answer.split("#", 1)
    ans = _with_format(_trim(bits[0]), default)
    feedback = _with_format(_trim(bits[1]), default)[0] if len(bits) > 1 else ""
    return ans, feedback


def _weight(answer: str) -> tuple[float | None, str]:
    """(%50%rest) -> (0.5, rest); (None, answer) when there is no weight."""
    if not _WEIGHT.match(answer):
        return None, answer
    end = answer.index("%", 1)
    raw = answer[1:end]
    try:
        value = float(raw)
    except ValueError:
        raise _GiftError(f"trọng số “%{raw}%” không phải là một số") from None
    return round(value / 100, 7), answer[end + 1:]


def _split_answers(answertext: str, sep: str) -> list[str]:
    answers = answertext.split(sep)
    answers[0] = _trim(answers[0])
    if not answers[0]:
        answers.pop(0)
    return answers


def _number(raw: str, what: str) -> float:
    raw = _trim(raw)
    if not _NUMBER.match(raw):
        hint = " (dùng dấu chấm cho phần thập phân)" if re.match(r"^[+-]?[0-9]+,[0-9]+$", raw) else ""
        raise _GiftError(f"{what} “{raw}” của câu hỏi số không phải là một số{hint}")
    value = float(raw)
    if not math.isfinite(value):
        raise _GiftError(f"{what} “{raw}” của câu hỏi số quá lớn")
    return value


# --------------------------------------------------------------------------- reading
def _blocks(lines: list[str]):
    """[(line number, trimmed line), ...] for each block; a line that is blank once trimmed ends a block."""
    current: list[tuple[int, str]] = []
    for number, raw in enumerate(lines, start=1):
        line = _trim(raw)
        if not line:
            if current:
                yield current
                current = []
        else:
            current.append((number, line))
    if current:
        yield current


def _read_block(block: list[tuple[int, str]], result: ImportResult, state: dict) -> None:
    comments = []
    texts = []
    for number, line in block:
        if line.startswith("//"):
            comments.append(line)
            texts.append((number, " "))
        else:
            texts.append((number, line))
    joined = "\n".join(t for _, t in texts)
    if not _trim(joined):
        return                                     # only comments
    first = texts[0][0]
    lead = len(joined) - len(joined.lstrip(PHP_WS))
    line0 = first + joined[:lead].count("\n")       # where the question itself starts
    text = _pre(_trim(joined))

    if text.startswith("$CATEGORY:"):
        raw = _trim(text[len("$CATEGORY:"):])
        if "\n" in raw:
            raise _GiftError("chỉ thị $CATEGORY phải đứng riêng một khối (để một dòng trống trước câu hỏi tiếp theo)",
                             line0)
        path = parse_category_path(_post(raw))
        state["category"] = path or list(state["default"])
        if path:
            result.add_category(ParsedCategory(path, line=line0))
        return

    idnumber, tags = "", []
    comment_text = "\n".join(comments)
    match = _ID.search(comment_text)
    if match:
        idnumber = _trim(match.group(1)).replace("\\]", "]")
    tags = [clean_tag(t.replace("\\]", "]")) for t in _TAG.findall(comment_text)]
    tags = [t for t in tags if t]

    title = None
    if text.startswith("::"):
        text = text[2:]
        end = text.find("::")
        if end != -1:
            title = _post(text[:end])
            rest = text[end + 2:]
            leading = len(rest) - len(rest.lstrip(PHP_WS))
            line0 += text[:end + 2].count("\n") + rest[:leading].count("\n")
            text = _trim(rest)

    start, finish_at = text.find("{"), text.find("}")
    description = False
    if start == -1 and finish_at == -1:
        description = True
        answertext = ""
    elif start == -1:
        raise _GiftError("thiếu dấu mở ngoặc { trước phần đáp án", line0 + text[:finish_at].count("\n"))
    elif finish_at == -1:
        raise _GiftError("thiếu dấu đóng ngoặc }", line0 + text[:start].count("\n"))
    elif finish_at < start:
        raise _GiftError("dấu đóng ngoặc } đứng trước dấu mở ngoặc {", line0 + text[:finish_at].count("\n"))
    else:
        answertext = _trim(text[start + 1:finish_at])

    if description:
        questiontext = text
    elif text.endswith("}"):
        questiontext = text[:start] + text[finish_at + 1:]
    else:
        questiontext = text[:start] + "_____" + text[finish_at + 1:]

    general = ""
    cut = answertext.rfind("####")
    if cut != -1:
        general = answertext[cut + 4:]
        answertext = _trim(answertext[:cut])

    qtext, qfmt = _with_format(questiontext)
    general_text, _ = _with_format(general, qfmt)
    name = make_name(title, qtext)
    state["label"] = name
    q = QuestionData(qtype="", name=name, text=qtext, text_format=qfmt, general_feedback=general_text,
                     idnumber=idnumber, tags=tags)

    if description:
        q.qtype, q.default_mark = "description", 0.0
    elif answertext == "":
        q.qtype = "essay"
    elif answertext[0] == "#":
        _numerical(q, answertext)
    elif "~" in answertext:
        _multichoice(q, answertext)
    elif "=" in answertext and "->" in answertext:
        _matching(q, answertext)
    else:
        check = answertext
        if answertext.find("#") > 0:
            check = _trim(answertext[:answertext.find("#")])
        if check in ("T", "TRUE", "F", "FALSE"):
            _truefalse(q, answertext)
        else:
            _shortanswer(q, answertext)
    parsed = ParsedQuestion(category=list(state["category"]), question=q, line=line0)
    result.questions.append(parsed)
    if "{" in questiontext or "}" in questiontext:
        result.warnings.append(ImportIssue(
            line0, f"Câu hỏi “{name}”: phần đề còn dấu {{ hoặc }} chưa thoát. Có thể hai câu hỏi đang dính nhau "
                   "(thiếu dòng trống ngăn cách); nếu đó là chữ thường, hãy viết \\{ và \\}.", name))
    note_non_graded(result, parsed)


def _multichoice(q: QuestionData, answertext: str) -> None:
    single = "=" in answertext
    answers = _split_answers(answertext.replace("=", "~="), "~")
    if len(answers) < 2:
        raise _GiftError("câu nhiều lựa chọn cần ít nhất 2 phương án")
    options = []
    for answer in answers:
        answer = _trim(answer)
        if answer.startswith("="):
            fraction, answer = 1.0, answer[1:]
        else:
            weight, answer = _weight(answer)
            fraction = weight if weight is not None else 0.0
        (text, fmt), feedback = _comment(answer, q.text_format)
        if text == "" and fraction == 0 and feedback == "":
            continue                                  # Moodle ignores a completely blank answer
        options.append({"id": f"o{len(options) + 1}", "text": text, "format": fmt, "fraction": fraction,
                        "feedback": feedback})
    if len(options) < 2:
        raise _GiftError("câu nhiều lựa chọn cần ít nhất 2 phương án")
    q.qtype = "single" if single else "multi"
    q.data = {"options": options, "shuffle": True, "numbering": "abc"}


def _matching(q: QuestionData, answertext: str) -> None:
    answers = _split_answers(answertext, "=")
    if len(answers) < 2:
        raise _GiftError("câu ghép đôi cần ít nhất 2 cặp")
    pairs, distractors = [], []
    for answer in answers:
        answer = _trim(answer)
        if "->" not in answer:
            raise _GiftError(f"cặp ghép đôi “{_trim(_post(answer))}” sai định dạng: phải có dạng =mục -> đáp án")
        marker = answer.find("->")
        text, _ = _with_format(answer[:marker], q.text_format)
        right = _trim(_post(answer[marker + 2:]))
        if text:
            pairs.append({"id": f"i{len(pairs) + 1}", "text": text, "answer": right})
        elif right:
            distractors.append(right)
    q.qtype = "matching"
    q.data = {"pairs": pairs, "distractors": distractors, "shuffle": True}


def _truefalse(q: QuestionData, answertext: str) -> None:
    bits = answertext.split("#", 2)
    answer = _with_format(_trim(bits[0]), q.text_format)[0]
    wrong = _with_format(_trim(bits[1]), q.text_format)[0] if len(bits) > 1 else ""
    right = _with_format(_trim(bits[2]), q.text_format)[0] if len(bits) > 2 else ""
    correct = answer in ("T", "TRUE")
    q.qtype, q.penalty = "truefalse", 1.0
    q.data = {"correct": correct,
              "feedback_true": right if correct else wrong,
              "feedback_false": wrong if correct else right}


def _shortanswer(q: QuestionData, answertext: str) -> None:
    answers = []
    for answer in _split_answers(answertext, "="):
        answer = _trim(answer)
        weight, answer = _weight(answer)
        (text, _), feedback = _comment(answer, q.text_format)
        if text == "":
            continue                                   # Moodle skips blank answers
        answers.append({"text": text, "fraction": 1.0 if weight is None else weight, "feedback": feedback})
    if not answers:
        raise _GiftError("câu trả lời ngắn cần ít nhất 1 đáp án")
    q.qtype = "shortanswer"
    q.data = {"answers": answers, "case_sensitive": False, "ignore_diacritics": False}


def _numerical(q: QuestionData, answertext: str) -> None:
    answertext = answertext[1:]
    wrong = ""
    pos = answertext.find("~")
    if pos != -1:
        wrong, answertext = answertext[pos:], answertext[:pos]
    parts = _split_answers(answertext, "=")
    if not parts:
        raise _GiftError("câu hỏi số không có đáp án nào")
    answers = []
    for answer in parts:
        answer = _trim(answer)
        weight, answer = _weight(answer)
        (raw, _), feedback = _comment(answer, q.text_format)
        if raw.find("..") > 0:
            marker = raw.find("..")
            low, high = _number(raw[:marker], "giá trị nhỏ nhất"), _number(raw[marker + 2:], "giá trị lớn nhất")
            # rounded to 12 significant digits so that 3.141..3.142 reads as 3.1415 +/- 0.0005
            value, tolerance = float(f"{(low + high) / 2:.12g}"), float(f"{(high - low) / 2:.12g}")
        elif raw.find(":") > 0:
            marker = raw.find(":")
            tolerance = _number(raw[marker + 1:], "sai số")
            value = None if _trim(raw[:marker]) == "*" else _number(raw[:marker], "đáp án")
        else:
            tolerance = 0.0
            value = None if _trim(raw) == "*" else _number(raw, "đáp án")
        answers.append({"value": value, "tolerance": abs(tolerance), "fraction": 1.0 if weight is None else weight,
                        "feedback": feedback})
    if wrong:
        answers.append({"value": None, "tolerance": 0.0, "fraction": 0.0,
                        "feedback": _comment(wrong, q.text_format)[1]})
    q.qtype = "numerical"
    q.data = {"answers": answers, "unit": ""}


def parse_gift(data: bytes, default_category: list[str]) -> ImportResult:
    result = ImportResult()
    text = decode_utf8(data, "GIFT", result)
    if text is None:
        return result
    likely = looks_like(text)
    if likely in ("moodlexml", "html"):
        return refuse_wrong_format(result, "GIFT", likely)
    state = {"category": list(default_category), "default": list(default_category), "label": ""}
    for block in _blocks(text.split("\n")):
        state["label"] = ""
        try:
            _read_block(block, result, state)
        except _GiftError as exc:
            line = exc.line
            if line is None:
                line = next((n for n, t in block if not t.startswith("//")), block[0][0])
            result.errors.append(ImportIssue(line, exc.message, state.get("label") or _block_label(block)))
    if result.questions and all(p.question.qtype == "description" for p in result.questions):
        # Text without a single answer block is not a question bank: most likely another format
        # (Aiken, a plain list of questions), which Moodle would turn into descriptions without a word.
        if likely == "aiken":
            return refuse_wrong_format(result, "GIFT", likely)
        if not result.errors:
            return result.refuse(ImportIssue(None, "Không tìm thấy câu hỏi GIFT nào: không khối nào có phần đáp án "
                                                   "trong ngoặc { } (mỗi câu hỏi GIFT viết đáp án trong { }, ví dụ "
                                                   "{=Đúng ~Sai}). Hãy kiểm tra định dạng đã chọn."))
    if likely == "aiken" and not result.questions:
        return refuse_wrong_format(result, "GIFT", likely)
    return finish(result)


def _block_label(block: list[tuple[int, str]]) -> str:
    for _, line in block:
        if not line.startswith("//"):
            text = line
            if text.startswith("::") and text.find("::", 2) != -1:
                return clean_name(_post(_pre(text[2:text.find("::", 2)])))
            return text[:60]
    return ""


# --------------------------------------------------------------------------- writing
def _repchar(text: str) -> str:
    """Moodle's repchar: escape \\ # = ~ { } : and write newlines as \\n."""
    for char, escaped in (("\\", "\\\\"), ("#", "\\#"), ("=", "\\="), ("~", "\\~"), ("{", "\\{"), ("}", "\\}"),
                          (":", "\\:"), ("\n", "\\n"), ("\r", "")):
        text = text.replace(char, escaped)
    return text


def _no_arrow(text: str) -> str:
    """An escaped text that cannot be read as a matching pair's "->" (see the module docstring)."""
    return text.replace("->", "-\\>")


def _write_text(text: str, fmt: str, default: str = "moodle") -> str:
    text = text or ""
    prefix = ""
    if text and (fmt != default or text.startswith("[")):
        prefix = f"[{fmt if fmt in _FORMATS else 'moodle'}]"
    return prefix + _repchar(text)


def _write_plain(text: str) -> str:
    """A text whose format the reader drops (short answers): "[moodle]" keeps a leading "[html]" literal."""
    text = text or ""
    return ("[moodle]" if text.startswith("[") else "") + _repchar(text)


def _general(q: QuestionData, indent: str = "\t") -> str:
    if not q.general_feedback:
        return ""
    out = "####" + _write_text(q.general_feedback, q.text_format, q.text_format)
    return f"{indent}{out}\n" if indent else out


def _header(q: QuestionData) -> str:
    out = ""
    bits = []
    if q.idnumber:
        bits.append(f"[id:{q.idnumber.replace(']', chr(92) + ']')}]")
    bits += [f"[tag:{t.replace(']', chr(92) + ']')}]" for t in q.tags if t]
    if bits:
        out += "// " + " ".join(bits) + "\n"
    return out + "::" + _repchar(q.name) + "::" + _write_text(q.text, q.text_format)


def _write_question(q: QuestionData) -> str:
    data = q.data or {}
    fmt = q.text_format
    if q.qtype == "description":
        return _header(q) + "\n"
    if q.qtype == "essay":
        return _header(q) + "{" + _general(q, "") + "}\n"
    if q.qtype == "truefalse":
        correct = data.get("correct") is True
        right = data.get("feedback_true" if correct else "feedback_false") or ""
        wrong = data.get("feedback_false" if correct else "feedback_true") or ""
        out = _header(q) + "{" + ("TRUE" if correct else "FALSE")
        if wrong:
            out += "#" + _write_text(wrong, fmt, fmt)
        elif right:
            out += "#"
        if right:
            out += "#" + _write_text(right, fmt, fmt)
        return out + _general(q, "") + "}\n"
    if q.qtype in ("single", "multi"):
        single = q.qtype == "single"
        options = list(data.get("options") or [])
        lines = []
        markers = []
        for option in options:
            fraction = float(option.get("fraction", 0.0))
            if single and abs(fraction - 1) < 1e-9:
                markers.append("=")
            elif fraction == 0:
                markers.append("~%0%" if _WEIGHT.match(option.get("text") or "") else "~")
            else:
                markers.append(f"~%{format_percent(fraction)}%")
        if single and markers and not any(m.startswith("~") for m in markers):
            markers[-1] = "~%100%"                    # keep a ~ so that it still reads as multiple choice
        for option, marker in zip(options, markers):
            line = "\t" + marker + _write_text(option.get("text") or "", option.get("format") or fmt, fmt)
            if option.get("feedback"):
                line += "#" + _write_text(option["feedback"], fmt, fmt)
            lines.append(line + "\n")
        return _header(q) + "{\n" + "".join(lines) + _general(q) + "}\n"
    if q.qtype == "shortanswer":
        answers = [(format_percent(a.get("fraction", 0.0)), _write_plain(a.get("text") or ""),
                    _write_text(a.get("feedback") or "", fmt, fmt)) for a in data.get("answers") or []]
        if any("->" in text + feedback for _, text, feedback in answers):
            if len(answers) == 1:
                # with no "=" the block cannot be read as matching, by Moodle either; the weight keeps
                # it from being read as true/false
                (weight, text, feedback), = answers
                return _header(q) + "{\n" + f"\t%{weight}%{text}#{feedback}\n" + _general(q) + "}\n"
            answers = [(weight, _no_arrow(text), _no_arrow(feedback)) for weight, text, feedback in answers]
        lines = [f"\t=%{weight}%{text}#{feedback}\n" for weight, text, feedback in answers]
        return _header(q) + "{\n" + "".join(lines) + _general(q) + "}\n"
    if q.qtype == "numerical":
        answers = list(data.get("answers") or [])
        lines = []
        for n, a in enumerate(answers):
            feedback = _write_text(a.get("feedback") or "", fmt, fmt)
            fraction = float(a.get("fraction", 0.0))
            tolerance = float(a.get("tolerance") or 0.0)
            if a.get("value") is None and fraction == 0 and not tolerance and n == len(answers) - 1:
                lines.append(f"\t~#{feedback}\n")
            elif a.get("value") is None:
                any_value = f"*:{format_number(tolerance)}" if tolerance else "*"
                lines.append(f"\t=%{format_percent(fraction)}%{any_value}#{feedback}\n")
            else:
                lines.append(f"\t=%{format_percent(fraction)}%{format_number(a['value'])}:"
                             f"{format_number(a.get('tolerance') or 0.0)}#{feedback}\n")
        return _header(q) + "{#\n" + "".join(lines) + _general(q) + "}\n"
    if q.qtype == "matching":
        # the first "->" of a pair separates it, so only the left side needs "->" kept out
        lines = [f"\t={_no_arrow(_write_text(p.get('text') or '', fmt, fmt))} -> {_repchar(p.get('answer') or '')}\n"
                 for p in data.get("pairs") or []]
        lines += [f"\t= -> {_repchar(d)}\n" for d in data.get("distractors") or []]
        return _header(q) + "{\n" + "".join(lines) + _general(q) + "}\n"
    return ""


def export_gift(items: list[ParsedQuestion]) -> str:
    """A GIFT file Moodle (and parse_gift) reads back to the same questions.

    Cloze questions have no GIFT form: they are left out with a comment saying so.
    """
    out = []
    current = None
    for item in items:
        q = item.question
        if q.qtype == "cloze" or q.qtype not in ("description", "essay", "truefalse", "single", "multi",
                                                 "shortanswer", "numerical", "matching"):
            out.append(f"// Bỏ qua câu hỏi “{q.name}”: loại {q.qtype} không ghi được ở định dạng GIFT.\n\n")
            continue
        if item.category != current:
            current = list(item.category)
            out.append(f"$CATEGORY: {category_path_text(current)}\n\n")
        out.append(_write_question(q) + "\n")
    return "".join(out)
