"""Exam sittings on the quizzes blueprint: HR and trainers schedule and follow them live; learners wait
in the lobby and are moved into their attempt at the start. Plus `flask quizzes prepare-sittings`."""
from __future__ import annotations

import sys
from datetime import datetime, time, timedelta, timezone

import click
import sqlalchemy as sa
from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateTimeLocalField, IntegerField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from quizzes import bp
from quizzes.attempts import AttemptError, now_utc, start_or_resume
from quizzes.cli import quizzes_group
from quizzes.models import Quiz, Sitting
from quizzes.sittings import (STATUSES, VIETNAM, SittingError, can_manage, can_see, cancel_sitting, deadline_for,
                              enter_lobby, live_counts, live_members, lobby_refresh_s, local_time,
                              prepare_batches, seat_for, set_only_in_sittings, schedule_sitting, sitting_scope,
                              sittings_to_prepare, visible_sittings)
from training.access import access
from training.admin.forms import ConfirmForm
from training.extensions import db
from training.forms import BaseForm, ChoiceField, ChoiceMessages, strip_filter
from training.models import OrgUnit, Position
from training.services import audit
from training.services.org import units_in_scope
from training.vntext import collation_key

DATETIME_LOCAL = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
LIVE_REFRESH_S = 20
PHASE_LABELS = {"upcoming": _l("Sắp diễn ra"), "open": _l("Đang cho vào thi"), "closed": _l("Đang làm bài"),
                "ended": _l("Đã kết thúc"), "cancelled": _l("Đã hủy")}
STATUS_LABELS = {"lobby": _l("Đang ở phòng chờ"), "started": _l("Đang làm bài"), "submitted": _l("Đã nộp bài"),
                 "absent": _l("Chưa vào")}
LATE_LABELS = {"remaining": _l("Làm trong thời gian còn lại: cả ca nộp bài cùng một giờ"),
               "full": _l("Có đủ thời gian làm bài, tính từ lúc vào")}


class ChoiceRadio(ChoiceMessages, RadioField):
    """Radio buttons with their messages in the user's language."""


class SittingForm(BaseForm):
    quiz_id = ChoiceField(_l("Bài kiểm tra"), coerce=int, validators=[DataRequired(_l("Hãy chọn bài kiểm tra."))])
    title = StringField(_l("Tên ca thi (không bắt buộc)"), filters=[strip_filter],
                        validators=[Optional(), Length(max=200)])
    starts_at = DateTimeLocalField(_l("Giờ bắt đầu (giờ Việt Nam)"), format=DATETIME_LOCAL, validators=[
        DataRequired(_l("Vui lòng nhập giờ bắt đầu đúng dạng ngày và giờ (giờ Việt Nam)."))])
    join_window_min = IntegerField(_l("Cho phép vào muộn tối đa (phút sau giờ bắt đầu)"), default=15, validators=[
        InputRequired(_l("Vui lòng nhập thời gian cho phép vào muộn (phút).")),
        NumberRange(min=1, max=240, message=_l("Từ 1 đến 240 phút."))])
    time_limit_min = IntegerField(_l("Thời gian làm bài (phút)"), validators=[
        Optional(), NumberRange(min=1, max=1440, message=_l("Từ 1 đến 1440 phút."))])
    late_policy = ChoiceRadio(_l("Người vào muộn"), choices=list(LATE_LABELS.items()), default="remaining")
    target = ChoiceRadio(_l("Đối tượng dự thi"), default="unit", choices=[
        ("unit", _l("Một đơn vị (gồm cả đơn vị cấp dưới), có thể chọn vị trí")),
        ("people", _l("Danh sách cán bộ (theo email)"))])
    unit_id = ChoiceField(_l("Đơn vị"), coerce=int)
    position_id = ChoiceField(_l("Vị trí việc làm"), coerce=int)
    emails = TextAreaField(_l("Email của cán bộ (mỗi dòng một email)"), render_kw={"rows": 6},
                           validators=[Optional(), Length(max=500_000)])
    submit = SubmitField(_l("Xếp ca thi"))


def _scope_or_403():
    allowed, root = sitting_scope(current_user)
    if not allowed:
        abort(403)
    return root


def _visible_or_404(sitting_id: int, root) -> Sitting:
    sitting = db.get_or_404(Sitting, sitting_id)
    if not can_see(root, sitting):
        abort(404)
    return sitting


