"""The work queue: routing at ingest, leases, overlap, priority, consensus, review, appeals.

The order in which work is handed out is documented in ``next_task.md`` beside this file, and
the item/task state machines in ``modops.domain.states``.

Names load on first use (PEP 562): the import's parse process imports a light
submodule of this package without loading the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modops._lazy import lazy_exports

# Content comes in through ``ingest_file`` (stored and routed at once); the routing hook
# itself, ``routing.route_after_import``, is not exported: an import that forgets it leaves
# items in state ``new``.

if TYPE_CHECKING:
    from modops.queue.dispense import expire_leases, held_task, next_review, next_task
    from modops.queue.gold import make_gold
    from modops.queue.ingest import ingest_file
    from modops.queue.labeling import flag, leave, skip, submit, submit_and_next
    from modops.queue.planning import RoutingSummary
    from modops.queue.review import decide, hand_back, open_appeal
    from modops.queue.routing import route_items, route_pending
    from modops.queue.views import (
        AnnotationView,
        DecisionResult,
        ItemView,
        ReviewView,
        SubmitResult,
        TaskView,
    )

_HOMES = {
    "modops.queue.dispense": ("expire_leases", "held_task", "next_review", "next_task"),
    "modops.queue.gold": ("make_gold",),
    "modops.queue.labeling": ("flag", "leave", "skip", "submit", "submit_and_next"),
    "modops.queue.review": ("decide", "hand_back", "open_appeal"),
    "modops.queue.ingest": ("ingest_file",),
    "modops.queue.planning": ("RoutingSummary",),
    "modops.queue.routing": ("route_items", "route_pending"),
    "modops.queue.views": (
        "AnnotationView",
        "DecisionResult",
        "ItemView",
        "ReviewView",
        "SubmitResult",
        "TaskView",
    ),
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
    "held_task",
    "ingest_file",
    "leave",
    "make_gold",
    "next_review",
    "next_task",
    "open_appeal",
    "route_items",
    "route_pending",
    "skip",
    "submit",
    "submit_and_next",
]


__getattr__ = lazy_exports(__name__, _HOMES)
