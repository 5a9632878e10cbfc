"""Finding 3: a webhook with no event filter made every settings PATCH answer 503 on SQLite
(the webhook subscriber opened a second write transaction while the change was open), and on
PostgreSQL wrote an undocumented ``project.changed`` delivery before the change committed.
Now events leave through the outbox (``modops.store.outbox``): deliveries are written in the
change's own transaction, in-process subscribers hear the event after commit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from modops.domain import events
from modops.queue.core import write_tx
from modops.store import outbox, session_scope
from modops.store.models_web import WebhookDelivery
from tests.api.world import World


def _deliveries(world: World) -> list[tuple[str, str]]:
    with session_scope(world.engine) as s:
        return [(d.event, d.state) for d in s.scalars(
            select(WebhookDelivery).order_by(WebhookDelivery.id))]


def test_a_webhook_without_filter_does_not_block_settings(app_client: TestClient, token_for,
                                                          world: World) -> None:
    admin, mgr = token_for("admin"), token_for("manager")
    for body in ({"url": "https://hooks.example.com/all"},
                 {"url": "https://hooks.example.com/p", "project": "kr-web"}):
        r = app_client.post("/api/v1/webhooks", headers=admin, json=body)
        assert r.status_code == 201, r.text
    for overlap in (2, 3, 2):  # the attack: every PATCH answered 503 "the database is busy"
        r = app_client.patch("/api/v1/projects/kr-web/settings", headers=mgr,
                             json={"overlap_k": overlap})
        assert r.status_code == 200, r.text
        assert r.json()["settings"]["overlap_k"] == overlap
    # Configuration notices are not webhook events (only the documented ones are).
    assert _deliveries(world) == []


def test_deliveries_commit_with_the_change_and_never_without_it(world: World) -> None:
    with session_scope(world.engine) as s:
        from modops.net.outbound import OutboundPolicy
        from modops.notify.webhooks import create_webhook
        create_webhook(s, url="https://hooks.example.com/d", project_id=None, events=None,
                       created_by_id=None, policy=OutboundPolicy())
    outbox.forget_webhooks()
    heard: list[str] = []

    def listener(event: str, payload: dict) -> None:
        if not payload.get("remote"):  # notices from other processes on the same database
            heard.append(event)

    events.subscribe(listener)
    try:
        with pytest.raises(RuntimeError), write_tx(world.engine) as (_conn, pending):
            pending.append((events.DECISION, {"project": "kr-web", "item_id": 1}))
            raise RuntimeError("the change fails")
        assert _deliveries(world) == [] and heard == []  # rolled back: nothing went out
        with write_tx(world.engine) as (_conn, pending):
            pending.append((events.DECISION, {"project": "kr-web", "item_id": 2}))
            assert heard == []  # subscribers hear nothing before the commit
        assert _deliveries(world) == [("decision", "pending")] and heard == ["decision"]
    finally:
        events.unsubscribe(listener)


def test_in_process_subscribers_hear_a_session_change_only_after_commit(world: World) -> None:
    from modops.projects import get_project, update_project

    heard: list[tuple[str, bool]] = []
    engine = world.engine

    def listener(event: str, payload: dict) -> None:
        if payload.get("remote") or payload.get("project") != "kr-web":
            return  # notices from other processes on the same database
        with session_scope(engine) as s:  # a subscriber reading the store sees the change
            overlap = get_project(s, "kr-web").overlap_k
        heard.append((event, overlap == 4))

    events.subscribe(listener)
    try:
        with pytest.raises(RuntimeError), session_scope(engine) as s:
            update_project(s, get_project(s, "kr-web"), {"overlap_k": 5}, actor="test")
            raise RuntimeError("rolled back")
        assert heard == []
        with session_scope(engine) as s:
            update_project(s, get_project(s, "kr-web"), {"overlap_k": 4}, actor="test")
            assert heard == []
        assert heard == [(events.PROJECT_CHANGED, True)]
    finally:
        events.unsubscribe(listener)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


def test_a_webhook_deleted_elsewhere_after_the_cache_read_does_not_fail_the_change(
        world: World) -> None:
    """The hook cache lives 2 s; another process (or a table reset) may delete a hook within
    it. The change must still commit, with no delivery to the vanished hook (it used to fail
    the whole transaction on the delivery's foreign key)."""
    from sqlalchemy import delete

    from modops.net.outbound import OutboundPolicy
    from modops.notify.webhooks import create_webhook
    from modops.store.models_web import Webhook

    with session_scope(world.engine) as s:
        create_webhook(s, url="https://hooks.example.com/gone", project_id=None, events=None,
                       created_by_id=None, policy=OutboundPolicy())
    outbox.forget_webhooks()
    with write_tx(world.engine) as (conn, _pending):  # fills the cache with the hook
        assert outbox.enqueue_webhooks(conn, events.DECISION, {"project": "kr-web"}) == 1
    with world.engine.begin() as conn:  # "another process": no in-process notice
        conn.execute(delete(WebhookDelivery))
        conn.execute(delete(Webhook))
    with write_tx(world.engine) as (conn, _pending):
        assert outbox.enqueue_webhooks(conn, events.DECISION, {"project": "kr-web"}) == 0
    assert _deliveries(world) == []
