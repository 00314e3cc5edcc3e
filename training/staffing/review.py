"""Position fit review ("rà soát vị trí việc làm"): who sits in which job position, whether they fit
it on a day, and what HR decides for each of them.

Decree 361/2025/NĐ-CP sets civil servants' job positions; every agency must have placed its civil
servants into approved positions by 1 July 2027. A review judges each official of a unit's subtree
on the review's day against what their position requires (`required_competencies`, held when
`record_valid_at` that day's end):

- fits: they hold everything the position requires;
- fits after training: what they lack is at most half of it, and a published course teaches each
  missing competency (the verdict names the courses);
- does not fit: no job position yet, more than half of the requirements missing, or a missing
  competency no course teaches.

What the review found is copied into it when it is opened, so it stays the record of that day
whatever changes later. HR then records a decision per official: keep them in the position, train
them by a date (the course assignments are created in the same step), or propose a move. Opening,
each decision, closing and each export are audited.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from types import SimpleNamespace

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from training.extensions import db
from training.hr import counts
from training.models import Competency, CompetencyRecord, OrgUnit, Position, User
from training.services import audit
from training.services.qualification import moment_of, record_valid_at, required_competencies
from training.staffing import learning
from training.staffing.models import StaffingReview, StaffingReviewEntry
from training.vntext import nfc

# The deadline for placing civil servants into approved job positions (Decree 170/2025 as amended).
PLACEMENT_DEADLINE = date(2027, 7, 1)
# A review is read and decided person by person: larger scopes are reviewed ward by ward.
MAX_REVIEW_OFFICIALS = 3000
ENTRIES_PER_PAGE = 50
CHUNK = 500


class ReviewError(ValueError):
    """A review action that cannot be done; the message is for the user."""


def default_day(today: date) -> date:
    """The day a new review judges by default: the placement deadline while it is ahead."""
    return PLACEMENT_DEADLINE if today < PLACEMENT_DEADLINE else today


def judge(required: list[Competency], held: set[int], has_position: bool,
          courses: dict[int, list[learning.CourseInfo]]) -> tuple[str, list[Competency], list]:
    """(verdict, missing competencies, the courses that would teach them) for one official."""
    missing = [c for c in required if c.id not in held]
    training = [course for c in missing for course in courses.get(c.id, [])[:1]]
    if not has_position:
        return "does_not_fit", missing, training
    if not missing:
        return "fits", missing, []
    teachable = all(courses.get(c.id) for c in missing)
    if teachable and len(missing) * 2 <= len(required):
        return "fits_after_training", missing, training
    return "does_not_fit", missing, training


def _unit_names(root: OrgUnit) -> dict[int, str]:
    """Unit id → how a line names it: the unit, or "department, ward" below the root's wards."""
    units = list(db.session.scalars(sa.select(OrgUnit).where(OrgUnit.path.startswith(root.path, autoescape=True))))
    by_id = {u.id: u for u in units}
    names = {}
    for unit in units:
        parent = by_id.get(unit.parent_id) if unit.unit_type == "department" else None
        names[unit.id] = f"{unit.name}, {parent.name}" if parent is not None else unit.name
    return names


