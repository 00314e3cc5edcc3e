"""Moodle XML in and out, as Moodle 4.5's qformat_xml reads and writes it.

Read: categories (`<question type="category">` with `$course$/top/...` paths, `<info>`, `<idnumber>`;
in any order, with or without `<info>`), multichoice (single or several answers), truefalse,
shortanswer, numerical, matching, essay, description and cloze (kept as a non-graded "cloze" item
with its text, after Moodle's own checks of the embedded answers). Embedded files (`<file>`,
Moodle 1.9's `<image>`/`<image_base64>`) are dropped with a warning; the question is kept.
A file that is not well-formed XML, or not UTF-8, is refused whole, as is a file with a grade
Moodle does not allow (see formats.check_grades).

Written: the same elements Moodle exports, text in CDATA when it holds markup.
"""
from __future__ import annotations

import math
import re
from xml.parsers import expat

from quizzes.formats import (PHP_WS, ImportIssue, ImportResult, ParsedCategory, ParsedQuestion, category_path_text,
                             clean_name, clean_tag, decode_utf8, finish, format_number, format_percent, looks_like,
                             make_name, note_non_graded, parse_category_path, refuse_wrong_format)
from quizzes.qdata import QuestionData

_FORMAT_IN = {"moodle_auto_format": "moodle", "html": "html", "plain_text": "plain", "markdown": "markdown",
              "wiki_like": "moodle"}
_FORMAT_OUT = {"moodle": "moodle_auto_format", "html": "html", "plain": "plain_text", "markdown": "markdown"}
# Moodle question types we have no counterpart for: skipped with a warning, the rest of the file goes on.
_UNSUPPORTED = {"calculated": "tính toán (calculated)", "calculatedsimple": "tính toán đơn giản",
                "calculatedmulti": "tính toán nhiều lựa chọn", "randomsamatch": "ghép đôi ngẫu nhiên",
                "random": "câu ngẫu nhiên", "ddwtos": "kéo thả vào văn bản", "gapselect": "chọn từ vào chỗ trống",
                "ddimageortext": "kéo thả vào ảnh", "ddmarker": "kéo thả điểm đánh dấu",
                "ordering": "sắp xếp thứ tự", "multianswerrgx": "cloze regex"}
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?$")


class _Node:
    __slots__ = ("tag", "attrs", "children", "parts", "line")

    def __init__(self, tag: str, attrs: dict, line: int):
        self.tag, self.attrs, self.children, self.parts, self.line = tag, attrs, [], [], line

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def child(self, tag: str) -> "_Node | None":
        return next((c for c in self.children if c.tag == tag), None)

    def all(self, tag: str) -> list["_Node"]:
        return [c for c in self.children if c.tag == tag]

    def path(self, *tags: str) -> "_Node | None":
        node = self
        for tag in tags:
            node = node.child(tag) if node is not None else None
        return node

    def value(self, *tags: str, default: str | None = None) -> str | None:
        """The trimmed text at a path of child elements, or `default` when the path is missing."""
        node = self.path(*tags)
        return node.text.strip(PHP_WS) if node is not None else default


class _Forbidden(Exception):
    """The file uses an XML feature we refuse (DOCTYPE, entities): the whole file is refused."""


class _QuestionError(Exception):
    """One question cannot be imported; the message is reported with its line."""


def _parse_xml(text: str) -> _Node:
    parser = expat.ParserCreate("UTF-8")
    root = _Node("#document", {}, 1)
    stack = [root]

    def start(tag, attrs):
        node = _Node(tag, attrs, parser.CurrentLineNumber)
        stack[-1].children.append(node)
        stack.append(node)

    def end(tag):
        stack.pop()

    def chars(data):
        stack[-1].parts.append(data)

    def forbidden(*args):
        raise _Forbidden()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = forbidden      # no DTD, no entities: a question bank needs none
    parser.EntityDeclHandler = forbidden
    parser.Parse(text.encode("utf-8"), True)
    return root


def _format(name: str | None, default: str) -> str:
    if name is None:
        return default
    return _FORMAT_IN.get(name.strip(), "html")     # Moodle assumes html for an unknown format


