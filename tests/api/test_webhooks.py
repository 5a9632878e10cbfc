"""Webhooks against a real local receiver: signed, retried with backoff, failures visible."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
from fastapi.testclient import TestClient

from modops.api import Settings, create_app
from tests.api.world import World


class Receiver:
    """A tiny HTTP server on 127.0.0.1 that records requests and answers scripted statuses."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()},
                                          body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([500])  # the first delivery fails: the dispatcher must retry
    yield r
    r.close()


@pytest.fixture
def live_client(world: World) -> Iterator[TestClient]:
    settings = Settings(secret_key="s", webhook_dispatch=True, webhook_max_attempts=3,
                        webhook_backoff_s=0.05, webhook_poll_s=0.05, webhook_timeout_s=2,
                        outbound_allow="loopback")  # the receiver listens on 127.0.0.1
    with TestClient(create_app(world.engine, settings)) as c:
        yield c


def wait_for(predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _escalate_and_decide(client: TestClient, token_for) -> str:  # type: ignore[no-untyped-def]
    ext = None
    for who, label in (("lab1", "profanity"), ("lab2", "harassment"), ("lab3", "none")):
        h = token_for(who)
        task = client.post("/api/v1/projects/kr-web/tasks/next", headers=h).json()
        ext = task["item"]["external_id"]
        client.post(f"/api/v1/tasks/{task['task_id']}/submit", headers=h, json={"labels": [label]})
    rv = client.post("/api/v1/projects/kr-web/reviews/next", headers=token_for("reviewer")).json()
    r = client.post(f"/api/v1/reviews/{rv['task_id']}/decide", headers=token_for("reviewer"),
                    json={"labels": ["profanity"]})
    assert r.status_code == 200, r.text
    assert ext is not None
    return ext


def test_decision_and_appeal_webhooks(live_client: TestClient, token_for, world: World,
                                      receiver: Receiver) -> None:
    mgr = token_for("manager")
    hook = live_client.post("/api/v1/webhooks", headers=mgr,
                            json={"url": receiver.url, "project": "kr-web"}).json()
    dead = live_client.post("/api/v1/webhooks", headers=token_for("admin"),
                            json={"url": "http://127.0.0.1:1/closed",
                                  "events": ["decision"]}).json()
    ext = _escalate_and_decide(live_client, token_for)

    wait_for(lambda: any(status == 200 for _, _, status in receiver.requests))
    headers, body, _ = next(r for r in receiver.requests if r[2] == 200)
    expected = hmac.new(hook["secret"].encode(), headers["x-modops-timestamp"].encode()
                        + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-modops-signature"], "sha256=" + expected)
    event = orjson.loads(body)
    assert event["event"] == "decision" and event["external_id"] == ext
    assert event["labels"] == ["profanity"] and event["source"] == "reviewer"
    # The first attempt got a 500: the same delivery was retried and is now delivered.
    assert receiver.requests[0][2] == 500
    assert receiver.requests[0][0]["x-modops-delivery"] == headers["x-modops-delivery"]
    # (the dispatcher records the outcome just after the receiver answered: wait for it)
    def delivery_log() -> list[dict]:
        return live_client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=mgr).json()

    wait_for(lambda: delivery_log()[0]["state"] == "delivered")
    log = delivery_log()
    assert log[0]["attempts"] == 2
    assert log[0]["last_status"] == 200

    # The unreachable URL is retried with backoff, then marked failed with its error shown.
    def dead_failed() -> bool:
        rows = live_client.get(f"/api/v1/webhooks/{dead['id']}/deliveries",
                               headers=token_for("admin")).json()
        return bool(rows) and rows[0]["state"] == "failed"

    wait_for(dead_failed)
    rows = live_client.get(f"/api/v1/webhooks/{dead['id']}/deliveries",
                           headers=token_for("admin")).json()
    assert rows[0]["attempts"] == 3 and "Connect" in rows[0]["last_error"]
    # The manager's page shows the log too.
    page = live_client.get("/manage/kr-web/webhooks", headers=mgr)
    assert page.status_code == 200 and 'data-state="delivered"' in page.text

    # Appeals: opened by a system, resolved by a reviewer — both reach the receiver.
    r = live_client.post("/api/v1/projects/kr-web/appeals", headers=mgr,
                         json={"external_id": ext, "opened_by": "creator-app",
                               "reason": "풍자입니다 (satire)"})
    assert r.status_code == 201, r.text
    rv = live_client.post("/api/v1/projects/kr-web/reviews/next",
                          headers=token_for("admin")).json()
    assert rv["kind"] == "appeal" and rv["reason"] == "풍자입니다 (satire)"
    r = live_client.post(f"/api/v1/reviews/{rv['task_id']}/decide", headers=token_for("admin"),
                         json={"labels": ["none"]})
    assert r.json()["appeal_outcome"] == "overturned"

    def seen(name: str) -> bool:
        return any(orjson.loads(b)["event"] == name for _, b, s in receiver.requests if s == 200)

    wait_for(lambda: seen("appeal.opened") and seen("appeal.resolved"))
    resolved = next(orjson.loads(b) for _, b, s in receiver.requests
                    if s == 200 and orjson.loads(b)["event"] == "appeal.resolved")
    assert resolved["outcome"] == "overturned" and resolved["labels"] == ["none"]


def test_webhook_url_must_be_http(app_client: TestClient, token_for) -> None:
    r = app_client.post("/api/v1/webhooks", headers=token_for("manager"),
                        json={"url": "javascript:alert(1)", "project": "kr-web"})
    assert r.status_code == 422


@pytest.mark.parametrize("store_name", ["sqlite"])
def test_an_event_is_queued_even_while_another_writer_holds_sqlite(engine) -> None:  # type: ignore[no-untyped-def]
    """Another writer (the dispatcher, a labeler's submit) commits while the event is being
    queued: the queueing waits for the write lock instead of failing on a stale read, so the
    event is not lost."""
    from sqlalchemy import func, select

    from modops.domain import events
    from modops.net.outbound import OutboundPolicy
    from modops.notify.webhooks import create_webhook
    from modops.projects import get_project
    from modops.queue.core import write_tx
    from modops.store import outbox, session_scope
    from modops.store.models_web import WebhookDelivery
    from tests.conftest import make_project

    make_project(engine, "kr-web")
    with session_scope(engine) as s:
        create_webhook(s, url="http://127.0.0.1:9/hook", project_id=get_project(s, "kr-web").id,
                       events=None, created_by_id=None, policy=OutboundPolicy.parse("loopback"))
    outbox.forget_webhooks()
    other = engine.raw_connection()
    other.driver_connection.execute("BEGIN IMMEDIATE")
    other.driver_connection.execute("UPDATE webhooks SET secret = secret")
    release = threading.Timer(0.3, other.driver_connection.commit)
    release.start()
    try:
        with write_tx(engine) as (_conn, pending):
            pending.append((events.DECISION, {"project": "kr-web", "item_id": 1}))
    finally:
        release.join()
        other.close()
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(WebhookDelivery)) == 1
