"""The learner's plan: each required competency with its state, the course and the quiz that lead to
it, the due date HR set, and one obvious next action.

The core knows competencies and records; the course and quiz packages add what they know through
`app.extensions["plan_providers"]` (training never imports them). A provider is called as
`provider(user, competency_ids, now)` and returns `{competency_id: {...}}` with any of:
`course` (dict: title, url, done, total, completed, resume_url, resume_title), `due_on` (date),
`overdue` (bool), `quiz` (dict: title, url, attempts_left, in_progress_url, grade, open), and
`extra` (a list of assigned courses tied to no competency, under the key None).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from flask import current_app
from flask_babel import gettext as _

from training.models import User
from training.services.standing import CompetencyStatus, competency_standing

URGENCY = {"expired": 0, "missing": 1, "expiring": 2, "held": 3}


@dataclass
class PlanRow:
    status: CompetencyStatus
    course: dict | None = None
    quiz: dict | None = None
    due_on: date | None = None
    overdue: bool = False
    action: tuple[str, str] | None = None   # (label, url)

    @property
    def needs_work(self) -> bool:
        return self.status.state != "held"


@dataclass
class Plan:
    rows: list[PlanRow] = field(default_factory=list)
    extra: list[dict] = field(default_factory=list)      # assigned courses tied to no competency
    next_action: tuple[str, str, PlanRow | None] | None = None

    @property
    def required_done(self) -> int:
        return sum(1 for row in self.rows if row.status.required and row.status.state in ("held", "expiring"))

    @property
    def required_total(self) -> int:
        return sum(1 for row in self.rows if row.status.required)


def _action(row: PlanRow) -> tuple[str, str] | None:
    """What this learner should do next for this competency, if anything."""
    quiz, course = row.quiz or {}, row.course or {}
    if row.status.state == "held":
        return None
    if quiz.get("in_progress_url"):
        return _("Tiếp tục bài kiểm tra"), quiz["in_progress_url"]
    if course and not course.get("completed") and course.get("done", 0) == 0 and not quiz.get("attempted"):
        return _("Bắt đầu học"), course.get("resume_url") or course["url"]
    if course and not course.get("completed") and course.get("done", 0) < course.get("total", 0) \
            and not quiz.get("attempted"):
        return _("Học tiếp: %(lesson)s", lesson=course.get("resume_title") or course["title"]), \
            course.get("resume_url") or course["url"]
    if quiz and quiz.get("open") and quiz.get("attempts_left") != 0:
        label = _("Làm lại bài kiểm tra") if row.status.state in ("expiring", "expired") else _("Làm bài kiểm tra")
        return label, quiz["url"]
    if course:
        return _("Ôn lại khóa học"), course["url"]
    return None


def learner_plan(user: User, now: datetime | None = None) -> Plan:
    """The plan for one learner: required competencies first, the most urgent at the top."""
    now = now or datetime.now(timezone.utc)
    standing = competency_standing(user, now)
    ids = [item.competency.id for item in standing]
    info: dict = {}
    for provider in current_app.extensions.get("plan_providers", []):
        for competency_id, values in provider(user, ids, now).items():
            info.setdefault(competency_id, {}).update(values)
    rows = []
    for item in standing:
        extra = info.get(item.competency.id, {})
        row = PlanRow(item, course=extra.get("course"), quiz=extra.get("quiz"), due_on=extra.get("due_on"),
                      overdue=bool(extra.get("overdue")))
        row.action = _action(row)
        rows.append(row)
    rows.sort(key=lambda r: (not r.status.required, not r.needs_work, not r.overdue, r.due_on or date.max,
                             URGENCY[r.status.state], r.status.competency.sort_order))
    plan = Plan(rows=rows, extra=info.get(None, {}).get("extra", []))
    first = next((row for row in rows if row.action and row.needs_work), None)
    if first is not None:
        plan.next_action = (*first.action, first)
    else:
        pending = next((course for course in plan.extra if not course.get("completed")), None)
        if pending is not None:
            plan.next_action = (_("Học tiếp khóa được giao: %(title)s", title=pending["title"]),
                                pending.get("resume_url") or pending["url"], None)
    return plan
