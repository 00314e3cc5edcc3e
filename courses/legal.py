"""The legal-basis register: the legal texts the courses and question banks cite, what each lesson
and question cites, and which of them a change in the law has left to be checked again.

- **Texts** (`LegalText`): number, kind, title, dates, notes, source; their status follows from their
  changes (amended, repealed, expired: by which text, from which day) and from `ends_on`. Loaded from
  courses/content/legal_texts.yaml by `courses sync` (and so by `setup --demo`), edited by admins.
- **Citations**: found in a lesson's or question's text by `find_citations` (a regex over Vietnamese
  legal numbers, normalised to a key), found again whenever the text is written (sync, import, edit:
  ORM flush hooks here and in quizzes.legal_hooks), corrected by trainers (added, removed).
- **Flags**: an item is flagged when a text it cites changed after the item was last checked, or when
  a lesson's `review_by` day has come and the lesson was not checked since. The rule lives once, in
  SQL (`_changed`), for the pages, the counts and the quiz draw alike.

Questions belong to quizzes, which builds on courses: this module never imports quizzes. It reaches
questions through the providers quizzes registers in `app.extensions["legal_item_providers"]`.
Functions flush; views and CLI commands commit.
"""
from __future__ import annotations

import html
import math
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import sqlalchemy as sa
import yaml
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session

from courses.assignments import today_in_vietnam
from courses.models import (LEGAL_CHANGE_KINDS, LEGAL_KINDS, Course, FrameworkGroup, LegalText,
                            LegalTextChange, Lesson, LessonCitation, QuestionCheck, QuestionCitation)
from training.extensions import db
from training.models import CompetencyRecord, OrgUnit, User
from training.services import audit
from training.vntext import collation_key, nfc

REGISTER_FILE = "legal_texts.yaml"
NEVER = date(1900, 1, 1)  # the "checked on" of an item nobody ever checked: every change counts

STATUS_LABELS = {
    "in_force": _l("Còn hiệu lực"),
    "amended": _l("Còn hiệu lực, đã được sửa đổi, bổ sung"),
    "repealed": _l("Hết hiệu lực (bị thay thế hoặc bãi bỏ)"),
    "expired": _l("Hết hiệu lực (hết thời hạn áp dụng)"),
}
CHANGE_LABELS = {
    "amended": _l("Được sửa đổi, bổ sung"),
    "repealed": _l("Bị thay thế hoặc bãi bỏ"),
    "expired": _l("Hết hiệu lực"),
    "ended": _l("Hết thời hạn áp dụng"),
}
ORIGIN_LABELS = {
    "found": _l("Tìm thấy trong nội dung"),
    "added": _l("Giảng viên thêm"),
    "removed": _l("Giảng viên đã bỏ"),
}


class LegalError(ValueError):
    """A change to the register or to citations that cannot be made; the message says why."""


# --------------------------------------------------------------------------- finding citations
# A legal number: serial (with a dot in "66.22"), an optional year, and the symbol after the slash
# ("NĐ-CP", "QH15", "QĐ-TTg", "BKHCN-CĐSQG"). Party texts put the type before the slash ("57-NQ/TW").
_SYMBOL = r"[A-ZĐÐ][A-Za-zĐđÐ0-9&]*(?:-[A-ZĐÐ][A-Za-zĐđÐ0-9&]*)*"
_STATE = (r"(?P<serial>\d{1,5}(?:\.\d{1,3})?)(?:/(?P<year>(?:19|20)\d{2}))?/(?P<symbol>" + _SYMBOL + r")")
_PARTY = r"(?P<pserial>\d{1,4})-(?P<ptype>NQ|KH|CT|QĐ)/(?P<pissuer>[A-ZĐ][A-ZĐ0-9]*)"
_NUMBER = r"(?<![\w./\-])(?:" + _PARTY + "|" + _STATE + r")(?![\w/])"
_PARTIAL = r"(?P<sserial>\d{1,5})/(?P<syear>(?:19|20)\d{2})(?![\w/])"
_KIND_WORDS = {
    "luật": "Luật", "bộ luật": "Luật", "nghị định": "Nghị định", "nghị quyết": "Nghị quyết",
    "quyết định": "Quyết định", "thông tư liên tịch": "Thông tư", "thông tư": "Thông tư",
    "công văn": "Công văn", "chỉ thị": "Chỉ thị", "kế hoạch": "Kế hoạch",
}
_KIND = "|".join(sorted((re.escape(word) for word in _KIND_WORDS), key=len, reverse=True))
# A kind word, up to ten words of the text's name ("Luật Bảo vệ dữ liệu cá nhân"), an optional "số",
# then the number. Name words hold no digits or punctuation, so a match never runs across clauses.
_NAMED = re.compile(r"(?<!\w)(?P<kind>" + _KIND + r")(?P<name>(?:[ \t]+[^\W\d_][\w]*){0,10}?)[ \t]+(?:số[ \t]+)?"
                    r"(?:" + _NUMBER[len(r"(?<![\w./\-])"):] + "|" + _PARTIAL + ")", re.IGNORECASE)
_BARE = re.compile(_NUMBER)
# "Số: 15/QĐ-BNV" is how a document shows its own number: an example of layout, not a citation.
_OWN_NUMBER = re.compile(r"Số\\?:\s*$")
_TAGS = re.compile(r"<[^>]+>")


def _kind_of_symbol(symbol: str) -> str | None:
    """The kind of text a symbol's type code names ("NĐ-CP" → Nghị định), or None when it names none."""
    head = symbol.split("-", 1)[0].upper()
    if re.fullmatch(r"QH\d+", symbol.upper()):
        return "Luật"
    if re.fullmatch(r"UBTVQH\d+", symbol.upper()):
        return "Nghị quyết"
    return {"NĐ": "Nghị định", "ND": "Nghị định", "NQ": "Nghị quyết", "QĐ": "Quyết định", "QD": "Quyết định",
            "TT": "Thông tư", "TTLT": "Thông tư", "CT": "Chỉ thị", "KH": "Kế hoạch"}.get(head)


