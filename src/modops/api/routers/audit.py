"""The audit log, read-only: every change with who, when, before → after (admins)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from modops.api import policies
from modops.api.auth import Principal, current
from modops.api.deps import engine_of
from modops.store import session_scope
from modops.store.audit import (
    MAX_PAGE,
    AuditFilter,
    audit_csv,
    audit_row,
    project_id_of,
    search_audit,
)

router = APIRouter(prefix="/api/v1", tags=["audit"])


def _filter(request: Request, actor: str | None, action: str | None, entity: str | None,
            entity_id: str | None, project: str | None, since: datetime | None,
            until: datetime | None) -> AuditFilter:
    with session_scope(engine_of(request), immediate=False) as s:
        pid = project_id_of(s, project)
    return AuditFilter(actor=actor, action=action, entity=entity, entity_id=entity_id,
                       project_id=pid, since=_naive(since), until=_naive(until))


def _naive(value: datetime | None) -> datetime | None:
    """Stored times are naive UTC; an aware time is converted, a naive one taken as UTC."""
    if value is None or value.tzinfo is None:
        return value
    from datetime import UTC

    return value.astimezone(UTC).replace(tzinfo=None)


FILTER_DOC = {
    "actor": Query(None, description="username (or system, cli:…) exactly"),
    "action": Query(None, description="action prefix: 'user' finds user.role, user.create…"),
    "entity": Query(None, description="object type: user, project, item, api_token, team…"),
    "entity_id": Query(None, description="object id, with entity"),
    "project": Query(None, description="project key"),
    "since": Query(None, description="from this time (ISO 8601; naive = UTC)"),
    "until": Query(None, description="before this time (exclusive)"),
}


@router.get("/audit")
def audit_log(request: Request, p: Principal = Depends(current),
              actor: str | None = FILTER_DOC["actor"], action: str | None = FILTER_DOC["action"],
              entity: str | None = FILTER_DOC["entity"],
              entity_id: str | None = FILTER_DOC["entity_id"],
              project: str | None = FILTER_DOC["project"],
              since: datetime | None = FILTER_DOC["since"],
              until: datetime | None = FILTER_DOC["until"],
              before: int | None = Query(None, ge=1, description="keyset cursor: the last id "
                                         "of the previous page (pages go newest to oldest)"),
              limit: int = Query(100, ge=1, le=MAX_PAGE)) -> list[dict[str, Any]]:
    """Audit entries, newest first, filtered; page on with ``before`` = the last id."""
    policies.require(p, "audit.read")
    flt = _filter(request, actor, action, entity, entity_id, project, since, until)
    with session_scope(engine_of(request), immediate=False) as s:
        return [audit_row(e) for e in search_audit(s, flt, before_id=before, limit=limit)]


@router.get("/audit.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}})
def audit_log_csv(request: Request, p: Principal = Depends(current),
                  actor: str | None = FILTER_DOC["actor"],
                  action: str | None = FILTER_DOC["action"],
                  entity: str | None = FILTER_DOC["entity"],
                  entity_id: str | None = FILTER_DOC["entity_id"],
                  project: str | None = FILTER_DOC["project"],
                  since: datetime | None = FILTER_DOC["since"],
                  until: datetime | None = FILTER_DOC["until"]) -> StreamingResponse:
    """The same selection as CSV (cells guarded against spreadsheet formula injection)."""
    policies.require(p, "audit.read")
    flt = _filter(request, actor, action, entity, entity_id, project, since, until)
    engine = engine_of(request)

    def body() -> Iterator[bytes]:
        with session_scope(engine, immediate=False) as s:
            for chunk in audit_csv(s, flt):
                yield chunk.encode()

    return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="modops-audit.csv"'})