def _single(value: str | None) -> bool:
    """Moodle's trans_single: "false", "" and "0" are false, anything else true."""
    value = (value or "").strip()
    return not (value == "false" or value in ("", "0"))


def _float(node: _Node, tags: tuple, default: float, what: str) -> float:
    raw = node.value(*tags)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise _QuestionError(f"{what} “{raw}” không phải là một số")
    return value


def _fraction(answer: _Node) -> float:
    raw = answer.attrs.get("fraction", "0")
    deprecated = answer.value("fraction")               # <fraction> inside <answer> is deprecated but read
    try:
        value = float(deprecated) if deprecated else float(raw.strip() or 0) / 100
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise _QuestionError(f"điểm “{deprecated or raw}” của một đáp án không phải là một số")
    return round(value, 7)


class _Reader:
    def __init__(self, result: ImportResult, default_category: list[str]):
        self.result = result
        self.category = list(default_category)
        self.default = list(default_category)

    # ------------------------------------------------------------------ pieces
    @staticmethod
    def count_files(node: _Node) -> int:
        """The <file> elements anywhere inside a question (walked without recursion: files can be deep)."""
        count, stack = 0, [node]
        while stack:
            for child in stack.pop().children:
                if child.tag == "file":
                    count += 1
                else:
                    stack.append(child)
        return count

    def text_field(self, node: _Node | None, default_format: str) -> tuple[str, str]:
        if node is None:
            return "", default_format
        return node.value("text", default=""), _format(node.attrs.get("format"), default_format)

    def headers(self, xq: _Node, qtype: str) -> QuestionData:
        text, fmt = self.text_field(xq.child("questiontext"), "html")
        name_node = xq.path("name", "text")
        if name_node is None and qtype != "cloze":
            raise _QuestionError("thiếu tên câu hỏi (<name>) trong tệp XML")
        title = name_node.text.strip(PHP_WS) if name_node is not None else None
        general, _ = self.text_field(xq.child("generalfeedback"), fmt)
        penalty = _float(xq, ("penalty",), 0.3333333, "hệ số trừ điểm")
        if abs(penalty - 0.3333333) < 0.005:
            penalty = 0.3333333
        tag_list = xq.child("tags")
        tags = [clean_tag(t.value("text", default="") or "")
                for t in (tag_list.all("tag") if tag_list is not None else [])]
        return QuestionData(qtype=qtype, name=make_name(title, text), text=text, text_format=fmt,
                            general_feedback=general, default_mark=_float(xq, ("defaultgrade",), 1.0, "điểm mặc định"),
                            penalty=penalty, idnumber=xq.value("idnumber", default="") or "",
                            tags=[t for t in tags if t])

    # ------------------------------------------------------------------ types
    def multichoice(self, xq: _Node, q: QuestionData) -> None:
        q.qtype = "single" if _single(xq.value("single", default="true")) else "multi"
        options = []
        for answer in xq.all("answer"):
            text, fmt = answer.value("text", default=""), _format(answer.attrs.get("format"), q.text_format)
            feedback, _ = self.text_field(answer.child("feedback"), q.text_format)
            fraction = _fraction(answer)
            if not text and fraction == 0 and not feedback:
                continue                               # Moodle ignores a completely blank answer
            options.append({"id": f"o{len(options) + 1}", "text": text, "format": fmt, "fraction": fraction,
                            "feedback": feedback})
        if len(options) < 2:
            raise _QuestionError("câu nhiều lựa chọn cần ít nhất 2 phương án")
        q.data = {"options": options, "shuffle": _single(xq.value("shuffleanswers", default="false")),
                  "numbering": xq.value("answernumbering", default="abc") or "abc"}

    def truefalse(self, xq: _Node, q: QuestionData, line: int) -> None:
        q.qtype = "truefalse"
        correct, feedback, old_style = None, {"true": "", "false": ""}, False
        for n, answer in enumerate(xq.all("answer")):
            which = answer.value("text", default="")
            if which not in ("true", "false"):
                old_style = True                       # old files: true first, then false
                which = "true" if n == 0 else "false"
            full = abs(_fraction(answer) - 1) < 1e-9
            correct = full if which == "true" else not full
            feedback[which] = self.text_field(answer.child("feedback"), q.text_format)[0]
        if correct is None:
            raise _QuestionError("câu đúng/sai không có đáp án nào")
        if old_style:
            self.result.warnings.append(ImportIssue(
                line, f"Câu hỏi “{q.name}”: đáp án không ghi rõ true/false; đã coi đáp án đầu là “Đúng”, "
                      f"đáp án đúng là “{'Đúng' if correct else 'Sai'}”. Hãy kiểm tra lại.", q.name))
        q.data = {"correct": correct, "feedback_true": feedback["true"], "feedback_false": feedback["false"]}

    def shortanswer(self, xq: _Node, q: QuestionData) -> None:
        q.qtype = "shortanswer"
        answers = []
        for answer in xq.all("answer"):
            text = answer.value("text", default="")
            if text == "":
                continue
            answers.append({"text": text, "fraction": _fraction(answer),
                            "feedback": self.text_field(answer.child("feedback"), q.text_format)[0]})
        if not answers:
            raise _QuestionError("câu trả lời ngắn cần ít nhất 1 đáp án")
        usecase = xq.value("usecase", default="0") or "0"
        q.data = {"answers": answers, "case_sensitive": usecase.strip() not in ("0", "false", ""),
                  "ignore_diacritics": (xq.value("ignorediacritics", default="0") or "0") not in ("0", "false")}

    def numerical(self, xq: _Node, q: QuestionData, line: int) -> None:
        q.qtype = "numerical"
        answers = []
        for answer in xq.all("answer"):
            raw = answer.value("text")
            if raw is None:                            # very old files put the number straight in <answer>
                raw = answer.text.strip(PHP_WS)
            if raw == "":
                continue
            if raw == "*":
                value = None
            elif _NUMBER.match(raw) and math.isfinite(float(raw.replace(",", "."))):
                value = float(raw.replace(",", "."))
            else:
                raise _QuestionError(f"đáp án “{raw}” của câu hỏi số không phải là một số hoặc *")
            tolerance = _float(answer, ("tolerance",), 0.0, "sai số")
            answers.append({"value": value, "tolerance": abs(tolerance), "fraction": _fraction(answer),
                            "feedback": self.text_field(answer.child("feedback"), q.text_format)[0]})
        if not answers:
            raise _QuestionError("câu hỏi số không có đáp án nào")
        units = xq.path("units")
        unit = ""
        if units is not None:
            names = [(u.value("unit_name", default=""), u.value("multiplier", default="1")) for u in units.all("unit")]
            base = [n for n, m in names if _is_one(m)]
            unit = (base or [n for n, _ in names] or [""])[0]
            if len(names) > 1:
                self.result.warnings.append(ImportIssue(
                    line, f"Câu hỏi “{q.name}”: chỉ giữ đơn vị chính “{unit}”, bỏ {len(names) - 1} đơn vị quy đổi.",
                    q.name))
        q.data = {"answers": answers, "unit": unit}

    def matching(self, xq: _Node, q: QuestionData) -> None:
        q.qtype = "matching"
        pairs, distractors = [], []
        for sub in xq.all("subquestion"):
            text = sub.value("text", default="")
            answer = sub.value("answer", "text", default="")
            if text:
                pairs.append({"id": f"i{len(pairs) + 1}", "text": text, "answer": answer})
            elif answer:
                distractors.append(answer)
        q.data = {"pairs": pairs, "distractors": distractors,
                  "shuffle": _single(xq.value("shuffleanswers", default="1"))}

    def cloze(self, xq: _Node, q: QuestionData) -> None:
        problems, marks = check_cloze(q.text)
        if problems:
            raise _QuestionError("câu hỏi cloze không hợp lệ: " + " ".join(problems))
        q.qtype, q.default_mark, q.data = "cloze", float(marks), {}

    # ------------------------------------------------------------------ driver
    def read_category(self, xq: _Node) -> None:
        path = parse_category_path(xq.value("category", "text", default="") or "")
        info = xq.child("info")
        description = info.value("text", default="") if info is not None else ""
        self.category = path or list(self.default)
        if path:
            self.result.add_category(ParsedCategory(path, description or "", xq.value("idnumber", default="") or "",
                                                    line=xq.line))

    def question(self, xq: _Node) -> None:
        qtype = (xq.attrs.get("type") or "").strip()
        line = xq.line
        if qtype == "category":
            self.read_category(xq)
            return
        handlers = {"multichoice": "multichoice", "truefalse": "truefalse", "shortanswer": "shortanswer",
                    "numerical": "numerical", "matching": "matching", "match": "matching", "essay": "essay",
                    "description": "description", "cloze": "cloze"}
        if qtype not in handlers:
            name = clean_name(xq.value("name", "text", default="") or "")
            if qtype in _UNSUPPORTED:
                self.result.warnings.append(ImportIssue(
                    line, f"Bỏ qua câu hỏi “{name}”: hệ thống chưa hỗ trợ loại {_UNSUPPORTED[qtype]}.", name))
            else:
                self.result.errors.append(ImportIssue(
                    line, f"loại câu hỏi “{qtype}” không được hỗ trợ", name))
            return
        q = None
        try:
            q = self.headers(xq, handlers[qtype])
            kind = handlers[qtype]
            if kind == "multichoice":
                self.multichoice(xq, q)
            elif kind == "truefalse":
                self.truefalse(xq, q, line)
            elif kind == "shortanswer":
                self.shortanswer(xq, q)
            elif kind == "numerical":
                self.numerical(xq, q, line)
            elif kind == "matching":
                self.matching(xq, q)
            elif kind == "description":
                q.default_mark = 0.0
            elif kind == "cloze":
                self.cloze(xq, q)
        except _QuestionError as exc:
            name = q.name if q is not None else clean_name(xq.value("name", "text", default="") or "")
            self.result.errors.append(ImportIssue(line, str(exc), name))
            return
        files = self.count_files(xq) + (1 if xq.child("image") is not None or xq.child("image_base64") is not None
                                        else 0)
        if files:
            self.result.warnings.append(ImportIssue(
                line, f"Câu hỏi “{q.name}”: đã bỏ {files} tệp/ảnh nhúng (hệ thống không nhập tệp đính kèm); "
                      "nội dung chữ của câu hỏi được giữ nguyên.", q.name))
        parsed = ParsedQuestion(category=list(self.category), question=q, line=line)
        self.result.questions.append(parsed)
        note_non_graded(self.result, parsed)