def _tidy_symbol(symbol: str) -> str:
    """The symbol as the Official Gazette writes it: capitals, Đ (not Ð or D in NĐ/QĐ), "TTg"."""
    symbol = symbol.replace("Ð", "Đ").replace("ð", "đ").upper()
    symbol = re.sub(r"^(N|Q)D-", r"\1Đ-", symbol)
    return re.sub(r"(?<=-)TTG(?=-|$)", "TTg", symbol)


def _law_session(year: int) -> int | None:
    """The National Assembly term that passed a law of that year, where the year decides it."""
    for first, last, term in ((2003, 2006, 11), (2008, 2010, 12), (2012, 2015, 13), (2017, 2020, 14),
                              (2022, 2025, 15)):
        if first <= year <= last:
            return term
    return None  # an election year: either term


def citation_key(number: str) -> str:
    """The key two spellings of one legal number share: NFC, no spaces, capitals, one Đ, no leading
    zeros in the serial ("01/2011/QH13" and "1/2011/qh13" are one text)."""
    key = re.sub(r"\s+", "", nfc(number or "")).replace("Ð", "Đ").replace("ð", "đ").upper()
    key = re.sub(r"^(N|Q)D-", r"\1Đ-", key)
    key = re.sub(r"(?<=/)(N|Q)D-", r"\1Đ-", key)
    return re.sub(r"^0+(?=\d)", "", key)


def parse_number(text: str) -> tuple[str, str | None] | None:
    """(the number as written in the register, its kind or None) when `text` is one legal number."""
    match = re.fullmatch(_NUMBER[len(r"(?<![\w./\-])"):], nfc(text or "").strip().replace(" ", ""))
    if match is None:
        return None
    if match.group("pserial"):
        return (f"{match.group('pserial')}-{match.group('ptype')}/{_tidy_symbol(match.group('pissuer'))}",
                {"NQ": "Nghị quyết", "KH": "Kế hoạch", "CT": "Chỉ thị", "QĐ": "Quyết định"}[match.group("ptype")])
    symbol = _tidy_symbol(match.group("symbol"))
    year = f"/{match.group('year')}" if match.group("year") else ""
    return f"{match.group('serial')}{year}/{symbol}", _kind_of_symbol(symbol)


def _number_of(match: re.Match, kind: str | None) -> str | None:
    """The full number a match stands for, or None when it cannot be told (a partial number of a
    kind whose symbol varies, a bare number whose symbol names no kind of text)."""
    if match.group("pserial"):
        return f"{match.group('pserial')}-{match.group('ptype')}/{_tidy_symbol(match.group('pissuer'))}"
    if match.group("serial"):
        symbol = _tidy_symbol(match.group("symbol"))
        if kind is None and _kind_of_symbol(symbol) is None:
            return None
        year = f"/{match.group('year')}" if match.group("year") else ""
        return f"{match.group('serial')}{year}/{symbol}"
    serial, year = match.group("sserial"), int(match.group("syear"))
    if kind == "Nghị định":
        return f"{serial}/{year}/NĐ-CP"  # every decree is the Government's
    if kind == "Luật" and _law_session(year):
        return f"{serial}/{year}/QH{_law_session(year)}"
    return None


def find_citations(text: str) -> dict[str, str]:
    """The legal numbers a text cites: {key: number as the register writes it}.

    Finds "Luật An ninh mạng số 116/2025/QH15", "Nghị định 118/2025/NĐ-CP", "Nghị quyết số
    66.22/2026/NQ-CP", "Quyết định 757/QĐ-BKHCN", "Thông tư 15/2025/TT-BKHCN", "Công văn
    557/BKHCN-CĐSQG", "Kế hoạch 01-KH/BCĐTW", with or without "số"; a bare number when its symbol
    names a kind of text ("… và 367/2025/NĐ-CP"); "Nghị định 23/2025" (→ NĐ-CP) and "Luật … số
    91/2025" (→ the National Assembly's term). Dates ("01/7/2024") and a document's own number shown
    as an example ("Số: 15/QĐ-BNV") are not citations. HTML tags and entities are ignored.
    """
    text = nfc(html.unescape(_TAGS.sub(" ", text or "")))
    found: dict[str, str] = {}
    taken: list[tuple[int, int]] = []
    for match in _NAMED.finditer(text):
        kind = _KIND_WORDS[match.group("kind").lower()]
        # An official letter is cited by its number right after the word ("Công văn số 557/BKHCN-CĐSQG");
        # "công văn mẫu có ký hiệu 12/UBND-VX" describes a layout, and such a symbol names no kind of text.
        number = _number_of(match, None if kind == "Công văn" and match.group("name").strip() else kind)
        start = match.start("name") + len(match.group("name"))
        taken.append((start, match.end()))
        if number is not None:
            found.setdefault(citation_key(number), number)
    for match in _BARE.finditer(text):
        if any(start <= match.start() < end for start, end in taken):
            continue
        if _OWN_NUMBER.search(text[max(0, match.start() - 8):match.start()]):
            continue
        number = _number_of(match, None)
        if number is not None:
            found.setdefault(citation_key(number), number)
    return found


# --------------------------------------------------------------------------- status of a text
@dataclass
class TextStatus:
    code: str                       # in_force, amended, repealed, expired
    by: str = ""                    # the repealing text, when repealed
    on: date | None = None          # when it stopped being in force
    amendments: list[LegalTextChange] = field(default_factory=list)
    upcoming: list[tuple[str, date, str]] = field(default_factory=list)  # (kind, day, by) not yet in effect

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self.code])

    @property
    def in_force(self) -> bool:
        return self.code in ("in_force", "amended")


def text_status(text: LegalText, today: date | None = None) -> TextStatus:
    """Where a text stands on `today`: repealed or expired (with the day and the text), amended (with
    each amendment), or in force; and the changes already known that have not yet taken effect."""
    today = today or today_in_vietnam()
    effective = [change for change in text.changes if change.changed_on <= today]
    status = TextStatus("in_force", amendments=[c for c in effective if c.kind == "amended"])
    if status.amendments:
        status.code = "amended"
    ended = [c for c in effective if c.kind in ("repealed", "expired")]
    if ended:
        last = max(ended, key=lambda c: c.changed_on)
        status.code, status.by, status.on = last.kind, last.by_number, last.changed_on
    elif text.ends_on is not None and text.ends_on < today:
        status.code, status.on = "expired", text.ends_on
    status.upcoming = [(c.kind, c.changed_on, c.by_number) for c in text.changes if c.changed_on > today]
    if text.ends_on is not None and text.ends_on >= today:
        status.upcoming.append(("ended", text.ends_on, ""))
    return status


