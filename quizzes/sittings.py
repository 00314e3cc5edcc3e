"""Exam sittings (ca thi): one quiz, one start time, a whole ward or city at once.

A synchronized start is the platform's hardest moment (issue 16). So each expected learner's attempt
is drawn ahead of time, exactly as a start draws it (`attempts.draw_slots`: questions by the quiz
rules, options shuffled, opaque ids), and stored in the "prepared" state. The start itself is then
one UPDATE (prepared → in progress, number, started_at, deadline) that the database arbitrates: of
two parallel starts, one changes the row and the other finds it started and resumes it.

The rules, as HR reads them on the schedule form:
- A sitting has its own time limit, prefilled with the quiz's, so a quiz without a time limit can
  be sat too; sitting attempts are timed by the sitting.
- Learners start from the start time until the join window closes. A late joiner gets the remaining
  time (deadline = start + time limit, the same for everyone) or the full time (deadline = join +
  time limit), as the sitting says.
- From scheduling until the sitting ends (`Sitting.ends_at`, the last possible deadline) the sitting
  decides its members' starts of the quiz: before the start 409 `sitting_not_started` with
  Retry-After, in the window their prepared attempt, after it 409 `sitting_closed`. Then the quiz's
  own rules apply again, unless the quiz is kept to its sittings (`Quiz.only_in_sittings`).
- A unit sitting expects every active official of the unit subtree (narrowed to a position): they are
  listed at scheduling and at each preparation, and a newcomer is added when they open the lobby. A
  list sitting expects the officials named by e-mail.
- Scope: HR schedules and follows sittings inside its own unit subtree (training.services.org);
  trainers and admins, who run the quizzes, schedule for anyone and see every sitting.

Services flush; views, the CLI and the preparation job commit.
"""
from __future__ import annotations

import functools
import math
import random
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from quizzes.attempts import (AttemptError, attempt_count, draw_questions, draw_slots, in_progress_attempt,
                              now_utc, plain_start, plain_start_select, quiz_settings, start_refusal)
from quizzes.models import Attempt, AttemptSlot, Quiz, Sitting, SittingMember
from quizzes.presenting import drafted_slots, questions_json
from training.extensions import db
from training.models import OrgUnit, Position, User
from training.models.types import UTCDateTime
from training.services import audit
from training.services.org import scope_root, subtree_condition
from training.services.sessions import token_column, token_live_clause
from training.vntext import nfc

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
PREPARE_BATCH = 500          # learners drawn and inserted per statement batch (and per commit in the CLI)
RETRY_AFTER_CAP_S = 300      # a client told to come back is never told to wait longer than this
MAX_EMAILS = 5000
LOBBY_SPREAD_S = 10          # the lobbies' last reload lands within this many seconds after the start
STATUSES = ("lobby", "started", "submitted", "absent")


class SittingError(ValueError):
    """A sitting that cannot be scheduled; `messages` are for the user, in their language."""

    def __init__(self, messages: list[str]):
        super().__init__(" ".join(str(m) for m in messages))
        self.messages = [str(m) for m in messages]


def local_time(moment: datetime) -> str:
    """A UTC instant as Vietnam's wall clock, in messages: 08:00 15/03/2027."""
    return moment.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y")


# --------------------------------------------------------------------------- scope
def sitting_scope(user: User) -> tuple[bool, OrgUnit | None]:
    """(allowed, root): trainers and admins see every sitting (root None), HR the sittings of its own
    unit subtree, anyone else none. An HR officer without a unit sees nothing."""
    if user.has_role("admin", "trainer"):
        return True, None
    if user.has_role("hr"):
        root = scope_root(user)
        return root is not None, root
    return False, None


def _units_under(root: OrgUnit):
    return sa.select(OrgUnit.id).where(subtree_condition(root))


def visible_sittings(root: OrgUnit | None):
    """Select of the sittings someone with scope `root` may follow: those for a unit inside it, and
    those expecting anyone inside it (a city sitting, seen by a ward's HR for its own officials)."""
    stmt = sa.select(Sitting).options(joinedload(Sitting.quiz), joinedload(Sitting.unit)) \
        .order_by(Sitting.starts_at.desc(), Sitting.id.desc())
    if root is None:
        return stmt
    units = _units_under(root)
    someone_inside = sa.exists().where(SittingMember.sitting_id == Sitting.id, User.id == SittingMember.user_id,
                                       User.unit_id.in_(units))
    return stmt.where(sa.or_(Sitting.unit_id.in_(units), someone_inside))


def can_see(root: OrgUnit | None, sitting: Sitting) -> bool:
    if root is None:
        return True
    return db.session.scalar(visible_sittings(root).where(Sitting.id == sitting.id)
                             .with_only_columns(Sitting.id)) is not None


