"""Transports: the in-process thread runner (embedded default) and the periodic scheduler.

The thread runner is what keeps ``make demo`` one command: no broker, the app process runs
jobs itself. It is safe with several app processes on one PostgreSQL (claims are atomic), so it
is also the fallback when no Redis is configured. With Redis (``MODOPS_REDIS_URL``) jobs go to
Dramatiq workers instead (``modops.jobs.dramatiq_app``) and the app only enqueues.

The scheduler (a tick in the same thread, or ``modops worker --scheduler``) does two things:
re-dispatches jobs whose message was lost or whose worker died (their lease expired), and
enqueues the periodic jobs (alert checks, retention purges, webhook sweeps).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine, func, select

from modops.jobs.core import (
    BACKOFF_S,
    LEASE_S,
    due_ids,
    enqueue,
    execute,
    lower_priority,
    set_notifier,
)
from modops.store import session_scope, utcnow
from modops.store.models_ops import Job

log = logging.getLogger("modops.jobs")

# Periodic jobs: kind -> seconds between runs per project (settings may add retention_days).
DEFAULT_SCHEDULE: dict[str, float] = {"alerts": 15 * 60, "purge": 24 * 3600}


def schedule_tick(engine: Engine, schedule: dict[str, float] | None = None) -> list[int]:
    """Enqueue each periodic job that has not been created within its interval.

    Deduplicated against the jobs table, so several schedulers (one per app process in the
    embedded mode) create each periodic job about once per interval, not once per process.
    """
    from modops.store.models import Project

    schedule = DEFAULT_SCHEDULE if schedule is None else schedule
    made: list[int] = []
    now = utcnow()
    with session_scope(engine) as s:
        projects = s.execute(select(Project.key, Project.settings).where(
            Project.status == "active")).all()
        last = dict(((k, p), t) for k, p, t in s.execute(
            select(Job.kind, Job.project_key, func.max(Job.created_at))
            .where(Job.kind.in_(list(schedule))).group_by(Job.kind, Job.project_key)))
    for key, settings in projects:
        for kind, every in schedule.items():
            if kind == "purge" and not (settings or {}).get("retention_days"):
                continue
            prev = last.get((kind, key))
            if prev is None or now - prev >= timedelta(seconds=every):
                made.append(enqueue(engine, kind, {"scheduled": True}, project_key=key,
                                    max_attempts=1))
    return made


class ThreadRunner:
    """Runs jobs in daemon threads of this process until stopped.

    ``notify`` wakes a thread at once for a new job; the poll picks up anything else (other
    processes' jobs, retries whose backoff ended, jobs of a crashed worker).
    """

    def __init__(self, engine: Engine, *, threads: int = 1, poll_s: float = 1.0,
                 lease_s: float = LEASE_S, backoff_s: float = BACKOFF_S,
                 schedule: dict[str, float] | None = None, schedule_every_s: float = 60.0,
                 ) -> None:
        self.engine = engine
        self.threads = threads
        self.poll_s = poll_s
        self.lease_s = lease_s
        self.backoff_s = backoff_s
        self.schedule = schedule
        self.schedule_every_s = schedule_every_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._workers: list[threading.Thread] = []
        self._next_schedule = 0.0
        self._lock = threading.Lock()

    def notify(self, job_id: int, delay_s: float = 0.0) -> None:
        if delay_s <= 0:
            self._wake.set()

    def start(self, *, install: bool = True) -> ThreadRunner:
        """Start the threads; ``install`` makes ``enqueue`` in this process wake them."""
        if install:
            set_notifier(self.notify)
        # The first periodic tick waits one interval: starting an app (or a test) must not
        # kick off a burst of alert checks.
        self._next_schedule = time.monotonic() + self.schedule_every_s
        for i in range(self.threads):
            t = threading.Thread(target=self._run, name=f"modops-jobs-{i}", daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for t in self._workers:
            t.join(timeout=timeout_s)
        set_notifier(None)

    def _maybe_schedule(self) -> None:
        if self.schedule is None:
            return
        with self._lock:
            now = time.monotonic()
            if now < self._next_schedule:
                return
            self._next_schedule = now + self.schedule_every_s
        try:
            schedule_tick(self.engine, self.schedule)
        except Exception:
            log.exception("job scheduler tick failed")

    def run_due(self) -> int:
        """Run every job that is due now, one after the other; returns how many ran here."""
        ran = 0
        for job_id in due_ids(self.engine, limit=20):
            if self._stop.is_set():
                break
            if execute(self.engine, job_id, lease_s=self.lease_s,
                       backoff_s=self.backoff_s) is not None:
                ran += 1
        return ran

    def _run(self) -> None:
        lower_priority()  # this thread only: the app's request threads keep their priority
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self._maybe_schedule()
                ran = self.run_due()
            except Exception:  # the database may be restarting: keep the thread alive
                log.exception("job runner pass failed")
                ran = 0
            if not ran:
                self._wake.wait(self.poll_s)


def sweep_forever(engine: Engine, send: Callable[[int], None], *, every_s: float = 15.0,
                  stale_s: float = 30.0, schedule: dict[str, float] | None = None,
                  stop: threading.Event | None = None) -> None:
    """The scheduler loop beside Dramatiq workers: re-send jobs nobody took within
    ``stale_s`` (lost messages, dead workers) and enqueue the periodic jobs."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            schedule_tick(engine, schedule)
            for job_id in due_ids(engine, limit=500, stale_s=stale_s):
                send(job_id)
        except Exception:
            log.exception("job sweeper pass failed")
        stop.wait(every_s)