# --------------------------------------------------------------------------- the flag rule (SQL)
def _changed(checked, today: date):
    """The one rule of the register, as two SQL conditions on LegalTextChange and LegalText: which
    changes count against an item last checked on `checked` (a column or a date).

    A change counts once it has taken effect (on or before `today`) and if it took effect after the
    check. A time-limited text stops on the day after `ends_on`, so it counts from then, against
    items checked on or before its last day.
    """
    explicit = sa.and_(LegalTextChange.changed_on > checked, LegalTextChange.changed_on <= today)
    ended = sa.and_(LegalText.ends_on.is_not(None), LegalText.ends_on >= checked, LegalText.ends_on < today)
    return explicit, ended


def _cited_text_changed(citation, belongs, checked, today: date):
    """SQL EXISTS: an item (`belongs`: its citations) cites a register text that changed after `checked`."""
    explicit, ended = _changed(checked, today)
    counted = sa.or_(
        sa.exists().where(LegalText.key == citation.key, LegalTextChange.text_id == LegalText.id, explicit)
        .correlate_except(LegalText, LegalTextChange),
        sa.exists().where(LegalText.key == citation.key, ended).correlate_except(LegalText))
    return sa.exists().where(belongs, citation.origin != "removed", counted).correlate_except(citation)


def _lesson_checked():
    return sa.func.coalesce(Lesson.checked_on, NEVER)


def _review_due(today: date):
    """SQL: the lesson's review-by day has come and it has not been checked since that day began."""
    return sa.and_(Lesson.review_by.is_not(None), Lesson.review_by <= today, _lesson_checked() < Lesson.review_by)


def lesson_flagged(today: date | None = None):
    """SQL condition on Lesson: the register flags it (a cited text changed, or review-by has come)."""
    today = today or today_in_vietnam()
    return sa.or_(_cited_text_changed(LessonCitation, LessonCitation.lesson_id == Lesson.id, _lesson_checked(), today),
                  _review_due(today))


def _question_checked(question_id):
    return sa.func.coalesce(sa.select(QuestionCheck.checked_on).where(QuestionCheck.question_id == question_id)
                            .correlate_except(QuestionCheck).scalar_subquery(), NEVER)


def question_flagged(question_id, today: date | None = None):
    """SQL condition: the question (a column, e.g. quizzes' Question.id, or a value) is flagged. The quiz
    draw uses it inside its one pool query."""
    today = today_in_vietnam() if today is None else today  # a date, or a bound parameter
    return _cited_text_changed(QuestionCitation, QuestionCitation.question_id == question_id,
                               _question_checked(question_id), today)


@dataclass
class Reason:
    """Why an item is flagged: a cited text's change (or its end), or the review-by day."""

    kind: str                       # amended, repealed, expired, ended, review
    on: date
    number: str = ""                # the cited number
    text: LegalText | None = None
    by: str = ""

    @property
    def label(self) -> str:
        return str(_l("Đến hạn rà soát lại")) if self.kind == "review" else str(CHANGE_LABELS[self.kind])


def _reason_rows(citation, item_fk, checked, joined, ids: list[int], today: date) -> dict[int, list[Reason]]:
    """The changes behind the flags of the given items, by the same rule as the flags themselves."""
    explicit, ended = _changed(checked, today)
    base = joined(sa.select(item_fk, citation.number, LegalText.id).join(LegalText, LegalText.key == citation.key)) \
        .where(item_fk.in_(ids), citation.origin != "removed")
    first = base.add_columns(LegalTextChange.kind, LegalTextChange.changed_on, LegalTextChange.by_number) \
        .join(LegalTextChange, LegalTextChange.text_id == LegalText.id).where(explicit)
    second = base.add_columns(sa.literal("ended"), LegalText.ends_on, sa.literal("")).where(ended)
    rows = db.session.execute(sa.union_all(first, second)).all()
    texts = {t.id: t for t in db.session.scalars(sa.select(LegalText).where(LegalText.id.in_({r[2] for r in rows})))} \
        if rows else {}
    reasons: dict[int, list[Reason]] = {}
    for item_id, number, text_id, kind, on, by in rows:
        reasons.setdefault(item_id, []).append(Reason(kind, on, number, texts.get(text_id), by or ""))
    for items in reasons.values():
        items.sort(key=lambda r: (r.on, r.number))
    return reasons


def lesson_reasons(lessons: list[Lesson], today: date | None = None) -> dict[int, list[Reason]]:
    """For each flagged lesson among `lessons`, why ({lesson id: [Reason]}); unflagged ones are absent."""
    today = today or today_in_vietnam()
    ids = [lesson.id for lesson in lessons]
    if not ids:
        return {}
    reasons = _reason_rows(LessonCitation, LessonCitation.lesson_id, _lesson_checked(),
                           lambda s: s.join(Lesson, Lesson.id == LessonCitation.lesson_id), ids, today)
    due = db.session.execute(sa.select(Lesson.id, Lesson.review_by).where(Lesson.id.in_(ids), _review_due(today)))
    for lesson_id, review_by in due:
        reasons.setdefault(lesson_id, []).append(Reason("review", review_by))
    return reasons


def question_reasons(question_ids: list[int], today: date | None = None) -> dict[int, list[Reason]]:
    """For each flagged question among the ids, why."""
    today = today or today_in_vietnam()
    if not question_ids:
        return {}
    return _reason_rows(QuestionCitation, QuestionCitation.question_id,
                        sa.func.coalesce(QuestionCheck.checked_on, NEVER),
                        lambda s: s.outerjoin(QuestionCheck, QuestionCheck.question_id == QuestionCitation.question_id),
                        list(question_ids), today)


def flagged_lessons(today: date | None = None, course: Course | None = None) -> list[Lesson]:
    """Every lesson (not archived) the register flags, by course and position."""
    stmt = (sa.select(Lesson).join(Course, Course.id == Lesson.course_id)
            .where(Lesson.status != "archived", lesson_flagged(today)).order_by(Course.title, Lesson.position))
    if course is not None:
        stmt = stmt.where(Lesson.course_id == course.id)
    return list(db.session.scalars(stmt))