def can_manage(root: OrgUnit | None, sitting: Sitting) -> bool:
    """May prepare or cancel it: the whole sitting lies inside the scope."""
    if root is None:
        return True
    if sitting.target == "unit":
        return sitting.unit is not None and sitting.unit.is_within(root)
    outside = db.session.scalar(sa.select(sa.func.count(SittingMember.id)).join(User, User.id == SittingMember.user_id)
                                .where(SittingMember.sitting_id == sitting.id,
                                       sa.or_(User.unit_id.is_(None), User.unit_id.not_in(_units_under(root)))))
    return not outside


# --------------------------------------------------------------------------- scheduling
def ends_at(starts_at: datetime, join_window_s: int, time_limit_s: int, late_policy: str) -> datetime:
    """The last possible deadline of a sitting."""
    if late_policy == "full":
        return starts_at + timedelta(seconds=join_window_s + time_limit_s)
    return starts_at + timedelta(seconds=time_limit_s)


def parse_emails(text: str) -> list[str]:
    """E-mail addresses typed or pasted one per line (or separated by commas, semicolons, spaces),
    in canonical form, without repeats, in the order given."""
    seen: dict[str, None] = {}
    for part in re.split(r"[\s,;]+", nfc(text or "")):
        if part:
            seen.setdefault(part.lower(), None)
    return list(seen)


def _expected(unit: OrgUnit | None, position: Position | None):
    """SQL condition on User: an active official of the unit subtree (everyone when None), in the
    position when one is given: whom a unit sitting expects."""
    conditions = [User.active.is_(True)]
    if unit is not None:
        conditions.append(User.unit_id.in_(_units_under(unit)))
    if position is not None:
        conditions.append(User.position_id == position.id)
    return sa.and_(*conditions)


def _target_condition(sitting: Sitting):
    return _expected(sitting.unit, sitting.position)


def _targets(sitting: Sitting, unit_path: str | None, user: User) -> bool:
    """The same rule as `_target_condition`, for one official already loaded (a newcomer's lobby)."""
    if sitting.target != "unit" or not user.active:
        return False
    if sitting.position_id is not None and user.position_id != sitting.position_id:
        return False
    if sitting.unit_id is None:
        return True
    return user.unit is not None and unit_path is not None and user.unit.path.startswith(unit_path)


def _people_by_email(emails: list[str], root: OrgUnit | None) -> tuple[list[int], list[str]]:
    """(ids of the active officials in scope named, the addresses that name no such official)."""
    found: dict[str, int] = {}
    for start in range(0, len(emails), 1000):
        chunk = emails[start:start + 1000]
        stmt = sa.select(User.email, User.id).where(User.email.in_(chunk), User.active.is_(True))
        if root is not None:
            stmt = stmt.where(User.unit_id.in_(_units_under(root)))
        found.update(dict(db.session.execute(stmt).all()))
    return [found[e] for e in emails if e in found], [e for e in emails if e not in found]


def _overlapping(user_ids, starts: datetime, ends: datetime, quiz: Quiz, exclude_id: int | None = None):
    """Officials among `user_ids` (a list or a select) already expected by another sitting of the quiz
    at an overlapping time: a learner can sit one quiz once at a time."""
    stmt = (sa.select(User.full_name).join(SittingMember, SittingMember.user_id == User.id)
            .join(Sitting, Sitting.id == SittingMember.sitting_id)
            .where(Sitting.quiz_id == quiz.id, Sitting.cancelled_at.is_(None), Sitting.starts_at < ends,
                   Sitting.ends_at > starts, SittingMember.user_id.in_(user_ids))
            .order_by(User.sort_key))
    if exclude_id is not None:
        stmt = stmt.where(Sitting.id != exclude_id)
    return db.session.scalars(stmt.limit(1000)).all()


