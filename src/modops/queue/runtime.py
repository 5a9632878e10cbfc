"""The queue's per-process state in one object (issue 22, item 6): its random draws, its
clock, the lease sweep's schedule and the caches of the labelers' hot path.

Production uses one :data:`DEFAULT` runtime per process. A caller that needs other state —
the simulator, with seeded draws, a simulated clock and an hourly sweep — passes its own with
``with using(QueueRuntime(...)):``; every queue call made inside (in that thread or task:
it is a ``ContextVar``) uses it, and nothing is left changed afterwards. ``route_items``
also takes its generator directly (``rng=``).

Not here, on purpose: the SQLite writer locks in ``modops.queue.core`` guard one database
file across every thread of the process, so they must be shared by all runtimes.
"""

from __future__ import annotations

import random
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from modops.domain import events
from modops.store.db import utcnow

if TYPE_CHECKING:
    from modops.quality import DawidSkene
    from modops.queue.config import ProjectConfig
    from modops.queue.core import Actor

# Expire abandoned leases at most this often per process and store (seconds): cheap, and
# never twice on the hot path.
SWEEP_INTERVAL_S = 1.0


@dataclass(eq=False)
class QueueRuntime:
    # gold mix-in and the choice of gold item (dispense)
    rng: random.Random = field(default_factory=random.Random)
    # audit sampling of machine decisions (decisions); separate, so seeding one stream does
    # not shift the other
    audit_rng: random.Random = field(default_factory=random.Random)
    # "now" for calls that are not given one
    clock: Callable[[], datetime] = utcnow
    sweep_interval_s: float = SWEEP_INTERVAL_S
    # id(engine) → when leases were last swept (the clock's seconds)
    last_sweep: dict[int, float] = field(default_factory=dict)
    sweep_lock: threading.Lock = field(default_factory=threading.Lock)
    # (store, key or id) → (monotonic stamp, config); (store, user id) → (stamp, actor)
    projects: dict[tuple[str, str | int], tuple[float, ProjectConfig]] = field(
        default_factory=dict)
    actors: dict[tuple[str, int], tuple[float, Actor]] = field(default_factory=dict)
    # project id → (monotonic stamp, fitted Dawid–Skene model or None)
    dawid_skene: dict[int, tuple[float, DawidSkene | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _live.add(self)

    def forget(self, event: str) -> None:
        """Drop what a configuration change makes stale."""
        if event == events.PROJECT_CHANGED:
            self.projects.clear()
        elif event == events.USER_CHANGED:
            self.actors.clear()


_live: weakref.WeakSet[QueueRuntime] = weakref.WeakSet()
DEFAULT = QueueRuntime()
_current: ContextVar[QueueRuntime] = ContextVar("modops_queue_runtime", default=DEFAULT)


def current() -> QueueRuntime:
    """The runtime queue calls in this context use."""
    return _current.get()


@contextmanager
def using(runtime: QueueRuntime) -> Iterator[QueueRuntime]:
    """Run the queue calls inside on ``runtime``."""
    token = _current.set(runtime)
    try:
        yield runtime
    finally:
        _current.reset(token)


def _forget(event: str, _payload: dict[str, Any]) -> None:
    for runtime in list(_live):
        runtime.forget(event)


events.subscribe(_forget)