def flagged_question_ids(today: date | None = None) -> list[int]:
    """Every question the register flags."""
    cited = sa.orm.aliased(QuestionCitation)
    return list(db.session.scalars(sa.select(cited.question_id).distinct()
                                   .where(question_flagged(cited.question_id, today)).order_by(cited.question_id)))


def is_question_flagged(question_id: int, today: date | None = None) -> bool:
    return bool(db.session.scalar(sa.select(question_flagged(question_id, today))))


def is_lesson_flagged(lesson: Lesson, today: date | None = None) -> bool:
    return db.session.scalar(sa.select(Lesson.id).where(Lesson.id == lesson.id, lesson_flagged(today))) is not None


# --------------------------------------------------------------------------- writing citations
def _citation_rows(conn, table, item_column: str, item_id: int) -> dict[str, tuple]:
    rows = conn.execute(sa.select(table.c.id, table.c.key, table.c.number, table.c.origin)
                        .where(table.c[item_column] == item_id))
    return {row.key: row for row in rows}


def write_found_citations(conn, table, item_column: str, item_id: int, found: dict[str, str]) -> None:
    """Make an item's "found" citations what `found` says, keeping the trainer's corrections: a
    citation they added stays, and one they removed is not brought back. Plain SQL on `conn`, so it
    can run inside a flush."""
    existing = _citation_rows(conn, table, item_column, item_id)
    gone = [row.id for key, row in existing.items() if row.origin == "found" and key not in found]
    if gone:
        conn.execute(table.delete().where(table.c.id.in_(gone)))
    new = [{item_column: item_id, "key": key, "number": number[:80], "origin": "found"}
           for key, number in found.items() if key not in existing]
    if new:
        conn.execute(table.insert(), new)


def lesson_citation_text(lesson: Lesson) -> str:
    return f"{lesson.title or ''}\n{lesson.body_md or ''}"


def refind_lesson(lesson: Lesson, conn=None) -> None:
    """Find the lesson's citations again from its title and body."""
    write_found_citations(conn or db.session.connection(), LessonCitation.__table__, "lesson_id", lesson.id,
                          find_citations(lesson_citation_text(lesson)))


def write_question_citations(conn, question_id: int, text: str) -> None:
    """Find a question's citations again from the text of its current version (quizzes calls this)."""
    write_found_citations(conn, QuestionCitation.__table__, "question_id", question_id, find_citations(text))


def set_question_checked(conn, question_id: int, on: date, actor_id: int | None = None,
                         only_if_missing: bool = False) -> None:
    """Record the day a question was last checked (its version created, or "Đã kiểm tra" pressed)."""
    table = QuestionCheck.__table__
    exists = conn.execute(sa.select(table.c.question_id).where(table.c.question_id == question_id)).first()
    values = {"checked_on": on, "checked_by_id": actor_id, "checked_at": datetime.now(timezone.utc)}
    if exists is None:
        conn.execute(table.insert(), [{"question_id": question_id, **values}])
    elif not only_if_missing:
        conn.execute(table.update().where(table.c.question_id == question_id).values(**values))


def _providers() -> dict:
    try:
        return current_app.extensions.get("legal_item_providers", {})
    except RuntimeError:
        return {}


def question_provider():
    """What quizzes lends the register about questions (quizzes.legal_hooks), or None without quizzes."""
    return _providers().get("question")


def refind_all() -> int:
    """Find every lesson's and question's citations again (after an upgrade, or a better finder).
    Returns how many items were read."""
    conn = db.session.connection()
    lessons = list(db.session.scalars(sa.select(Lesson)))
    for lesson in lessons:
        refind_lesson(lesson, conn)
    count = len(lessons)
    provider = question_provider()
    if provider is not None:
        count += provider.refind_all()
    return count


def _item_citations(table_cls, column, item_id: int) -> list:
    return list(db.session.scalars(sa.select(table_cls).where(column == item_id).order_by(table_cls.number)))


def lesson_citations(lesson: Lesson) -> list[LessonCitation]:
    return _item_citations(LessonCitation, LessonCitation.lesson_id, lesson.id)


def question_citations(question_id: int) -> list[QuestionCitation]:
    return _item_citations(QuestionCitation, QuestionCitation.question_id, question_id)


def _correct(table_cls, column: str, item_id: int, number: str, action: str) -> tuple[str, str]:
    """Add, remove or restore one citation of an item; returns (key, number). Raises LegalError."""
    if action == "add":
        parsed = parse_number(number)
        if parsed is None:
            raise LegalError(_l("“%(n)s” không phải là số hiệu văn bản, ví dụ đúng: 118/2025/NĐ-CP, 20/2023/QH15, "
                                "757/QĐ-BKHCN.", n=nfc(number or "").strip()[:80]))
        number, _kind = parsed
    key = citation_key(number)
    table = table_cls.__table__
    conn = db.session.connection()
    row = _citation_rows(conn, table, column, item_id).get(key)
    if action == "add":
        if row is not None and row.origin != "removed":
            raise LegalError(_l("Văn bản %(n)s đã có trong danh sách trích dẫn.", n=number))
        if row is None:
            conn.execute(table.insert(), [{column: item_id, "key": key, "number": number, "origin": "added"}])
        else:
            conn.execute(table.update().where(table.c.id == row.id).values(origin="found"))
    elif row is None:
        raise LegalError(_l("Không có trích dẫn này."))
    elif action == "remove":
        if row.origin == "found":
            # Kept as "removed", so that finding it in the text again does not bring it back.
            conn.execute(table.update().where(table.c.id == row.id).values(origin="removed"))
        elif row.origin == "added":
            conn.execute(table.delete().where(table.c.id == row.id))
        number = row.number
    elif action == "restore" and row.origin == "removed":
        conn.execute(table.update().where(table.c.id == row.id).values(origin="found"))
        number = row.number
    return key, number


def correct_lesson_citation(lesson: Lesson, number: str, action: str, actor: User) -> str:
    """A trainer adds ("add"), removes ("remove") or restores ("restore") a citation of a lesson (audited)."""
    _key, number = _correct(LessonCitation, "lesson_id", lesson.id, number, action)
    audit.record(actor, f"legal.citation.{action}", lesson.course.slug, lesson=lesson.slug, number=number)
    return number