def open_review(root: OrgUnit, as_of: date, actor: User, note: str = "") -> StaffingReview:
    """Open a review of `root`'s subtree judged on `as_of`: every active official attached to a unit
    of it, with their position, its requirements, what they hold then and the verdict. Flushes."""
    officials = counts.unit_figures([(root.id, False)], as_of, held_for=[])[root.id, False].officials
    if officials > MAX_REVIEW_OFFICIALS:
        raise ReviewError(_("%(unit)s có %(n)d cán bộ, công chức; mỗi đợt rà soát tối đa %(max)d người. Hãy rà "
                            "soát từng phường, xã.", unit=root.name, n=officials, max=MAX_REVIEW_OFFICIALS))
    if officials == 0:
        raise ReviewError(_("%(unit)s chưa có cán bộ, công chức nào để rà soát.", unit=root.name))
    review = StaffingReview(unit_id=root.id, unit_code=root.code, unit_name=root.name, unit_path=root.path,
                            as_of=as_of, status="open", note=nfc(note)[:500], created_by_id=actor.id,
                            created_by_name=actor.full_name)
    db.session.add(review)
    db.session.flush()
    names = _unit_names(root)
    positions = {p.id: p for p in db.session.scalars(
        sa.select(Position).options(selectinload(Position.required_competencies)))}
    core = required_competencies(SimpleNamespace(position=None))
    needs = {pid: required_competencies(SimpleNamespace(position=p)) for pid, p in positions.items()}
    courses = learning.courses_by_competency()
    moment = moment_of(as_of)
    people = db.session.execute(
        sa.select(User.id, User.full_name, User.email, User.sort_key, User.unit_id, User.position_id)
        .where(User.active.is_(True), User.unit_id.in_(list(names))).order_by(User.sort_key, User.id)).all()
    rows = []
    for start in range(0, len(people), CHUNK):
        chunk = people[start:start + CHUNK]
        held: dict[int, set[int]] = {}
        for user_id, competency_id in db.session.execute(
                sa.select(CompetencyRecord.user_id, CompetencyRecord.competency_id).distinct()
                .where(CompetencyRecord.user_id.in_([p.id for p in chunk]), record_valid_at(moment))):
            held.setdefault(user_id, set()).add(competency_id)
        for user_id, full_name, email, sort_key, unit_id, position_id in chunk:
            position = positions.get(position_id)
            required = needs.get(position_id, []) if position is not None else core
            mine = held.get(user_id, set())
            verdict, missing, training = judge(required, mine, position is not None, courses)
            rows.append({
                "review_id": review.id, "user_id": user_id, "full_name": full_name, "email": email,
                "sort_key": sort_key, "unit_name": names.get(unit_id, "")[:420],
                "position_id": position.id if position is not None else None,
                "position_name": position.name if position is not None else "",
                "required": [[c.code, c.name_vi, c.name_en] for c in required],
                "held": [c.code for c in required if c.id in mine],
                "missing": [c.code for c in missing],
                "training": [[course.id, course.title, _code_of(course.competency_id, required)]
                             for course in training],
                "verdict": verdict, "assignment_ids": [], "move_text": "", "note": "", "decided_by_name": "",
            })
    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(StaffingReviewEntry), rows[start:start + CHUNK])
    review.officials = len(rows)
    audit.record(actor, "staffing.review.open", root.code, review_id=review.id, as_of=as_of.isoformat(),
                 officials=len(rows))
    db.session.flush()
    return review


def _code_of(competency_id: int | None, required: list[Competency]) -> str:
    return next((c.code for c in required if c.id == competency_id), "")


# --------------------------------------------------------------------------- reading
def review_in_scope(review_id: int, root: OrgUnit | None) -> StaffingReview | None:
    """The review, if the viewer's scope (None: everything) covers the unit it was opened for."""
    review = db.session.get(StaffingReview, review_id)
    if review is None:
        return None
    if root is not None and not review.unit_path.startswith(root.path):
        return None
    return review


def reviews_in_scope(root: OrgUnit | None):
    """Select of the reviews the viewer may see, newest first."""
    stmt = sa.select(StaffingReview).order_by(StaffingReview.created_at.desc(), StaffingReview.id.desc())
    if root is not None:
        stmt = stmt.where(StaffingReview.unit_path.startswith(root.path, autoescape=True))
    return stmt


@dataclass
class ReviewTally:
    verdicts: dict[str, int]
    decided: int


def tally(review: StaffingReview) -> ReviewTally:
    verdicts = dict(db.session.execute(
        sa.select(StaffingReviewEntry.verdict, sa.func.count()).where(StaffingReviewEntry.review_id == review.id)
        .group_by(StaffingReviewEntry.verdict)).all())
    decided = db.session.scalar(sa.select(sa.func.count()).where(
        StaffingReviewEntry.review_id == review.id, StaffingReviewEntry.decision.is_not(None))) or 0
    return ReviewTally({v: int(verdicts.get(v, 0)) for v in ("fits", "fits_after_training", "does_not_fit")},
                       int(decided))


def entries_select(review: StaffingReview, verdict: str = "", undecided: bool = False):
    stmt = sa.select(StaffingReviewEntry).where(StaffingReviewEntry.review_id == review.id) \
        .order_by(StaffingReviewEntry.sort_key, StaffingReviewEntry.id)
    if verdict:
        stmt = stmt.where(StaffingReviewEntry.verdict == verdict)
    if undecided:
        stmt = stmt.where(StaffingReviewEntry.decision.is_(None))
    return stmt


