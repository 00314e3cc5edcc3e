"""What the legal-basis register (courses.legal) needs to know about questions and quizzes.

courses never imports quizzes, so this module lends it what it asks through
`app.extensions["legal_item_providers"]["question"]`: finding every question's citations again,
naming questions on the register's pages, and the quizzes' "leave flagged questions out" setting.
It also finds a question's citations whenever a version is written (created, imported, edited) and
records that day as the day the question was last checked.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import url_for
from sqlalchemy import event
from sqlalchemy.orm import Session

from courses.assignments import VIETNAM, today_in_vietnam
from courses.legal import question_flagged, set_question_checked, write_question_citations
from quizzes.bank import GRADED_TYPES, subtree_ids
from quizzes.models import Question, QuestionVersion, Quiz
from training.extensions import db
from training.services import audit

_TEXT_FIELDS = ("name", "text", "general_feedback", "data")


def _strings(value) -> list[str]:
    """Every string inside a version's JSON data (options, their feedback, matching pairs …)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _strings(item)]
    return []


def citation_text(version: QuestionVersion) -> str:
    """All the words of a version a citation may sit in: name, text, feedback and every option."""
    return "\n".join([version.name or "", version.text or "", version.general_feedback or "",
                      *_strings(version.data or {})])


def _written(version: QuestionVersion, session) -> bool:
    if version in session.new:
        return True
    state = sa.inspect(version)
    return any(state.attrs[name].history.has_changes() for name in _TEXT_FIELDS)


def _after_flush(session, _context) -> None:
    versions = [obj for obj in list(session.new) + list(session.dirty)
                if isinstance(obj, QuestionVersion) and obj.question_id is not None and _written(obj, session)]
    if not versions:
        return
    conn = session.connection()
    today = today_in_vietnam()
    for version in versions:
        write_question_citations(conn, version.question_id, citation_text(version))
        # A version is written against the law of its day: that is when the question was last checked.
        set_question_checked(conn, version.question_id, today, version.created_by_id)


if not event.contains(Session, "after_flush", _after_flush):
    event.listen(Session, "after_flush", _after_flush)


class QuestionProvider:
    """The register's view of bank questions."""

    @staticmethod
    def refind_all() -> int:
        """Find every question's citations again from its current version; give a question that has
        no "last checked" day the day its current version was written. Returns how many were read."""
        conn = db.session.connection()
        rows = db.session.execute(sa.select(Question.id, QuestionVersion).join(
            QuestionVersion, Question.current_version_id == QuestionVersion.id)).all()
        for question_id, version in rows:
            write_question_citations(conn, question_id, citation_text(version))
            written = version.created_at.astimezone(VIETNAM).date() if version.created_at else today_in_vietnam()
            set_question_checked(conn, question_id, written, None, only_if_missing=True)
        return len(rows)

    @staticmethod
    def exists(question_id: int) -> bool:
        return db.session.scalar(sa.select(Question.id).where(Question.id == question_id,
                                                              Question.current_version_id.is_not(None))) is not None

    @staticmethod
    def describe(question_ids) -> dict[int, dict]:
        """For each question: its name, ID number, category path, whether it is hidden, its text and
        the link to its page in the bank."""
        ids = list(question_ids)
        if not ids:
            return {}
        questions = db.session.scalars(sa.select(Question).where(Question.id.in_(ids)))
        result = {}
        for question in questions:
            version = question.current_version
            result[question.id] = {
                "id": question.id, "name": version.name if version else str(question.id),
                "idnumber": question.idnumber, "category": " / ".join(question.category.names()),
                "hidden": question.hidden, "text": version.text if version else "",
                "feedback": version.general_feedback if version else "",
                "version": version.version if version else None,
                "url": url_for("quizzes.bank_question", question_id=question.id),
            }
        return result

    @staticmethod
    def quizzes(today: date | None = None) -> list[dict]:
        """Each quiz with its "leave flagged questions out" setting and, per random rule, how many
        questions its pool has and how many of them are not flagged (one query per rule)."""
        today = today or today_in_vietnam()
        rows = []
        for quiz in db.session.scalars(sa.select(Quiz).order_by(Quiz.title, Quiz.id)):
            rules = []
            for rule in quiz.rules:
                if rule.category is None:
                    continue
                stmt = (sa.select(sa.func.count(Question.id),
                                  sa.func.sum(sa.case((question_flagged(Question.id, today), 1), else_=0)))
                        .join(QuestionVersion, Question.current_version_id == QuestionVersion.id)
                        .where(Question.hidden.is_(False), QuestionVersion.qtype.in_(GRADED_TYPES)))
                if rule.include_subcategories:
                    stmt = stmt.where(Question.category_id.in_(subtree_ids(rule.category)))
                else:
                    stmt = stmt.where(Question.category_id == rule.category_id)
                pool, flagged = db.session.execute(stmt).one()
                rules.append({"category": " / ".join(rule.category.names()), "count": rule.count,
                              "pool": pool or 0, "flagged": int(flagged or 0)})
            rows.append({"quiz": quiz, "skip": quiz.skip_flagged_questions, "rules": rules,
                         "short": quiz.skip_flagged_questions and any(
                             r["pool"] - r["flagged"] < r["count"] for r in rules)})
        return rows

    @staticmethod
    def set_skip(quiz_id: int, skip: bool, actor) -> Quiz | None:
        """Turn "leave flagged questions out of the draw" on or off for a quiz (audited)."""
        quiz = db.session.get(Quiz, quiz_id)
        if quiz is None:
            return None
        if quiz.skip_flagged_questions != skip:
            quiz.skip_flagged_questions = skip
            audit.record(actor, "quiz.update", str(quiz.id),
                         fields={"skip_flagged_questions": {"old": not skip, "new": skip}})
            db.session.flush()
        return quiz


def register(app) -> None:
    app.extensions.setdefault("legal_item_providers", {})["question"] = QuestionProvider
