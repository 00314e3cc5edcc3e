"""Writing the audit log."""
from __future__ import annotations

from training.extensions import db
from training.models import AuditEntry, User


def record(actor: User | None, action: str, target: str = "", **details) -> AuditEntry:
    """Add an audit entry for an HR or admin action (flushed with the caller's transaction)."""
    entry = AuditEntry(actor_id=actor.id if actor is not None else None, action=action,
                       target=target, details=details)
    db.session.add(entry)
    return entry
