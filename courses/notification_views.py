"""The signed-in official's notifications (nhắc việc): list, mark one or all as read."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from courses import bp
from courses.reminders import mark_all_read, mark_read, notifications_query, unread_count
from training.access import access
from training.extensions import db
from training.main.views import safe_next


@bp.app_context_processor
def inject_unread_notifications():
    """`unread_notifications` (int) in every template, for the header of signed-in users."""
    user = current_user
    if user is None or not getattr(user, "is_authenticated", False):
        return {"unread_notifications": 0}
    try:
        return {"unread_notifications": unread_count(user.id)}
    except SQLAlchemyError:  # e.g. while rendering the error page of a failed transaction
        current_app.logger.warning("could not count unread notifications", exc_info=True)
        return {"unread_notifications": 0}


def _back() -> str:
    return safe_next(request.form.get("next"), url_for("courses.notifications"))


@bp.route("/notifications")
@access()
def notifications():
    page = db.paginate(notifications_query(current_user.id), per_page=current_app.config["PER_PAGE"],
                       error_out=False)
    return render_template("courses/notifications.html", page=page, unread=unread_count(current_user.id))


@bp.route("/notifications/read-all", methods=["POST"])
@access()
def notifications_read_all():
    changed = mark_all_read(current_user.id)
    db.session.commit()
    if changed:
        flash(_("Đã đánh dấu %(n)d nhắc việc là đã đọc.", n=changed), "success")
    return redirect(_back())


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@access()
def notification_read(notification_id: int):
    if mark_read(current_user.id, notification_id) is None:
        abort(404)
    db.session.commit()
    return redirect(_back())
