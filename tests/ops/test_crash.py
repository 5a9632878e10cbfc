"""Crash safety and scale-out on PostgreSQL, over real HTTP and real processes.

1. ``uvicorn --workers 4`` under 32 labelers is SIGKILLed (the whole process group) mid-run and
   restarted; the labelers ride it out. Afterwards every submit that got a 2xx is in the
   database, no item has more than k answers, and no lease is stuck: four labelers walked away
   at the crash holding leases, and once those expired their slots were done by others.
2. Two app servers on different ports share one PostgreSQL: 0 duplicates.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from tests.ops.load import Log, Server, client, free_port, invariants, labeler, pg_world

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("multiprocess")]

K = 3


def _check(log: Log, url: str, items: int) -> dict:
    db = invariants(url, K)
    lost = [a for _t, a, _tok in log.acked if a not in db["annotation_ids"]]
    assert lost == [], f"{len(lost)} acknowledged submits are not in the database"
    assert db["over_k"] == 0
    assert db["same_labeler_twice"] == 0
    assert db["leased"] == 0, "a lease is stuck"
    assert db["label_slots_not_done"] == 0
    assert db["items_without_k"] == 0
    assert len(db["annotation_ids"]) == items * K
    return db


def test_sigkill_mid_run_then_restart_loses_no_acknowledged_submit() -> None:
    items, labelers, walk_away = 150, 32, 4
    with pg_world(labelers, items, K, lease_s=10) as (url, tokens):
        server = Server(url, free_port(), workers=4).start()
        log = Log()

        async def run() -> None:
            deadline = time.monotonic() + 80
            async with client(server.base, labelers) as c:
                kill_at = time.monotonic() + 3.0
                tasks = [asyncio.create_task(labeler(
                    c, tok, log, deadline=deadline, url=url,
                    stop_at=kill_at if i < walk_away else None))
                    for i, tok in enumerate(tokens)]
                await asyncio.sleep(max(0.0, kill_at - time.monotonic()))
                acked_before = len(log.acked)
                await asyncio.to_thread(server.kill)
                await asyncio.sleep(0.5)
                await asyncio.to_thread(server.start)
                await asyncio.gather(*tasks)
                log.errors["acked_before_kill"] = acked_before

        try:
            run_in_fresh_loop(run)
        finally:
            server.kill()
        assert 0 < log.errors["acked_before_kill"] < items * K, "the kill was not mid-run"
        assert sum(v for k, v in log.errors.items() if k != "acked_before_kill") > 0, \
            "the labelers never noticed the crash"
        db = _check(log, url, items)
        print(f"crash: {log.errors['acked_before_kill']} acked before SIGKILL, "
              f"{len(log.acked)} acked in all, {len(db['annotation_ids'])} in the database, "
              f"client errors {dict(log.errors)}")


def run_in_fresh_loop(coro_fn) -> None:
    """asyncio.run in its own thread: the browser tests' sync Playwright may own this thread's
    event loop when they ran earlier in the same worker."""
    import threading

    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro_fn())
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def test_two_app_servers_sharing_postgresql_hand_out_no_duplicates() -> None:
    items, labelers = 150, 32
    with pg_world(labelers, items, K) as (url, tokens):
        a = Server(url, free_port(), workers=1).start()
        b = Server(url, free_port(), workers=1).start()
        log = Log()

        async def run() -> None:
            deadline = time.monotonic() + 80
            async with client(a.base, labelers) as ca, client(b.base, labelers) as cb:
                await asyncio.gather(*(labeler(ca if i % 2 else cb, tok, log, deadline=deadline)
                                       for i, tok in enumerate(tokens)))

        try:
            run_in_fresh_loop(run)
        finally:
            a.kill()
            b.kill()
        served_twice = [t for t, n in Counter(t for t, _i, _k in log.served).items() if n > 1]
        item_twice = [p for p, n in Counter((i, k) for _t, i, k in log.served).items() if n > 1]
        assert served_twice == [] and item_twice == []
        db = _check(log, url, items)
        assert len(log.acked) == len(db["annotation_ids"])
        print(f"two servers: {len(log.served)} served, {len(log.acked)} acked, 0 duplicates")
