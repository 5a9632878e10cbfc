"""Configuration changes reach every process: a committed change is heard by the other
workers' listeners (PostgreSQL LISTEN/NOTIFY), so their caches may live longer without serving
stale settings, tokens or users."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from modops.domain import events
from modops.projects import get_project, update_project
from modops.queue.core import cached_project
from modops.store import notices, session_scope
from modops.store.db import store_key
from tests.conftest import REPO, make_project

pytestmark = pytest.mark.parametrize("store_name", ["postgresql"])


@pytest.fixture
def listener(engine: Engine) -> Iterator[notices.Listener]:
    heard = notices.start_listener(engine)
    assert heard is not None and heard.wait_connected(10)
    yield heard
    heard.stop()


def wait_for(condition: Any, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_a_committed_change_is_heard_and_a_rolled_back_one_is_not(
        engine: Engine, listener: notices.Listener) -> None:
    make_project(engine, "kr-web")
    heard: list[tuple[str, dict[str, Any]]] = []

    def record(event: str, payload: dict[str, Any]) -> None:
        if payload.get("remote") and not payload.get("reconnected"):
            heard.append((event, payload))

    events.subscribe(record)
    try:
        with pytest.raises(RuntimeError), session_scope(engine) as s:
            update_project(s, get_project(s, "kr-web"), {"overlap_k": 5}, actor="test")
            raise RuntimeError("changed my mind")
        with session_scope(engine) as s:
            update_project(s, get_project(s, "kr-web"), {"overlap_k": 2}, actor="test")
        assert wait_for(lambda: any(p.get("changes") for _, p in heard))
        time.sleep(0.3)  # a rolled-back notice would have arrived by now too
    finally:
        events.unsubscribe(record)
    changes = [p["changes"] for e, p in heard if e == events.PROJECT_CHANGED and "changes" in p]
    assert changes == [{"overlap_k": 2}]  # the project's creation is heard too, without changes


def test_caches_live_longer_only_while_changes_are_heard(engine: Engine) -> None:
    store = store_key(engine)
    assert notices.ttl(store, 1.0) == 1.0
    heard = notices.start_listener(engine)
    assert heard is not None and heard.wait_connected(10)
    assert notices.ttl(store, 1.0) == notices.LONG_TTL_S
    heard.stop()
    assert notices.ttl(store, 1.0) == 1.0


def test_a_change_made_by_another_process_refreshes_the_cached_project(
        engine: Engine, listener: notices.Listener) -> None:
    """Another process (the CLI, another API worker) changes the overlap; this process's
    cached copy, now allowed to live 30 s, is dropped as soon as the change commits."""
    make_project(engine, "kr-web", overlap=3)
    assert cached_project(engine, "kr-web").overlap_k == 3
    script = ("import sys\n"
              "from modops.projects import get_project, update_project\n"
              "from modops.store import make_engine, session_scope\n"
              "engine = make_engine(sys.argv[1])\n"
              "with session_scope(engine) as s:\n"
              "    update_project(s, get_project(s, 'kr-web'), {'overlap_k': 4}, actor='cli')\n")
    subprocess.run([sys.executable, "-c", script, engine.info_url],  # type: ignore[attr-defined]
                   check=True, cwd=REPO, timeout=120)
    assert wait_for(lambda: cached_project(engine, "kr-web").overlap_k == 4, timeout_s=5)


def test_remote_events_are_not_sent_to_webhooks_twice(engine: Engine) -> None:
    """The process that made a change wrote its webhook deliveries in the change's own
    transaction (the outbox); hearing the event again from another process adds none."""
    from sqlalchemy import func, select

    from modops.net.outbound import OutboundPolicy
    from modops.notify.webhooks import create_webhook
    from modops.queue.core import write_tx
    from modops.store import outbox
    from modops.store.models_web import WebhookDelivery

    make_project(engine, "kr-web")
    with session_scope(engine) as s:
        create_webhook(s, url="http://127.0.0.1:9/hook", project_id=get_project(s, "kr-web").id,
                       events=None, created_by_id=None, policy=OutboundPolicy.parse("loopback"))
    outbox.forget_webhooks()

    def deliveries() -> int:
        with session_scope(engine) as s:
            return s.scalar(select(func.count()).select_from(WebhookDelivery)) or 0

    with write_tx(engine) as (_conn, pending):
        pending.append((events.DECISION, {"project": "kr-web", "item_id": 1}))
    assert deliveries() == 1
    events.publish(events.DECISION, {"project": "kr-web", "item_id": 1, "remote": True})
    assert deliveries() == 1


def test_a_connection_that_does_not_pass_notices_back_is_not_trusted(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Behind a proxy that drops notifications (PgBouncer in transaction mode) the listener
    never hears its own ping, so caches keep their short expiry."""
    monkeypatch.setattr(notices, "CHECK_EVERY_S", 0.5)

    class Deaf(notices.Listener):
        def _send_ping(self, dbapi: Any) -> None:
            self._pong.clear()  # the ping goes nowhere

    deaf = Deaf(engine)
    deaf.start()
    try:
        assert not deaf.wait_connected(2.0)
        assert notices.ttl(store_key(engine), 1.0) == 1.0
    finally:
        deaf.stop()


def test_notices_can_be_switched_off(engine: Engine, env: Callable[[str, str], None]) -> None:
    env("MODOPS_NOTICES", "off")
    assert notices.start_listener(engine) is None
