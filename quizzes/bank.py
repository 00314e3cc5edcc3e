"""The question bank: categories as a tree, questions with versions, tags, imports and exports."""
from __future__ import annotations

import json
from types import SimpleNamespace

import sqlalchemy as sa
from flask_babel import gettext as _

from quizzes.models import AttemptSlot, Question, QuestionCategory, QuestionVersion, Tag
from quizzes.qdata import QuestionData
from quizzes.qtypes import get_type
from training.extensions import db
from training.models import Competency, User
from training.services import audit
from training.vntext import collation_key, fold, nfc

GRADED_TYPES = ("single", "multi", "truefalse", "shortanswer", "numerical", "matching")


class BankError(ValueError):
    """A bank change that cannot be made; the message is for the user."""


# --------------------------------------------------------------------------- categories
def _refresh_path(category: QuestionCategory) -> None:
    prefix = category.parent.path if category.parent is not None else "/"
    category.path = f"{prefix}{category.id}/"
    category.depth = 0 if category.parent is None else category.parent.depth + 1
    for child in category.children:
        _refresh_path(child)


def create_category(name: str, parent: QuestionCategory | None = None, competency: Competency | None = None,
                    description: str = "", idnumber: str = "") -> QuestionCategory:
    name = nfc(name)
    if not name:
        raise BankError(_("Tên danh mục không được để trống."))
    category = QuestionCategory(name=name, parent=parent, competency=competency, description=nfc(description),
                                # the key of a 255-character name can pass the 400 of its column
                                idnumber=nfc(idnumber), sort_key=collation_key(name)[:400])
    db.session.add(category)
    db.session.flush()
    _refresh_path(category)
    return category


def find_category(path: list[str]) -> QuestionCategory | None:
    parent = None
    for name in path:
        stmt = sa.select(QuestionCategory).where(QuestionCategory.name == nfc(name))
        stmt = stmt.where(QuestionCategory.parent_id == (parent.id if parent else None)) if parent else \
            stmt.where(QuestionCategory.parent_id.is_(None))
        parent = db.session.scalar(stmt)
        if parent is None:
            return None
    return parent


def ensure_category(path: list[str], competency: Competency | None = None) -> QuestionCategory:
    """The category at `path` (names from the top), creating the missing parts."""
    if not path:
        path = [_("Mặc định")]
    parent = None
    for name in path:
        found = find_category((parent.names() if parent else []) + [name])
        parent = found or create_category(name, parent)
    if competency is not None and parent.competency_id is None:
        parent.competency = competency
    return parent


def category_competency(category: QuestionCategory) -> Competency | None:
    """The competency of a category, inherited from the nearest ancestor that has one."""
    node = category
    while node is not None:
        if node.competency is not None:
            return node.competency
        node = node.parent
    return None


def categories_tree() -> list[QuestionCategory]:
    return list(db.session.scalars(sa.select(QuestionCategory).order_by(QuestionCategory.path)))


def subtree_ids(category: QuestionCategory):
    return subtree_ids_of(category.path)


def subtree_ids_of(path):
    """The ids of the category at `path` (a string, or a bound parameter) and of every category under
    it (a select). A path is its ancestors' ids ("/1/4/"): a prefix match, with no LIKE wildcards."""
    table = QuestionCategory.__table__
    return sa.select(table.c.id).where(sa.func.substr(table.c.path, 1, sa.func.length(path)) == path)


# --------------------------------------------------------------------------- questions
def _version_from_data(q: QuestionData) -> dict:
    return {
        "qtype": q.qtype, "name": nfc(q.name)[:255], "text": nfc(q.text), "text_format": q.text_format,
        "general_feedback": nfc(q.general_feedback), "default_mark": q.default_mark, "penalty": q.penalty,
        "data": q.data, "search_text": fold(f"{q.name} {q.text}")[:5000],
    }


# What a learner's view and the question types read of a version, as plain values.
VERSION_FIELDS = ("id", "question_id", "qtype", "name", "text", "text_format", "general_feedback", "default_mark",
                  "penalty", "data")


def version_columns():
    """The columns of VERSION_FIELDS on the table, with `data` as its stored JSON text (see stored_data)."""
    table = QuestionVersion.__table__
    return [sa.cast(table.c.data, sa.Text).label("data") if name == "data" else table.c[name]
            for name in VERSION_FIELDS]


# A version's data parsed once per process, by its stored text: the same text is the same data, so
# nothing here can go stale. Exam day reads the same twenty questions for thousands of attempts.
_PARSED: dict[str, dict] = {}
_PARSED_MAX = 20_000


def stored_data(text: str | None) -> dict:
    """A version's data from its stored JSON text; shared, so never changed by its reader."""
    if text is None:
        return {}
    found = _PARSED.get(text)
    if found is None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        found = _PARSED[text] = json.loads(text)
    return found


def plain_version(row) -> SimpleNamespace:
    """A row of version_columns() as plain values named like QuestionVersion's attributes."""
    return SimpleNamespace(**{name: stored_data(row.data) if name == "data" else getattr(row, name)
                              for name in VERSION_FIELDS})


