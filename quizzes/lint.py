"""The question-quality check: what lets a learner answer without knowing (test-wiseness).

Pure Python over QuestionData, so the bank pages, the import preview and `flask quizzes lint` all
run the same checks on the same rules. It reports; it never changes a question. One finding per
line, in Vietnamese, naming the question.

The checks follow the item-writing guidelines trainers use (Haladyna, Downing & Rodriguez 2002):
the key no longer than the distractors, no "all/none of the above", no clue from the stem, no
duplicate items, the key's position varied; plus true/false keys balanced.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from html import unescape

from quizzes.qdata import QuestionData
from training.vntext import fold

# A key this much longer than every distractor (and by this many characters) stands out on sight.
LONGEST_RATIO = 1.3
LONGEST_MIN_CHARS = 12
# Stems this similar (Jaccard of their content words) ask the same thing twice.
DUPLICATE_SIMILARITY = 0.7
DUPLICATE_MIN_WORDS = 5
# Position and true/false balance are judged on at least this many items.
BALANCE_MIN_ITEMS = 8
SAME_POSITION_SHARE = 0.6
TRUE_SHARE_RANGE = (0.3, 0.7)

ALL_NONE = re.compile(
    r"\b(tat ca (cac )?(phuong an|dap an|y|cau|lua chon) (tren|deu dung|deu sai)"
    r"|khong (co )?(phuong an|dap an|y|lua chon|cau) nao"
    r"|ca (a|b|c|d),? (va|lan) (b|c|d)"
    r"|ca (hai|ba|bon) (phuong an|dap an|y|lua chon) (tren|deu dung)"
    r"|all of the above|none of the above|both (a|b) and (b|c))\b")
# Words too common in Vietnamese questions to count as a clue.
STOPWORDS = set("""
va hoac cua cho voi la thi ma nhung cac mot nhung duoc bi khong co nao gi nay do trong ngoai tren duoi tu den
theo khi neu de vi ve bang nhu hay phai can nen da dang se roi van cung chi moi hon nhat rat qua ai sao bao
nhieu the nao dieu khoan diem so ngay thang nam nguoi cong chuc phuong xa ubnd
""".split())


@dataclass
class LintItem:
    """One question to check: `ref` names it for people (idnumber or #id)."""
    ref: str
    data: QuestionData
    question_id: int | None = None
    line: int | None = None


@dataclass
class Finding:
    ref: str
    code: str
    message: str
    question_id: int | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f"Dòng {self.line} · " if self.line else ""
        return f"{where}{self.ref}: {self.message}"


def plain(text: str) -> str:
    """Text as a reader sees it: tags and entities gone, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]*>", " ", str(text or "")))).strip()


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(plain(text)).lower())


def content_words(text: str) -> set[str]:
    return {w for w in words(text) if w not in STOPWORDS and (len(w) > 2 or w.isdigit())}


def _options(q: QuestionData) -> list[dict]:
    return [o for o in q.data.get("options") or [] if isinstance(o, dict)]


def _fraction(option: dict) -> float:
    try:
        return float(option.get("fraction") or 0)
    except (TypeError, ValueError):
        return 0.0


def _keys_and_distractors(q: QuestionData) -> tuple[list[dict], list[dict]]:
    options = _options(q)
    return [o for o in options if _fraction(o) > 0], [o for o in options if _fraction(o) <= 0]


# --------------------------------------------------------------------------- per question
def _longest_key(item: LintItem) -> list[Finding]:
    q = item.data
    keys, distractors = _keys_and_distractors(q)
    if not keys or not distractors:
        return []
    if q.qtype == "single":
        key = max(keys, key=_fraction)
        key_len, other = len(plain(key.get("text"))), max(len(plain(d.get("text"))) for d in distractors)
        what = "Đáp án đúng"
    elif q.qtype == "multi":
        key_len = round(sum(len(plain(k.get("text"))) for k in keys) / len(keys))
        other = round(sum(len(plain(d.get("text"))) for d in distractors) / len(distractors))
        what = "Các phương án đúng (trung bình)"
    else:
        return []
    if key_len >= LONGEST_RATIO * other and key_len - other >= LONGEST_MIN_CHARS:
        return [Finding(item.ref, "key_longest", f"{what} dài hơn hẳn các phương án nhiễu ({key_len} so với "
                        f"{other} ký tự): người không biết vẫn chọn được phương án dài nhất. Hãy viết phương án "
                        f"nhiễu cụ thể như đáp án, hoặc rút gọn đáp án.", item.question_id, item.line)]
    return []


def _all_or_none(item: LintItem) -> list[Finding]:
    for option in _options(item.data):
        if ALL_NONE.search(" ".join(words(option.get("text")))):
            return [Finding(item.ref, "all_none", f"Có phương án kiểu “tất cả/không phương án nào” "
                            f"(“{plain(option.get('text'))[:60]}”): nó cho điểm cả người chỉ nhận ra hai phương án. "
                            f"Hãy thay bằng một phương án nhiễu thật.", item.question_id, item.line)]
    return []


def _acronym(word: str, phrase: str) -> bool:
    """Does `word` (e.g. BKHCN) spell the initials of consecutive words of `phrase` (Bộ Khoa học và Công nghệ)?"""
    initials = "".join(w[0] for w in words(phrase) if w not in ("va", "cua", "voi"))
    return len(word) >= 3 and word.lower() in initials


def _stem_clue(item: LintItem) -> list[Finding]:
    q = item.data
    if q.qtype != "single":  # with several right options, one echo is not a giveaway
        return []
    keys, distractors = _keys_and_distractors(q)
    if not keys or not distractors:
        return []
    stem = plain(q.text)
    others = set().union(*(content_words(d.get("text")) for d in distractors))
    for key in keys:
        key_text = plain(key.get("text"))
        acronyms = [a for a in re.findall(r"\b[A-ZĐ]{3,}\b", stem) if _acronym(fold(a), key_text)]
        if acronyms and not any(_acronym(fold(a), plain(d.get("text"))) for a in acronyms for d in distractors):
            return [Finding(item.ref, "stem_clue", f"Câu dẫn có chữ viết tắt “{acronyms[0]}” mà chỉ đáp án đúng "
                            f"viết đầy đủ: câu hỏi tự lộ đáp án.", item.question_id, item.line)]
        echo = (content_words(stem) & content_words(key_text)) - others
        numbers = [w for w in echo if w.isdigit() and len(w) >= 3 and not re.fullmatch(r"(19|20)\d\d", w)]
        if len(echo) >= 3 or numbers:
            shown = ", ".join(sorted(echo)[:4])
            return [Finding(item.ref, "stem_clue", f"Đáp án đúng lặp lại từ của câu dẫn mà các phương án nhiễu "
                            f"không có ({shown}): người làm đoán được nhờ từ ngữ.", item.question_id, item.line)]
    return []


CHECKS = (_longest_key, _all_or_none, _stem_clue)


# --------------------------------------------------------------------------- across the bank
def _duplicates(items: list[LintItem]) -> list[Finding]:
    """Pairs of near-identical stems: Jaccard similarity of their content words.

    Candidates come from prefix filtering (each stem indexed by its rarest words only), so a bank of
    thousands of questions is not compared pair by pair.
    """
    sets = [content_words(item.data.text) for item in items]
    frequency = Counter(word for words_ in sets for word in words_)
    ordered = [sorted(words_, key=lambda w: (frequency[w], w)) for words_ in sets]
    index: dict[str, list[int]] = defaultdict(list)
    findings = []
    for n, tokens in enumerate(ordered):
        if len(tokens) < DUPLICATE_MIN_WORDS:
            continue
        prefix = len(tokens) - math.ceil(DUPLICATE_SIMILARITY * len(tokens)) + 1
        candidates = {m for word in tokens[:prefix] for m in index[word]}
        for m in sorted(candidates):
            similarity = len(sets[n] & sets[m]) / len(sets[n] | sets[m])
            if similarity >= DUPLICATE_SIMILARITY:
                findings.append(Finding(items[n].ref, "duplicate", f"Câu dẫn gần trùng với {items[m].ref} "
                                        f"({round(100 * similarity)}% từ ngữ giống nhau): một kiến thức bị hỏi hai lần, "
                                        f"và câu này có thể lộ đáp án của câu kia.", items[n].question_id, items[n].line))
        for word in tokens[:prefix]:
            index[word].append(n)
    return findings


def _positions(items: list[LintItem], scope: str) -> list[Finding]:
    positions = []
    for item in items:
        if item.data.qtype == "single":
            options = _options(item.data)
            best = max((_fraction(o) for o in options), default=0)
            positions += [n for n, o in enumerate(options, start=1) if best > 0 and _fraction(o) == best][:1]
    if len(positions) < BALANCE_MIN_ITEMS:
        return []
    position, count = Counter(positions).most_common(1)[0]
    if count / len(positions) >= SAME_POSITION_SHARE:
        return [Finding(scope, "key_position", f"Đáp án đúng nằm ở vị trí thứ {position} trong {count}/{len(positions)} "
                        f"câu một lựa chọn: khi xuất ra tệp hoặc tắt xáo trộn, người làm đoán được theo vị trí.")]
    return []


def _true_false_balance(items: list[LintItem], scope: str) -> list[Finding]:
    keys = [item.data.data.get("correct") for item in items if item.data.qtype == "truefalse"]
    if len(keys) < BALANCE_MIN_ITEMS:
        return []
    share = sum(1 for k in keys if k is True) / len(keys)
    low, high = TRUE_SHARE_RANGE
    if not low <= share <= high:
        return [Finding(scope, "truefalse_balance", f"{round(100 * share)}% câu đúng/sai có đáp án “Đúng”: người "
                        f"luôn chọn “{'Đúng' if share > high else 'Sai'}” được nhiều điểm hơn đoán ngẫu nhiên.")]
    return []


def lint(items: list[LintItem], scope: str = "Ngân hàng") -> list[Finding]:
    """Every finding for these questions, question by question, then those about the set as a whole."""
    findings = [finding for item in items for check in CHECKS for finding in check(item)]
    findings += _duplicates(items)
    findings += _positions(items, scope)
    findings += _true_false_balance(items, scope)
    return findings


def ref_of(q: QuestionData, question_id: int | None = None) -> str:
    """How a finding names a question: its ID number, else its number in the bank, else its name."""
    if q.idnumber:
        return q.idnumber
    if question_id is not None:
        return f"#{question_id} {q.name[:50]}"
    return q.name[:60]


# --------------------------------------------------------------------------- the bank in the database
def bank_findings(category=None) -> list[Finding]:
    """Findings for the visible questions of a category subtree (the whole bank when None), each
    category checked as a set on its own for position and true/false balance."""
    import sqlalchemy as sa
    from sqlalchemy.orm import selectinload

    from quizzes.bank import subtree_ids, version_data
    from quizzes.models import Question, QuestionCategory
    from training.extensions import db

    stmt = (sa.select(Question).where(Question.hidden.is_(False), Question.current_version_id.is_not(None))
            .options(selectinload(Question.current_version)).order_by(Question.category_id, Question.id))
    if category is not None:
        stmt = stmt.where(Question.category_id.in_(subtree_ids(category)))
    items_by_category: dict[int, list[LintItem]] = defaultdict(list)
    for question in db.session.scalars(stmt):
        data = version_data(question.current_version, idnumber=question.idnumber)
        items_by_category[question.category_id].append(LintItem(ref_of(data, question.id), data, question.id))
    everything = [item for items in items_by_category.values() for item in items]
    findings = [finding for item in everything for check in CHECKS for finding in check(item)]
    findings += _duplicates(everything)
    for category_id, items in items_by_category.items():
        name = db.session.get(QuestionCategory, category_id).name
        findings += _positions(items, f"Danh mục “{name}”") + _true_false_balance(items, f"Danh mục “{name}”")
    return findings


def statistics_links(question_ids) -> dict[int, int]:
    """For questions that learners have answered, the quiz whose item statistics show them (the one
    with most attempts): {question id: quiz id}."""
    import sqlalchemy as sa

    from quizzes.models import Attempt, AttemptSlot, QuestionVersion
    from training.extensions import db

    ids = [i for i in question_ids if i is not None]
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(QuestionVersion.question_id, Attempt.quiz_id, sa.func.count(AttemptSlot.id))
        .join(AttemptSlot, AttemptSlot.question_version_id == QuestionVersion.id)
        .join(Attempt, Attempt.id == AttemptSlot.attempt_id)
        .where(QuestionVersion.question_id.in_(ids), Attempt.state == "finished")
        .group_by(QuestionVersion.question_id, Attempt.quiz_id)).all()
    best: dict[int, tuple[int, int]] = {}
    for question_id, quiz_id, count in rows:
        if question_id not in best or count > best[question_id][1]:
            best[question_id] = (quiz_id, count)
    return {question_id: quiz_id for question_id, (quiz_id, _count) in best.items()}
