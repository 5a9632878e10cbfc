"""Dramatiq on Redis: the production transport for background jobs.

Workers::

    MODOPS_DATABASE_URL=postgresql://… MODOPS_REDIS_URL=redis://127.0.0.1:6379/0 \\
        modops worker --processes 2 --threads 4        # = dramatiq modops.jobs.dramatiq_app

A message carries only a job id; the job's state lives in the ``jobs`` table (see
``modops.jobs.core``). Dramatiq's own retries are off (``max_retries=0``): retries, backoff and
the attempt budget are ours, so they are visible and a manager can retry from the UI. The Redis
broker acknowledges a message only after the actor returns, and re-queues the messages of a
worker whose heartbeat stopped, so a SIGKILLed worker's job runs again; the lease in the table
makes sure it runs once at a time.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware
from sqlalchemy import Engine

from modops.jobs import core
from modops.settings import settings

QUEUE = "modops"


def redis_url() -> str:
    return settings().broker_url


class BackgroundPriority(Middleware):
    """Worker processes run at the jobs' nice value (``MODOPS_JOB_NICE``) before their worker
    threads start, so every job thread inherits it; app processes that only enqueue never
    boot a worker and keep their priority."""

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        core.lower_priority()


broker = RedisBroker(url=redis_url(), namespace=settings().redis_namespace)
broker.add_middleware(BackgroundPriority())
dramatiq.set_broker(broker)


@lru_cache(maxsize=1)
def _engine() -> Engine:
    from modops.store import make_engine

    return make_engine()


@dramatiq.actor(queue_name=QUEUE, max_retries=0, time_limit=6 * 3600 * 1000)
def run_job(job_id: int) -> None:
    """Run job ``job_id`` if still due (a duplicate or stale message is a no-op)."""
    core.execute(_engine(), job_id)


def send(job_id: int, delay_s: float = 0.0) -> Any:
    """The notifier the app installs when Redis is configured."""
    return run_job.send_with_options(args=(job_id,), delay=int(delay_s * 1000) or None)


def install() -> None:
    """Route ``enqueue`` in this process to Dramatiq."""
    core.set_notifier(send)


# A process that imports this module (a Dramatiq worker, or an app with MODOPS_JOBS=dramatiq)
# sends its jobs, including a failed job's delayed retry, through Redis.
install()