def plain_versions(ids) -> dict[int, SimpleNamespace]:
    """Versions by id, read in one plain query (no ORM)."""
    rows = db.session.connection().execute(sa.select(*version_columns())
                                           .where(QuestionVersion.__table__.c.id.in_(list(ids))))
    return {row.id: plain_version(row) for row in rows}


def version_data(version: QuestionVersion, tags: list[str] | None = None, idnumber: str = "") -> QuestionData:
    """The neutral QuestionData of a stored version (what question types grade)."""
    return QuestionData(qtype=version.qtype, name=version.name, text=version.text, text_format=version.text_format,
                        general_feedback=version.general_feedback, default_mark=version.default_mark,
                        penalty=version.penalty, idnumber=idnumber, tags=list(tags or []), data=version.data or {})


def validate_question(q: QuestionData) -> list[str]:
    if not nfc(q.name):
        return [_("Tên câu hỏi không được để trống.")]
    if q.qtype in GRADED_TYPES and not nfc(q.text):
        return [_("Nội dung câu hỏi không được để trống.")]
    return get_type(q.qtype).validate(q)


def _set_tags(question: Question, names: list[str]) -> None:
    tags = []
    for name in sorted({nfc(n).lower() for n in names if nfc(n)}):
        tag = db.session.scalar(sa.select(Tag).where(Tag.name == name))
        if tag is None:
            tag = Tag(name=name[:100])
            db.session.add(tag)
        tags.append(tag)
    question.tags = tags


def create_question(category: QuestionCategory, q: QuestionData, actor: User | None = None,
                    validate: bool = True) -> Question:
    """Add a question (version 1) to the bank."""
    if validate:
        errors = validate_question(q)
        if errors:
            raise BankError(" ".join(errors))
    question = Question(category=category, idnumber=nfc(q.idnumber)[:100], created_by_id=actor.id if actor else None)
    db.session.add(question)
    version = QuestionVersion(question=question, version=1, created_by_id=actor.id if actor else None,
                              **_version_from_data(q))
    db.session.add(version)
    db.session.flush()
    question.current_version = version
    _set_tags(question, q.tags)
    db.session.flush()
    return question


def is_version_used(version: QuestionVersion) -> bool:
    return db.session.scalar(sa.select(AttemptSlot.id).where(AttemptSlot.question_version_id == version.id)
                             .limit(1)) is not None


def update_question(question: Question, q: QuestionData, actor: User | None = None,
                    category: QuestionCategory | None = None) -> QuestionVersion:
    """Edit a question. A version that attempts have seen is kept; the edit becomes a new version."""
    errors = validate_question(q)
    if errors:
        raise BankError(" ".join(errors))
    current = question.current_version
    if current is not None and not is_version_used(current):
        for key, value in _version_from_data(q).items():
            setattr(current, key, value)
        version = current
    else:
        number = (max(v.version for v in question.versions) if question.versions else 0) + 1
        version = QuestionVersion(question=question, version=number, created_by_id=actor.id if actor else None,
                                  **_version_from_data(q))
        db.session.add(version)
        db.session.flush()
        question.current_version = version
    question.idnumber = nfc(q.idnumber)[:100]
    if category is not None:
        question.category = category
    _set_tags(question, q.tags)
    db.session.flush()
    audit.record(actor, "question.update", str(question.id), version=version.version)
    return version


def question_data(question: Question) -> QuestionData:
    return version_data(question.current_version, [t.name for t in question.tags], question.idnumber)


# --------------------------------------------------------------------------- search
def search_questions(text: str = "", *, category: QuestionCategory | None = None, include_subcategories: bool = False,
                     qtype: str = "", tag: str = "", hidden: bool | None = None, graded_only: bool = False):
    """The bank's search, for the bank page and the quiz page's question picker alike: a select of
    Question (current version joined), ordered by name.

    Every word of `text` must appear in the name or text, accents ignored ("chu ky so" finds "Chữ ký
    số"); the whole of `text` may also be a question's ID number, or "#42" its number in the bank.
    """
    stmt = sa.select(Question).join(QuestionVersion, Question.current_version_id == QuestionVersion.id)
    if category is not None:
        stmt = stmt.where(Question.category_id.in_(subtree_ids(category)) if include_subcategories
                          else Question.category_id == category.id)
    if qtype:
        stmt = stmt.where(QuestionVersion.qtype == qtype)
    if graded_only:
        stmt = stmt.where(QuestionVersion.qtype.in_(GRADED_TYPES))
    if tag:
        stmt = stmt.where(Question.tags.any(Tag.name == tag))
    if hidden is not None:
        stmt = stmt.where(Question.hidden.is_(hidden))
    words = fold(text).split()
    if words:
        matches = [sa.and_(*(QuestionVersion.search_text.contains(w, autoescape=True) for w in words)),
                   Question.idnumber == text]
        number = text.strip()
        if number.startswith("#") and number[1:].isdigit() and len(number) <= 10:
            matches.append(Question.id == int(number[1:]))
        stmt = stmt.where(sa.or_(*matches))
    return stmt.order_by(QuestionVersion.search_text, Question.id)