def schedule_sitting(*, quiz: Quiz | None, actor: User, root: OrgUnit | None, starts_at: datetime | None,
                     join_window_s: int | None, time_limit_s: int | None, late_policy: str, target: str,
                     unit: OrgUnit | None = None, position: Position | None = None, emails: str = "",
                     title: str = "", now: datetime | None = None) -> Sitting:
    """Schedule a sitting of a published quiz for a unit subtree (optionally one position) or for
    officials named by e-mail, all within the actor's scope `root` (None: everyone). Lists the
    expected learners and audits. Raises SittingError with every problem found; changes nothing then.
    """
    now = now or now_utc()
    problems: list[str] = []
    if quiz is None or quiz.status != "published":
        raise SittingError([_("Chỉ xếp ca thi cho bài kiểm tra đã xuất bản.")])
    if late_policy not in ("remaining", "full"):
        problems.append(_("Hãy chọn cách tính giờ cho người vào muộn."))
    if not time_limit_s or time_limit_s <= 0:
        problems.append(_("Vui lòng nhập thời gian làm bài của ca thi (phút)."))
    if not join_window_s or join_window_s <= 0:
        problems.append(_("Vui lòng nhập thời gian cho phép vào muộn (phút)."))
    if starts_at is None:
        problems.append(_("Vui lòng nhập giờ bắt đầu (giờ Việt Nam)."))
    elif starts_at <= now:
        problems.append(_("Giờ bắt đầu %(t)s đã qua; hãy chọn một thời điểm sắp tới (giờ Việt Nam).",
                          t=local_time(starts_at)))
    if problems:
        raise SittingError(problems)
    if late_policy == "remaining" and join_window_s >= time_limit_s:
        problems.append(_("Khi người vào muộn chỉ làm trong thời gian còn lại, thời gian cho phép vào muộn phải "
                          "ngắn hơn thời gian làm bài."))
    end = ends_at(starts_at, join_window_s, time_limit_s, late_policy)
    if quiz.opens_at is not None and starts_at < quiz.opens_at:
        problems.append(_("Bài kiểm tra chỉ mở từ %(t)s; ca thi không thể bắt đầu sớm hơn.",
                          t=local_time(quiz.opens_at)))
    if quiz.closes_at is not None and quiz.closes_at < end:
        problems.append(_("Bài kiểm tra đóng lúc %(t)s, trước khi ca thi kết thúc (%(end)s, tính cả người vào "
                          "muộn nhất). Hãy chọn giờ sớm hơn hoặc rút ngắn thời gian.",
                          t=local_time(quiz.closes_at), end=local_time(end)))
    try:
        draw_questions(quiz, random.Random(0))  # a quiz the bank cannot fill would fail every learner
    except AttemptError as exc:
        problems.append(str(exc))

    people: list[int] = []
    if target == "unit":
        if unit is None and root is not None:
            problems.append(_("Hãy chọn đơn vị."))
        elif unit is not None and root is not None and not unit.is_within(root):
            problems.append(_("Đơn vị này nằm ngoài phạm vi của bạn."))
        else:
            expected = sa.select(User.id).where(_expected(unit, position))
            if not db.session.scalar(sa.select(sa.func.count()).select_from(expected.subquery())):
                problems.append(_("Không có cán bộ nào đang làm việc ở đơn vị và vị trí đã chọn."))
            else:
                busy = _overlapping(expected, starts_at, end, quiz)
                if busy:
                    problems.append(_overlap_message(busy))
    elif target == "people":
        emails_given = parse_emails(emails)
        if not emails_given:
            problems.append(_("Hãy nhập email của ít nhất một cán bộ."))
        elif len(emails_given) > MAX_EMAILS:
            problems.append(_("Mỗi ca thi nhận tối đa %(n)d email.", n=MAX_EMAILS))
        else:
            people, unknown = _people_by_email(emails_given, root)
            if unknown:
                shown = ", ".join(unknown[:10])
                more = _(" và %(n)d email khác", n=len(unknown) - 10) if len(unknown) > 10 else ""
                problems.append(_("Không có cán bộ đang làm việc với các email sau trong phạm vi của bạn: "
                                  "%(emails)s%(more)s.", emails=shown, more=more))
            elif people:
                busy = _overlapping(people, starts_at, end, quiz)
                if busy:
                    problems.append(_overlap_message(busy))
    else:
        problems.append(_("Hãy chọn đối tượng dự thi."))
    if problems:
        raise SittingError(problems)

    sitting = Sitting(quiz=quiz, title=nfc(title or "").strip()[:200], starts_at=starts_at,
                      join_window_s=join_window_s, time_limit_s=time_limit_s, late_policy=late_policy,
                      target=target, ends_at=end, created_by_id=actor.id, created_at=now,
                      unit=unit if target == "unit" else None, position=position if target == "unit" else None)
    db.session.add(sitting)
    db.session.flush()
    if target == "unit":
        added = sync_members(sitting, now)
    else:
        db.session.execute(sa.insert(SittingMember.__table__),
                           [{"sitting_id": sitting.id, "user_id": user_id, "added_at": now} for user_id in people])
        added = len(people)
    audit.record(actor, "sitting.create", f"sitting:{sitting.id}", quiz_id=quiz.id, quiz=quiz.title,
                 starts_at=starts_at.isoformat(), join_window_s=join_window_s, time_limit_s=time_limit_s,
                 late_policy=late_policy, audience=target, unit=unit.code if unit and target == "unit" else None,
                 position=position.code if position and target == "unit" else None, members=added)
    return sitting


def _overlap_message(names: list[str]) -> str:
    sample = ", ".join(names[:5])
    return _("%(n)d cán bộ đã có một ca thi khác của bài kiểm tra này trùng thời gian (ví dụ: %(names)s).",
             n=len(names), names=sample)


def sync_members(sitting: Sitting, now: datetime | None = None) -> int:
    """List, for a unit sitting, the officials it now expects who are not listed yet (one INSERT …
    SELECT, whatever their number). Returns how many were added."""
    if sitting.target != "unit":
        return 0
    now = now or now_utc()
    members = SittingMember.__table__
    listed = sa.exists().where(members.c.sitting_id == sitting.id, members.c.user_id == User.id)
    newcomers = sa.select(sa.literal(sitting.id, sa.Integer), User.id, sa.literal(now, UTCDateTime())) \
        .where(_target_condition(sitting), ~listed)
    added = db.session.execute(sa.insert(members).from_select(["sitting_id", "user_id", "added_at"], newcomers)
                               .returning(members.c.id))
    return len(added.all())  # counted from RETURNING: an INSERT … SELECT's rowcount is not portable


