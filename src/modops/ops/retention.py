"""Data retention per project: purge items older than ``settings["retention_days"]``.

Content under moderation is personal data with a purpose limit: once decided and past the
retention period it must go. The purge deletes items (their tasks, annotations, decisions,
skips, appeals and routing rows go with them by ``ON DELETE CASCADE``) in batches so no
transaction holds locks for long, and writes one audit row per purge saying how many went and
the cutoff. Items still in the queue (not decided) are kept: purging them would pull work out
from under labelers holding leases; they age out once decided.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, delete, select

from modops.domain import ItemState, ValidationError
from modops.projects import get_project
from modops.store import session_scope, utcnow
from modops.store.audit import record
from modops.store.models import Item, User

BATCH = 2_000
FINAL_STATES = (ItemState.DECIDED.value,)


def retention_days(settings: dict[str, Any] | None) -> int | None:
    value = (settings or {}).get("retention_days")
    if value in (None, "", 0):
        return None
    days = int(value)
    if days < 1:
        raise ValidationError("retention_days must be at least 1")
    return days


def purge_project(engine: Engine, project_key: str, *, days: int | None = None,
                  actor: User | str | None = "retention") -> dict[str, Any]:
    """Delete the project's decided items ingested more than ``days`` ago (default: the
    project's ``retention_days``; nothing happens without one). Returns what was done."""
    with session_scope(engine) as s:
        project = get_project(s, project_key)
        pid = project.id
        days = days if days is not None else retention_days(project.settings)
    if days is None:
        return {"project": project_key, "purged": 0, "retention_days": None}
    if days < 1:
        raise ValidationError("retention_days must be at least 1")
    cutoff = utcnow() - timedelta(days=days)
    purged = 0
    while True:
        with session_scope(engine) as s:
            ids = list(s.scalars(select(Item.id).where(
                Item.project_id == pid, Item.ingested_at < cutoff,
                Item.state.in_(FINAL_STATES)).order_by(Item.id).limit(BATCH)))
            if not ids:
                break
            s.execute(delete(Item).where(Item.id.in_(ids)))
            purged += len(ids)
    with session_scope(engine) as s:
        record(s, actor=actor, action="retention.purge", entity="project", entity_id=project_key,
               project_id=pid, after={"purged": purged, "retention_days": days,
                                      "cutoff": cutoff.isoformat()})
    return {"project": project_key, "purged": purged, "retention_days": days,
            "cutoff": cutoff.isoformat()}
