"""Webhooks: decision and appeal events POSTed to configured URLs, signed, retried, visible.

Each event becomes one ``webhook_deliveries`` row per matching webhook, written in the same
transaction as the change it reports (``modops.store.outbox``: no event is lost if the process
dies, none is sent for a change that rolled back). A
background thread delivers due rows; a row is claimed with a conditional UPDATE so several
app processes can run dispatchers without double-sending. Failures back off exponentially
(base × 2^attempt) and after ``max_attempts`` the row is marked ``failed`` and stays listed.

Signature: ``X-ModOps-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`` with
``X-ModOps-Timestamp`` (Unix seconds), so receivers can also reject replays.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from modops.domain import ValidationError
from modops.net.outbound import GuardedClient, OutboundPolicy, OutboundRefused
from modops.store import outbox, session_scope, utcnow
from modops.store.db import affected
from modops.store.models_web import Webhook, WebhookDelivery

log = logging.getLogger("modops.webhooks")
EVENTS = outbox.WEBHOOK_EVENTS


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def create_webhook(
    session: Session, *, url: str, project_id: int | None, events: list[str] | None,
    created_by_id: int | None, policy: OutboundPolicy | None = None,
) -> Webhook:
    """Register ``url``; refused (``ValidationError``, HTTP 422) unless it is an http(s) URL
    the outbound policy lets ModOps reach (``modops.net.outbound``)."""
    if len(url) > 2000:
        raise ValidationError("webhook url must be at most 2000 characters")
    try:
        (policy or OutboundPolicy.from_env()).vet(url, require_resolution=False)
    except OutboundRefused as exc:
        raise ValidationError(f"webhook url refused: {exc}") from None
    unknown = [e for e in events or [] if e not in EVENTS]
    if unknown:
        raise ValidationError(f"unknown event {unknown[0]!r}; known: {', '.join(EVENTS)}")
    hook = Webhook(url=url, project_id=project_id, secret=secrets.token_urlsafe(32),
                   events=list(events or []), active=True, created_by_id=created_by_id,
                   created_at=utcnow())
    session.add(hook)
    session.flush()
    return hook


def emit(session: Session, project_id: int, event: str, payload: dict[str, Any]) -> int:
    """Queue ``event`` for every active webhook of the project (and global ones), in the
    session's transaction (``modops.store.outbox``)."""
    return outbox.enqueue_webhooks(session, event, payload, project=project_id)


def retire_webhook(session: Session, hook: Webhook) -> int:
    """Deactivate ``hook`` and cancel its pending deliveries; returns how many were cancelled.
    (Rows stay in the log as ``cancelled``; one already claimed by a dispatcher may still go
    out once.)"""
    hook.active = False
    return affected(session.execute(update(WebhookDelivery).where(
        WebhookDelivery.webhook_id == hook.id, WebhookDelivery.state == "pending",
    ).values(state="cancelled", next_attempt_at=None)))


def deliver_due(engine: Engine, client: GuardedClient, *, max_attempts: int = 5,
                backoff_s: float = 2.0, timeout_s: float = 5.0, limit: int = 50) -> int:
    """Try every due delivery once; returns how many were attempted."""
    now = utcnow()
    with session_scope(engine) as s:
        due = s.execute(select(WebhookDelivery.id).where(
            WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now,
        ).order_by(WebhookDelivery.next_attempt_at).limit(limit)).scalars().all()
    attempted = 0
    for delivery_id in due:
        with session_scope(engine, immediate=True) as s:
            # Claim: push the next attempt past the timeout; only one dispatcher wins.
            claimed = affected(s.execute(update(WebhookDelivery).where(
                WebhookDelivery.id == delivery_id, WebhookDelivery.state == "pending",
                WebhookDelivery.next_attempt_at <= now,
            ).values(next_attempt_at=now + timedelta(seconds=timeout_s * 2 + 1))))
            if not claimed:
                continue
            d = s.get(WebhookDelivery, delivery_id)
            hook = s.get(Webhook, d.webhook_id) if d else None
            if d is None:
                continue
            if hook is None or not hook.active:  # deleted meanwhile: never sent
                d.state, d.next_attempt_at = "cancelled", None
                continue
            url, secret, payload, event = hook.url, hook.secret, d.payload, d.event
        attempted += 1
        body = orjson.dumps(payload)
        ts = str(int(time.time()))
        status: int | None = None
        error: str | None = None
        try:
            resp = client.post(url, content=body, timeout=timeout_s, headers={
                "content-type": "application/json",
                "user-agent": "ModOps-Webhook/1",
                "x-modops-event": event,
                "x-modops-delivery": str(delivery_id),
                "x-modops-timestamp": ts,
                "x-modops-signature": signature(secret, ts, body),
            })
            status = resp.status_code
            if not 200 <= status < 300:
                # Never the body: the log must not become a way to read internal services.
                error = f"HTTP {status}"
        except OutboundRefused as exc:
            error = f"refused: {exc}"[:500]
        except httpx.HTTPError as exc:  # the kind of failure only, not the peer's words
            error = type(exc).__name__
        with session_scope(engine, immediate=True) as s:
            d = s.get(WebhookDelivery, delivery_id)
            assert d is not None
            d.attempts += 1
            d.last_status = status
            d.last_error = error
            if error is None:
                d.state = "delivered"
                d.delivered_at = utcnow()
                d.next_attempt_at = None
            elif d.attempts >= max_attempts:
                d.state = "failed"
                d.next_attempt_at = None
                log.warning("webhook delivery %s failed for good: %s", delivery_id, error)
            else:
                d.next_attempt_at = utcnow() + timedelta(
                    seconds=backoff_s * 2 ** (d.attempts - 1))
    return attempted


class Dispatcher:
    """A daemon thread that delivers due webhooks until stopped."""

    def __init__(self, engine: Engine, *, max_attempts: int, backoff_s: float, timeout_s: float,
                 poll_s: float, policy: OutboundPolicy | None = None) -> None:
        self.engine = engine
        self.policy = policy or OutboundPolicy.from_env()
        self.kw: dict[str, Any] = {"max_attempts": max_attempts, "backoff_s": backoff_s,
                                   "timeout_s": timeout_s}
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="modops-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        with GuardedClient(self.policy) as client:
            while not self._stop.is_set():
                try:
                    n = deliver_due(self.engine, client, **self.kw)
                except Exception:  # keep the dispatcher alive; the row stays pending
                    log.exception("webhook dispatch failed")
                    n = 0
                if not n:
                    self._stop.wait(self.poll_s)
