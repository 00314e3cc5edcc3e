"""Admin area: org units, positions, officials, competencies, roster import, audit log."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from training.access import access
from training.admin import bp
from training.admin.forms import (CompetencyForm, ConfirmForm, PositionForm, RosterForm, SettingsForm, UnitForm,
                                  UserForm)
from training.extensions import db
from training.models import AuditEntry, Competency, OrgUnit, Position, User
from training.services import audit
from training.services.competencies import all_competencies
from training.services.org import (OrgError, create_position, create_unit, get_position_by_code, get_unit_by_code,
                                   update_unit, units_in_scope)
from training.services.people import officials_query
from training.services.roster import RosterFileError, import_roster
from training.services.users import AccountError, create_user, generate_password, normalise_email
from training.vntext import collation_key, nfc


def _unit_choices(blank: str | None = None, exclude: OrgUnit | None = None):
    choices = [(0, blank)] if blank is not None else []
    for unit in db.session.scalars(units_in_scope(None).order_by(None).order_by(OrgUnit.path)):
        if exclude is not None and unit.is_within(exclude):
            continue
        choices.append((unit.id, "— " * unit.depth + f"{unit.name} ({unit.code})"))
    return choices


def _position_choices():
    positions = db.session.scalars(sa.select(Position).order_by(Position.sort_key))
    return [(0, _("(Chưa xác định)"))] + [(p.id, p.name) for p in positions]


@bp.route("/")
@access("admin")
def index():
    counts = {
        "units": db.session.scalar(sa.select(sa.func.count(OrgUnit.id))),
        "positions": db.session.scalar(sa.select(sa.func.count(Position.id))),
        "users": db.session.scalar(sa.select(sa.func.count(User.id))),
        "competencies": db.session.scalar(sa.select(sa.func.count(Competency.id))),
    }
    return render_template("admin/index.html", counts=counts)


# --------------------------------------------------------------------------- units
@bp.route("/units")
@access("admin")
def units():
    q = nfc(request.args.get("q", ""))
    counts = dict(db.session.execute(
        sa.select(User.unit_id, sa.func.count(User.id)).group_by(User.unit_id)).all())
    stmt = sa.select(OrgUnit).order_by(OrgUnit.path)
    if q:
        stmt = stmt.where(sa.or_(OrgUnit.code.like(f"%{q.upper()}%"), OrgUnit.name.ilike(f"%{q}%")))
    page = db.paginate(stmt, per_page=100, error_out=False)
    # Within one parent, siblings appear in Vietnamese order.
    items = sorted(page.items, key=lambda u: [collation_key(p) for p in _ancestry_names(u)])
    return render_template("admin/units.html", page=page, units=items, counts=counts, q=q)


def _ancestry_names(unit: OrgUnit) -> list[str]:
    names = []
    while unit is not None:
        names.append(unit.name)
        unit = unit.parent
    return list(reversed(names))


@bp.route("/units/new", methods=["GET", "POST"])
@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@access("admin")
def edit_unit(unit_id: int | None = None):
    unit = db.get_or_404(OrgUnit, unit_id) if unit_id else None
    form = UnitForm(obj=unit)
    form.parent_id.choices = _unit_choices(_("(Không có — cấp cao nhất)"), exclude=unit)
    if request.method == "GET" and unit is not None:
        form.parent_id.data = unit.parent_id or 0
    if unit is not None:
        form.code.render_kw = {"readonly": True}
    if form.validate_on_submit():
        parent = db.session.get(OrgUnit, form.parent_id.data) if form.parent_id.data else None
        try:
            if unit is None:
                if get_unit_by_code(form.code.data):
                    raise OrgError(_("Mã đơn vị %(code)s đã tồn tại.", code=form.code.data.upper()))
                unit = create_unit(form.code.data, form.name.data, form.unit_type.data, parent)
                audit.record(current_user, "unit.create", unit.code)
            else:
                update_unit(unit, name=form.name.data, unit_type=form.unit_type.data, parent=parent)
                audit.record(current_user, "unit.update", unit.code)
        except OrgError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Đã lưu đơn vị %(name)s.", name=unit.name), "success")
            return redirect(url_for("admin.units"))
    return render_template("admin/unit_form.html", form=form, unit=unit)


# --------------------------------------------------------------------------- positions
@bp.route("/positions")
@access("admin")
def positions():
    page = db.paginate(sa.select(Position).order_by(Position.sort_key), per_page=50, error_out=False)
    return render_template("admin/positions.html", page=page)


def _position_fields(position: Position) -> dict:
    return {"name": position.name, "description": position.description,
            "competencies": sorted(c.code for c in position.required_competencies)}


@bp.route("/positions/new", methods=["GET", "POST"])
@bp.route("/positions/<int:position_id>", methods=["GET", "POST"])
@access("admin")
def edit_position(position_id: int | None = None):
    position = db.get_or_404(Position, position_id) if position_id else None
    form = PositionForm(obj=position)
    competencies = all_competencies()
    form.competencies.choices = [(c.id, c.name(str(get_locale()))) for c in competencies]
    if request.method == "GET":
        if position is not None:
            form.competencies.data = [c.id for c in position.required_competencies]
        else:
            form.competencies.data = [c.id for c in competencies if c.is_core]
    if position is not None:
        form.code.render_kw = {"readonly": True}
    if form.validate_on_submit():
        chosen = [c for c in competencies if c.id in set(form.competencies.data or [])]
        if position is None:
            if get_position_by_code(form.code.data):
                flash(_("Mã vị trí %(code)s đã tồn tại.", code=form.code.data.upper()), "error")
                return render_template("admin/position_form.html", form=form, position=position), 400
            position = create_position(form.code.data, form.name.data, form.description.data or "", chosen)
            audit.record(current_user, "position.create", position.code)
        else:
            before = _position_fields(position)
            # A field the request did not send is left as it is (an unticked checkbox group still sends
            # its "-shown" marker, so "none ticked" and "not in this request" stay different).
            if "name" in request.form:
                position.name = nfc(form.name.data)
                position.sort_key = collation_key(position.name)
            if "description" in request.form:
                position.description = nfc(form.description.data)
            if "competencies-shown" in request.form:
                position.required_competencies = chosen
            audit.record(current_user, "position.update", position.code,
                         changes=audit.changes(before, _position_fields(position)))
        db.session.commit()
        flash(_("Đã lưu vị trí việc làm %(name)s.", name=position.name), "success")
        return redirect(url_for("admin.positions"))
    return render_template("admin/position_form.html", form=form, position=position)


# --------------------------------------------------------------------------- users
@bp.route("/users")
@access("admin")
def users():
    filters = {
        "q": nfc(request.args.get("q", "")),
        "unit": nfc(request.args.get("unit", "")).upper(),
        "role": request.args.get("role", ""),
        "status": request.args.get("status", ""),
    }
    unit = get_unit_by_code(filters["unit"]) if filters["unit"] else None
    if filters["unit"] and unit is None:
        flash(_("Không có đơn vị mã %(code)s.", code=filters["unit"]), "error")
    stmt = officials_query(scope=None, unit=unit, q=filters["q"], role=filters["role"] or None,
                           active={"active": True, "inactive": False}.get(filters["status"]))
    page = db.paginate(stmt, per_page=25, error_out=False)
    return render_template("admin/users.html", page=page, filters=filters, unit=unit)


def _user_fields(user: User) -> dict:
    return {"email": user.email, "full_name": user.full_name, "unit": user.unit.code if user.unit else None,
            "position": user.position.code if user.position else None, "roles": sorted(user.roles),
            "active": user.active}


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@access("admin")
def edit_user(user_id: int | None = None):
    user = db.get_or_404(User, user_id) if user_id else None
    form = UserForm(obj=user)
    form.unit_id.choices = _unit_choices(_("(Chưa xác định)"))
    form.position_id.choices = _position_choices()
    if request.method == "GET":
        if user is not None:
            form.unit_id.data = user.unit_id or 0
            form.position_id.data = user.position_id or 0
            form.roles.data = sorted(user.roles)
        else:
            form.roles.data = ["learner"]
    temporary_password = None
    if form.validate_on_submit():
        unit = db.session.get(OrgUnit, form.unit_id.data) if form.unit_id.data else None
        position = db.session.get(Position, form.position_id.data) if form.position_id.data else None
        try:
            if user is None:
                temporary_password = generate_password()
                user = create_user(form.email.data, form.full_name.data, password=temporary_password,
                                   roles=form.roles.data, unit=unit, position=position)
                user.active = form.active.data
                audit.record(current_user, "user.create", user.email, fields=_user_fields(user))
            else:
                email = normalise_email(form.email.data)
                other = db.session.scalar(sa.select(User).where(User.email == email, User.id != user.id))
                if other is not None:
                    raise AccountError(_("Email %(email)s đã được dùng cho một tài khoản khác.", email=email), "email")
                if user.id == current_user.id and ("admin" not in form.roles.data or not form.active.data):
                    raise AccountError(_("Bạn không thể tự bỏ quyền quản trị hoặc tự khóa tài khoản của mình."),
                                       "roles")
                before = _user_fields(user)
                if "email" in request.form:
                    user.email = email
                if "full_name" in request.form:
                    user.set_name(form.full_name.data)
                if "unit_id" in request.form:
                    user.unit = unit
                if "position_id" in request.form:
                    user.position = position
                if "roles-shown" in request.form:
                    user.set_roles(form.roles.data)
                if "active-shown" in request.form:
                    user.active = form.active.data
                changed = audit.changes(before, _user_fields(user))
                audit.record(current_user, "user.update", user.email, changes=changed)
                if "active" in changed and not user.active:
                    # A deactivated account is signed out everywhere and its tokens stop working.
                    from training.services.sessions import end_everything_else

                    end_everything_else(user, None, current_user, "deactivated")
        except AccountError as exc:
            db.session.rollback()
            getattr(form, exc.field or "email", form.email).errors.append(str(exc))
            return render_template("admin/user_form.html", form=form, user=user if user_id else None,
                                   reset_form=ConfirmForm(), **_identity_of(user if user_id else None)), 400
        db.session.commit()
        if temporary_password:
            flash(_("Đã tạo tài khoản %(email)s. Mật khẩu tạm thời: %(password)s — người dùng phải đổi mật khẩu "
                    "ở lần đăng nhập đầu tiên.", email=user.email, password=temporary_password), "success")
        else:
            flash(_("Đã lưu tài khoản %(email)s.", email=user.email), "success")
        return redirect(url_for("admin.edit_user", user_id=user.id))
    return render_template("admin/user_form.html", form=form, user=user, reset_form=ConfirmForm(),
                           **_identity_of(user))


def _identity_of(user: User | None) -> dict:
    from training.services.sessions import live_sessions, live_tokens

    if user is None:
        return {"sessions": [], "tokens": []}
    return {"sessions": live_sessions(user), "tokens": live_tokens(user)}


@bp.route("/users/<int:user_id>/tokens/<int:token_id>/revoke", methods=["POST"])
@access("admin")
def revoke_user_token(user_id: int, token_id: int):
    from training.models import ApiToken
    from training.services.sessions import revoke_token

    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id or not ConfirmForm().validate_on_submit():
        abort(404)
    revoke_token(row, current_user)
    db.session.commit()
    flash(_("Đã thu hồi mã truy cập “%(name)s”.", name=row.name or "—"), "success")
    return redirect(url_for("admin.edit_user", user_id=user_id))


@bp.route("/users/<int:user_id>/sessions/end", methods=["POST"])
@access("admin")
def end_user_sessions(user_id: int):
    from training.services.sessions import end_other_sessions

    user = db.get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ended = end_other_sessions(user)
    audit.record(current_user, "auth.sessions_ended", user.email, reason="admin", sessions=ended, tokens=0)
    db.session.commit()
    flash(_("Đã kết thúc %(n)d phiên đăng nhập của %(email)s.", n=ended, email=user.email), "success")
    return redirect(url_for("admin.edit_user", user_id=user_id))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@access("admin")
def reset_user_password(user_id: int):
    from training.services.users import reset_password

    user = db.get_or_404(User, user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    password = reset_password(user, current_user)
    db.session.commit()
    flash(_("Mật khẩu tạm thời mới của %(email)s: %(password)s", email=user.email, password=password), "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))


# --------------------------------------------------------------------------- competencies
@bp.route("/competencies")
@access("admin")
def competencies():
    return render_template("admin/competencies.html", competencies=all_competencies())


@bp.route("/competencies/<int:competency_id>", methods=["GET", "POST"])
@access("admin")
def edit_competency(competency_id: int):
    competency = db.get_or_404(Competency, competency_id)
    form = CompetencyForm(obj=competency)
    if form.validate_on_submit():
        form.populate_obj(competency)
        competency.name_vi, competency.name_en = nfc(competency.name_vi), nfc(competency.name_en)
        audit.record(current_user, "competency.update", competency.code, validity_months=competency.validity_months)
        db.session.commit()
        flash(_("Đã lưu năng lực %(name)s.", name=competency.name_vi), "success")
        return redirect(url_for("admin.competencies"))
    return render_template("admin/competency_form.html", form=form, competency=competency)


# --------------------------------------------------------------------------- settings
@bp.route("/settings", methods=["GET", "POST"])
@access("admin")
def settings():
    from training.services.settings import DEFAULTS, get_setting, set_settings

    form = SettingsForm(data={key: get_setting(key) for key in DEFAULTS})
    if form.validate_on_submit():
        changed = set_settings({key: getattr(form, key).data for key in DEFAULTS}, current_user)
        db.session.commit()
        flash(_("Đã lưu cài đặt.") if changed else _("Không có thay đổi nào."), "success")
        return redirect(url_for("admin.settings"))
    return render_template("admin/settings.html", form=form), 400 if form.errors else 200


# --------------------------------------------------------------------------- roster
def _roster_folder():
    """Where checked roster files wait for "Nhập ngay" (the instance folder unless configured)."""
    from pathlib import Path

    from flask import current_app

    configured = current_app.config.get("ROSTER_UPLOAD_FOLDER")
    return Path(configured) if configured else Path(current_app.instance_path) / "roster_uploads"


def _render_roster(form, *, report=None, token=None, status=200, apply_error=None, links=None):
    from flask_babel import format_number

    from training.admin.forms import RosterApplyForm
    from training.services.roster import MAX_FILE_BYTES, MAX_ROWS, ROLE_NAMES_VI, VIETNAMESE_HEADERS

    apply_form = RosterApplyForm(formdata=None, data={"token": token}) if token else None
    return render_template("admin/roster.html", form=form, report=report, apply_form=apply_form,
                           apply_error=apply_error, max_mb=MAX_FILE_BYTES // (1024 * 1024),
                           max_rows=format_number(MAX_ROWS), links=links,
                           headers=VIETNAMESE_HEADERS, role_names=ROLE_NAMES_VI), status


def _base_url() -> str:
    """Where activation links point: PUBLIC_BASE_URL, else the address this request came in at."""
    from flask import current_app

    return (current_app.config.get("PUBLIC_BASE_URL") or request.url_root).rstrip("/")


@bp.route("/roster", methods=["GET", "POST"])
@access("admin")
def roster():
    """Step 1 ("Kiểm tra tệp") checks a file and keeps it; step 2 ("Nhập ngay") imports that same file.
    A large file is checked, then imported, by jobs with a progress page (ROSTER_JOB_MIN_BYTES)."""
    from flask import current_app

    from training.services.roster import MAX_FILE_BYTES
    from training.uploads import purge_uploads, store_upload

    folder = _roster_folder()
    purge_uploads(folder)
    form = RosterForm()
    if request.method == "POST" and "token" in request.form:
        return _roster_apply(form, folder)
    if not form.validate_on_submit():
        return _render_roster(form, status=400 if request.method == "POST" else 200)
    upload = form.file.data
    data = upload.read(MAX_FILE_BYTES + 1)
    if len(data) >= int(current_app.config.get("ROSTER_JOB_MIN_BYTES", 64 * 1024)):
        from training.jobs import create_job, start
        from training.services.roster import CHECK_JOB, precheck

        try:
            precheck(data, upload.filename or "")
        except RosterFileError as exc:
            form.file.errors.append(str(exc))
            return _render_roster(form, status=400)

        job = create_job(CHECK_JOB, user=current_user, input_data=data, params={"filename": upload.filename or ""},
                         title=_("Kiểm tra tệp danh sách %(name)s", name=upload.filename or "—"))
        db.session.commit()
        start(job)
        return redirect(url_for("jobs.detail", job_id=job.id))
    try:
        report = import_roster(data, upload.filename or "", actor=current_user, dry_run=True)
    except RosterFileError as exc:
        form.file.errors.append(str(exc))
        return _render_roster(form, status=400)
    finally:
        db.session.rollback()  # a check writes nothing
    if not report.ok:
        flash(_("Tệp có %(n)d dòng lỗi. Chưa có thay đổi nào được ghi; hãy sửa tệp và kiểm tra lại.",
                n=len(report.errors)), "error")
        return _render_roster(form, report=report, status=400)
    token = None
    if report.created or report.updated:
        token = store_upload(folder, data, user_id=current_user.id, meta={"filename": upload.filename or ""})
    return _render_roster(form, report=report, token=token)


def _roster_apply(form, folder):
    from flask import current_app

    from training.admin.forms import RosterApplyForm
    from training.services.roster import ActivationLinks
    from training.uploads import claim_upload

    apply_form = RosterApplyForm()
    if not apply_form.validate_on_submit():
        return _render_roster(form, status=400, apply_error=_(
            "Biểu mẫu đã hết hạn. Hãy chọn tệp và kiểm tra lại; chưa có thay đổi nào được ghi."))
    stored = claim_upload(folder, apply_form.token.data, user_id=current_user.id)
    if stored is None:
        return _render_roster(form, status=400, apply_error=_(
            "Không tìm thấy tệp đã kiểm tra: tệp đã được nhập, đã quá 1 giờ hoặc không phải của bạn. Hãy chọn tệp "
            "và kiểm tra lại; chưa có thay đổi nào được ghi."))
    data, meta = stored
    filename = str(meta.get("filename") or "")
    # New officials get activation links, shown once below (a small file: all of them fit on the page).
    links = ActivationLinks(_base_url(), send=request.form.get("send_links") == "1", keep=10_000)
    try:
        report = import_roster(data, filename, actor=current_user, on_activation=links)
        if report.ok:
            db.session.commit()
    except (RosterFileError, sa.exc.SQLAlchemyError):
        db.session.rollback()  # all or nothing, whatever failed
        current_app.logger.exception("roster import failed for %s", filename)
        return _render_roster(form, status=400, apply_error=_(
            "Không nhập được tệp; chưa có thay đổi nào được ghi. Hãy kiểm tra lại tệp."))
    if not report.ok:
        db.session.rollback()
        flash(_("Dữ liệu đã thay đổi từ lúc kiểm tra: tệp có %(n)d dòng lỗi. Chưa có thay đổi nào được ghi.",
                n=len(report.errors)), "error")
        return _render_roster(form, report=report, status=400)
    if links.queued:
        current_app.extensions["outbox"]["request_send"]()
    flash(_("Đã nhập danh sách: %(c)d tạo mới, %(u)d cập nhật, %(n)d không đổi.",
            c=len(report.created), u=len(report.updated), n=len(report.unchanged)), "success")
    return _render_roster(form, report=report, links=links)


@bp.route("/roster/jobs/<int:job_id>/apply", methods=["POST"])
@access("admin")
def roster_apply_job(job_id: int):
    """"Nhập ngay" on the page of a large file's check job: import that same stored file, by a job."""
    from training.jobs import create_job, start
    from training.models import Job
    from training.services.roster import APPLY_JOB, CHECK_JOB

    check = db.session.get(Job, job_id, with_for_update=True)
    if check is None or check.kind != CHECK_JOB or check.user_id != current_user.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    result = dict(check.result or {})
    if check.state != "done" or not result.get("ok"):
        flash(_("Tệp này chưa được kiểm tra xong hoặc có lỗi; chưa có thay đổi nào được ghi."), "error")
        return redirect(url_for("jobs.detail", job_id=check.id))
    if result.get("applied_job_id"):
        flash(_("Tệp này đã được nhập."), "info")
        return redirect(url_for("jobs.detail", job_id=result["applied_job_id"]))
    job = create_job(APPLY_JOB, user=current_user, total=result.get("rows"),
                     params={"source_job_id": check.id, "filename": check.params.get("filename", ""),
                             "send_links": request.form.get("send_links") == "1", "base_url": _base_url()},
                     title=_("Nhập danh sách %(name)s", name=check.params.get("filename") or "—"))
    result["applied_job_id"] = job.id
    result.pop("action", None)
    result["link"] = {"endpoint": "jobs.detail", "values": {"job_id": job.id}, "label": _("Xem việc nhập danh sách")}
    check.result = result
    db.session.commit()
    start(job)
    return redirect(url_for("jobs.detail", job_id=job.id))


@bp.route("/roster/template.<fmt>")
@access("admin")
def roster_template(fmt: str):
    """The roster template with Vietnamese headers: XLSX (with the codes) or CSV (`;`, UTF-8 with BOM)."""
    from flask import Response

    from training.services.roster_template import template_csv, template_xlsx

    if fmt == "xlsx":
        body, mimetype = template_xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    elif fmt == "csv":
        body, mimetype = template_csv(), "text/csv; charset=utf-8"
    else:
        abort(404)
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="mau-danh-sach-can-bo.{fmt}"'})


@bp.route("/roster/codes.csv")
@access("admin")
def roster_codes():
    """Unit, position and role codes for filling a roster CSV (`;`, UTF-8 with BOM)."""
    from flask import Response

    from training.services.roster_template import codes_csv

    return Response(codes_csv(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="danh-muc-ma.csv"'})


# --------------------------------------------------------------------------- audit log
@bp.route("/audit")
@access("admin")
def audit_log():
    action = request.args.get("action", "")
    stmt = sa.select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
    page = db.paginate(stmt, per_page=50, error_out=False)
    actions = db.session.scalars(sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all()
    return render_template("admin/audit.html", page=page, action=action, actions=actions)
