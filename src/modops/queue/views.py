"""What the queue hands to people: plain dataclasses, safe to serialize.

A gold task looks exactly like any other task (``kind`` is "label" for both), so labelers
cannot tell them apart through any interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class ItemView:
    id: int
    external_id: str
    product: str
    title: str | None
    caption: str | None
    comment: str | None
    transcript: str | None
    text: str | None
    media_url: str | None
    metadata: dict[str, Any] | None
    language: str
    created_at: datetime
    view_count: int
    user_reported: bool


@dataclass(slots=True)
class TaskView:
    task_id: int
    kind: str  # "label" for label and gold tasks alike; "review", "audit", "appeal"
    project_key: str
    item: ItemView
    leased_at: datetime
    lease_expires_at: datetime
    machine_suggestion: dict[str, Any] | None = None
    #: why the machine scored it so: per policy, the head, bank or extractor that fired, its
    #: score and the words it matched (``modops.machine.banks.explain``)
    machine_why: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class AnnotationView:
    annotation_id: int
    labeler: str
    labels: list[str]
    note: str | None
    flagged: bool
    submitted_at: datetime
    handle_ms: int | None


@dataclass(slots=True)
class ReviewView(TaskView):
    """A reviewer's task: the item with every label it has received, side by side."""

    annotations: list[AnnotationView] = field(default_factory=list)
    current_labels: list[str] | None = None  # audits and appeals: the decision under review
    reason: str | None = None  # why it is here: disagreement, flag, audit sample, appeal text
    #: the machine's part: score, model version, route and the routing reason (or None)
    routing: dict[str, Any] | None = None
    #: the decision under review (audits, appeals): source, when, by whom, its basis
    decision: dict[str, Any] | None = None


@dataclass(slots=True)
class SubmitResult:
    annotation_id: int
    item_state: str
    decided_labels: list[str] | None = None
    escalated: bool = False


@dataclass(slots=True)
class DecisionResult:
    decision_id: int
    labels: list[str]
    action: str
    source: str
    overturned: list[str] = field(default_factory=list)
    appeal_outcome: str | None = None
