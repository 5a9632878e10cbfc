"""``modops report PROJECT… --period 2026-W47``: period reports as files.

Registered by the lead in ``modops.cli.main`` with::

    from modops.cli.report import report
    app.command("report")(report)

Several project keys make one "global sync" pack. ``--lang ko,en`` writes both languages from
one pass over the data.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from modops.cli.common import console, engine, user_errors


@user_errors
def report(
    projects: Annotated[list[str], typer.Argument(help="Project key(s); several make a global "
                                                       "sync pack")],
    period: Annotated[str, typer.Option("--period", "-p", help="2026-W47, 2026-11, 2026-11-20 "
                                        "or 2026-11-20T09")],
    compare: Annotated[str, typer.Option(help="'previous', 'none' or a period to compare "
                                         "with")] = "previous",
    lang: Annotated[str, typer.Option("--lang", "-l", help="ko, en, or ko,en")] = "ko",
    formats: Annotated[str, typer.Option("--format", "-f",
                                         help="Comma-separated: xlsx,docx,pdf,html")
                       ] = "xlsx,docx,pdf,html",
    out_dir: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Directory to write (unset: MODOPS_JOB_DIR, `.modops/jobs`, "
                               "git-ignored)")] = None,
    now: Annotated[str | None, typer.Option(help="Generated-at / cap time, ISO UTC (for "
                                            "reproducible files)")] = None,
) -> None:
    """Write a period report (Excel with native charts, Word, PDF, HTML) in Korean/English."""
    from modops.jobs.handlers import job_dir
    from modops.reports import build_reports

    at = datetime.fromisoformat(now).replace(tzinfo=None) if now else None
    t0 = time.perf_counter()
    done = build_reports(engine(), list(projects), period, langs=lang.split(","),
                         formats=formats.split(","), out_dir=out_dir or job_dir(), compare=compare,
                         now=at)
    for (lg, fmt), path in done.items():
        console.print(f"[green]wrote[/green] {path}  ({lg}, {fmt})")
    console.print(f"{len(done)} files in {time.perf_counter() - t0:.1f} s")