def _is_one(raw: str | None) -> bool:
    try:
        return float(raw or "1") == 1.0
    except ValueError:
        return False


def parse_moodle_xml(data: bytes, default_category: list[str]) -> ImportResult:
    result = ImportResult()
    text = decode_utf8(data, "Moodle XML", result)
    if text is None:
        return result
    likely = looks_like(text)
    if likely == "html":
        return refuse_wrong_format(result, "Moodle XML", likely)
    if not text.lstrip().startswith("<"):
        if likely in ("gift", "aiken"):
            return refuse_wrong_format(result, "Moodle XML", likely)
        return result.refuse(ImportIssue(None, "Đây không phải tệp Moodle XML: tệp XML bắt đầu bằng <?xml hoặc "
                                               "<quiz>. Hãy kiểm tra định dạng đã chọn."))
    try:
        root = _parse_xml(text)
    except _Forbidden:
        return result.refuse(ImportIssue(None, "Tệp XML có khai báo DOCTYPE/ENTITY; tệp Moodle XML không dùng "
                                               "khai báo này nên tệp bị từ chối."))
    except expat.ExpatError as exc:
        return result.refuse(ImportIssue(exc.lineno, f"tệp XML sai cú pháp ({expat.ErrorString(exc.code)}), "
                                                     "toàn bộ tệp bị từ chối"))
    quiz = root.child("quiz")
    if quiz is None:
        return result.refuse(ImportIssue(None, "Đây không phải tệp Moodle XML (thiếu thẻ <quiz>)."))
    reader = _Reader(result, default_category)
    for xq in quiz.all("question"):
        reader.question(xq)
    return finish(result)


