"""Finding 5: a manager could register webhooks to internal addresses (the database port,
loopback in every spelling, cloud metadata, private ranges), and the delivery log echoed 200
characters of the internal response. Deleting a webhook left its deliveries pending.
Now every outbound request goes through ``modops.net.outbound``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from modops.net.outbound import GuardedClient, OutboundPolicy, OutboundRefused
from modops.notify.webhooks import create_webhook, deliver_due
from modops.store import outbox, session_scope
from modops.store.models_web import Webhook, WebhookDelivery
from tests.api.world import World

ATTACKS = [
    "http://127.0.0.1:5432/", "http://[::1]/", "http://2130706433/", "http://127.1/",
    "http://0x7f.1/", "http://0177.0.0.1/", "http://localhost:6379/", "http://0.0.0.0/",
    "http://169.254.169.254/latest/meta-data/", "http://metadata.google.internal/",
    "http://[fd00:ec2::254]/", "http://10.0.0.1/", "http://192.168.1.1/", "http://172.16.0.1/",
    "http://100.64.0.1/", "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/",
    "http://224.0.0.1/", "file:///etc/passwd", "gopher://127.0.0.1/", "http://u:p@example.com/",
]


@pytest.mark.parametrize("url", ATTACKS)
def test_the_policy_refuses_internal_targets(url: str) -> None:
    with pytest.raises(OutboundRefused):
        OutboundPolicy().vet(url, require_resolution=False)


def test_registration_refuses_internal_targets_with_422(app_client: TestClient, token_for,
                                                        world: World) -> None:
    mgr = token_for("manager")
    for url in ATTACKS:
        r = app_client.post("/api/v1/webhooks", headers=mgr, json={"url": url,
                                                                   "project": "kr-web"})
        assert r.status_code == 422, (url, r.status_code, r.text)
        assert "refused" in r.text
    r = app_client.post("/api/v1/webhooks", headers=mgr,
                        json={"url": "https://hooks.example.com/in", "project": "kr-web"})
    assert r.status_code == 201, r.text
    with session_scope(world.engine) as s:
        assert [h.url for h in s.scalars(select(Webhook))] == ["https://hooks.example.com/in"]


def test_the_allow_list_reopens_only_what_it_names() -> None:
    loopback = OutboundPolicy.parse("loopback")
    assert loopback.vet("http://127.0.0.1:8080/x")[2] is not None
    for url in ("http://10.0.0.1/", "http://169.254.169.254/", "http://[fd00:ec2::254]/"):
        with pytest.raises(OutboundRefused):
            loopback.vet(url)
    # Metadata addresses stay refused even inside an opened range.
    with pytest.raises(OutboundRefused):
        OutboundPolicy.parse("169.254.0.0/16,fc00::/7").vet("http://169.254.169.254/")
    with pytest.raises(ValueError):
        OutboundPolicy.parse("everything")


class Internal:
    """A service on 127.0.0.1 that should never be reached, or (when allowed) answers with a
    secret in its body, or redirects."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, str]] = []
        self.redirect_to: str | None = None
        me = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                me.hits.append((self.path, self.headers.get("host", "")))
                if self.headers.get("content-length"):
                    self.rfile.read(int(self.headers["content-length"]))
                if me.redirect_to:
                    self.send_response(302)
                    self.send_header("location", me.redirect_to)
                    self.end_headers()
                    return
                body = b"SECRET-INTERNAL-PASSWORD=hunter2"
                self.send_response(500)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def internal() -> Iterator[Internal]:
    srv = Internal()
    yield srv
    srv.close()


def _hook_row(world: World, url: str) -> int:
    """A webhook stored as it was before the guard existed (no registration check)."""
    from modops.store import utcnow
    with session_scope(world.engine) as s:
        hook = Webhook(url=url, project_id=None, secret="s", events=[], active=True,
                       created_at=utcnow())
        s.add(hook)
        s.flush()
        return hook.id


def _queue(world: World, event: str = "decision") -> None:
    outbox.forget_webhooks()
    with session_scope(world.engine) as s:
        outbox.enqueue_webhooks(s, event, {"project": "kr-web", "item_id": 1})