def correct_question_citation(question_id: int, number: str, action: str, actor: User) -> str:
    """The same for a bank question (audited)."""
    _key, number = _correct(QuestionCitation, "question_id", question_id, number, action)
    audit.record(actor, f"legal.citation.{action}", f"question:{question_id}", number=number)
    return number


# --------------------------------------------------------------------------- checking
def mark_lesson_checked(lesson: Lesson, actor: User, today: date | None = None) -> None:
    """The trainer has checked the lesson against the law in force today (audited). Clears its flags."""
    today = today or today_in_vietnam()
    before = lesson.checked_on
    lesson.checked_on = today
    audit.record(actor, "legal.lesson.checked", lesson.course.slug, lesson=lesson.slug,
                 before=before.isoformat() if before else None, checked_on=today.isoformat())
    db.session.flush()


def mark_question_checked(question_id: int, actor: User, today: date | None = None) -> None:
    """The trainer has checked the question against the law in force today (audited)."""
    today = today or today_in_vietnam()
    set_question_checked(db.session.connection(), question_id, today, actor.id)
    audit.record(actor, "legal.question.checked", f"question:{question_id}", checked_on=today.isoformat())


def question_checked_on(question_id: int) -> date | None:
    return db.session.scalar(sa.select(QuestionCheck.checked_on).where(QuestionCheck.question_id == question_id))


def course_checked_on(course: Course) -> date | None:
    """The day by which all of a course was last checked: the earliest of course.md's date and its
    published lessons' dates (what the learner's course page states)."""
    days = [lesson.checked_on for lesson in course.published_lessons if lesson.checked_on is not None]
    if course.checked_on is not None:
        days.append(course.checked_on)
    return min(days) if days else None


def course_flag_count(course: Course, today: date | None = None) -> int:
    return db.session.scalar(sa.select(sa.func.count(Lesson.id)).where(
        Lesson.course_id == course.id, Lesson.status != "archived", lesson_flagged(today))) or 0


# --------------------------------------------------------------------------- the register itself
@dataclass
class ChangeSpec:
    kind: str
    by: str
    on: date
    note: str = ""


@dataclass
class TextSpec:
    number: str
    kind: str
    title: str
    issued_on: date | None = None
    effective_from: date | None = None
    ends_on: date | None = None
    notes: str = ""
    source: str = ""
    changes: list[ChangeSpec] = field(default_factory=list)

    @property
    def key(self) -> str:
        return citation_key(self.number)


@dataclass
class GroupSpec:
    code: str
    name: str
    description: str = ""
    basis: str = "summary"
    source: str = ""


@dataclass
class Register:
    texts: list[TextSpec] = field(default_factory=list)
    groups: list[GroupSpec] = field(default_factory=list)


@dataclass
class RegisterReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)   # edited on the web: the file leaves it alone
    groups: int = 0

    def summary(self) -> str:
        lines = [f"Sổ văn bản pháp luật: {len(self.created)} mới, {len(self.updated)} cập nhật, "
                 f"{len(self.unchanged)} không đổi, {len(self.skipped)} giữ bản sửa trên web; "
                 f"{self.groups} nhóm của khung kỹ năng số."]
        return "\n".join(lines)


def as_date(value, where: str, name: str, problems: list[str], required: bool = False) -> date | None:
    """A date from YAML or front matter: a YAML date, "YYYY-MM-DD" or "DD/MM/YYYY"."""
    if value is None or value == "":
        if required:
            problems.append(f"{where}: thiếu trường '{name}'")
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    problems.append(f"{where}: trường '{name}' phải là ngày dạng YYYY-MM-DD (ví dụ 2026-12-05), không phải '{text}'")
    return None


def _string(value, where: str, name: str, problems: list[str], required: bool = False, limit: int = 500) -> str:
    if value is None:
        value = ""
    if not isinstance(value, (str, int, float)):
        problems.append(f"{where}: trường '{name}' phải là chuỗi")
        return ""
    text = nfc(str(value)).strip()
    if required and not text:
        problems.append(f"{where}: thiếu trường '{name}'")
    if len(text) > limit:
        problems.append(f"{where}: trường '{name}' dài quá {limit} ký tự")
    return text