def cancel_sitting(sitting: Sitting, actor: User, now: datetime | None = None) -> int:
    """Cancel a sitting: its prepared attempts (never shown to anyone) are deleted; attempts already
    started run on to their deadline. Returns how many prepared attempts went."""
    now = now or now_utc()
    members = SittingMember.__table__
    prepared = list(db.session.scalars(
        sa.select(Attempt.id).join(SittingMember, SittingMember.attempt_id == Attempt.id)
        .where(SittingMember.sitting_id == sitting.id, Attempt.state == "prepared")))
    for start in range(0, len(prepared), 1000):
        chunk = prepared[start:start + 1000]
        db.session.execute(sa.update(members).where(members.c.attempt_id.in_(chunk)).values(attempt_id=None))
        db.session.execute(sa.delete(AttemptSlot.__table__).where(AttemptSlot.__table__.c.attempt_id.in_(chunk)))
        db.session.execute(sa.delete(Attempt.__table__).where(Attempt.__table__.c.id.in_(chunk),
                                                              Attempt.__table__.c.state == "prepared"))
    sitting.cancelled_at = now
    sitting.cancelled_by_id = actor.id
    audit.record(actor, "sitting.cancel", f"sitting:{sitting.id}", quiz_id=sitting.quiz_id,
                 starts_at=sitting.starts_at.isoformat(), prepared_deleted=len(prepared))
    db.session.flush()
    return len(prepared)


# --------------------------------------------------------------------------- preparation
def _insert_or_skip(table):
    """INSERT … ON CONFLICT DO NOTHING: between parallel preparations the unique keys decide."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()


def _prepare(sitting: Sitting, rows: list[tuple[int, int]], pools: dict | None, now: datetime) -> dict[int, int]:
    """Draw and store a prepared attempt for each (member id, user id); a learner who has one already
    (a parallel preparation) is skipped by the database. Returns {user id: attempt id} of those made."""
    quiz = sitting.quiz
    drafts = []
    for member_id, user_id in rows:
        seed = secrets.randbits(48)
        drafts.append((member_id, user_id, seed, draw_slots(quiz, random.Random(seed), pools)))
    attempts = Attempt.__table__
    # The learner's view of the questions is rendered now too: the start then only changes the state.
    created = {user_id: attempt_id for attempt_id, user_id in db.session.execute(
        _insert_or_skip(attempts).returning(attempts.c.id, attempts.c.user_id),
        [{"quiz_id": quiz.id, "user_id": user_id, "number": -sitting.id, "state": "prepared", "seed": seed,
          "started_at": now, "deadline": None, "prepared_view": questions_json(drafted_slots(slots))}
         for _member_id, user_id, seed, slots in drafts])}
    if not created:
        return created
    db.session.execute(sa.insert(AttemptSlot.__table__), [
        {"attempt_id": created[user_id], "slot": slot_number, "question_version_id": version.id,
         "max_mark": mark, "order": order}
        for _member_id, user_id, _seed, slots in drafts if user_id in created
        for slot_number, version, mark, order in slots])
    members = SittingMember.__table__
    db.session.execute(
        sa.update(members).where(members.c.id == sa.bindparam("m_id")).values(attempt_id=sa.bindparam("a_id")),
        [{"m_id": member_id, "a_id": created[user_id]} for member_id, user_id, _seed, _slots in drafts
         if user_id in created])
    return created


def unprepared_members(sitting: Sitting) -> list[tuple[int, int]]:
    """(member id, user id) of the expected learners whose attempt is not drawn yet."""
    return [tuple(row) for row in db.session.execute(
        sa.select(SittingMember.id, SittingMember.user_id)
        .where(SittingMember.sitting_id == sitting.id, SittingMember.attempt_id.is_(None))
        .order_by(SittingMember.id))]


def prepare_batches(sitting: Sitting, now: datetime | None = None,
                    batch_size: int = PREPARE_BATCH) -> Iterator[tuple[int, int]]:
    """Prepare the attempt of every expected learner who has none, a batch at a time, yielding
    (prepared so far, to prepare) after each batch: the caller commits there, so a long run keeps
    what it did. Idempotent: a second run finds nothing to prepare. Raises AttemptError when the
    bank cannot fill the quiz."""
    now = now or now_utc()
    sync_members(sitting, now)
    pending = unprepared_members(sitting)
    pools: dict = {}  # one pool query per rule for the whole sitting
    done = 0
    for start in range(0, len(pending), batch_size):
        chunk = pending[start:start + batch_size]
        _prepare(sitting, chunk, pools, now)
        done += len(chunk)
        if done == len(pending):
            sitting.prepared_at = now
        db.session.flush()
        yield done, len(pending)
    if not pending:
        sitting.prepared_at = now
        db.session.flush()
        yield 0, 0


def prepare_sitting(sitting: Sitting, now: datetime | None = None) -> int:
    """Prepare a whole sitting in the caller's transaction; returns how many attempts were drawn."""
    done = 0
    for done, _total in prepare_batches(sitting, now):
        pass
    return done


