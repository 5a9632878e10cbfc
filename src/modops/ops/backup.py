"""Backup and restore on the engines' own tools, never a home-made dump format.

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot
  page by page while the app keeps serving (WAL readers never block); restore copies the file
  back into the live database the same way, after an integrity check of the backup.
- PostgreSQL: ``pg_dump --format=custom`` / ``pg_restore --clean --if-exists`` (a schema named
  in the URL's ``search_path`` option is dumped alone). For point-in-time recovery in
  production use WAL archiving (docs/deploy.md); a dump is the portable, tested baseline.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

from sqlalchemy.engine import make_url

from modops.domain import ModOpsError
from modops.store.db import database_url


class BackupFailed(ModOpsError):
    """The backup or restore did not complete; the message says why."""


@dataclass(slots=True)
class BackupReport:
    path: str
    engine: str
    bytes: int
    seconds: float


def _sqlite_path(url: str) -> Path:
    db = make_url(url).database
    if not db or db == ":memory:":
        raise BackupFailed("an in-memory SQLite database cannot be backed up")
    return Path(db)


def _libpq(url: str) -> tuple[str, str | None]:
    """(a libpq URL for pg_dump, the schema named by ``options=-csearch_path=…`` if any)."""
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://", 1))
    query = parse_qs(parts.query)
    schema = None
    kept = {}
    for key, values in query.items():
        if key == "options":
            m = re.search(r"-c\s*search_path=([^\s,]+)", unquote(values[0]))
            if m:
                schema = m.group(1).strip('"')
                continue
        kept[key] = values[0]
    return urlunsplit(parts._replace(query=urlencode(kept))), schema


def _run(cmd: list[str]) -> None:
    tool = cmd[0]
    if shutil.which(tool) is None:
        raise BackupFailed(f"{tool} is not installed (apt-get install postgresql-client)")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BackupFailed(f"{tool} failed ({proc.returncode}): {proc.stderr.strip()[:2000]}")


def backup(out: str | Path, url: str | None = None) -> BackupReport:
    """Write a consistent backup of the database at ``url`` (default MODOPS_DATABASE_URL)."""
    url = database_url(url)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    started = time.perf_counter()
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        src_path = _sqlite_path(url)
        if not src_path.exists():
            raise BackupFailed(f"no database at {src_path}")
        tmp.unlink(missing_ok=True)
        src = sqlite3.connect(src_path)
        dst = sqlite3.connect(tmp)
        try:
            with dst:
                src.backup(dst, pages=4096)  # steps of 16 MB: writers get the lock between steps
        finally:
            dst.close()
            src.close()
    elif backend == "postgresql":
        conninfo, schema = _libpq(url)
        cmd = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
               f"--file={tmp}", f"--dbname={conninfo}"]
        if schema:
            cmd.append(f"--schema={schema}")
        _run(cmd)
    else:
        raise BackupFailed(f"backup of {backend} databases is not supported")
    os.replace(tmp, out)  # a half-written backup never carries the final name
    return BackupReport(str(out), backend, out.stat().st_size,
                        time.perf_counter() - started)


def restore(src: str | Path, url: str | None = None) -> BackupReport:
    """Replace the database at ``url`` with the backup ``src``. Stop the app servers and
    workers first: connections that stay open see the old data (PostgreSQL) or wait (SQLite)."""
    url = database_url(url)
    src = Path(src)
    if not src.is_file():
        raise BackupFailed(f"no backup at {src}")
    started = time.perf_counter()
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        conn = sqlite3.connect(src)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise BackupFailed(f"{src} is not a SQLite backup: {exc}") from None
        finally:
            conn.close()
        if ok != "ok":
            raise BackupFailed(f"{src} fails the integrity check: {ok}")
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        s = sqlite3.connect(src)
        d = sqlite3.connect(target, timeout=30)
        try:
            with d:
                s.backup(d)
        finally:
            d.close()
            s.close()
    elif backend == "postgresql":
        conninfo, schema = _libpq(url)
        cmd = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
               "--single-transaction", "--exit-on-error", f"--dbname={conninfo}"]
        if schema:
            cmd.append(f"--schema={schema}")
        _run([*cmd, str(src)])
    else:
        raise BackupFailed(f"restore of {backend} databases is not supported")
    return BackupReport(str(src), backend, src.stat().st_size, time.perf_counter() - started)
