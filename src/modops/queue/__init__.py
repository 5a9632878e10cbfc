"""The work queue: routing at ingest, leases, overlap, priority, consensus, review, appeals.

The order in which work is handed out is documented in ``next_task.md`` beside this file, and
the item/task state machines in ``modops.domain.states``.
"""

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