def prepare_sitting_job(sitting_id: int) -> int:
    """The job behind "prepare now" (training.jobs): prepares a sitting, committing each batch."""
    sitting = db.session.get(Sitting, sitting_id)
    if sitting is None or sitting.cancelled_at is not None:
        return 0
    done = 0
    for done, _total in prepare_batches(sitting):
        db.session.commit()
    return done


def sittings_to_prepare(now: datetime, horizon: timedelta):
    """Sittings that start within `horizon` and whose join window is not over (late joiners still
    benefit), earliest first."""
    candidates = db.session.scalars(sa.select(Sitting).where(
        Sitting.cancelled_at.is_(None), Sitting.starts_at <= now + horizon, Sitting.ends_at > now)
        .order_by(Sitting.starts_at, Sitting.id)).all()
    return [s for s in candidates if s.phase(now) in ("upcoming", "open")]


# --------------------------------------------------------------------------- a learner's seat
@dataclass
class Seat:
    """Where a learner stands in a sitting: listed or not yet, lobby opened, attempt and its state."""

    sitting: Sitting
    member_id: int | None
    attempt_id: int | None
    attempt_state: str | None
    lobby_at: datetime | None


def _seats(user: User, where) -> Iterator[Seat]:
    rows = db.session.execute(
        sa.select(Sitting, SittingMember.id, SittingMember.attempt_id, Attempt.state, SittingMember.lobby_at,
                  OrgUnit.path)
        .outerjoin(SittingMember, sa.and_(SittingMember.sitting_id == Sitting.id, SittingMember.user_id == user.id))
        .outerjoin(Attempt, Attempt.id == SittingMember.attempt_id)
        .outerjoin(OrgUnit, OrgUnit.id == Sitting.unit_id)
        .where(*where).order_by(Sitting.starts_at, Sitting.id)).all()
    for sitting, member_id, attempt_id, state, lobby_at, unit_path in rows:
        if member_id is not None or _targets(sitting, unit_path, user):
            yield Seat(sitting, member_id, attempt_id, state, lobby_at)


def seat_for(quiz: Quiz, user: User, now: datetime) -> Seat | None:
    """The sitting that decides this learner's start of `quiz` now: the earliest of those expecting them
    that has not ended. One query; None for nearly every start outside exam day."""
    return next(_seats(user, [Sitting.quiz_id == quiz.id, Sitting.cancelled_at.is_(None), Sitting.ends_at > now]),
                None)


def seat_in(sitting: Sitting, user: User) -> Seat | None:
    """The learner's seat in this sitting, or None when it does not expect them."""
    return next(_seats(user, [Sitting.id == sitting.id]), None)


def ensure_member(sitting: Sitting, user: User, now: datetime) -> int:
    """List a learner the sitting expects but had not listed yet (a newcomer); returns the member id."""
    db.session.execute(_insert_or_skip(SittingMember.__table__).values(sitting_id=sitting.id, user_id=user.id,
                                                                       added_at=now))
    return db.session.scalar(sa.select(SittingMember.id).where(SittingMember.sitting_id == sitting.id,
                                                               SittingMember.user_id == user.id))


def prepare_member(sitting: Sitting, user: User, now: datetime, member_id: int | None = None) -> int:
    """Prepare one learner's attempt now if it was not prepared ahead; returns its id."""
    member_id = member_id or ensure_member(sitting, user, now)
    # Joined to the attempt: a link to an attempt that is gone (no foreign keys on SQLite) is no attempt.
    link = sa.select(SittingMember.attempt_id).join(Attempt, Attempt.id == SittingMember.attempt_id) \
        .where(SittingMember.id == member_id)
    attempt_id = db.session.scalar(link)
    if attempt_id is not None:
        return attempt_id
    created = _prepare(sitting, [(member_id, user.id)], None, now)
    # Nothing created: a parallel request prepared it a moment ago, and its attempt is the one.
    return created.get(user.id) or db.session.scalar(link)


def enter_lobby(sitting: Sitting, user: User, now: datetime | None = None) -> Seat | None:
    """The learner opens the sitting's lobby: listed if a newcomer, the first opening recorded, the
    attempt prepared if it was not yet (so the start stays one UPDATE). None when not expected."""
    now = now or now_utc()
    seat = seat_in(sitting, user)
    if seat is None or sitting.phase(now) not in ("upcoming", "open"):
        return seat
    changed = False
    if seat.member_id is None:
        seat.member_id = ensure_member(sitting, user, now)
        changed = True
    if seat.lobby_at is None:
        db.session.execute(sa.update(SittingMember.__table__)
                           .where(SittingMember.__table__.c.id == seat.member_id,
                                  SittingMember.__table__.c.lobby_at.is_(None)).values(lobby_at=now))
        changed = True
    if seat.attempt_state is None and sitting.quiz.status == "published":
        try:
            prepare_member(sitting, user, now, seat.member_id)
        except AttemptError:
            pass  # the bank cannot fill the quiz: the start will say so to the learner
        changed = True
    return seat_in(sitting, user) if changed else seat