# --------------------------------------------------------------------------- cloze (Moodle's qtype_multianswer)
# Moodle reads the gaps with one large backtracking regex (ANSWER_REGEX). The same grammar is read
# here by a single left-to-right scan, so that a malformed file cannot make the regex run for ages.
_GAP_START = re.compile(
    r"\{([0-9]*):((NUMERICAL|NM)|(MULTICHOICE|MC)|(MULTICHOICE_V|MCV)|(MULTICHOICE_H|MCH)|"
    r"(SHORTANSWER|SA|MW)|(SHORTANSWER_C|SAC|MWC)|(MULTICHOICE_S|MCS)|(MULTICHOICE_VS|MCVS)|"
    r"(MULTICHOICE_HS|MCHS)|(MULTIRESPONSE|MR)|(MULTIRESPONSE_H|MRH)|(MULTIRESPONSE_S|MRS)|"
    r"(MULTIRESPONSE_HS|MRHS)):")
_GAP_EMPTY = re.compile(r"\{[0-9]*:[A-Z_]+:?\}")
_GAP_FRACTION = re.compile(r"%(-?[0-9]+(?:[.,][0-9]*)?)%")
_MULTIRESPONSE = ("MULTIRESPONSE", "MR", "MULTIRESPONSE_H", "MRH", "MULTIRESPONSE_S", "MRS",
                  "MULTIRESPONSE_HS", "MRHS")   # several answers: any positive grade will do