def read_register(path: str) -> tuple[Register, list[str]]:
    """Read and check the register file; returns (register, problems). Nothing is written."""
    problems: list[str] = []
    name = os.path.relpath(path)
    try:
        with open(path, "rb") as handle:
            raw = yaml.safe_load(handle.read().decode("utf-8-sig"))
    except UnicodeDecodeError:
        return Register(), [f"{name}: tệp không được mã hóa UTF-8"]
    except yaml.YAMLError as exc:
        return Register(), [f"{name}: không đúng cú pháp YAML: {str(exc).splitlines()[0]}"]
    if not isinstance(raw, dict) or not isinstance(raw.get("texts"), list):
        return Register(), [f"{name}: cần một danh sách 'texts' (và có thể 'framework_groups')"]
    register = Register()
    seen: dict[str, int] = {}
    for index, item in enumerate(raw["texts"], start=1):
        where = f"{name}: văn bản thứ {index}"
        if not isinstance(item, dict):
            problems.append(f"{where}: phải là một mục có các trường number, kind, title…")
            continue
        number_text = _string(item.get("number"), where, "number", problems, required=True, limit=80)
        parsed = parse_number(number_text) if number_text else None
        if number_text and parsed is None:
            problems.append(f"{where}: '{number_text}' không phải là số hiệu văn bản (ví dụ 118/2025/NĐ-CP)")
            continue
        if parsed is None:
            continue
        where = f"{name}: {parsed[0]}"
        kind = _string(item.get("kind"), where, "kind", problems, required=True, limit=30)
        if kind and kind not in LEGAL_KINDS:
            problems.append(f"{where}: loại '{kind}' không có trong danh sách ({', '.join(LEGAL_KINDS)})")
        spec = TextSpec(
            number=parsed[0], kind=kind, title=_string(item.get("title"), where, "title", problems, required=True),
            issued_on=as_date(item.get("issued_on"), where, "issued_on", problems),
            effective_from=as_date(item.get("effective_from"), where, "effective_from", problems),
            ends_on=as_date(item.get("ends_on"), where, "ends_on", problems),
            notes=_string(item.get("notes"), where, "notes", problems, limit=5000),
            source=_string(item.get("source"), where, "source", problems))
        if spec.ends_on and spec.effective_from and spec.ends_on < spec.effective_from:
            problems.append(f"{where}: 'ends_on' trước 'effective_from'")
        changes = item.get("changes") or []
        if not isinstance(changes, list):
            problems.append(f"{where}: 'changes' phải là một danh sách")
            changes = []
        for change in changes:
            if not isinstance(change, dict):
                problems.append(f"{where}: mỗi thay đổi cần kind, by, date")
                continue
            kind_of_change = _string(change.get("kind"), where, "changes.kind", problems, required=True)
            if kind_of_change and kind_of_change not in LEGAL_CHANGE_KINDS:
                problems.append(f"{where}: thay đổi '{kind_of_change}' phải là amended, repealed hoặc expired")
            by = _string(change.get("by"), where, "changes.by", problems, limit=80)
            if by and parse_number(by) is None:
                problems.append(f"{where}: 'by' = '{by}' không phải là số hiệu văn bản")
            elif by:
                by = parse_number(by)[0]
            if kind_of_change in ("amended", "repealed") and not by:
                problems.append(f"{where}: thay đổi '{kind_of_change}' cần 'by' (văn bản sửa đổi hoặc thay thế)")
            # "date", not "on": YAML 1.1 reads a bare `on` key as the boolean true.
            on = as_date(change.get("date", change.get(True)), where, "changes.date", problems, required=True)
            if on is not None:
                spec.changes.append(ChangeSpec(kind_of_change, by, on, _string(change.get("note"), where,
                                                                               "changes.note", problems)))
        if spec.key in seen:
            problems.append(f"{where}: trùng với văn bản thứ {seen[spec.key]}")
        seen.setdefault(spec.key, index)
        register.texts.append(spec)
    groups = raw.get("framework_groups") or []
    if not isinstance(groups, list):
        problems.append(f"{name}: 'framework_groups' phải là một danh sách")
        groups = []
    codes: set[str] = set()
    for index, item in enumerate(groups, start=1):
        where = f"{name}: nhóm khung kỹ năng số thứ {index}"
        if not isinstance(item, dict):
            problems.append(f"{where}: cần code, name")
            continue
        group = GroupSpec(code=_string(item.get("code"), where, "code", problems, required=True, limit=40),
                          name=_string(item.get("name"), where, "name", problems, required=True, limit=300),
                          description=_string(item.get("description"), where, "description", problems, limit=5000),
                          basis=_string(item.get("basis") or "summary", where, "basis", problems, limit=10),
                          source=_string(item.get("source"), where, "source", problems))
        if group.basis not in ("summary", "text"):
            problems.append(f"{where}: 'basis' phải là summary (chỉ có bản tóm tắt) hoặc text (đã đối chiếu văn bản)")
        if group.code in codes:
            problems.append(f"{where}: mã '{group.code}' bị trùng")
        codes.add(group.code)
        register.groups.append(group)
    return register, problems


def _text_values(spec: TextSpec) -> dict:
    return {"number": spec.number, "kind": spec.kind, "title": spec.title, "issued_on": spec.issued_on,
            "effective_from": spec.effective_from, "ends_on": spec.ends_on, "notes": spec.notes, "source": spec.source}


def apply_register(register: Register) -> RegisterReport:
    """Bring the database's register in step with the file, idempotently. Texts an admin edited on the
    web are left alone (the web copy wins); the framework groups become exactly the file's."""
    report = RegisterReport()
    existing = {text.key: text for text in db.session.scalars(sa.select(LegalText))}
    for spec in register.texts:
        text = existing.get(spec.key)
        if text is not None and text.origin == "web":
            report.skipped.append(spec.number)
            continue
        values = _text_values(spec)
        created = text is None
        if created:
            text = LegalText(key=spec.key, origin="file")
            db.session.add(text)
        changed = created or any(getattr(text, k) != v for k, v in values.items())
        for attribute, value in values.items():
            setattr(text, attribute, value)
        wanted = {(c.kind, c.by, c.on): c for c in spec.changes}
        have = {(c.kind, c.by_number, c.changed_on): c for c in text.changes}
        for key, change in have.items():
            if key not in wanted:
                text.changes.remove(change)
                changed = True
            elif change.note != wanted[key].note:
                change.note = wanted[key].note
                changed = True
        for key, change in wanted.items():
            if key not in have:
                text.changes.append(LegalTextChange(kind=change.kind, by_number=change.by, changed_on=change.on,
                                                    note=change.note))
                changed = True
        (report.created if created else report.updated if changed else report.unchanged).append(spec.number)
    groups = {group.code: group for group in db.session.scalars(sa.select(FrameworkGroup))}
    for position, spec in enumerate(register.groups, start=1):
        group = groups.pop(spec.code, None) or FrameworkGroup(code=spec.code)
        if group.id is None:
            db.session.add(group)
        group.name, group.description, group.basis, group.source = spec.name, spec.description, spec.basis, spec.source
        group.position = position
    for group in groups.values():
        db.session.delete(group)
    report.groups = len(register.groups)
    if report.created or report.updated:
        audit.record(None, "legal.register.load", REGISTER_FILE, created=len(report.created),
                     updated=len(report.updated))
    db.session.flush()
    return report


def load_register_file(path: str) -> RegisterReport:
    """Read and apply a register file (used by tests and scripts); raises LegalError listing problems."""
    register, problems = read_register(path)
    if problems:
        raise LegalError("; ".join(problems))
    return apply_register(register)


# --------------------------------------------------------------------------- admin edits (audited)
TEXT_FIELDS = ("number", "kind", "title", "issued_on", "effective_from", "ends_on", "notes", "source")


