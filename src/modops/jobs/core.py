"""The job life cycle over the ``jobs`` table, independent of the transport that carries it.

    enqueue ──► queued ──claim──► running ──► succeeded
                  ▲                  │
                  │ retry (manager)  ├─error, attempts < max──► retrying ──(backoff)──► running
                  │                  └─error, attempts = max──► failed ─────────────────┘ (retry)
                  └──────── lease expired (the worker died) ◄── running

Why the table and not the broker is the truth: a broker message can be lost (Redis restart,
enqueue after commit failing) or duplicated (a redelivery after a worker crash). Claiming is a
conditional UPDATE, so a duplicate message finds nothing to claim and does nothing, and a lost
message is re-sent by the sweeper (``due_ids``). The running worker renews its lease whenever
it reports progress; a killed worker's job is taken again once the lease expires.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, create_engine, event, or_, select, update
from sqlalchemy.exc import OperationalError

from modops.domain import IllegalTransition, NotFound, ValidationError
from modops.settings import settings
from modops.store import session_scope, utcnow
from modops.store.audit import record
from modops.store.db import affected
from modops.store.models import User
from modops.store.models_ops import Job

log = logging.getLogger("modops.jobs")

QUEUED, RUNNING, RETRYING, SUCCEEDED, FAILED = (
    "queued", "running", "retrying", "succeeded", "failed")
STATES = (QUEUED, RUNNING, RETRYING, SUCCEEDED, FAILED)
LEASE_S = 60.0  # a running job that reports nothing for this long is presumed dead
BACKOFF_S = 2.0  # retry n waits BACKOFF_S * 2^(n-1)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"




def job_nice() -> int:
    """The nice value job threads run at (``MODOPS_JOB_NICE``, 0-19; 0 leaves them alone)."""
    return settings().nice


def lower_priority(nice: int | None = None) -> int:
    """Run the calling thread (and threads it starts later) as background work.

    Exports and reports are CPU-bound for minutes; on a box they share with app servers they
    must not take the cores labelers wait on. On Linux nice is per thread, so a job thread
    inside an app process (the embedded runner) is lowered without slowing the requests.
    ``SCHED_BATCH`` also stops a job thread from preempting request threads when it wakes.
    Returns the nice value now in force.
    """
    target = job_nice() if nice is None else nice
    if target <= 0 or not hasattr(os, "setpriority"):
        return os.getpriority(os.PRIO_PROCESS, 0) if hasattr(os, "getpriority") else 0
    try:
        current = os.getpriority(os.PRIO_PROCESS, 0)
        if current < target:  # only ever lower: a worker started under `nice 15` stays there
            os.setpriority(os.PRIO_PROCESS, 0, target)
        if hasattr(os, "sched_setscheduler"):
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except OSError:  # not permitted (containers, seccomp): jobs still run, just not lowered
        log.warning("could not lower the priority of job thread", exc_info=True)
    return os.getpriority(os.PRIO_PROCESS, 0)


class JobFailed(Exception):
    """Raise from a handler for an expected failure: the message is shown, not a traceback."""


@dataclass
class JobContext:
    """What a handler gets: its parameters, the engine, and a progress reporter."""

    engine: Engine
    job_id: int
    kind: str
    project_key: str | None
    params: dict[str, Any]
    attempt: int
    lease_s: float = LEASE_S
    created_by_id: int | None = None  # None: the system (schedule, CLI)
    _last: float = field(default=-1.0, repr=False)

    def progress(self, fraction: float, note: str | None = None) -> None:
        """Record progress (0..1) and renew the lease; cheap enough to call every few seconds."""
        fraction = max(0.0, min(1.0, fraction))
        if note is None and fraction - self._last < 0.01:
            return
        self._last = fraction
        stmt = update(Job).where(Job.id == self.job_id, Job.state == RUNNING).values(
            progress=fraction, progress_note=note[:200] if note else None,
            locked_until=utcnow() + timedelta(seconds=self.lease_s))
        if self.engine.dialect.name == "sqlite":
            _sqlite_progress(self.engine, stmt)
            return
        with session_scope(self.engine) as s:
            s.execute(stmt)


def _sqlite_progress(engine: Engine, stmt: Any) -> None:
    """SQLite has one writer: while the job's own transaction holds the write lock (an import
    writing its rows reports progress from inside it), a second connection's update would
    wait for it, up to the busy timeout, and then fail the job. Progress is a hint: when the
    lock is taken it is skipped at once, and the next report (or the end) catches up."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA busy_timeout=0")
        try:
            conn.execute(stmt)
            conn.commit()
        except OperationalError:
            conn.rollback()
        finally:
            conn.exec_driver_sql("PRAGMA busy_timeout=30000")  # store.db's default


