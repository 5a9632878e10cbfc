"""Domain events leave a transaction through here: written with it, heard after it commits.

A change (a decision, an appeal, a settings PATCH) and the events it causes must share one
fate. So ``add`` does two things inside the caller's transaction and nothing outside it:

- **Webhooks** — the event becomes one ``webhook_deliveries`` row per webhook that wants it,
  inserted on the caller's own connection. That table is the outbox: it commits or rolls back
  with the change, and the dispatcher (``modops.notify.webhooks``) delivers it after commit.
  Only the documented events (``WEBHOOK_EVENTS``) go out; configuration notices
  (``project.changed``, ``user.changed``) never do.
- **In-process subscribers** (caches) — the event is kept on the session and published by
  ``events.publish`` only after the commit; a rollback drops it.

Before this, a subscriber turned events into deliveries in a transaction of its own, run while
the change was still open. On SQLite that second writer waited for the first, which waited for
it: a webhook with no event filter made every settings PATCH answer 503 (issue 23, finding 3);
on PostgreSQL the delivery committed before — and even without — the change.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import Connection, event, insert, select
from sqlalchemy.orm import Session

from modops.domain import events
from modops.store.db import store_key, utcnow
from modops.store.models import Project
from modops.store.models_web import Webhook, WebhookDelivery

WEBHOOK_EVENTS = (events.DECISION, events.APPEAL_OPENED, events.APPEAL_RESOLVED, "alert",
                  events.ACCOUNT_ENFORCEMENT)
HOOKS_TTL_S = 2.0  # another process's new webhook is seen within this; this process's at once
_PENDING = "modops.outbox"

_hooks: dict[str, tuple[float, list[tuple[int, int | None, list[str]]]]] = {}
_project_ids: dict[tuple[str, str], int] = {}  # project keys never change
_guard = threading.Lock()


def forget_webhooks() -> None:
    """Webhooks were created, changed or deleted in this process: read them again."""
    with _guard:
        _hooks.clear()


def _store(db: Session | Connection) -> str:
    return store_key(db.engine if isinstance(db, Connection) else db.get_bind().engine)


def _active_hooks(db: Session | Connection) -> list[tuple[int, int | None, list[str]]]:
    """(id, project id, event filter) of every active webhook, cached per store for
    ``HOOKS_TTL_S``: a labeler's submit must not pay a query when no webhook exists."""
    store = _store(db)
    hit = _hooks.get(store)
    now = time.monotonic()
    if hit is not None and now - hit[0] < HOOKS_TTL_S:
        return hit[1]
    rows = [(i, p, list(ev or [])) for i, p, ev in db.execute(
        select(Webhook.id, Webhook.project_id, Webhook.events).where(Webhook.active.is_(True)))]
    with _guard:
        _hooks[store] = (now, rows)
    return rows


def _project_id(db: Session | Connection, ref: Any) -> int | None:
    if isinstance(ref, int):
        return ref
    key = (_store(db), str(ref))
    if key not in _project_ids:
        pid = db.execute(select(Project.id).where(Project.key == key[1])).scalar()
        if pid is None:
            return None
        _project_ids[key] = pid
    return _project_ids[key]


def enqueue_webhooks(db: Session | Connection, event_name: str, payload: dict[str, Any], *,
                     project: int | str | None = None) -> int:
    """Write the deliveries ``event_name`` causes, in ``db``'s transaction; returns how many.

    ``project`` (id or key; default ``payload["project"]``) picks the project's webhooks and
    the global ones."""
    if event_name not in WEBHOOK_EVENTS:
        return 0
    hooks = _active_hooks(db)
    if not hooks:
        return 0
    pid = _project_id(db, payload.get("project") if project is None else project)
    wanted = [h for h, p, ev in hooks
              if (p is None or p == pid) and (not ev or event_name in ev)]
    if not wanted:
        return 0
    # The cache may name a webhook another process (or a test's table reset) deleted since:
    # keep only the ones still there, and lock them against deletion until this transaction
    # ends (FOR KEY SHARE on PostgreSQL; SQLite has one writer), so the insert below can never
    # fail its foreign key and take the user's change down with it.
    wanted = list(db.execute(
        select(Webhook.id).where(Webhook.id.in_(wanted), Webhook.active.is_(True))
        .order_by(Webhook.id).with_for_update(key_share=True)).scalars())
    if not wanted:
        forget_webhooks()
        return 0
    now = utcnow()
    body = {"event": event_name, "at": now.isoformat() + "Z", **payload}
    db.execute(insert(WebhookDelivery), [
        {"webhook_id": h, "event": event_name, "payload": body, "state": "pending",
         "attempts": 0, "next_attempt_at": now, "created_at": now} for h in wanted])
    return len(wanted)


def add(db: Session | Connection, event_name: str, payload: dict[str, Any],
        *, after_commit: list[tuple[str, dict[str, Any]]] | None = None) -> None:
    """Record a domain event in ``db``'s transaction.

    Webhook deliveries are written now (same transaction). The in-process publication waits
    for the commit: on a ``Session`` it is kept on the session; a bare ``Connection`` caller
    (``queue.core.write_tx``) passes its own ``after_commit`` list and publishes it itself.
    """
    enqueue_webhooks(db, event_name, payload)
    if after_commit is not None:
        after_commit.append((event_name, payload))
    elif isinstance(db, Session):
        db.info.setdefault(_PENDING, []).append((event_name, payload))
    else:
        raise TypeError("outbox.add on a Connection needs an after_commit list")


@event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    for name, payload in session.info.pop(_PENDING, ()):
        events.publish(name, payload)


@event.listens_for(Session, "after_rollback")
def _drop_on_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
