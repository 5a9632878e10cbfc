"""Background jobs on an existing job system (Dramatiq on Redis), or in-process when embedded.

Use cases enqueue with ``enqueue(engine, kind, params, project_key=…)`` and get an id back at
once; the ``jobs`` table shows state, progress, error and attempts. ``start_runner`` picks the
transport for an app process from ``MODOPS_JOBS``:

- ``thread`` (default): this process runs jobs in a daemon thread (SQLite demo, small teams);
- ``dramatiq``: jobs go to Redis (``MODOPS_REDIS_URL``) for ``modops worker`` processes;
- ``off``: enqueue only (another process runs them).
"""

from __future__ import annotations

from sqlalchemy import Engine

from modops.jobs.core import (
    FAILED,
    HANDLERS,
    QUEUED,
    RETRYING,
    RUNNING,
    STATES,
    SUCCEEDED,
    JobContext,
    JobFailed,
    due_ids,
    enqueue,
    execute,
    get_job,
    handler,
    job_projects,
    list_jobs,
    retry,
    wait,
)
from modops.jobs.runner import DEFAULT_SCHEDULE, ThreadRunner, schedule_tick
from modops.settings import settings

__all__ = [
    "DEFAULT_SCHEDULE",
    "FAILED",
    "HANDLERS",
    "QUEUED",
    "RETRYING",
    "RUNNING",
    "STATES",
    "SUCCEEDED",
    "JobContext",
    "JobFailed",
    "ThreadRunner",
    "backend",
    "due_ids",
    "enqueue",
    "execute",
    "get_job",
    "handler",
    "job_projects",
    "list_jobs",
    "retry",
    "schedule_tick",
    "start_runner",
    "wait",
]


def backend() -> str:
    """Where this process's jobs run (``MODOPS_JOBS``, see ``modops.settings``)."""
    return settings().jobs_mode


def start_runner(engine: Engine) -> ThreadRunner | None:
    """Start this process's side of the job system; returns a runner to ``stop()`` or None."""
    import modops.jobs.handlers  # noqa: F401  (register the built-in kinds)

    kind = backend()
    if kind == "dramatiq":
        from modops.jobs import dramatiq_app

        dramatiq_app.install()
        return None
    if kind == "off":
        return None
    return ThreadRunner(engine, schedule=DEFAULT_SCHEDULE).start()
