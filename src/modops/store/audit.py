"""The append-only audit log: who changed what, when, before → after."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from modops.domain.cells import csv_cell
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


# --- reading the log (the admin's viewer, the API and the CLI) ------------------------------

AUDIT_COLUMNS = ("id", "at", "actor", "action", "entity", "entity_id", "project_id", "before",
                 "after")
MAX_PAGE = 500


@dataclass(frozen=True)
class AuditFilter:
    """What to look for. ``action`` matches a prefix (``user`` finds ``user.role`` and
    ``user.deactivate``); the others match exactly; ``since``/``until`` are UTC, ``until``
    exclusive."""

    actor: str | None = None
    action: str | None = None
    entity: str | None = None
    entity_id: str | None = None
    project_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        for column, value in ((AuditLog.actor, self.actor), (AuditLog.entity, self.entity),
                              (AuditLog.entity_id, self.entity_id),
                              (AuditLog.project_id, self.project_id)):
            if value not in (None, ""):
                conds.append(column == value)
        if self.action:
            conds.append(AuditLog.action.startswith(self.action, autoescape=True))
        if self.since is not None:
            conds.append(AuditLog.at >= self.since)
        if self.until is not None:
            conds.append(AuditLog.at < self.until)
        return conds


def search_audit(session: Session, flt: AuditFilter, *, before_id: int | None = None,
                 limit: int = 50) -> list[AuditLog]:
    """Newest first, ``limit`` rows older than ``before_id`` (keyset paging: a page costs the
    same on the 20,000th row as on the first)."""
    q = select(AuditLog).where(*flt.where())
    if before_id is not None:
        q = q.where(AuditLog.id < before_id)
    return list(session.scalars(q.order_by(AuditLog.id.desc()).limit(min(max(limit, 1),
                                                                          MAX_PAGE))))


def count_audit(session: Session, flt: AuditFilter) -> int:
    return int(session.scalar(select(func.count(AuditLog.id)).where(*flt.where())) or 0)


def audit_actions(session: Session) -> list[str]:
    """Every action name the log holds (for the viewer's filter list)."""
    return sorted(session.scalars(select(AuditLog.action).distinct()))


def audit_row(entry: AuditLog) -> dict[str, Any]:
    """One entry as plain values (JSON-safe): what the API returns and the CSV writes."""
    return {"id": entry.id, "at": entry.at.replace(microsecond=0).isoformat() + "Z",
            "actor": entry.actor, "action": entry.action, "entity": entry.entity,
            "entity_id": entry.entity_id, "project_id": entry.project_id,
            "before": entry.before, "after": entry.after}


def audit_csv(session: Session, flt: AuditFilter, limit: int = 1_000_000) -> Iterator[str]:
    """The matching entries as CSV text, newest first, a header line first. Every cell goes
    through ``csv_cell``: an actor or a value can be text someone typed (CSV injection)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(AUDIT_COLUMNS)
    before: int | None = None
    left = limit
    while left > 0:
        page = search_audit(session, flt, before_id=before, limit=min(MAX_PAGE, left))
        for entry in page:
            row = audit_row(entry)
            writer.writerow([csv_cell(_cell(row[c])) for c in AUDIT_COLUMNS])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
        if len(page) < MAX_PAGE:
            return
        before, left = page[-1].id, left - len(page)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def project_id_of(session: Session, key: str | None) -> int | None:
    """A project key as the filter's id (None: any project; -1: a key no project has, which
    matches nothing rather than everything)."""
    if not key:
        return None
    from modops.store.models import Project

    found = session.scalar(select(Project.id).where(Project.key == key))
    return -1 if found is None else int(found)
