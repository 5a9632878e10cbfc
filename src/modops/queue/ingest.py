"""The ingest entry point: a file's items are stored and routed in one transaction.

Every caller that brings content in (CLI, API upload, import job, demo, load tests, benches)
goes through ``ingest_file``; an import without the routing hook leaves items in state
``new``, served to nobody, which is the mistake this entry point exists to rule out.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from modops.io.importer import ImportReport, Progress, import_file
from modops.queue.routing import route_after_import
from modops.store.models import User


def ingest_file(
    engine: Engine,
    project_key: str,
    path: str | Path,
    fmt: str | None = None,
    *,
    actor: User | str | None = "cli",
    max_errors: int = 20,
    batch_size: int = 5_000,
    progress: Progress | None = None,
    parallel: bool | None = None,
) -> ImportReport:
    """Import one file into a project, all-or-nothing, and route every new item (machine
    pre-screen, label slots, audit sample) in the same transaction. Raises
    ``modops.io.ImportFailed`` on bad input; see ``modops.io.import_file`` for the options."""
    return import_file(engine, project_key, path, fmt, actor=actor, max_errors=max_errors,
                       batch_size=batch_size, progress=progress, parallel=parallel,
                       after_insert=route_after_import)
