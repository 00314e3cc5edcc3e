"""What the HR official page shows about quizzes: the official's attempts with their scores."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from quizzes.models import Attempt
from training.extensions import db
from training.models import User

RECENT_ATTEMPTS = 50


def attempts_section(user: User):
    attempts = db.session.scalars(
        sa.select(Attempt).options(joinedload(Attempt.quiz)).where(Attempt.user_id == user.id, Attempt.state != "prepared")
        .order_by(Attempt.started_at.desc(), Attempt.id.desc()).limit(RECENT_ATTEMPTS)).all()
    total = db.session.scalar(sa.select(sa.func.count(Attempt.id)).where(Attempt.user_id == user.id,
                                                                         Attempt.state != "prepared"))
    return [(_l("Bài kiểm tra đã làm"), "hr/sections/attempts.html",
             {"attempts": attempts, "total": total, "limit": RECENT_ATTEMPTS})]


def register(app) -> None:
    app.extensions.setdefault("official_sections", []).append(attempts_section)
