"""The append-only audit log: who changed what, when, before → after."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from modops.store.db import utcnow
from modops.store.models import AuditLog, User

SYSTEM_ACTOR = "system"


def record(
    session: Session,
    *,
    actor: User | str | None,
    action: str,
    entity: str,
    entity_id: Any = None,
    project_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog:
    """Add one audit row to the caller's transaction: it commits or rolls back with the change."""
    if isinstance(actor, User):
        actor_id, actor_name = actor.id, actor.username
    else:
        actor_id, actor_name = None, actor or SYSTEM_ACTOR
    entry = AuditLog(
        at=utcnow(),
        actor_id=actor_id,
        actor=actor_name,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        project_id=project_id,
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


def changed_fields(
    before: dict[str, Any], after: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keep only the keys whose values differ, so audit rows say exactly what changed."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
