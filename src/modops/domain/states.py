"""The item and task state machines, and how they are enforced.

Two checks, both read from the tables below:

* ``check_item`` / ``check_task``: where one row's state is read (and locked) before it
  changes, the queue checks the move in Python first, so an illegal move is a clear error.
* ``set_state``: every ``UPDATE`` that changes an item's or a task's state is built here, with
  ``WHERE … AND state IN (the states allowed to move to the target)``. A stale or illegal
  move then changes no row instead of corrupting one; single-row callers that must not lose
  the change check the row count (``expect_one``). The set-based paths (routing an import
  batch, expiring leases, cancelling open slots on escalation) carry the same guard: the
  predicate is on the row already being updated, so it costs nothing measurable.

``tests/queue/test_states.py`` checks that no ``UPDATE`` outside this module sets a state.

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

from enum import StrEnum

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


def _table_of(target: StrEnum) -> dict[StrEnum, frozenset[StrEnum]]:
    table = ITEM_TRANSITIONS if isinstance(target, ItemState) else TASK_TRANSITIONS
    return table  # type: ignore[return-value]


def allowed_from(*targets: ItemState | TaskState) -> tuple[str, ...]:
    """The states that may move to every one of ``targets`` (the tables read backwards)."""
    table = _table_of(targets[0])
    return tuple(state.value for state, nexts in table.items()
                 if all(t in nexts for t in targets))


def state_guard(*targets: ItemState | TaskState, column: str = "state",
                among: tuple[ItemState | TaskState, ...] | None = None) -> str:
    """SQL: ``column`` holds a state allowed to move to ``targets``; ``among`` narrows it to
    a subset (a path that moves only some of the allowed states, e.g. open slots only).
    State names are enum values, safe to write inline."""
    states = allowed_from(*targets)
    if among is not None:
        narrowed = tuple(s.value for s in among)
        if not set(narrowed) <= set(states):
            raise IllegalTransition(f"{narrowed} cannot all move to {targets}")
        states = narrowed
    if len(states) == 1:
        return f"{column} = '{states[0]}'"
    quoted = ", ".join(f"'{s}'" for s in states)
    return f"{column} IN ({quoted})"


def set_state(table: str, target: ItemState | TaskState | tuple[ItemState | TaskState, ...],
              *, where: str, also: str = "", source: str = "", value: str | None = None,
              among: tuple[ItemState | TaskState, ...] | None = None) -> str:
    """``UPDATE table SET state = target[, also] [FROM source] WHERE (where) AND <guard>``.

    ``target`` may be several states when ``value`` (an SQL expression, e.g. a staged
    column) picks among them per row: the guard is then the states that may move to each.
    """
    targets = target if isinstance(target, tuple) else (target,)
    if table not in ("items", "tasks") or any(
            (table == "items") != isinstance(t, ItemState) for t in targets):
        raise ValueError(f"{targets!r} are not states of {table}")
    if value is None:
        if len(targets) != 1:
            raise ValueError("several target states need a value expression")
        value = f"'{targets[0].value}'"
    extra = f", {also}" if also else ""
    joined = f" FROM {source}" if source else ""
    return (f"UPDATE {table} SET state = {value}{extra}{joined} WHERE ({where}) "
            f"AND {state_guard(*targets, column=f'{table}.state', among=among)}")


def expect_one(rowcount: int, what: str, target: ItemState | TaskState) -> None:
    """A single-row state change that changed nothing was refused by the guard."""
    if rowcount != 1:
        raise IllegalTransition(f"{what}: cannot go to {target.value} from its current state")