def competency_names(entry: StaffingReviewEntry, codes: list[str], locale: str = "vi") -> list[str]:
    names = {code: (en if locale == "en" else vi) for code, vi, en in entry.required}
    return [names.get(code, code) for code in codes]


# --------------------------------------------------------------------------- deciding
@dataclass
class Decision:
    kind: str                     # keep, train, move
    due_on: date | None = None
    course_ids: list[int] | None = None  # train: None → the courses the verdict names
    move_unit: OrgUnit | None = None
    move_position: Position | None = None
    note: str = ""


def decide(entry: StaffingReviewEntry, decision: Decision, actor: User, today: date) -> StaffingReviewEntry:
    """Record HR's decision for one official of an open review. Training creates one assignment per
    course, due `due_on`, in the same transaction: on ReviewError the caller rolls it back, so it is
    all of them or none. Flushes."""
    review = entry.review
    if not review.is_open:
        raise ReviewError(_("Đợt rà soát này đã chốt; không sửa được quyết định."))
    if decision.kind not in ("keep", "train", "move"):
        raise ReviewError(_("Hãy chọn một quyết định."))
    assignment_ids: list[int] = []
    move_text = ""
    if decision.kind == "train":
        if decision.due_on is None:
            raise ReviewError(_("Hãy chọn hạn hoàn thành khóa học."))
        if decision.due_on < today:
            raise ReviewError(_("Hạn hoàn thành không được ở trong quá khứ."))
        official = db.session.get(User, entry.user_id) if entry.user_id else None
        if official is None or not official.active:
            raise ReviewError(_("Cán bộ này không còn làm việc nên không giao khóa học được."))
        course_ids = decision.course_ids or [course_id for course_id, _title, _code in entry.training]
        if not course_ids:
            raise ReviewError(_("Người này không thiếu năng lực nào: hãy chọn khóa học muốn giao."))
        note = _("Rà soát vị trí việc làm %(unit)s, ngày %(day)s", unit=review.unit_name,
                 day=review.as_of.strftime("%d/%m/%Y"))
        try:
            for course_id in dict.fromkeys(course_ids):
                assignment_ids.append(learning.assign_course(course_id, official, decision.due_on, actor, note))
        except learning.TrainingError as error:
            raise ReviewError(str(error)) from error
    elif decision.kind == "move":
        if decision.move_unit is None and decision.move_position is None:
            raise ReviewError(_("Đề xuất điều chuyển cần nêu đơn vị hoặc vị trí việc làm mới."))
        move_text = " — ".join(part for part in (
            decision.move_unit.name if decision.move_unit is not None else "",
            decision.move_position.name if decision.move_position is not None else "") if part)
    before = {"decision": entry.decision, "due_on": entry.due_on.isoformat() if entry.due_on else None,
              "move": entry.move_text or None}
    entry.decision = decision.kind
    entry.due_on = decision.due_on if decision.kind == "train" else None
    entry.assignment_ids = list(entry.assignment_ids or []) + assignment_ids
    entry.move_unit_id = decision.move_unit.id if decision.kind == "move" and decision.move_unit else None
    entry.move_position_id = decision.move_position.id if decision.kind == "move" and decision.move_position else None
    entry.move_text = move_text[:420]
    entry.note = nfc(decision.note)[:500]
    entry.decided_at = datetime.now(timezone.utc)
    entry.decided_by_id = actor.id
    entry.decided_by_name = actor.full_name
    after = {"decision": entry.decision, "due_on": entry.due_on.isoformat() if entry.due_on else None,
             "move": entry.move_text or None}
    audit.record(actor, "staffing.review.decide", entry.email or entry.full_name, review_id=review.id,
                 entry_id=entry.id, changes=audit.changes(before, after), assignments=assignment_ids)
    db.session.flush()
    return entry


def close_review(review: StaffingReview, actor: User) -> None:
    """Close a review: its decisions become the record, unchangeable. Flushes."""
    if not review.is_open:
        raise ReviewError(_("Đợt rà soát này đã chốt."))
    review.status = "closed"
    review.closed_at = datetime.now(timezone.utc)
    review.closed_by_id = actor.id
    audit.record(actor, "staffing.review.close", review.unit_code, review_id=review.id)
    db.session.flush()
