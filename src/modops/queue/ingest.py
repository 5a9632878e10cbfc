"""The ingest entry point: a file's items are stored and routed in one transaction.

Every caller that brings content in (CLI, API upload, import job, demo, load tests, benches)
goes through ``ingest_file``; an import without the routing hook leaves items in state
``new``, served to nobody, which is the mistake this entry point exists to rule out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Unpack

from sqlalchemy import Engine

from modops.io.importer import ImportOptions, ImportReport, import_file
from modops.queue.routing import route_after_import


def ingest_file(engine: Engine, project_key: str, path: str | Path, fmt: str | None = None,
                **options: Unpack[ImportOptions]) -> ImportReport:
    """Import one file into a project, all-or-nothing, and route every new item (machine
    pre-screen, label slots, audit sample) in the same transaction. Raises
    ``modops.io.ImportFailed`` on bad input; ``options`` are ``modops.io.import_file``'s."""
    return import_file(engine, project_key, path, fmt, after_insert=route_after_import,
                       **options)