def to_utc(local: datetime | None) -> datetime | None:
    """A datetime-local typed in Vietnam as the UTC instant it means."""
    return None if local is None else local.replace(tzinfo=VIETNAM).astimezone(timezone.utc)


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- HR and trainers
@bp.route("/sittings/")
@access("hr", "trainer", "admin")
def sittings():
    root = _scope_or_403()
    now = now_utc()
    quiz_id = request.args.get("quiz_id", type=int)
    when = request.args.get("when", "")
    stmt = visible_sittings(root)
    if quiz_id:
        stmt = stmt.where(Sitting.quiz_id == quiz_id)
    if when == "upcoming":
        stmt = stmt.where(Sitting.cancelled_at.is_(None), Sitting.ends_at > now)
    elif when == "past":
        stmt = stmt.where(sa.or_(Sitting.cancelled_at.is_not(None), Sitting.ends_at <= now))
    page = db.paginate(stmt, per_page=25, error_out=False)
    quizzes = sorted(db.session.scalars(sa.select(Quiz).where(Quiz.status == "published")),
                     key=lambda q: collation_key(q.title))
    quiz = db.session.get(Quiz, quiz_id) if quiz_id else None
    return render_template("quizzes/sittings/list.html", page=page, now=now, quizzes=quizzes, quiz=quiz,
                           filters={"quiz_id": quiz_id or 0, "when": when}, phase_labels=PHASE_LABELS,
                           may_restrict=current_user.has_role("trainer", "admin"), form=ConfirmForm())


def _fill_choices(form: SittingForm, root) -> None:
    quizzes = sorted(db.session.scalars(sa.select(Quiz).where(Quiz.status == "published")),
                     key=lambda q: collation_key(q.title))
    form.quiz_id.choices = [(q.id, q.title) for q in quizzes]
    units = db.session.scalars(units_in_scope(root).order_by(None).order_by(OrgUnit.path)).all()
    form.unit_id.choices = [(0, _("Toàn bộ hệ thống") if root is None else _("(Chọn đơn vị)"))] + [
        (u.id, "— " * (u.depth - (root.depth if root else 0)) + u.name) for u in units]
    form.position_id.choices = [(0, _("Mọi vị trí"))] + [
        (p.id, p.name) for p in db.session.scalars(sa.select(Position).order_by(Position.sort_key))]


@bp.route("/sittings/new", methods=["GET", "POST"])
@access("hr", "trainer", "admin")
def new_sitting():
    root = _scope_or_403()
    form = SittingForm()
    _fill_choices(form, root)
    if request.method == "GET":
        form.quiz_id.data = request.args.get("quiz_id", type=int)
        form.unit_id.data = root.id if root is not None else 0
        tomorrow = (now_utc().astimezone(VIETNAM) + timedelta(days=1)).date()
        form.starts_at.data = datetime.combine(tomorrow, time(8, 0))
    problems: list[str] = []
    if form.validate_on_submit():
        quiz = db.session.get(Quiz, form.quiz_id.data)
        unit = db.session.get(OrgUnit, form.unit_id.data) if form.unit_id.data else None
        position = db.session.get(Position, form.position_id.data) if form.position_id.data else None
        # Left empty, the sitting takes the quiz's own time limit (and asks for one when it has none).
        minutes = form.time_limit_min.data
        try:
            sitting = schedule_sitting(
                quiz=quiz, actor=current_user, root=root, starts_at=to_utc(form.starts_at.data),
                join_window_s=form.join_window_min.data * 60,
                time_limit_s=minutes * 60 if minutes else (quiz.time_limit_s if quiz else None),
                late_policy=form.late_policy.data, target=form.target.data, unit=unit, position=position,
                emails=form.emails.data or "", title=form.title.data or "")
        except SittingError as exc:
            db.session.rollback()
            problems = exc.messages
        else:
            db.session.commit()
            flash(_("Đã xếp ca thi “%(title)s” lúc %(t)s (giờ Việt Nam).", title=sitting.title or sitting.quiz.title,
                    t=local_time(sitting.starts_at)), "success")
            return redirect(url_for("quizzes.sitting_detail", sitting_id=sitting.id))
    invalid = request.method == "POST"
    return render_template("quizzes/sittings/new.html", form=form, problems=problems), 400 if invalid else 200


