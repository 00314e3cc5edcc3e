"""Aiken in, as Moodle 4.5's qformat_aiken reads it.

    Question text (one line)
    A) Choice
    B. Choice
    ANSWER: B

Each question becomes a single-answer multiple choice. The text is taken as plain text (shown,
never rendered as HTML). Errors name their line: a choice or ANSWER line outside a question
("not started"), an ANSWER for fewer than two choices, a new question before the previous one
got its ANSWER ("not completed").
"""
from __future__ import annotations

import re

from quizzes.formats import (PHP_WS, ImportIssue, ImportResult, ParsedQuestion, decode_utf8, finish, looks_like,
                             make_name, refuse_wrong_format)
from quizzes.qdata import QuestionData

_CHOICE = re.compile(r"^[A-Z][).]")


def parse_aiken(data: bytes, default_category: list[str]) -> ImportResult:
    result = ImportResult()
    text = decode_utf8(data, "Aiken", result)
    if text is None:
        return result
    likely = looks_like(text)
    if likely in ("moodlexml", "html"):
        return refuse_wrong_format(result, "Aiken", likely)
    question: ParsedQuestion | None = None

    def error(line: int, message: str) -> None:
        result.errors.append(ImportIssue(line, message, question.question.name if question else ""))

    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip(PHP_WS)
        if len(line.encode("utf-8")) < 2:
            continue
        if _CHOICE.match(line):
            if question is None:
                error(number, "có phương án trả lời nhưng chưa có câu hỏi nào được bắt đầu")
                continue
            options = question.question.data["options"]
            options.append({"id": f"o{len(options) + 1}", "text": line[2:].strip(PHP_WS), "format": "plain",
                            "fraction": 0.0, "feedback": ""})
        elif line.startswith("ANSWER:"):
            if question is None:
                error(number, "có dòng ANSWER nhưng chưa có câu hỏi nào được bắt đầu")
                continue
            letter = line[line.find(":") + 1:].strip(PHP_WS)[:1]
            options = question.question.data["options"]
            if len(options) < 2:
                error(number, "câu hỏi cần ít nhất 2 phương án trả lời (A, B, ...) trước dòng ANSWER")
            elif not letter or not "A" <= letter <= "Z" or ord(letter) - ord("A") >= len(options):
                error(number, f"đáp án “{letter}” không ứng với phương án nào của câu hỏi "
                              f"(chỉ có A đến {chr(ord('A') + len(options) - 1)})")
            else:
                options[ord(letter) - ord("A")]["fraction"] = 1.0
                result.questions.append(question)
            question = None
        else:
            if question is not None:
                error(number, "câu hỏi trước chưa hoàn chỉnh (thiếu dòng ANSWER) nên bị bỏ qua")
            q = QuestionData(qtype="single", name=make_name(None, line), text=line, text_format="plain",
                             data={"options": [], "shuffle": True, "numbering": "abc"})
            question = ParsedQuestion(category=list(default_category), question=q, line=number)
    if question is not None:
        result.errors.append(ImportIssue(question.line, "câu hỏi cuối tệp chưa hoàn chỉnh (thiếu dòng ANSWER)",
                                         question.question.name))
    if not result.questions and likely == "gift":
        return refuse_wrong_format(result, "Aiken", likely)
    return finish(result)
