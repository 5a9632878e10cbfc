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
    """The project's retention period in days, None for none (the setting is validated when
    it is written: ``modops.projects.service.retention_setting``)."""
    from modops.projects.service import retention_setting

    value = (settings or {}).get("retention_days")
    return None if value in (None, "", 0) else retention_setting(value)


def check_purge_days(settings: dict[str, Any] | None, days: Any) -> int | None:
    """A purge may keep more than the project's retention period, never less: ``days`` None
    means the setting itself; a project without a retention setting purges nothing."""
    if days is None:
        return retention_days(settings)
    if isinstance(days, bool) or not isinstance(days, int):
        raise ValidationError(f"days must be a whole number, got {days!r}")
    setting = retention_days(settings)
    if setting is None:
        raise ValidationError("the project has no retention_days setting: nothing may be "
                              "purged until a manager sets one (the change is audited)")
    if days < setting:
        raise ValidationError(f"days={days} is shorter than the project's retention_days "
                              f"({setting}); a purge never deletes earlier than the setting")
    return days


def purge_project(engine: Engine, project_key: str, *, days: int | None = None,
                  actor: User | str | None = "retention") -> dict[str, Any]:
    """Delete the project's decided items ingested more than ``days`` ago (default: the
    project's ``retention_days``; ``days`` may only be longer; nothing happens without a
    setting). Returns what was done; one audit row either way."""
    with session_scope(engine) as s:
        project = get_project(s, project_key)
        pid = project.id
        days = check_purge_days(project.settings, days)
    if days is None:
        return {"project": project_key, "purged": 0, "retention_days": None}
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