@bp.route("/sittings/<int:sitting_id>")
@access("hr", "trainer", "admin")
def sitting_detail(sitting_id: int):
    root = _scope_or_403()
    sitting = _visible_or_404(sitting_id, root)
    now = now_utc()
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    counts = live_counts(sitting, root)
    page, rows = live_members(sitting, root, status, request.args.get("page", 1, type=int))
    phase = sitting.phase(now)
    response = make_response(render_template(
        "quizzes/sittings/detail.html", sitting=sitting, counts=counts, page=page, rows=rows, status=status,
        phase=phase, now=now, statuses=STATUSES, status_labels=STATUS_LABELS, phase_labels=PHASE_LABELS,
        late_labels=LATE_LABELS, manage=can_manage(root, sitting), live=phase in ("upcoming", "open", "closed"),
        refresh_s=LIVE_REFRESH_S, form=ConfirmForm(), hr_links=current_user.has_role("hr", "admin")))
    if phase in ("upcoming", "open", "closed"):
        # The page follows the sitting by itself, without JavaScript (the CSP allows the header).
        response.headers["Refresh"] = str(LIVE_REFRESH_S)
    return _no_store(response)


def _manageable_or_404(sitting_id: int) -> tuple[Sitting, object]:
    root = _scope_or_403()
    sitting = _visible_or_404(sitting_id, root)
    if not can_manage(root, sitting):
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return sitting, root


@bp.route("/sittings/<int:sitting_id>/prepare", methods=["POST"])
@access("hr", "trainer", "admin")
def prepare_sitting_now(sitting_id: int):
    sitting, _root = _manageable_or_404(sitting_id)
    if sitting.phase(now_utc()) not in ("upcoming", "open"):
        flash(_("Ca thi đã hết giờ vào hoặc đã hủy; không cần chuẩn bị bài làm nữa."), "info")
        return redirect(url_for("quizzes.sitting_detail", sitting_id=sitting.id))
    audit.record(current_user, "sitting.prepare", f"sitting:{sitting.id}", quiz_id=sitting.quiz_id)
    db.session.commit()
    from training.jobs import enqueue

    try:
        result = enqueue("quizzes.sittings.prepare_sitting_job", sitting.id)
    except AttemptError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("quizzes.sitting_detail", sitting_id=sitting.id))
    if current_app.config.get("REDIS_URL"):
        flash(_("Đang chuẩn bị bài làm; số bài đã chuẩn bị tăng dần trên trang này."), "info")
    else:
        db.session.commit()
        flash(_("Đã chuẩn bị thêm %(n)d bài làm.", n=result or 0), "success")
    return redirect(url_for("quizzes.sitting_detail", sitting_id=sitting.id))


@bp.route("/sittings/<int:sitting_id>/cancel", methods=["POST"])
@access("hr", "trainer", "admin")
def cancel_sitting_view(sitting_id: int):
    sitting, _root = _manageable_or_404(sitting_id)
    if sitting.phase(now_utc()) in ("ended", "cancelled"):
        flash(_("Ca thi đã kết thúc hoặc đã hủy."), "info")
    else:
        cancel_sitting(sitting, current_user)
        db.session.commit()
        flash(_("Đã hủy ca thi. Ai đang làm bài vẫn làm tiếp đến hết giờ."), "success")
    return redirect(url_for("quizzes.sitting_detail", sitting_id=sitting.id))


