"""The item and task state machines. Every state change in the queue goes through ``check_*``,
so an illegal move is a clear error instead of a silent corruption.

Item::

    new ──route──▶ queued ──k labels agree──▶ decided ──appeal──▶ appealed
     │               │                          ▲  ▲                 │
     │               └──disagree / flag──▶ escalated ─reviewer─┘      │
     └──auto_action / auto_clear / imported label──▶ decided ◀─senior review─┘

Task::

    open ──lease──▶ leased ──submit──▶ done
     ▲               │ │
     └──expire/skip──┘ └──cancel──▶ cancelled   (open ──cancel──▶ cancelled too)
"""

from __future__ import annotations

from modops.domain.enums import ItemState, TaskState
from modops.domain.errors import IllegalTransition

ITEM_TRANSITIONS: dict[ItemState, frozenset[ItemState]] = {
    ItemState.NEW: frozenset({ItemState.QUEUED, ItemState.DECIDED}),
    ItemState.QUEUED: frozenset({ItemState.ESCALATED, ItemState.DECIDED}),
    ItemState.ESCALATED: frozenset({ItemState.DECIDED}),
    ItemState.DECIDED: frozenset({ItemState.APPEALED}),
    ItemState.APPEALED: frozenset({ItemState.DECIDED}),
}

TASK_TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    TaskState.OPEN: frozenset({TaskState.LEASED, TaskState.CANCELLED}),
    TaskState.LEASED: frozenset({TaskState.OPEN, TaskState.DONE, TaskState.CANCELLED}),
    TaskState.DONE: frozenset(),
    TaskState.CANCELLED: frozenset(),
}


def check_item(current: str, target: ItemState, item_id: object = None) -> None:
    if target not in ITEM_TRANSITIONS[ItemState(current)]:
        raise IllegalTransition(
            f"item {item_id}: cannot go from {current} to {target.value}"
        )


def check_task(current: str, target: TaskState, task_id: object = None) -> None:
    if target not in TASK_TRANSITIONS[TaskState(current)]:
        raise IllegalTransition(
            f"task {task_id}: cannot go from {current} to {target.value}"
        )