def _check_text_values(values: dict, exclude: LegalText | None = None) -> dict:
    parsed = parse_number(values.get("number") or "")
    if parsed is None:
        raise LegalError(_l("Số hiệu không đúng dạng, ví dụ: 118/2025/NĐ-CP, 20/2023/QH15, 757/QĐ-BKHCN, "
                            "557/BKHCN-CĐSQG."))
    values = {**values, "number": parsed[0]}
    if values.get("kind") not in LEGAL_KINDS:
        raise LegalError(_l("Hãy chọn loại văn bản."))
    if not nfc(values.get("title") or "").strip():
        raise LegalError(_l("Vui lòng nhập trích yếu (tên) của văn bản."))
    values["title"] = nfc(values["title"]).strip()
    values["notes"] = nfc(values.get("notes") or "").strip()
    values["source"] = nfc(values.get("source") or "").strip()
    if values.get("ends_on") and values.get("effective_from") and values["ends_on"] < values["effective_from"]:
        raise LegalError(_l("Ngày hết thời hạn không thể trước ngày có hiệu lực."))
    key = citation_key(values["number"])
    other = db.session.scalar(sa.select(LegalText).where(LegalText.key == key))
    if other is not None and other is not exclude:
        raise LegalError(_l("Văn bản %(n)s đã có trong sổ.", n=values["number"]))
    return values


def create_text(actor: User, **values) -> LegalText:
    """An admin adds a text to the register (audited)."""
    values = _check_text_values(values)
    text = LegalText(key=citation_key(values["number"]), origin="web", **{k: values.get(k) for k in TEXT_FIELDS})
    db.session.add(text)
    db.session.flush()
    audit.record(actor, "legal.text.create", text.number, kind=text.kind)
    return text


def _jsonable(value):
    return value.isoformat() if isinstance(value, date) else value


def update_text(text: LegalText, actor: User, **values) -> dict:
    """An admin edits a text (audited with what changed). The text becomes the web's: the register
    file no longer overwrites it. Returns the changed fields."""
    values = _check_text_values(values, exclude=text)
    before = {k: _jsonable(getattr(text, k)) for k in TEXT_FIELDS}
    after = {k: _jsonable(values.get(k)) for k in TEXT_FIELDS}
    changed = audit.changes(before, after)
    if not changed:
        return {}
    for attribute in TEXT_FIELDS:
        setattr(text, attribute, values.get(attribute))
    text.key = citation_key(text.number)
    text.origin = "web"
    audit.record(actor, "legal.text.update", text.number, fields=changed)
    db.session.flush()
    return changed


def add_change(text: LegalText, actor: User, *, kind: str, by_number: str, changed_on: date,
               note: str = "") -> LegalTextChange:
    """An admin records a change of status (audited): amended or repealed by a text, or expired, from
    a day. Every lesson and question citing the text and checked before that day is flagged."""
    if kind not in LEGAL_CHANGE_KINDS:
        raise LegalError(_l("Hãy chọn loại thay đổi."))
    by_number = nfc(by_number or "").strip()
    if by_number:
        parsed = parse_number(by_number)
        if parsed is None:
            raise LegalError(_l("Số hiệu văn bản sửa đổi hoặc thay thế không đúng dạng, ví dụ: 309/2026/NĐ-CP."))
        by_number = parsed[0]
    elif kind in ("amended", "repealed"):
        raise LegalError(_l("Hãy nhập số hiệu văn bản sửa đổi hoặc thay thế."))
    if changed_on is None:
        raise LegalError(_l("Hãy nhập ngày thay đổi có hiệu lực."))
    if any(c.kind == kind and c.by_number == by_number and c.changed_on == changed_on for c in text.changes):
        raise LegalError(_l("Thay đổi này đã được ghi."))
    change = LegalTextChange(kind=kind, by_number=by_number, changed_on=changed_on, note=nfc(note or "").strip()[:500])
    text.changes.append(change)
    text.origin = "web"
    db.session.flush()
    audit.record(actor, "legal.text.change", text.number, kind=kind, by=by_number, on=changed_on.isoformat())
    return change


def remove_change(text: LegalText, change: LegalTextChange, actor: User) -> None:
    """An admin removes a change recorded by mistake (audited)."""
    text.changes.remove(change)
    text.origin = "web"
    audit.record(actor, "legal.text.change_removed", text.number, kind=change.kind, by=change.by_number,
                 on=change.changed_on.isoformat())
    db.session.flush()


def texts_by_key(keys) -> dict[str, LegalText]:
    keys = set(keys)
    if not keys:
        return {}
    return {t.key: t for t in db.session.scalars(sa.select(LegalText).where(LegalText.key.in_(keys)))}


def register_list(q: str = "", kind: str = "", status: str = "", today: date | None = None) -> list[tuple]:
    """The register as people read it: (text, status), filtered, in the order of the kinds and then
    by number (Vietnamese collation)."""
    today = today or today_in_vietnam()
    stmt = sa.select(LegalText)
    if kind in LEGAL_KINDS:
        stmt = stmt.where(LegalText.kind == kind)
    q = nfc(q or "").strip()
    if q:
        pattern = f"%{q}%"
        stmt = stmt.where(sa.or_(LegalText.number.ilike(pattern), LegalText.title.ilike(pattern),
                                 LegalText.key.like(f"%{citation_key(q)}%")))
    rows = [(text, text_status(text, today)) for text in db.session.scalars(stmt)]
    if status:
        rows = [row for row in rows if row[1].code == status]
    order = {name: i for i, name in enumerate(LEGAL_KINDS)}
    rows.sort(key=lambda row: (order.get(row[0].kind, 99), collation_key(row[0].number)))
    return rows


def unknown_cited_numbers() -> list[tuple[str, int]]:
    """Numbers lessons or questions cite that the register lacks: (number, how many items), so that an
    admin can add them."""
    counts: dict[str, list] = {}
    for table in (LessonCitation, QuestionCitation):
        stmt = (sa.select(table.key, sa.func.min(table.number), sa.func.count())
                .where(table.origin != "removed", ~sa.exists().where(LegalText.key == table.key))
                .group_by(table.key))
        for key, number, n in db.session.execute(stmt):
            entry = counts.setdefault(key, [number, 0])
            entry[1] += n
    return sorted(((number, n) for number, n in counts.values()), key=lambda item: collation_key(item[0]))


