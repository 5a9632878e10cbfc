"""Load generators: many labelers pulling and submitting at once, across threads and processes.

Used by the concurrency tests and by ``bench/dispense.py``. Each simulated labeler loops
``next_task`` → ``submit`` until the queue is empty (or a deadline passes) and logs every task
it was handed, so the caller can prove no slot went to two people and no answer was lost.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

LABELS = ("none", "profanity", "harassment", "hate")


@dataclass(slots=True)
class LabelerLog:
    user_id: int
    tasks: list[int] = field(default_factory=list)  # task ids leased, in order
    items: list[int] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)  # next + submit, per pair
    errors: list[str] = field(default_factory=list)


def _labeler(engine: Any, project: str, user_id: int, deadline: float, seed: int,
             log: LabelerLog, chained: bool) -> None:
    """Loop next → submit; ``chained`` uses ``submit_and_next`` (answer and next lease in one
    call, as the API's submit-and-next route does), else two calls per pair."""
    import random

    from modops.queue import next_task, submit, submit_and_next

    rng = random.Random(seed)
    task = None
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        try:
            if task is None:
                task = next_task(engine, project, user_id)
                if task is None:
                    return
            label = LABELS[0] if rng.random() < 0.7 else rng.choice(LABELS)
            done = task
            if chained:
                task = submit_and_next(engine, project, done.task_id, user_id, [label])[1]
            else:
                task = None
                submit(engine, done.task_id, user_id, [label])
        except Exception as exc:
            log.errors.append(f"{type(exc).__name__}: {exc}")
            task = None
            if len(log.errors) > 20:
                return
            continue
        log.latencies_ms.append((time.perf_counter() - t0) * 1000)
        log.tasks.append(done.task_id)
        log.items.append(done.item.id)
        if chained and task is None:
            return


def run_threads(url: str, project: str, user_ids: list[int], seconds: float,
                seed: int = 0, ready: Any = None, chained: bool = False) \
        -> tuple[list[LabelerLog], float, float]:
    """One process: a thread per labeler, sharing one engine (its pool).

    ``ready`` (a barrier shared with the other processes) holds the start until every process
    has imported its modules and connected, so start-up is not counted as labeling time.
    Returns the logs and the wall-clock start and end (``time.time()``, comparable across
    processes).
    """
    from modops.queue import next_task  # noqa: F401  (import before the clock starts)
    from modops.store import make_engine

    engine = make_engine(url, pool_size=len(user_ids) + 2, max_overflow=8)
    with engine.connect():
        pass
    if ready is not None:
        ready.wait()
    started = time.time()
    deadline = time.monotonic() + seconds
    logs = [LabelerLog(u) for u in user_ids]
    threads = [threading.Thread(target=_labeler, args=(engine, project, u, deadline,
                                                       seed * 1000 + i, log, chained))
               for i, (u, log) in enumerate(zip(user_ids, logs, strict=True))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ended = time.time()
    engine.dispose()
    return logs, started, ended


def _process_main(url: str, project: str, user_ids: list[int], seconds: float, seed: int,
                  ready: Any, results: Any, chained: bool) -> None:
    results.put(run_threads(url, project, user_ids, seconds, seed, ready, chained))


def _collect(workers: list[Any], results: Any) -> list[tuple[list[LabelerLog], float, float]]:
    """Each process's (logs, started, ended); a process that dies stops them all."""
    parts: list[tuple[list[LabelerLog], float, float]] = []
    while len(parts) < len(workers):
        try:
            parts.append(results.get(timeout=1.0))
        except queue.Empty:
            dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if dead:
                for worker in workers:
                    worker.terminate()
                raise RuntimeError(f"a labeler process died (exit code {dead[0]})") from None
    for worker in workers:
        worker.join()
    return parts


def run_labelers(url: str, project: str, user_ids: list[int], *, processes: int = 4,
                 seconds: float = 600.0, chained: bool = False) \
        -> tuple[list[LabelerLog], float]:
    """Spread labelers over ``processes`` processes; return every log and the wall time, from
    the moment all processes are ready to the moment the last labeler stops.

    ``chained``: each answer and the next lease go in one ``submit_and_next`` call."""
    processes = max(1, min(processes, len(user_ids)))
    groups = [user_ids[i::processes] for i in range(processes)]
    if processes == 1:
        logs, started, ended = run_threads(url, project, groups[0], seconds, chained=chained)
        return logs, ended - started
    ctx = mp.get_context("spawn")
    ready = ctx.Barrier(processes)
    results = ctx.Queue()
    workers = [ctx.Process(target=_process_main,
                           args=(url, project, group, seconds, n, ready, results,
                                 chained))
               for n, group in enumerate(groups)]
    for worker in workers:
        worker.start()
    parts = _collect(workers, results)
    logs = [log for part, _, _ in parts for log in part]
    return logs, max(end for _, _, end in parts) - min(start for _, start, _ in parts)
