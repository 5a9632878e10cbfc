"""A tiny in-process event bus: the queue publishes decisions and appeals after commit;
webhooks, alerts and caches subscribe. Subscribers must not raise (errors are logged)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
Handler = Callable[[str, dict[str, Any]], None]
_subscribers: list[Handler] = []

DECISION = "decision"
APPEAL_OPENED = "appeal.opened"
APPEAL_RESOLVED = "appeal.resolved"
ACCOUNT_ENFORCEMENT = "account.enforcement"  # warn / restrict / suspend / ban / lift an account
PROJECT_CHANGED = "project.changed"
USER_CHANGED = "user.changed"


def subscribe(handler: Handler) -> Handler:
    if handler not in _subscribers:
        _subscribers.append(handler)
    return handler


def unsubscribe(handler: Handler) -> None:
    if handler in _subscribers:
        _subscribers.remove(handler)


def publish(event: str, payload: dict[str, Any]) -> None:
    for handler in list(_subscribers):
        try:
            handler(event, payload)
        except Exception:
            log.exception("event subscriber failed for %s", event)