@bp.route("/sittings/only/<int:quiz_id>", methods=["POST"])
@access("trainer", "admin")
def sitting_only(quiz_id: int):
    quiz = db.get_or_404(Quiz, quiz_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    value = request.form.get("only") == "1"
    set_only_in_sittings(quiz, value, current_user)
    db.session.commit()
    flash(_("“%(title)s” từ nay chỉ làm trong ca thi.", title=quiz.title) if value else
          _("“%(title)s” từ nay làm được cả ngoài ca thi.", title=quiz.title), "success")
    return redirect(url_for("quizzes.sittings", quiz_id=quiz.id))


# --------------------------------------------------------------------------- learners
def time_left(seconds: float) -> str:
    """A wait said the way people say it: 2 giờ 5 phút, 4 phút 10 giây, 30 giây."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(h)d giờ %(m)d phút", h=hours, m=minutes)
    if minutes:
        return _("%(m)d phút %(s)d giây", m=minutes, s=secs)
    return _("%(s)d giây", s=secs)


@bp.route("/sittings/<int:sitting_id>/lobby", methods=["GET", "POST"])
@access()
def lobby(sitting_id: int):
    sitting = db.get_or_404(Sitting, sitting_id)
    if request.method == "POST" and not ConfirmForm().validate_on_submit():
        abort(400)
    now = now_utc()
    seat = enter_lobby(sitting, current_user, now)
    db.session.commit()
    if seat is None:
        return render_template("errors/error.html", status=404,
                               message=_("Bạn không có tên trong ca thi này.")), 404
    phase = sitting.phase(now)
    if seat.attempt_state == "in_progress":
        return redirect(url_for("quizzes.attempt_page", attempt_id=seat.attempt_id))
    # Who waited in the lobby is moved in at the start; a late joiner presses the button, so that a
    # link followed by accident never starts anyone's clock.
    waited = seat.lobby_at is not None and seat.lobby_at < sitting.starts_at
    if phase == "open" and seat.attempt_state != "finished" and (request.method == "POST" or waited):
        try:
            attempt, _created = start_or_resume(sitting.quiz, current_user, now)
        except AttemptError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            return redirect(url_for("quizzes.attempt_page", attempt_id=attempt.id))
    seconds = (sitting.starts_at - now).total_seconds()
    refresh = lobby_refresh_s(seconds) if phase == "upcoming" else None
    response = make_response(render_template(
        "quizzes/sittings/lobby.html", sitting=sitting, seat=seat, phase=phase, now=now,
        wait=time_left(seconds) if seconds > 0 else "", form=ConfirmForm(), late_labels=LATE_LABELS,
        deadline=deadline_for(sitting, sitting.quiz, now) if phase == "open" else None, refresh_s=refresh))
    if refresh is not None:
        # Reloads itself without JavaScript (an HTTP header: the CSP allows it, and no <meta> is needed).
        response.headers["Refresh"] = str(refresh)
    return _no_store(response)


@bp.app_template_global("quiz_sitting")
def quiz_sitting(quiz: Quiz) -> dict | None:
    """For the quiz page: the learner's sitting of this quiz (with its lobby link), or whether the quiz
    is kept to sittings."""
    if not current_user.is_authenticated:
        return None
    now = now_utc()
    seat = seat_for(quiz, current_user, now)
    if seat is None:
        return {"seat": None, "only": True} if quiz.only_in_sittings else None
    return {"seat": seat, "phase": seat.sitting.phase(now), "only": quiz.only_in_sittings,
            "url": url_for("quizzes.lobby", sitting_id=seat.sitting.id)}


# --------------------------------------------------------------------------- cron
@quizzes_group.command("prepare-sittings")
@click.option("--hours", type=float, default=24.0, show_default=True,
              help="Prepare the sittings that start within this many hours.")
@click.option("--sitting", "sitting_id", type=int, default=None, help="Prepare this sitting only.")
def prepare_sittings_command(hours: float, sitting_id: int | None) -> None:
    """Draw the attempts of upcoming exam sittings ahead of their start (cron-able, idempotent)."""
    now = now_utc()
    if sitting_id is not None:
        sitting = db.session.get(Sitting, sitting_id)
        if sitting is None:
            click.echo(f"Lỗi: không có ca thi #{sitting_id}.", err=True)
            sys.exit(1)
        todo = [sitting] if sitting.phase(now) in ("upcoming", "open") else []
        if not todo:
            click.echo(f"Ca thi #{sitting_id} đã hết giờ vào hoặc đã hủy: không cần chuẩn bị.")
    else:
        todo = sittings_to_prepare(now, timedelta(hours=hours))
    failed = total = 0
    for sitting in todo:
        name = f"Ca thi #{sitting.id} “{sitting.title or sitting.quiz.title}” lúc {local_time(sitting.starts_at)}"
        try:
            for done, count in prepare_batches(sitting, now):
                db.session.commit()  # each batch kept: a long run interrupted resumes where it stopped
                click.echo(f"{name}: {done}/{count} bài làm đã chuẩn bị" if count else
                           f"{name}: không có bài làm nào cần chuẩn bị")
                if done == count:
                    total += done
        except AttemptError as exc:
            db.session.rollback()
            failed += 1
            click.echo(f"Lỗi: {name}: {exc}", err=True)
    click.echo(f"Xong: {total} bài làm mới cho {len(todo)} ca thi.")
    if failed:
        sys.exit(1)
