"""Writing the audit log."""
from __future__ import annotations

from training.extensions import db
from training.models import AuditEntry, User


def record(actor: User | None, action: str, target: str = "", **details) -> AuditEntry:
    """Add an audit entry in the caller's transaction (so it lands exactly when the change does), with
    the client's address when there is a request."""
    entry = AuditEntry(**entry_row(actor, action, target, **details))
    db.session.add(entry)
    return entry


def entry_row(actor: User | None, action: str, target: str = "", **details) -> dict:
    """An audit entry's row (record's, and a bulk writer's that inserts it with its change)."""
    from training.models.types import utcnow
    from training.services.sessions import client_address

    return {"created_at": utcnow(), "actor_id": actor.id if actor is not None else None, "action": action,
            "target": (target or "")[:200], "details": details, "address": client_address()}


def changes(before: dict, after: dict) -> dict:
    """{field: {"old": …, "new": …}} for the fields whose value differs (the audit's "what changed")."""
    return {key: {"old": before.get(key), "new": value} for key, value in after.items() if before.get(key) != value}


def audited_stream(chunks, actor: User | None, action: str, target: str = "", **details):
    """Yield `chunks`, then record the audit entry once the whole download has been produced (its own
    short transaction: the request's has ended); a download that fails is recorded as failed."""
    actor_id = actor.id if actor is not None else None
    count = 0
    try:
        for chunk in chunks:
            count += 1
            yield chunk
    except Exception:
        db.session.rollback()
        _record_by_id(actor_id, action, target, status="failed", **details)
        db.session.commit()
        raise
    _record_by_id(actor_id, action, target, status="done", **details)
    db.session.commit()


def _record_by_id(actor_id, action, target, **details):
    from training.services.sessions import client_address

    db.session.add(AuditEntry(actor_id=actor_id, action=action, target=(target or "")[:200], details=details,
                              address=client_address()))