def _gap_stop(text: str, start: int, stops: str, answer: bool) -> int | None:
    """The first index >= start holding one of `stops` that is not escaped (Moodle's lookbehinds)."""
    for index in range(start, len(text)):
        if text[index] in stops and text[index - 1] != "\\" and not (
                answer and (text[index - 1] == "&" or text[max(0, index - 5):index] == "&amp;")):
            return index
    return None


def _read_gap(text: str, pos: int) -> tuple[list[tuple[float, str]], int] | None:
    """The (fraction, answer) alternatives of a gap whose type ends at `pos`, and the index after its "}"."""
    alternatives = []
    while True:
        fraction, begin = 0.0, pos
        if text.startswith("=", pos):
            fraction, begin = 1.0, pos + 1
        else:
            weight = _GAP_FRACTION.match(text, pos)
            if weight:
                fraction, begin = 0.01 * float(weight.group(1).replace(",", ".")), weight.end()
        stop = _gap_stop(text, begin + 1, "~#}", answer=True)     # an answer has at least one character
        if stop is None and begin != pos:                          # "{1:SA:=}": the "=" is the answer
            fraction, begin = 0.0, pos
            stop = _gap_stop(text, begin + 1, "~#}", answer=True)
        if stop is None:
            return None
        answer = text[begin:stop]
        if text[stop] == "#":
            stop = _gap_stop(text, stop + 1, "~}", answer=False)
            if stop is None:
                return None
        alternatives.append((fraction, answer))
        if text[stop] == "}":
            return alternatives, stop + 1
        pos = stop + 1


def _cloze_number(answer: str) -> bool:
    """A numerical gap's answer: a number, optionally ":" and a tolerance."""
    value, colon, tolerance = answer.partition(":")
    return bool(_NUMBER.match(value.strip())) and (not colon or bool(_NUMBER.match(tolerance.strip())))


def check_cloze(text: str) -> tuple[list[str], float]:
    """Moodle's qtype_multianswer_extract_question + validate_question: (problems, total mark)."""
    problems: list[str] = []
    total, position, pos = 0.0, 0, 0
    while True:
        start = _GAP_START.search(text, pos)
        if not start:
            break
        gap = _read_gap(text, start.end())
        if gap is None:
            break                                      # no closing "}" after this gap: nothing more to read
        alternatives, pos = gap
        position += 1
        total += float(start.group(1) or 1)
        kind = start.group(2)
        numerical = bool(start.group(3))
        multichoice = not numerical and not (start.group(7) or start.group(8))
        multiresponse = kind in _MULTIRESPONSE
        count, full = 0, False
        for fraction, answer in alternatives:
            trimmed = answer.replace("\\}", "}").replace("\\#", "#").strip()
            if trimmed == "":
                continue
            count += 1
            if numerical and not (_cloze_number(trimmed) or trimmed == "*"):
                shown = trimmed if len(trimmed) <= 60 else trimmed[:57] + "..."
                problems.append(f"đáp án “{shown}” của ô {position} phải là một số (ví dụ -1.234 hoặc 3e8) hoặc *.")
            if abs(fraction - 1) < 1e-9 or (multiresponse and fraction > 0):
                full = True
        if multichoice and count < 2:
            problems.append(f"ô {position} cần ít nhất 2 lựa chọn.")
        elif count == 0:
            problems.append(f"ô {position} cần ít nhất 1 đáp án.")
        if not full:
            problems.append(f"ô {position} cần một đáp án được 100% điểm.")
    if position == 0:
        empty = _GAP_EMPTY.search(text)
        if empty:
            problems.append(f"ô “{empty.group(0)}” không có lựa chọn nào.")
        else:
            problems.append("không có ô trả lời nhúng nào (dạng {1:MULTICHOICE:=đúng~sai}).")
    return problems, total


