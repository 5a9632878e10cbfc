"""The work queue: routing at ingest, leases, overlap, priority, consensus, review, appeals.

The order in which work is handed out is documented in ``next_task.md`` beside this file, and
the item/task state machines in ``modops.domain.states``.

Names load on first use (PEP 562): the import's parse process imports a light
submodule of this package without loading the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modops.queue.dispense import expire_leases, next_review, next_task
    from modops.queue.gold import make_gold
    from modops.queue.labeling import flag, skip, submit
    from modops.queue.review import decide, hand_back, open_appeal
    from modops.queue.routing import RoutingSummary, route_after_import, route_items, route_pending
    from modops.queue.views import (
        AnnotationView,
        DecisionResult,
        ItemView,
        ReviewView,
        SubmitResult,
        TaskView,
    )

_HOME = {
    "expire_leases": "modops.queue.dispense",
    "next_review": "modops.queue.dispense",
    "next_task": "modops.queue.dispense",
    "make_gold": "modops.queue.gold",
    "flag": "modops.queue.labeling",
    "skip": "modops.queue.labeling",
    "submit": "modops.queue.labeling",
    "decide": "modops.queue.review",
    "hand_back": "modops.queue.review",
    "open_appeal": "modops.queue.review",
    "RoutingSummary": "modops.queue.routing",
    "route_after_import": "modops.queue.routing",
    "route_items": "modops.queue.routing",
    "route_pending": "modops.queue.routing",
    "AnnotationView": "modops.queue.views",
    "DecisionResult": "modops.queue.views",
    "ItemView": "modops.queue.views",
    "ReviewView": "modops.queue.views",
    "SubmitResult": "modops.queue.views",
    "TaskView": "modops.queue.views",
}

__all__ = [
    "AnnotationView",
    "DecisionResult",
    "ItemView",
    "ReviewView",
    "RoutingSummary",
    "SubmitResult",
    "TaskView",
    "decide",
    "expire_leases",
    "flag",
    "hand_back",
    "make_gold",
    "next_review",
    "next_task",
    "open_appeal",
    "route_after_import",
    "route_items",
    "route_pending",
    "skip",
    "submit",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
