"""Site settings an admin changes at run time: one place that knows their names and defaults."""
from __future__ import annotations

from datetime import datetime, timezone

from training.extensions import db
from training.models import Setting, User
from training.services import audit

# Granting policy: a quiz may grant a competency only with a pass mark at or above the floor and at
# least this many graded questions in every attempt (a trainer cannot mint competencies).
DEFAULTS: dict[str, int] = {
    "grant_min_pass_percent": 70,
    "grant_min_questions": 10,
}


def get_setting(key: str):
    """The setting's value, or its default when an admin never changed it."""
    row = db.session.get(Setting, key)
    return row.value if row is not None and row.value is not None else DEFAULTS[key]


def set_settings(values: dict, actor: User | None) -> dict:
    """Change settings; audited with old and new values. Returns {key: (old, new)} of what changed."""
    changed = {}
    for key, value in values.items():
        if key not in DEFAULTS:
            raise KeyError(key)
        old = get_setting(key)
        if old == value:
            continue
        row = db.session.get(Setting, key) or Setting(key=key)
        row.value = value
        row.updated_at = datetime.now(timezone.utc)
        row.updated_by_id = actor.id if actor is not None else None
        db.session.add(row)
        changed[key] = (old, value)
    if changed:
        audit.record(actor, "settings.update", ", ".join(sorted(changed)),
                     changes={key: {"old": old, "new": new} for key, (old, new) in changed.items()})
    db.session.flush()
    return changed