# --------------------------------------------------------------------------- writing
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#039;"))


def _xml_text(text: str) -> str:
    """Moodle's xml_escape: CDATA when the text holds a character HTML would escape."""
    text = _XML_ILLEGAL.sub("", text or "")
    if text and _escape(text) != text:
        return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"
    return text


def _text_el(tag: str, text: str, fmt: str | None, indent: int) -> str:
    pad = "  " * indent
    attr = f' format="{_FORMAT_OUT.get(fmt, "html")}"' if fmt else ""
    return f"{pad}<{tag}{attr}>\n{pad}  <text>{_xml_text(text)}</text>\n{pad}</{tag}>\n"


def _write_category(category: ParsedCategory) -> str:
    out = "<!-- question: 0  -->\n  <question type=\"category\">\n"
    out += f"    <category>\n      <text>{_xml_text(category_path_text(category.path))}</text>\n    </category>\n"
    out += _text_el("info", category.description or "", "moodle", 2)
    out += f"    <idnumber>{_escape(category.idnumber or '')}</idnumber>\n  </question>\n\n"
    return out


def _answer(fraction: float, text: str, fmt: str, feedback: str, feedback_fmt: str, extra: str = "") -> str:
    out = f'    <answer fraction="{format_percent(fraction)}" format="{_FORMAT_OUT.get(fmt, "html")}">\n'
    out += f"      <text>{_xml_text(text)}</text>\n"
    out += _text_el("feedback", feedback, feedback_fmt, 3)
    return out + extra + "    </answer>\n"


