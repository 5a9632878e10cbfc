"""Configuration changes announced to every process of a deployment (PostgreSQL LISTEN/NOTIFY).

Each API worker keeps short-lived copies of what every request needs: the caller behind a
bearer token, the acting user, the project's configuration. Without a way to hear of changes
made elsewhere (another worker, the CLI, a job) those copies must expire every second, and on
the labelers' hot path re-reading them cost about a third of the server's CPU (issue 4's
benchmark: 5.8 → 4.1 ms per pair with long-lived copies).

So a change also goes out as a notice: ``publish_change`` adds ``pg_notify`` to the
transaction that makes the change, and PostgreSQL delivers it to every listener when (and only
if) it commits.
A ``Listener`` thread per process turns each notice back into the local event
(``events.PROJECT_CHANGED``, ``events.USER_CHANGED``) that the caches already clear on.

While the listener is connected, copies may live ``LONG_TTL_S`` (a safety net for changes made
by hand in SQL); otherwise — SQLite, no listener, or a lost connection — they keep the short
expiry they always had. After a reconnect every cache is cleared once, since notices sent
while disconnected are lost.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any

import orjson
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from modops.domain import events
from modops.settings import settings
from modops.store import outbox
from modops.store.db import store_key

log = logging.getLogger(__name__)

CHANNEL = "modops_changes"
LONG_TTL_S = 30.0
RETRY_S = 2.0
CHECK_EVERY_S = 5.0  # the listener pings itself this often; a ping not heard back ends trust
PING = "ping"
ANNOUNCED = (events.PROJECT_CHANGED, events.USER_CHANGED)
_listening: set[str] = set()  # stores (``store_key``) whose changes this process hears


def ttl(store: str, short_s: float) -> float:
    """How long a cached copy from ``store`` may live: ``LONG_TTL_S`` while its changes are
    heard, else ``short_s``."""
    return LONG_TTL_S if store in _listening else short_s


def publish_change(db: Session, event: str, payload: dict[str, Any]) -> None:
    """A configuration change: this process's caches hear it when the session commits
    (``modops.store.outbox``); on PostgreSQL every other process's too (``pg_notify`` is
    delivered only then). An embedded SQLite deployment is one process."""
    outbox.add(db, event, payload)
    if db.get_bind().dialect.name == "postgresql":
        body = orjson.dumps({"event": event, "payload": payload}).decode()
        db.execute(text("SELECT pg_notify(:channel, :body)"), {"channel": CHANNEL, "body": body})


class Listener(threading.Thread):
    """Hears notices on ``CHANNEL`` and republishes them as local events (marked ``remote``).

    It trusts its connection only while it hears its own pings: one when it connects, then one
    every ``CHECK_EVERY_S``. A connection that died quietly, or one behind a proxy that does
    not pass notifications on (PgBouncer in transaction mode), fails the check and the caches
    fall back to their short expiry.
    """

    def __init__(self, engine: Engine) -> None:
        super().__init__(name="modops-notices", daemon=True)
        self.engine = engine
        self.store = store_key(engine)
        self._halt = threading.Event()
        self._connected = threading.Event()
        self._ping = ""
        self._pong = threading.Event()

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def stop(self) -> None:
        self._halt.set()
        _listening.discard(self.store)
        self.join(timeout=5)

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self._listen()
            except Exception:  # the database restarted or the network dropped: retry
                log.warning("change notices lost their connection; retrying", exc_info=True)
            finally:
                self._connected.clear()
                _listening.discard(self.store)
            self._halt.wait(RETRY_S)

    def _send_ping(self, dbapi: Any) -> None:
        self._ping = secrets.token_hex(8)
        self._pong.clear()
        body = orjson.dumps({"event": PING, "payload": {"token": self._ping}}).decode()
        dbapi.execute("SELECT pg_notify(%s, %s)", (CHANNEL, body))

    def _hear(self, dbapi: Any, seconds: float, *, until_pong: bool = False) -> None:
        """Deliver notices for ``seconds`` (in short slices, so ``stop`` is prompt)."""
        deadline = time.monotonic() + seconds
        while not self._halt.is_set() and not (until_pong and self._pong.is_set()):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            for notice in dbapi.notifies(timeout=min(left, 0.5)):
                self._deliver(notice.payload)

    def _listen(self) -> None:
        raw = self.engine.raw_connection()
        raw.detach()  # a connection of its own for as long as it lives, not a pooled one
        try:
            dbapi = raw.dbapi_connection
            assert dbapi is not None
            dbapi.autocommit = True
            dbapi.execute(f"LISTEN {CHANNEL}")
            self._send_ping(dbapi)
            self._hear(dbapi, CHECK_EVERY_S, until_pong=True)
            if not self._pong.is_set():
                raise ConnectionError("change notices do not come back on this connection")
            # Whatever changed while nobody was listening: forget it all once.
            for event in ANNOUNCED:
                events.publish(event, {"remote": True, "reconnected": True})
            self._connected.set()
            _listening.add(self.store)
            while not self._halt.is_set():
                self._send_ping(dbapi)
                self._hear(dbapi, CHECK_EVERY_S)
                if not self._pong.is_set() and not self._halt.is_set():
                    raise ConnectionError(f"no ping heard back within {CHECK_EVERY_S} s")
        finally:
            raw.close()

    def _deliver(self, body: str) -> None:
        try:
            message = orjson.loads(body)
            event, payload = message["event"], dict(message.get("payload") or {})
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("ignoring a malformed change notice: %.200s", body)
            return
        if event == PING:
            if payload.get("token") == self._ping:
                self._pong.set()
        elif event in ANNOUNCED:
            events.publish(event, {**payload, "remote": True})


def start_listener(engine: Engine) -> Listener | None:
    """Start hearing change notices (PostgreSQL); None where there is nothing to listen to, or
    when ``MODOPS_NOTICES=off``."""
    if engine.dialect.name != "postgresql" or not settings().notices:
        return None
    listener = Listener(engine)
    listener.start()
    return listener