def citing_items(text: LegalText) -> tuple[list[Lesson], list[int]]:
    """The lessons (not archived) and the question ids that cite a text."""
    lessons = list(db.session.scalars(
        sa.select(Lesson).join(LessonCitation, LessonCitation.lesson_id == Lesson.id).join(Course)
        .where(LessonCitation.key == text.key, LessonCitation.origin != "removed", Lesson.status != "archived")
        .order_by(Course.title, Lesson.position)))
    questions = list(db.session.scalars(sa.select(QuestionCitation.question_id).where(
        QuestionCitation.key == text.key, QuestionCitation.origin != "removed").order_by(QuestionCitation.question_id)))
    return lessons, questions


# --------------------------------------------------------------------------- framework groups
def framework_groups() -> list[FrameworkGroup]:
    return list(db.session.scalars(sa.select(FrameworkGroup).order_by(FrameworkGroup.position, FrameworkGroup.code)))


@dataclass
class GroupView:
    code: str
    name: str
    basis: str = "summary"
    known: bool = True


def describe_groups(codes, groups: dict[str, FrameworkGroup] | None = None) -> list[GroupView]:
    """The named groups for a list of codes, in the register's order; a code the register lacks is
    shown as written."""
    if groups is None:
        groups = {g.code: g for g in framework_groups()}
    order = {code: g.position for code, g in groups.items()}
    views = []
    for code in sorted(set(codes or []), key=lambda c: (order.get(c, 10_000), c)):
        group = groups.get(code)
        views.append(GroupView(code, group.name, group.basis) if group else GroupView(code, code, "summary", False))
    return views


def course_group_codes(course: Course) -> set[str]:
    """A course serves the groups its course.md names and those of its published lessons."""
    codes = set(course.framework or [])
    for lesson in course.published_lessons:
        codes.update(lesson.framework or [])
    return codes


def competency_groups() -> dict[int, set[str]]:
    """{competency id: framework group codes its published courses serve}."""
    result: dict[int, set[str]] = {}
    for course in db.session.scalars(sa.select(Course).where(Course.status == "published",
                                                             Course.competency_id.is_not(None))):
        result.setdefault(course.competency_id, set()).update(course_group_codes(course))
    return result


def official_framework(user: User, now: datetime | None = None) -> dict:
    """Which framework groups an official's held competencies (valid records now) cover."""
    from training.services.qualification import record_valid_at

    now = now or datetime.now(timezone.utc)
    held = set(db.session.scalars(sa.select(CompetencyRecord.competency_id).where(
        CompetencyRecord.user_id == user.id, record_valid_at(now))))
    by_competency = competency_groups()
    covered = set().union(*(by_competency.get(cid, set()) for cid in held)) if held else set()
    groups = {g.code: g for g in framework_groups()}
    every = set(groups) | set().union(*by_competency.values()) if by_competency else set(groups)
    return {"covered": describe_groups(covered, groups), "missing": describe_groups(every - covered, groups),
            "summary_only": any(v.basis == "summary" for v in describe_groups(every, groups))}


def unit_framework(unit: OrgUnit, now: datetime | None = None) -> dict:
    """For a unit's subtree: how many active officials, and for each framework group how many of them
    hold at least one competency whose courses serve it (now). One query per group."""
    from training.services.org import subtree_condition
    from training.services.qualification import record_valid_at

    now = now or datetime.now(timezone.utc)
    in_unit = sa.select(User.id).join(OrgUnit, OrgUnit.id == User.unit_id).where(
        User.active.is_(True), subtree_condition(unit))
    officials = db.session.scalar(sa.select(sa.func.count()).select_from(in_unit.subquery())) or 0
    by_competency = competency_groups()
    groups = {g.code: g for g in framework_groups()}
    codes = set(groups) | (set().union(*by_competency.values()) if by_competency else set())
    rows = []
    for view in describe_groups(codes, groups):
        competency_ids = [cid for cid, served in by_competency.items() if view.code in served]
        holders = 0
        if competency_ids and officials:
            holders = db.session.scalar(sa.select(sa.func.count(sa.distinct(CompetencyRecord.user_id))).where(
                CompetencyRecord.user_id.in_(in_unit), CompetencyRecord.competency_id.in_(competency_ids),
                record_valid_at(now))) or 0
        rows.append({"group": view, "holders": holders,
                     "share": holders / officials if officials else 0.0, "competencies": competency_ids})
    return {"officials": officials, "rows": rows, "summary_only": any(r["group"].basis == "summary" for r in rows)}


# --------------------------------------------------------------------------- pages helpers
@dataclass
class ListPage:
    """A page of a list computed in Python, shaped like Flask-SQLAlchemy's (for the pagination macro)."""

    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def paginate_list(rows: list, page: int, per_page: int = 25) -> ListPage:
    page = max(1, page or 1)
    total = len(rows)
    page = min(page, max(1, math.ceil(total / per_page)))
    return ListPage(rows[(page - 1) * per_page:page * per_page], page, per_page, total)


# --------------------------------------------------------------------------- flush hooks
def _lesson_text_changed(lesson: Lesson) -> bool:
    state = sa.inspect(lesson)
    return any(state.attrs[name].history.has_changes() for name in ("title", "body_md"))


def _before_flush(session, _context, _instances) -> None:
    # A lesson written in the browser is as checked as its writer made it on the day it is created.
    for obj in session.new:
        if isinstance(obj, Lesson) and obj.checked_on is None:
            obj.checked_on = today_in_vietnam()


def _after_flush(session, _context) -> None:
    # Citations are found again whenever a lesson's text is written: by sync, in the browser, by a script.
    lessons = [obj for obj in list(session.new) + list(session.dirty)
               if isinstance(obj, Lesson) and obj.id is not None and (obj in session.new or _lesson_text_changed(obj))]
    if not lessons:
        return
    conn = session.connection()
    for lesson in lessons:
        refind_lesson(lesson, conn)


if not event.contains(Session, "before_flush", _before_flush):
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "after_flush", _after_flush)


# --------------------------------------------------------------------------- registration
def framework_section(user: User):
    """The HR official page's section: the framework groups the official's competencies cover."""
    data = official_framework(user)
    return [(_l("Khung kỹ năng số cơ bản (Quyết định 757/QĐ-BKHCN)"), "courses/legal/hr_official.html",
             {"framework": data, "person": user})]


def register(app) -> None:
    """Hook the register into the pages other packages own (called once, when the blueprint registers)."""
    app.extensions.setdefault("official_sections", []).append(framework_section)