def _write_question(q: QuestionData, number: int) -> str:
    types = {"single": "multichoice", "multi": "multichoice", "matching": "matching"}
    data = q.data or {}
    fmt = q.text_format if q.text_format in _FORMAT_OUT else "html"
    out = f"<!-- question: {number}  -->\n  <question type=\"{types.get(q.qtype, q.qtype)}\">\n"
    out += f"    <name>\n      <text>{_xml_text(q.name)}</text>\n    </name>\n"
    out += _text_el("questiontext", q.text, fmt, 2)
    out += _text_el("generalfeedback", q.general_feedback, fmt, 2)
    if q.qtype != "cloze":
        out += f"    <defaultgrade>{q.default_mark:.7f}</defaultgrade>\n"
    out += f"    <penalty>{q.penalty:.7f}</penalty>\n    <hidden>0</hidden>\n"
    out += f"    <idnumber>{_escape(q.idnumber or '')}</idnumber>\n"
    if q.qtype in ("single", "multi"):
        out += f"    <single>{'true' if q.qtype == 'single' else 'false'}</single>\n"
        out += f"    <shuffleanswers>{'true' if data.get('shuffle', True) else 'false'}</shuffleanswers>\n"
        out += f"    <answernumbering>{_escape(str(data.get('numbering') or 'abc'))}</answernumbering>\n"
        out += "    <showstandardinstruction>0</showstandardinstruction>\n"
        for tag in ("correctfeedback", "partiallycorrectfeedback", "incorrectfeedback"):
            out += _text_el(tag, "", fmt, 2)
        for option in data.get("options") or []:
            out += _answer(option.get("fraction", 0.0), option.get("text") or "", option.get("format") or fmt,
                           option.get("feedback") or "", fmt)
    elif q.qtype == "truefalse":
        correct = data.get("correct") is True
        out += _answer(1.0 if correct else 0.0, "true", "moodle", data.get("feedback_true") or "", fmt)
        out += _answer(0.0 if correct else 1.0, "false", "moodle", data.get("feedback_false") or "", fmt)
    elif q.qtype == "shortanswer":
        out += f"    <usecase>{1 if data.get('case_sensitive') else 0}</usecase>\n"
        if data.get("ignore_diacritics"):
            out += "    <ignorediacritics>1</ignorediacritics>\n"      # ours; Moodle ignores it
        for answer in data.get("answers") or []:
            out += _answer(answer.get("fraction", 0.0), answer.get("text") or "", "moodle",
                           answer.get("feedback") or "", fmt)
    elif q.qtype == "numerical":
        for answer in data.get("answers") or []:
            value = answer.get("value")
            out += _answer(answer.get("fraction", 0.0), "*" if value is None else format_number(value), "moodle",
                           answer.get("feedback") or "", fmt,
                           f"      <tolerance>{format_number(answer.get('tolerance') or 0.0)}</tolerance>\n")
        unit = data.get("unit") or ""
        if unit:
            out += (f"    <units>\n      <unit>\n        <multiplier>1</multiplier>\n"
                    f"        <unit_name>{_xml_text(unit)}</unit_name>\n      </unit>\n    </units>\n")
        out += (f"    <unitgradingtype>0</unitgradingtype>\n    <unitpenalty>0.1000000</unitpenalty>\n"
                f"    <showunits>{0 if unit else 3}</showunits>\n    <unitsleft>0</unitsleft>\n")
    elif q.qtype == "matching":
        out += f"    <shuffleanswers>{'true' if data.get('shuffle', True) else 'false'}</shuffleanswers>\n"
        for tag in ("correctfeedback", "partiallycorrectfeedback", "incorrectfeedback"):
            out += _text_el(tag, "", fmt, 2)
        subs = [(p.get("text") or "", p.get("answer") or "") for p in data.get("pairs") or []]
        subs += [("", d) for d in data.get("distractors") or []]
        for text, answer in subs:
            out += (f"    <subquestion format=\"{_FORMAT_OUT.get(fmt, 'html')}\">\n"
                    f"      <text>{_xml_text(text)}</text>\n"
                    f"      <answer>\n        <text>{_xml_text(answer)}</text>\n      </answer>\n"
                    f"    </subquestion>\n")
    elif q.qtype == "essay":
        out += ("    <responseformat>editor</responseformat>\n    <responserequired>1</responserequired>\n"
                "    <responsefieldlines>15</responsefieldlines>\n    <attachments>0</attachments>\n"
                "    <attachmentsrequired>0</attachmentsrequired>\n")
        out += _text_el("graderinfo", "", "html", 2) + _text_el("responsetemplate", "", "html", 2)
    if q.tags:
        out += "    <tags>\n" + "".join(f"      <tag><text>{_xml_text(t)}</text></tag>\n" for t in q.tags)
        out += "    </tags>\n"
    return out + "  </question>\n\n"


def export_moodle_xml(items: list[ParsedQuestion], categories: list[ParsedCategory] | None = None) -> str:
    """A Moodle XML file of the questions, each category written before its questions (parents first)."""
    known = {tuple(c.path): c for c in categories or []}
    written: set[tuple] = set()
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n']

    def write(path: tuple) -> None:
        out.append(_write_category(known.get(path) or ParsedCategory(list(path))))
        written.add(path)

    current = None
    for number, item in enumerate(items, start=1):
        path = tuple(item.category)
        if path != current:
            for depth in range(1, len(path)):           # declared parents (with their descriptions) first
                if path[:depth] in known and path[:depth] not in written:
                    write(path[:depth])
            write(path)                                 # then the switch to this question's category
            current = path
        out.append(_write_question(item.question, number))
    for path in sorted(known):                          # categories without questions of their own
        if path not in written:
            write(path)
    out.append("</quiz>\n")
    return "".join(out)
