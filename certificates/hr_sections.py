"""What the HR official page shows about certificates: each certificate with its status."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from certificates.models import Certificate
from training.extensions import db
from training.models import User


def certificates_section(user: User):
    now = datetime.now(timezone.utc)
    certificates = db.session.scalars(sa.select(Certificate).where(Certificate.user_id == user.id)
                                      .order_by(Certificate.issued_at.desc(), Certificate.id.desc())).all()
    return [(_l("Chứng nhận"), "hr/sections/certificates.html",
             {"certificates": [(c, c.status(now)) for c in certificates]})]


def register(app) -> None:
    app.extensions.setdefault("official_sections", []).append(certificates_section)