# --------------------------------------------------------------------------- the start
def deadline_for(sitting: Sitting, quiz: Quiz, joined: datetime) -> datetime:
    """A sitting attempt's deadline: the sitting's (remaining time) or the joiner's own (full time),
    never after the quiz closes."""
    base = sitting.starts_at if sitting.late_policy == "remaining" else joined
    deadline = base + timedelta(seconds=sitting.time_limit_s)
    if quiz.closes_at is not None and quiz.closes_at < deadline:
        deadline = quiz.closes_at
    return deadline


def lobby_refresh_s(seconds_left: float) -> int:
    """When a waiting lobby reloads itself: rarely long before the start (a city waiting costs little),
    then so that the last reload lands just after the start, spread at random over LOBBY_SPREAD_S
    seconds so that ten thousand lobbies do not all arrive in the same instant."""
    if seconds_left > 60:
        return int(min(300, max(30, seconds_left // 2)))
    return max(1, math.ceil(seconds_left)) + random.randint(0, LOBBY_SPREAD_S)


def retry_after(sitting: Sitting, now: datetime) -> int:
    """Seconds until the start, for Retry-After: at least 1, at most RETRY_AFTER_CAP_S."""
    return max(1, min(math.ceil((sitting.starts_at - now).total_seconds()), RETRY_AFTER_CAP_S))


def start_in_sitting(quiz: Quiz, user: User, now: datetime) -> tuple[Attempt, bool] | None:
    """The start of a learner a sitting expects (called by attempts.start_or_resume after it found no
    attempt in progress). None when no sitting decides, so the quiz's own rules apply.

    In the join window: the learner's prepared attempt starts with one UPDATE (prepared →
    in_progress) guarded by its state, so of parallel starts exactly one changes it and the others
    resume it; an attempt not prepared ahead is prepared first. Raises AttemptError 409
    sitting_not_started (with retry_after) before the start, 409 sitting_closed after the window or
    once the sitting's attempt is submitted, 403 sitting_only for a quiz kept to sittings.
    """
    seat = seat_for(quiz, user, now)
    if seat is None:
        if quiz.only_in_sittings:
            raise AttemptError(_("Bài kiểm tra này chỉ làm trong ca thi, và hiện không có ca thi nào dành cho bạn."),
                               403, "sitting_only")
        return None
    sitting = seat.sitting
    phase = sitting.phase(now)
    if phase == "upcoming":
        raise AttemptError(_("Ca thi chưa bắt đầu. Giờ bắt đầu: %(t)s (giờ Việt Nam).",
                             t=local_time(sitting.starts_at)),
                           409, "sitting_not_started", retry_after=retry_after(sitting, now))
    if seat.attempt_state == "finished":
        raise AttemptError(_("Bạn đã nộp bài của ca thi này."), 409, "sitting_closed")
    if phase != "open":
        raise AttemptError(_("Ca thi đã hết giờ vào lúc %(t)s; không thể bắt đầu làm bài nữa.",
                             t=local_time(sitting.joins_until)), 409, "sitting_closed")
    used = attempt_count(quiz, user)
    refusal = start_refusal(quiz, used, None, now)  # the quiz's own rules, less the delay a sitting does not keep
    if refusal is not None:
        raise refusal
    savepoint = db.session.begin_nested()
    try:
        attempt_id = seat.attempt_id if seat.attempt_state == "prepared" else \
            prepare_member(sitting, user, now, seat.member_id)
        started = start_prepared(attempt_id, user.id, used + 1, now, deadline_for(sitting, quiz, now))
    except IntegrityError:
        # Another attempt of this learner went in progress first (a parallel start): resume it.
        savepoint.rollback()
        started = False
    else:
        savepoint.commit()
    if not started:
        existing = in_progress_attempt(quiz, user)
        if existing is None:
            raise AttemptError(_("Bạn đã nộp bài của ca thi này."), 409, "sitting_closed")
        return existing, False
    # The attempt row only: its slots are read by whoever needs them (the API's payload in one plain query).
    attempt = db.session.scalar(sa.select(Attempt).where(Attempt.id == attempt_id)
                                .execution_options(populate_existing=True))
    return attempt, True


def _start_update(by_token: bool):
    """The start itself: prepared → in progress, guarded by the state so that of parallel starts exactly
    one changes it (the others resume it). With `by_token` the statement also authenticates the bearer
    token (training.services.sessions.token_live_clause), for the exam-day hot path. Built once."""
    attempts = Attempt.__table__
    now = sa.bindparam("now", type_=attempts.c.started_at.type)
    stmt = sa.update(attempts).where(attempts.c.id == sa.bindparam("attempt"),
                                     attempts.c.user_id == sa.bindparam("owner"), attempts.c.state == "prepared")
    if by_token:
        stmt = stmt.where(token_live_clause(attempts.c.user_id, now))
    return stmt.values(state="in_progress", number=sa.bindparam("new_number"), started_at=now,
                       deadline=sa.bindparam("new_deadline", type_=attempts.c.deadline.type))


_START_UPDATES = {False: _start_update(False), True: _start_update(True)}


def start_prepared(attempt_id: int, user_id: int, number: int, now: datetime, deadline: datetime,
                   token_hash: str | None = None) -> bool:
    """Start a prepared attempt; True when this call started it. May raise IntegrityError (another
    attempt of the learner went in progress first)."""
    params = {"attempt": attempt_id, "owner": user_id, "new_number": number, "now": now, "new_deadline": deadline}
    if token_hash is not None:
        params["token_hash"] = token_hash
    return db.session.connection().execute(_START_UPDATES[token_hash is not None], params).rowcount == 1


_START_WITH_VIEW = _START_UPDATES[True].returning(Attempt.__table__.c.prepared_view)


def start_prepared_view(attempt_id: int, user_id: int, number: int, now: datetime, deadline: datetime,
                        token_hash: str) -> tuple[bool, str | None]:
    """start_prepared for the hot path (the token checked in the statement), also returning the
    questions rendered at preparation (None for an attempt prepared without them)."""
    row = db.session.connection().execute(_START_WITH_VIEW, {
        "attempt": attempt_id, "owner": user_id, "new_number": number, "now": now, "new_deadline": deadline,
        "token_hash": token_hash}).first()
    return (row is not None, row[0] if row is not None else None)


def _seat_subquery(user):
    """The sitting that decides the learner's start of the quiz (seat_for's: the earliest not ended of
    those that may expect them) with the learner's prepared attempt in it: one row at most."""
    sittings, members, attempts = Sitting.__table__, SittingMember.__table__, Attempt.__table__
    quiz = sa.bindparam("quiz")
    now = sa.bindparam("now", type_=attempts.c.started_at.type)
    return (sa.select(sittings.c.id.label("sitting_id"), sittings.c.starts_at, sittings.c.join_window_s,
                      sittings.c.time_limit_s.label("sitting_time_limit_s"), sittings.c.late_policy,
                      sittings.c.ends_at, members.c.attempt_id.label("seat_attempt_id"),
                      attempts.c.state.label("seat_state"))
            .select_from(sittings)
            .outerjoin(members, sa.and_(members.c.sitting_id == sittings.c.id, members.c.user_id == user))
            .outerjoin(attempts, attempts.c.id == members.c.attempt_id)
            .where(sittings.c.quiz_id == quiz, sittings.c.cancelled_at.is_(None), sittings.c.ends_at > now,
                   # the sittings that may expect the learner: those listing them, and unit sittings
                   # (a newcomer to the unit is expected before being listed: _targets decides)
                   sa.or_(members.c.id.is_not(None), sittings.c.target == "unit"))
            .order_by(sittings.c.starts_at, sittings.c.id).limit(1).subquery("seat"))


@functools.cache
def _start_select(by_token: bool):
    """attempts.plain_start_select's rows, each with the seat (or NULLs): one query for either start.

    The learner is the parameter `user`; or, `by_token`, the bearer token's owner, found in the same
    query, with the token's id and last recorded use beside (for sessions.record_token_use)."""
    user = token_column("user_id") if by_token else sa.bindparam("user")
    seat = _seat_subquery(user)
    select = plain_start_select(user).add_columns(*seat.c).outerjoin(seat, sa.true())
    if by_token:
        select = select.add_columns(user.label("token_user_id"), token_column("id").label("token_id"),
                                    token_column("last_used_at").label("token_last_used_at"))
    return select


@dataclass
class PreparedStart:
    """What the hot path needs to start a prepared attempt, decided by the same rules as start_in_sitting."""

    attempt_id: int
    number: int
    deadline: datetime | None


NO_SITTING = PreparedStart(0, 0, None)  # no sitting may expect the learner: the quiz's own rules decide


@dataclass
class TokenUse:
    """The bearer token as start_facts found it, when it was not told the owner."""

    token_id: int
    user_id: int
    last_used_at: datetime | None


def start_facts(quiz_id: int, user_id: int | None, token_hash: str, now: datetime):
    """For the exam-day hot path (quizzes.hot_path), in one query: how the learner's start of `quiz_id`
    by this bearer token goes now, as (seat, plain start, token use).

    - (PreparedStart, None, …): the sitting that decides it (seat_for's) lists the learner with an
      attempt prepared, is in its join window, the quiz is open and an attempt is left;
    - (NO_SITTING, PlainStart, …): no sitting may expect the learner, and the quiz's own rules allow a
      new attempt (quizzes.attempts.plain_start);
    - None, or a None among the first two, in every other case, and when the token is not live:
      start_or_resume then decides, and says why in the learner's language.

    With `user_id` None (this process does not know whose the token is), the query finds the owner by
    the token, and the third value is the TokenUse it read (else None)."""
    params = {"quiz": quiz_id, "now": now, "token_hash": token_hash}
    if user_id is not None:
        params["user"] = user_id
    rows = db.session.connection().execute(_start_select(user_id is None), params).all()
    if not rows:
        return None
    row = rows[0]
    token = None if user_id is not None else TokenUse(row.token_id, row.token_user_id, row.token_last_used_at)
    if row.sitting_id is None:
        return NO_SITTING, plain_start(rows, now), token
    if row.seat_attempt_id is None or row.seat_state != "prepared":
        return None, None, token
    sitting = Sitting(id=row.sitting_id, starts_at=row.starts_at, join_window_s=row.join_window_s,
                      time_limit_s=row.sitting_time_limit_s, late_policy=row.late_policy, ends_at=row.ends_at)
    quiz = quiz_settings(row)
    # The quiz's own rules, less the delay between attempts, which a sitting does not keep.
    if sitting.phase(now) != "open" or start_refusal(quiz, row.used, None, now) is not None:
        return None, None, token
    return PreparedStart(row.seat_attempt_id, row.used + 1, deadline_for(sitting, quiz, now)), None, token


# --------------------------------------------------------------------------- the live view
def status_expression():
    """The live status of a member, in SQL (one home: the counts and the lists both use it):
    submitted, started (in progress), lobby (opened it, not started), absent (neither)."""
    return sa.case((Attempt.state == "finished", "submitted"), (Attempt.state == "in_progress", "started"),
                   (SittingMember.lobby_at.is_not(None), "lobby"), else_="absent")


def _members_stmt(sitting: Sitting, root: OrgUnit | None, *columns):
    stmt = (sa.select(*columns).select_from(SittingMember).join(User, User.id == SittingMember.user_id)
            .outerjoin(Attempt, Attempt.id == SittingMember.attempt_id)
            .where(SittingMember.sitting_id == sitting.id))
    if root is not None:
        stmt = stmt.where(User.unit_id.in_(_units_under(root)))
    return stmt


def live_counts(sitting: Sitting, root: OrgUnit | None) -> dict[str, int]:
    """How many expected learners (within scope `root`) are in each status, with `total` and
    `prepared` (attempts drawn ahead, started or not)."""
    statuses = _members_stmt(sitting, root, status_expression().label("status"),
                             SittingMember.attempt_id.label("attempt_id")).subquery()
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in db.session.execute(sa.select(statuses.c.status, sa.func.count())
                                            .group_by(statuses.c.status)):
        counts[status] = count
    counts["total"] = sum(counts[s] for s in STATUSES)
    counts["prepared"] = db.session.scalar(sa.select(sa.func.count()).select_from(statuses)
                                           .where(statuses.c.attempt_id.is_not(None))) or 0
    return counts


@dataclass
class MemberRow:
    user: User
    status: str
    lobby_at: datetime | None
    started_at: datetime | None
    submitted_at: datetime | None
    deadline: datetime | None


def live_members(sitting: Sitting, root: OrgUnit | None, status: str = "", page: int = 1, per_page: int = 50):
    """A page of the expected learners within scope, by name, filtered by status: (pagination, rows)."""
    stmt = _members_stmt(sitting, root, SittingMember.id).order_by(User.sort_key, User.id)
    if status in STATUSES:
        stmt = stmt.where(status_expression() == status)
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    ids = list(pagination.items)
    rows = []
    if ids:
        found = db.session.execute(
            _members_stmt(sitting, None, User, status_expression(), SittingMember.lobby_at, Attempt.started_at,
                          Attempt.submitted_at, Attempt.deadline, SittingMember.id)
            .options(joinedload(User.unit)).where(SittingMember.id.in_(ids))).all()
        by_id = {row[-1]: row for row in found}
        for member_id in ids:
            user, state, lobby_at, started_at, submitted_at, deadline, _id = by_id[member_id]
            rows.append(MemberRow(user, state, lobby_at, started_at if state in ("started", "submitted") else None,
                                  submitted_at, deadline if state in ("started", "submitted") else None))
    return pagination, rows


# --------------------------------------------------------------------------- a learner's sittings
def my_sittings(user: User, now: datetime) -> dict[int, Seat]:
    """For each quiz, the learner's next sitting they can still join (or are taking): {quiz id: seat}.
    Sittings finished by the learner, cancelled or past their join window are left out."""
    result: dict[int, Seat] = {}
    for seat in _seats(user, [Sitting.cancelled_at.is_(None), Sitting.ends_at > now,
                              Sitting.id.in_(sa.select(SittingMember.sitting_id)
                                             .where(SittingMember.user_id == user.id))]):
        if seat.attempt_state == "finished":
            continue
        if seat.attempt_state != "in_progress" and seat.sitting.phase(now) not in ("upcoming", "open"):
            continue
        result.setdefault(seat.sitting.quiz_id, seat)
    return result


def set_only_in_sittings(quiz: Quiz, value: bool, actor: User) -> None:
    """Keep a quiz to its sittings (or open it again to anyone allowed); audited."""
    if bool(quiz.only_in_sittings) == bool(value):
        return
    quiz.only_in_sittings = bool(value)
    audit.record(actor, "quiz.only_in_sittings", f"quiz:{quiz.id}", title=quiz.title, value=bool(value))
    db.session.flush()
