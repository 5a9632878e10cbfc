"""What every CLI command shares: the engine, error reporting, progress bars."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import Engine

from modops.domain import ModOpsError
from modops.store import ensure_schema, make_engine

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

_engine: Engine | None = None
_actor: str | None = None


def set_actor(name: str | None) -> None:
    """``modops --actor NAME``: who the audit log names for this invocation's changes."""
    global _actor
    _actor = name.strip() if name and name.strip() else None


def actor() -> str:
    """The audited actor of a CLI change: ``--actor``, else ``cli:<OS user>`` (never just
    "cli": the log must say who ran it)."""
    if _actor:
        return _actor
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        import os

        return f"cli:uid{os.getuid()}"


def engine() -> Engine:
    """The store named by MODOPS_DATABASE_URL (default: ./modops.db), migrated to head."""
    global _engine
    if _engine is None:
        _engine = make_engine()
        ensure_schema(_engine)
    return _engine


def user_errors(fn: F) -> F:
    """Turn ModOps errors into a clear message on stderr and exit code 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ModOpsError as exc:
            from modops.io import ImportFailed

            if isinstance(exc, ImportFailed):
                for line in exc.errors:
                    err_console.print(line, markup=False, highlight=False, soft_wrap=True)
                if exc.more:
                    err_console.print(f"… and {exc.more} more bad rows", markup=False)
                err_console.print("[red]Import refused: nothing was written.[/red]")
            else:
                err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False,
                                  soft_wrap=True)
            raise typer.Exit(2) from None

    return cast(F, wrapper)


def byte_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console,
    )


def count_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console,
    )