_background: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def background_engine(engine: Engine) -> Engine:
    """The engine job handlers work through: the same database, but sessions that yield.

    A job's PostgreSQL work is CPU on the database host too. Its sessions run with
    ``max_parallel_workers_per_gather = 0`` (a report's aggregate over 1M items takes one
    core, not every core the labelers' queries need). The backends are not reniced: a
    low-priority backend holding a lock or a buffer the labelers wait on would slow them
    instead (priority inversion), and in production the database has its own host. Jobs
    read with plain ``SELECT``s, so they take no row locks on the queue's tasks either. Same
    pool settings and connect arguments as ``engine`` (a recreated pool), its own
    connections; SQLite, or ``MODOPS_JOB_NICE=0``, gets ``engine`` itself.
    """
    if engine.dialect.name != "postgresql" or job_nice() == 0:
        return engine
    made = _background.get(engine)
    if made is None:
        made = create_engine(engine.url, pool=engine.pool.recreate())
        event.listen(made, "connect", _serial_session)
        # its connections go when the app's do (tests, restore, shutdown)
        event.listen(engine, "engine_disposed", lambda _engine: made.dispose())
        _background[engine] = made
    return made


def _serial_session(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cur:
        cur.execute("SET max_parallel_workers_per_gather = 0")
    dbapi_connection.commit()  # a SET inside a transaction rolled back later is undone


Handler = Callable[[JobContext], dict[str, Any] | None]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register ``fn`` as the code of job kind ``kind`` (see ``modops.jobs.handlers``)."""

    def deco(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return deco


# The transport: how "job N is ready" reaches a worker. Set by the runner in use (the in-process
# thread, or Dramatiq); None means the sweeper will find it.
Notifier = Callable[[int, float], None]  # (job_id, delay seconds)
_notifiers: list[Notifier] = []


def set_notifier(fn: Notifier | None) -> None:
    _notifiers.clear()
    if fn is not None:
        _notifiers.append(fn)


def _notify(job_id: int, delay_s: float = 0.0) -> None:
    for fn in _notifiers:
        try:
            fn(job_id, delay_s)
        except Exception:  # the row is committed; the sweeper will re-send it
            log.exception("could not notify the job transport about job %s", job_id)


def enqueue(engine: Engine, kind: str, params: dict[str, Any] | None = None, *,
            project_key: str | None = None, created_by_id: int | None = None,
            max_attempts: int = 3, run_after: datetime | None = None) -> int:
    """Commit a queued job, then tell the transport. Returns the job id at once."""
    if kind not in HANDLERS:
        _load_handlers()
    if kind not in HANDLERS:
        raise ValidationError(f"unknown job kind {kind!r}; known: {', '.join(sorted(HANDLERS))}")
    if not 1 <= max_attempts <= 20:
        raise ValidationError("max_attempts must be between 1 and 20")
    now = utcnow()
    with session_scope(engine) as s:
        job = Job(kind=kind, project_key=project_key, params=dict(params or {}), state=QUEUED,
                  progress=0.0, attempts=0, max_attempts=max_attempts,
                  run_after=run_after or now, created_by_id=created_by_id, created_at=now)
        s.add(job)
        s.flush()
        job_id = job.id
    _notify(job_id, max(0.0, ((run_after or now) - now).total_seconds()))
    return job_id


def _due_clause(now: datetime) -> Any:
    return or_(
        and_(Job.state.in_((QUEUED, RETRYING)), Job.run_after <= now),
        and_(Job.state == RUNNING, Job.locked_until < now),  # its worker died
    )


def claim(engine: Engine, job_id: int, *, worker: str | None = None,
          lease_s: float = LEASE_S) -> bool:
    """Take job ``job_id`` if it is due; exactly one of several racing workers wins."""
    now = utcnow()
    with session_scope(engine) as s:
        won = affected(s.execute(update(Job).where(Job.id == job_id, _due_clause(now)).values(
            state=RUNNING, attempts=Job.attempts + 1, worker=worker or worker_name(),
            locked_until=now + timedelta(seconds=lease_s), started_at=now,
        ).execution_options(synchronize_session=False)))
    return bool(won)


def due_ids(engine: Engine, *, limit: int = 100, stale_s: float = 0.0) -> list[int]:
    """Jobs a worker could take now (``stale_s``: only those waiting at least that long)."""
    now = utcnow()
    with session_scope(engine) as s:
        q = select(Job.id).where(_due_clause(now - timedelta(seconds=stale_s)))
        return list(s.scalars(q.order_by(Job.run_after, Job.id).limit(limit)))


def execute(engine: Engine, job_id: int, *, worker: str | None = None,
            lease_s: float = LEASE_S, backoff_s: float = BACKOFF_S) -> str | None:
    """Claim and run one job; returns its new state (None when another worker had it)."""
    if not claim(engine, job_id, worker=worker, lease_s=lease_s):
        return None
    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        assert job is not None
        ctx = JobContext(background_engine(engine), job.id, job.kind, job.project_key,
                         dict(job.params or {}), job.attempts, lease_s,
                         created_by_id=job.created_by_id)
        attempts, max_attempts = job.attempts, job.max_attempts
    if ctx.kind not in HANDLERS:
        _load_handlers()
    fn = HANDLERS.get(ctx.kind)
    result: dict[str, Any] | None = None
    error: str | None = None
    try:
        if fn is None:
            raise JobFailed(f"no handler for job kind {ctx.kind!r} in this worker")
        result = fn(ctx)
    except JobFailed as exc:
        error = str(exc) or type(exc).__name__
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.warning("job %s (%s) attempt %s failed:\n%s", job_id, ctx.kind, attempts,
                    traceback.format_exc())
    now = utcnow()
    values: dict[str, Any]
    if error is None:
        state, values = SUCCEEDED, {"progress": 1.0, "result": result, "error": None,
                                    "finished_at": now, "locked_until": None}
    elif attempts >= max_attempts:
        state, values = FAILED, {"error": error[:4000], "finished_at": now,
                                 "locked_until": None}
    else:
        delay = backoff_s * 2 ** (attempts - 1)
        state, values = RETRYING, {"error": error[:4000], "locked_until": None,
                                   "run_after": now + timedelta(seconds=delay)}
    with session_scope(engine) as s:
        # Only the lease holder may finish it (a job taken over after a stall is not clobbered).
        s.execute(update(Job).where(Job.id == job_id, Job.state == RUNNING,
                                    Job.attempts == attempts).values(state=state, **values)
                  .execution_options(synchronize_session=False))
    if state == RETRYING:
        _notify(job_id, backoff_s * 2 ** (attempts - 1))
    return state


def retry(engine: Engine, job_id: int, *, actor: User | str | None = None) -> None:
    """A manager's retry of a failed job: back to queued with a fresh attempt budget."""
    with session_scope(engine, immediate=True) as s:  # reads, then writes
        job = s.get(Job, job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        if job.state != FAILED:
            raise IllegalTransition(f"job {job_id} is {job.state}; only failed jobs are retried")
        before = {"state": job.state, "attempts": job.attempts, "error": job.error}
        job.state, job.attempts, job.run_after = QUEUED, 0, utcnow()
        job.finished_at, job.progress, job.progress_note = None, 0.0, None
        record(s, actor=actor, action="job.retry", entity="job", entity_id=job_id,
               before=before, after={"state": QUEUED})
    _notify(job_id, 0.0)


def get_job(engine: Engine, job_id: int) -> Job:
    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        return job


def job_projects(project_key: str | None, params: dict[str, Any] | None) -> list[str]:
    """Every project a job reads: its own, plus those a report names in ``params.projects``.
    Whoever may see the job (or its file) must be allowed to see all of them."""
    keys = [project_key] if project_key else []
    named = (params or {}).get("projects")
    if named is not None:
        if not isinstance(named, list) or not all(isinstance(k, str) for k in named):
            raise ValidationError("params.projects must be a list of project keys")
        keys += named
    return list(dict.fromkeys(keys))


def list_jobs(engine: Engine, *, project_keys: list[str] | None = None, state: str | None = None,
              kind: str | None = None, before_id: int | None = None,
              limit: int = 50) -> list[Job]:
    """Newest first, keyset-paginated by id (``before_id``); ``project_keys=None`` means all."""
    with session_scope(engine) as s:
        q = select(Job)
        if project_keys is not None:
            q = q.where(Job.project_key.in_(project_keys))
        if state:
            q = q.where(Job.state == state)
        if kind:
            q = q.where(Job.kind == kind)
        if before_id:
            q = q.where(Job.id < before_id)
        return list(s.scalars(q.order_by(Job.id.desc()).limit(max(1, min(limit, 500)))))


def wait(engine: Engine, job_id: int, *, timeout_s: float = 60.0,
         states: tuple[str, ...] = (SUCCEEDED, FAILED)) -> Job:
    """Poll until the job reaches one of ``states`` (tests and the CLI's ``--wait``)."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        job = get_job(engine, job_id)
        if job.state in states or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def _load_handlers() -> None:
    import modops.jobs.handlers  # noqa: F401  (registers the built-in kinds)
