"""``modops audit``: read the append-only audit log (filters, newest first, table or CSV)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from modops.cli.common import console, engine, user_errors


def _when(value: str | None) -> datetime | None:
    """ISO 8601; a date alone is its midnight (UTC, as stored)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO date or time") from None


@user_errors
def audit(
    actor: Annotated[str | None, typer.Option(help="Who (username, system, cli:…)")] = None,
    action: Annotated[str | None, typer.Option(help="Action prefix, e.g. user or "
                                               "token.revoke")] = None,
    entity: Annotated[str | None, typer.Option(help="Object type: user, project, item…")] = None,
    entity_id: Annotated[str | None, typer.Option("--id", help="Object id")] = None,
    project: Annotated[str | None, typer.Option(help="Project key")] = None,
    since: Annotated[str | None, typer.Option(help="From (ISO date/time, UTC)")] = None,
    until: Annotated[str | None, typer.Option(help="Before (ISO date/time, UTC)")] = None,
    limit: Annotated[int, typer.Option(help="At most this many entries")] = 50,
    csv: Annotated[bool, typer.Option("--csv", help="Write CSV to stdout (all matching "
                                      "entries up to --limit)")] = False,
) -> None:
    """Show the audit log, newest first."""
    from modops.store import session_scope
    from modops.store.audit import AuditFilter, audit_csv, audit_row, project_id_of, search_audit

    with session_scope(engine(), immediate=False) as s:
        flt = AuditFilter(actor=actor, action=action, entity=entity, entity_id=entity_id,
                          project_id=project_id_of(s, project), since=_when(since),
                          until=_when(until))
        if csv:
            for chunk in audit_csv(s, flt, limit=limit):
                sys.stdout.write(chunk)
            return
        rows = [audit_row(e) for e in search_audit(s, flt, limit=limit)]
    table = Table("id", "at (UTC)", "actor", "action", "object", "after")
    for r in rows:
        obj = r["entity"] + (f" {r['entity_id']}" if r["entity_id"] else "")
        table.add_row(str(r["id"]), r["at"], r["actor"], r["action"], obj,
                      str(r["after"] or "")[:80])
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
