"""Learner pages: open quizzes, a quiz, the attempt (paged form + autosave), summary, submit, review."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from quizzes import bp
from quizzes.attempts import (AttemptError, attempts_left, attempts_used, finished_attempts, in_progress_attempt,
                              is_open, next_start_time, now_utc, quiz_grade, quizzes_open_to, review_allows,
                              save_answer, start_or_resume, submit_attempt, touch_deadline)
from quizzes.models import Attempt, Quiz
from quizzes.presenting import public_response, review_view, slot_view
from training.access import access
from training.admin.forms import ConfirmForm
from training.extensions import db


def _my_attempt_or_404(attempt_id: int) -> Attempt:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id or attempt.state == "prepared":
        abort(404)  # a sitting's prepared attempt is nobody's to see before the start
    return attempt


@bp.route("/")
@access()
def index():
    now = now_utc()
    quizzes = quizzes_open_to(current_user, now)
    used = attempts_used(current_user, quizzes)
    rows = [{"quiz": q, "grade": quiz_grade(q, current_user), "left": attempts_left(q, current_user, used.get(q.id, 0)),
             "in_progress": in_progress_attempt(q, current_user)} for q in quizzes]
    return render_template("quizzes/index.html", rows=rows)


@bp.route("/<int:quiz_id>")
@access()
def quiz_page(quiz_id: int):
    quiz = db.session.get(Quiz, quiz_id)
    if quiz is None or (quiz.status != "published" and not current_user.has_role("trainer", "admin")):
        abort(404)
    now = now_utc()
    current = in_progress_attempt(quiz, current_user)
    if current is not None:
        current = touch_deadline(current, now)
        db.session.commit()
        if current.state != "in_progress":
            current = None
    return render_template("quizzes/quiz.html", quiz=quiz, attempts=finished_attempts(quiz, current_user),
                           current=current, left=attempts_left(quiz, current_user), open=is_open(quiz, now),
                           grade=quiz_grade(quiz, current_user), wait_until=next_start_time(quiz, current_user),
                           now=now, form=ConfirmForm())


@bp.route("/<int:quiz_id>/start", methods=["POST"])
@access()
def start(quiz_id: int):
    quiz = db.session.get(Quiz, quiz_id)
    if quiz is None or quiz.status != "published":
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        attempt, _created = start_or_resume(quiz, current_user)
    except AttemptError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("quizzes.quiz_page", quiz_id=quiz.id))
    db.session.commit()
    return redirect(url_for("quizzes.attempt_page", attempt_id=attempt.id))


def _pages(attempt: Attempt) -> list[list]:
    size = max(1, attempt.quiz.questions_per_page or len(attempt.slots))
    return [attempt.slots[i:i + size] for i in range(0, len(attempt.slots), size)] or [[]]


def _response_from_form(slot, form) -> tuple[bool, object]:
    """(present, response) for one slot from a submitted page; absent fields keep the saved answer."""
    key = f"q{slot.slot}"
    qtype = slot.question_version.qtype
    if f"{key}-present" not in form:
        return False, None
    if qtype == "multi":
        return True, form.getlist(key)
    if qtype == "matching":
        prefix = f"{key}-"
        chosen = {name[len(prefix):]: value for name, value in form.items()
                  if name.startswith(prefix) and name != f"{key}-present" and value}
        return True, chosen
    value = form.get(key, "")
    return True, (value if value != "" else None)


@bp.route("/attempts/<int:attempt_id>", methods=["GET", "POST"])
@access()
def attempt_page(attempt_id: int):
    attempt = touch_deadline(_my_attempt_or_404(attempt_id))
    db.session.commit()
    if attempt.state != "in_progress":
        flash(_("Bài làm đã được nộp."), "info")
        return redirect(url_for("quizzes.review", attempt_id=attempt.id))
    pages = _pages(attempt)
    page = min(max(request.values.get("page", 1, type=int), 1), len(pages))
    errors: dict[int, str] = {}
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        for slot in pages[page - 1]:
            present, response = _response_from_form(slot, request.form)
            if not present:
                continue
            try:
                save_answer(attempt, slot.slot, response)
            except AttemptError as exc:
                if exc.status == 422:
                    errors[slot.slot] = str(exc)
                    continue
                db.session.rollback()
                flash(str(exc), "error")
                return redirect(url_for("quizzes.quiz_page", quiz_id=attempt.quiz_id))
        db.session.commit()
        if not errors:
            action = request.form.get("action", "next")
            if action == "finish":
                return redirect(url_for("quizzes.summary", attempt_id=attempt.id))
            target = page - 1 if action == "prev" else page + 1 if action == "next" else \
                request.form.get("goto", page, type=int)
            if target > len(pages):
                return redirect(url_for("quizzes.summary", attempt_id=attempt.id))
            return redirect(url_for("quizzes.attempt_page", attempt_id=attempt.id, page=max(1, target)))
    questions = [(slot, {**slot_view(slot), "response": public_response(slot)}) for slot in pages[page - 1]]
    db.session.commit()  # public ids drawn now for a slot saved before they existed must stay the same
    return render_template("quizzes/attempt.html", attempt=attempt, questions=questions, page=page,
                           pages=len(pages), errors=errors, form=ConfirmForm(),
                           first_slot_of_page=[p[0].slot for p in pages if p]), 422 if errors else 200


@bp.route("/attempts/<int:attempt_id>/summary")
@access()
def summary(attempt_id: int):
    attempt = touch_deadline(_my_attempt_or_404(attempt_id))
    db.session.commit()
    if attempt.state != "in_progress":
        return redirect(url_for("quizzes.review", attempt_id=attempt.id))
    pages = _pages(attempt)
    page_of = {slot.slot: number for number, page in enumerate(pages, start=1) for slot in page}
    return render_template("quizzes/summary.html", attempt=attempt, page_of=page_of, form=ConfirmForm())


@bp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@access()
def submit(attempt_id: int):
    attempt = _my_attempt_or_404(attempt_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    submit_attempt(attempt)
    db.session.commit()
    return redirect(url_for("quizzes.review", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>/review")
@access()
def review(attempt_id: int):
    attempt = touch_deadline(_my_attempt_or_404(attempt_id))
    db.session.commit()
    if attempt.state != "finished":
        return redirect(url_for("quizzes.attempt_page", attempt_id=attempt.id))
    allowed = {what: review_allows(attempt, what) for what in ("correctness", "right_answers", "feedback")}
    slots = [review_view(slot, correctness=allowed["correctness"], right_answers=allowed["right_answers"],
                         feedback=allowed["feedback"]) for slot in attempt.slots]
    return render_template("quizzes/review.html", attempt=attempt, slots=slots, allowed=allowed)