def _log(world: World) -> list[tuple[str, str | None]]:
    with session_scope(world.engine) as s:
        return [(d.state, d.last_error) for d in s.scalars(select(WebhookDelivery))]


def test_an_old_internal_webhook_is_refused_at_connect(world: World, internal: Internal) -> None:
    _hook_row(world, f"http://127.0.0.1:{internal.port}/hook")
    _queue(world)
    with GuardedClient(OutboundPolicy()) as client:
        assert deliver_due(world.engine, client, max_attempts=1) == 1
    assert internal.hits == []
    [(state, error)] = _log(world)
    assert state == "failed" and error is not None and error.startswith("refused:")


def test_the_delivery_log_never_echoes_the_response(world: World, internal: Internal) -> None:
    _hook_row(world, f"http://127.0.0.1:{internal.port}/hook")
    _queue(world)
    with GuardedClient(OutboundPolicy.parse("loopback")) as client:
        deliver_due(world.engine, client, max_attempts=1)
    assert len(internal.hits) == 1
    assert _log(world) == [("failed", "HTTP 500")]


def test_dns_rebinding_connects_to_the_vetted_address(internal: Internal) -> None:
    answers = {"rebind.test": ["93.184.216.34"]}
    policy = OutboundPolicy(allow=(), resolve=lambda host, _port: answers[host])
    # Registration saw a public address; by the time of delivery the name points inside.
    assert policy.vet("http://rebind.test/hook")[2] is not None
    answers["rebind.test"] = ["127.0.0.1"]
    with GuardedClient(policy) as client, pytest.raises(OutboundRefused):
        client.post(f"http://rebind.test:{internal.port}/hook", content=b"{}")
    assert internal.hits == []
    # The connection goes to the address that was checked, not to a second lookup: the
    # name below resolves nowhere else, yet the request arrives with its Host header intact.
    pinned = OutboundPolicy(allow=OutboundPolicy.parse("loopback").allow,
                            resolve=lambda _host, _port: ["127.0.0.1"])
    with GuardedClient(pinned) as client:
        client.post(f"http://pinned.test:{internal.port}/hook", content=b"{}")
    assert internal.hits == [("/hook", f"pinned.test:{internal.port}")]


def test_redirects_to_internal_targets_are_not_followed(internal: Internal) -> None:
    internal.redirect_to = "http://169.254.169.254/latest/meta-data/"
    with GuardedClient(OutboundPolicy.parse("loopback")) as client:
        # Webhooks follow no redirect at all: the 302 is the answer.
        assert client.post(f"http://127.0.0.1:{internal.port}/a").status_code == 302
        with pytest.raises(OutboundRefused):
            client.get(f"http://127.0.0.1:{internal.port}/a", max_redirects=3)


def test_deleting_a_webhook_cancels_its_pending_deliveries(app_client: TestClient, token_for,
                                                           world: World,
                                                           internal: Internal) -> None:
    mgr = token_for("manager")
    hook = app_client.post("/api/v1/webhooks", headers=mgr, json={
        "url": "https://hooks.example.com/gone", "project": "kr-web"}).json()
    _queue(world)
    _queue(world, "appeal.opened")
    assert [s for s, _ in _log(world)] == ["pending", "pending"]
    assert app_client.delete(f"/api/v1/webhooks/{hook['id']}", headers=mgr).status_code == 204
    assert [s for s, _ in _log(world)] == ["cancelled", "cancelled"]
    with GuardedClient(OutboundPolicy()) as client:
        assert deliver_due(world.engine, client) == 0
    _queue(world)  # a deleted webhook gets no new deliveries either
    assert len(_log(world)) == 2


def test_create_webhook_outside_the_api_uses_the_same_policy(world: World) -> None:
    from modops.domain import ValidationError
    with session_scope(world.engine) as s, pytest.raises(ValidationError):
        create_webhook(s, url="http://127.1:5432/", project_id=None, events=None,
                       created_by_id=None)
