"""Import and export of question banks (GIFT, Moodle XML, Aiken): all or nothing per file."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _

from quizzes.bank import BankError, create_question, ensure_category, question_data, subtree_ids
from quizzes.formats import (ImportIssue, ImportResult, ParsedCategory, ParsedQuestion, check_bank_limits,
                             export_gift, export_moodle_xml, parse_aiken, parse_gift, parse_moodle_xml)
from quizzes.models import Question, QuestionCategory
from training.extensions import db
from training.models import Competency, User
from training.services import audit

FORMATS = {"gift": parse_gift, "moodlexml": parse_moodle_xml, "aiken": parse_aiken}
EXPORTERS = ("gift", "moodlexml")
NON_GRADED = ("essay", "description", "cloze")


class ImportRefused(Exception):
    """The file cannot be imported; `issues` says why (nothing was written)."""

    def __init__(self, issues: list[ImportIssue]):
        super().__init__("; ".join(issue.message for issue in issues))
        self.issues = issues


@dataclass
class ImportSummary:
    imported: int = 0
    non_graded: int = 0
    categories: list[str] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)


def parse_file(data: bytes, fmt: str, category_path: list[str] | None = None) -> ImportResult:
    """Parse a bank file without writing anything (the preview)."""
    if fmt not in FORMATS:
        raise ImportRefused([ImportIssue(None, _("Định dạng không hỗ trợ: %(fmt)s (dùng gift, moodlexml, aiken).",
                                                 fmt=fmt))])
    return FORMATS[fmt](data, list(category_path or []))


def apply_import(result: ImportResult, *, actor: User | None = None, base_path: list[str] | None = None,
                 competency: Competency | None = None, source: str = "") -> ImportSummary:
    """Write a parsed file to the bank, or nothing at all when the file has any error.

    The file is checked against what the bank can hold under `base_path` (lengths, NUL bytes, depth)
    before anything is written, so a refusal is an ImportRefused with lines, never a database error.
    The caller rolls back on ImportRefused.
    """
    if result.refused or result.errors:
        raise ImportRefused(result.errors or [ImportIssue(None, _("Tệp bị từ chối."))])
    if not result.questions and not result.categories:
        raise ImportRefused([ImportIssue(None, _("Tệp không có câu hỏi nào."))])
    base = list(base_path or [])
    problems = check_bank_limits(result, base)   # the parser checked the file alone; this adds `base`
    if problems:
        raise ImportRefused(problems)
    try:
        summary = _write(result, actor, base, competency)
    except BankError as exc:   # checked above, so unexpected: still a refusal with its reason
        raise ImportRefused([ImportIssue(None, str(exc))]) from exc
    # a file name comes from the browser: no NUL (PostgreSQL refuses it) in the audit line
    audit.record(actor, "questions.import", source.replace("\x00", ""), imported=summary.imported,
                 non_graded=summary.non_graded)
    return summary


def _write(result: ImportResult, actor: User | None, base: list[str], competency: Competency | None) -> ImportSummary:
    summary = ImportSummary(warnings=list(result.warnings))
    for parsed_category in result.categories:
        category = ensure_category(base + parsed_category.path)
        if parsed_category.description and not category.description:
            category.description = parsed_category.description
        if parsed_category.idnumber and not category.idnumber:
            category.idnumber = parsed_category.idnumber
    touched = set()
    for parsed in result.questions:
        category = ensure_category(base + parsed.category, competency=competency)
        touched.add(" / ".join(category.names()))
        create_question(category, parsed.question, actor, validate=parsed.question.qtype not in NON_GRADED)
        if parsed.question.qtype in NON_GRADED:
            summary.non_graded += 1
        else:
            summary.imported += 1
    summary.categories = sorted(touched)
    db.session.flush()
    return summary


def export_category(category: QuestionCategory | None, fmt: str) -> str:
    """Export the current version of every question in a category subtree (all when None)."""
    stmt = sa.select(Question).where(Question.hidden.is_(False)).order_by(Question.category_id, Question.id)
    if category is not None:
        stmt = stmt.where(Question.category_id.in_(subtree_ids(category)))
    items = [ParsedQuestion(category=q.category.names(), question=question_data(q))
             for q in db.session.scalars(stmt)]
    if fmt == "gift":
        return export_gift(items)
    if fmt == "moodlexml":
        cats = {}
        for q in db.session.scalars(stmt):
            node = q.category
            while node is not None:
                cats.setdefault(node.id, ParsedCategory(node.names(), node.description, node.idnumber))
                node = node.parent
        return export_moodle_xml(items, sorted(cats.values(), key=lambda c: c.path))
    raise ValueError(fmt)
