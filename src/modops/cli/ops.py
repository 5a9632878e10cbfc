"""Operations commands: backup, restore, purge, worker, jobs (thin; the work is in
``modops.ops`` and ``modops.jobs``).

Registered by ``modops.cli.main`` with ``register(app)``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from modops.cli.common import actor, console, engine, user_errors

jobs_app = typer.Typer(help="Background jobs: list, enqueue, retry.", no_args_is_help=True)


@user_errors
def backup_cmd(
    out: Annotated[Path, typer.Argument(help="Backup file to write")],
    url: Annotated[str | None, typer.Option(help="Database URL (default MODOPS_DATABASE_URL)")]
    = None,
) -> None:
    """Write a consistent backup while the app keeps running (SQLite backup API / pg_dump)."""
    from modops.ops import backup

    r = backup(out, url)
    console.print(f"Backed up {r.engine} to {r.path} ({r.bytes:,} bytes, {r.seconds:.1f}s)")


@user_errors
def restore_cmd(
    src: Annotated[Path, typer.Argument(help="Backup file made by `modops backup`")],
    url: Annotated[str | None, typer.Option(help="Database URL (default MODOPS_DATABASE_URL)")]
    = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Replace the database with a backup. Stop app servers and workers first."""
    from modops.ops import restore
    from modops.store import database_url

    if not yes:
        typer.confirm(f"Replace {database_url(url)} with {src}?", abort=True)
    r = restore(src, url)
    console.print(f"Restored {r.engine} from {r.path} in {r.seconds:.1f}s")


@user_errors
def purge_cmd(
    project: Annotated[str, typer.Argument(help="Project key")],
    days: Annotated[int | None, typer.Option(
        help="Keep more than the project's retention_days (never fewer)")]
    = None,
) -> None:
    """Delete decided items older than the project's retention period (audited)."""
    from modops.ops import purge_project

    r = purge_project(engine(), project, days=days, actor=actor())
    if r["retention_days"] is None:
        console.print(f"{project} has no retention_days setting: nothing purged")
    else:
        console.print(f"Purged {r['purged']:,} items of {project} ingested before "
                      f"{r['cutoff']} ({r['retention_days']} days)")


def worker_cmd(
    processes: Annotated[int, typer.Option(help="Dramatiq worker processes")] = 1,
    threads: Annotated[int, typer.Option(help="Threads per process")] = 2,
    scheduler: Annotated[bool, typer.Option(help="Also run the sweeper/scheduler loop "
                                                 "(run exactly one per deployment)")] = True,
    backend: Annotated[str | None, typer.Option(help="dramatiq or thread (default: dramatiq "
                                                     "when MODOPS_REDIS_URL is set)")] = None,
) -> None:
    """Run background jobs until interrupted: Dramatiq workers on Redis, or threads here."""
    from modops import jobs
    from modops.jobs.runner import sweep_forever

    kind = (backend or jobs.backend()).lower()
    eng = engine()
    import modops.jobs.handlers  # noqa: F401

    stop = threading.Event()
    if kind == "thread":
        runner = jobs.ThreadRunner(eng, threads=threads,
                                   schedule=jobs.DEFAULT_SCHEDULE if scheduler else None)
        runner.start()
        console.print(f"ModOps job runner: {threads} thread(s) in process {os.getpid()}")
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        runner.stop()
        return
    from modops.jobs import dramatiq_app

    env = {**os.environ}
    proc = subprocess.Popen([sys.executable, "-m", "dramatiq", "modops.jobs.dramatiq_app",
                             "--processes", str(processes), "--threads", str(threads)],
                            env=env)  # every queue, including the delay queue of retries
    sweeper = None
    if scheduler:
        sweeper = threading.Thread(target=sweep_forever, args=(eng, dramatiq_app.send),
                                   kwargs={"stop": stop}, name="modops-sweeper", daemon=True)
        sweeper.start()
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    console.print(f"ModOps workers: dramatiq on {dramatiq_app.redis_url()}, {processes}×"
                  f"{threads}; scheduler {'on' if scheduler else 'off'}")
    try:
        rc = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        rc = proc.wait()
    stop.set()
    raise typer.Exit(rc)


@jobs_app.command("list")
@user_errors
def jobs_list(
    project: Annotated[str | None, typer.Option(help="Only this project")] = None,
    state: Annotated[str | None, typer.Option(help="queued, running, retrying, succeeded, "
                                                   "failed")] = None,
    limit: int = 30,
) -> None:
    """The newest jobs with state, progress, attempts and error."""
    from modops.jobs import list_jobs

    table = Table("id", "kind", "project", "state", "progress", "attempts", "error")
    for j in list_jobs(engine(), project_keys=[project] if project else None, state=state,
                       limit=limit):
        table.add_row(str(j.id), j.kind, j.project_key or "", j.state, f"{j.progress:.0%}",
                      f"{j.attempts}/{j.max_attempts}", (j.error or "")[:60])
    console.print(table)


@jobs_app.command("enqueue")
@user_errors
def jobs_enqueue(
    kind: Annotated[str, typer.Argument(help="export, import, score, report, alerts, purge, "
                                              "webhooks, sleep")],
    project: Annotated[str | None, typer.Option(help="Project key")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p",
                                                     help="key=value, repeatable")] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the job to finish")] = False,
) -> None:
    """Queue a job; with --wait, also report how it ended."""
    from modops import jobs

    params = dict(p.split("=", 1) for p in param or [])
    job_id = jobs.enqueue(engine(), kind, params, project_key=project)
    console.print(f"Queued job {job_id} ({kind})")
    if wait:
        j = jobs.wait(engine(), job_id, timeout_s=24 * 3600)
        console.print(f"Job {job_id}: {j.state} {j.result or j.error or ''}")


@jobs_app.command("retry")
@user_errors
def jobs_retry(job_id: int) -> None:
    """Retry a failed job with a fresh attempt budget (audited)."""
    from modops.jobs import retry

    retry(engine(), job_id, actor=actor())
    console.print(f"Job {job_id} queued again")


def register(app: typer.Typer) -> None:
    """Add the operations commands to the main ``modops`` app."""
    app.command("backup")(backup_cmd)
    app.command("restore")(restore_cmd)
    app.command("purge")(purge_cmd)
    app.command("worker")(worker_cmd)
    app.add_typer(jobs_app, name="jobs")
