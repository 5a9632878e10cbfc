"""Consensus, decisions and audit sampling: how an item's labels become an action."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection

from modops.domain import DecisionSource, ItemState, TaskKind, TaskState, events
from modops.domain.states import check_item, expect_one, set_state
from modops.quality import Consensus, DawidSkene, MajorityVote
from modops.queue import runtime
from modops.queue.config import ProjectConfig
from modops.queue.core import dumps, fetch, is_pg, loads, sql
from modops.store.db import utcnow
from modops.store.models import User

DS_REFIT_SECONDS = 600.0
DS_MAX_ANNOTATIONS = 500_000


def _aggregator(conn: Connection, project: ProjectConfig) -> Any:
    """The project's consensus method: majority vote by default; with ``aggregator:
    dawid_skene`` a Dawid–Skene model fitted on the project's recent labels (refitted every
    10 minutes, gold pinned) weighs each labeler's vote by their estimated confusion matrix.
    """
    if project.settings.get("aggregator") != "dawid_skene":
        return MajorityVote()
    cache = runtime.current().dawid_skene
    stamp, model = cache.get(project.id, (0.0, None))
    if time.monotonic() - stamp > DS_REFIT_SECONDS:
        rows = conn.execute(sql(
            "SELECT a.item_id, a.labeler_id, a.labels, i.is_gold, i.gold_labels "
            "FROM annotations a JOIN items i ON i.id = a.item_id WHERE a.project_id = :p "
            "AND a.kind IN ('label', 'gold') ORDER BY a.id DESC LIMIT :n"),
            {"p": project.id, "n": DS_MAX_ANNOTATIONS}).all()
        model = None
        if len({r[1] for r in rows}) >= 2:
            gold = {r[0]: "|".join(loads(r[4])) for r in rows if r[3] and r[4]}
            model = DawidSkene(n_iter=50).fit(
                {"task": [r[0] for r in rows], "worker": [r[1] for r in rows],
                 "label": ["|".join(loads(r[2])) for r in rows]}, gold=gold or None)
        cache[project.id] = (time.monotonic(), model)
    return model or MajorityVote()


def consensus_for_item(conn: Connection, project: ProjectConfig, item_id: int,
                       votes: list[tuple[int, str]] | None = None) -> Consensus:
    """Aggregate an item's label answers (multi-label answers vote as one joined key)."""
    if votes is None:
        votes = [(row[0], "|".join(loads(row[1]))) for row in conn.execute(sql(
            "SELECT labeler_id, labels FROM annotations WHERE item_id = :i AND kind = 'label' "
            "ORDER BY id"), {"i": item_id})]
    consensus: Consensus = _aggregator(conn, project).aggregate(votes)
    return consensus


class LockedItem(NamedTuple):
    """The item columns a decision needs, read (and on PostgreSQL locked) by the caller."""

    state: str
    view_count: int
    external_id: str
    final_labels: Any


def record_decision(conn: Connection, pending: list[tuple[str, dict[str, Any]]],
                    project: ProjectConfig, item_id: int, labels: Sequence[str], *,
                    source: DecisionSource, basis: dict[str, Any], now: datetime,
                    decided_by: int | None = None, actor: User | str | None = "system",
                    from_state: str | None = None, item: Any = None) -> tuple[int, str]:
    """Write a decision (superseding any earlier one) and mark the item decided.

    ``item`` may carry the (state, view_count, external_id, final_labels) row the caller has
    already locked, saving a query on the labelers' hot path. On PostgreSQL the decision, the
    item update and the audit entry go in one statement (one round trip).
    """
    if item is None:
        item = conn.execute(sql("SELECT state, view_count, external_id, final_labels "
                                 "FROM items WHERE id = :i"), {"i": item_id}).one()
    check_item(from_state or item.state, ItemState.DECIDED, item_id)
    labels = list(labels)
    action = project.rules.action_for(labels).value
    if item.final_labels is not None or item.state == ItemState.APPEALED.value:
        conn.execute(sql("UPDATE decisions SET current = :false WHERE item_id = :i AND "
                          "current = :true"), {"i": item_id, "true": True, "false": False})
    params = {"p": project.id, "i": item_id, "labels": dumps(labels), "action": action,
              "source": source.value, "basis": dumps(basis), "by": decided_by, "now": now,
              "true": True, "views": item.view_count,
              **audit_params(actor, "decision.create", "item", item_id, project.id,
                             before={"labels": loads(item.final_labels)}
                             if item.final_labels else None,
                             after={"labels": labels, "action": action,
                                    "source": source.value})}
    insert_decision = (
        "INSERT INTO decisions (project_id, item_id, labels, action, source, basis, "
        "decided_by_id, decided_at, current, views_at_decision) VALUES (:p, :i, :labels, "
        ":action, :source, :basis, :by, :now, :true, :views) RETURNING id")
    if is_pg(conn):
        decision_id = fetch(conn, f"WITH d AS ({insert_decision}), m AS ({_MARK_DECIDED}), "
                                  f"a AS ({AUDIT_INSERT}) SELECT id FROM d", params)[0][0]
    else:
        decision_id = conn.execute(sql(insert_decision), params).scalar_one()
        expect_one(conn.execute(sql(_MARK_DECIDED), params).rowcount, f"item {item_id}",
                   ItemState.DECIDED)
        conn.execute(sql(AUDIT_INSERT), params)
    pending.append((events.DECISION, {
        "project": project.key, "item_id": item_id, "external_id": item.external_id,
        "labels": labels, "action": action, "source": source.value,
        "decided_at": now.isoformat() + "Z", "decision_id": decision_id,
    }))
    if source in (DecisionSource.LABELERS, DecisionSource.MACHINE) and project.audit_rate > 0 \
            and runtime.current().audit_rng.random() < project.audit_rate:
        create_task(conn, project.id, item_id, TaskKind.AUDIT, now, priority=0.0)
    return decision_id, action


_MARK_DECIDED = set_state("items", ItemState.DECIDED, where="id = :i",
                          also="final_labels = :labels, final_action = :action, "
                               "decided_at = :now")
_MARK_ESCALATED = set_state("items", ItemState.ESCALATED, where="id = :i",
                            also="escalated_at = :now")
# only the open label slots: a slot already leased is left to finish (its answer is kept)
_CANCEL_OPEN_SLOTS = set_state("tasks", TaskState.CANCELLED, also="done_at = :now",
                               where=f"item_id = :i AND kind = '{TaskKind.LABEL}'",
                               among=(TaskState.OPEN,))


def create_task(conn: Connection, project_id: int, item_id: int, kind: TaskKind,
                now: datetime, *, priority: float) -> int:
    return int(conn.execute(sql(
        "INSERT INTO tasks (project_id, item_id, kind, state, slot, priority, created_at) "
        f"VALUES (:p, :i, :kind, '{TaskState.OPEN}', 0, :prio, :now) RETURNING id"),
        {"p": project_id, "i": item_id, "kind": kind.value, "prio": priority,
         "now": now}).scalar_one())


def escalate(conn: Connection, project: ProjectConfig, item_id: int, now: datetime,
             reason: str) -> None:
    """Send an item to the reviewer queue (once), cancelling its remaining label slots."""
    state: str = conn.execute(sql("SELECT state FROM items WHERE id = :i"),
                              {"i": item_id}).scalar_one()
    if state == ItemState.ESCALATED.value:
        return
    check_item(state, ItemState.ESCALATED, item_id)
    expect_one(conn.execute(sql(_MARK_ESCALATED), {"now": now, "i": item_id}).rowcount,
               f"item {item_id}", ItemState.ESCALATED)
    conn.execute(sql(_CANCEL_OPEN_SLOTS), {"now": now, "i": item_id})
    priority = conn.execute(sql("SELECT max(priority) FROM tasks WHERE item_id = :i"),
                            {"i": item_id}).scalar() or 0.0
    create_task(conn, project.id, item_id, TaskKind.REVIEW, now, priority=priority)
    _audit(conn, "system", "item.escalate", "item", item_id, project.id,
           after={"reason": reason})


AUDIT_INSERT = (
    "INSERT INTO audit_log (at, actor_id, actor, action, entity, entity_id, project_id, before, "
    "after) VALUES (:a_at, :a_actor_id, :a_actor, :a_action, :a_entity, :a_entity_id, "
    ":a_project_id, :a_before, :a_after)")


def audit_params(actor: User | str | None, action: str, entity: str, entity_id: Any,
                 project_id: int, *, before: dict[str, Any] | None = None,
                 after: dict[str, Any] | None = None, actor_id: int | None = None) \
        -> dict[str, Any]:
    """Bind values for ``AUDIT_INSERT`` (``a_``-prefixed, so the entry can ride in the same
    statement as the change it records)."""
    if isinstance(actor, User):
        actor_id, actor = actor.id, actor.username
    return {"a_at": utcnow(), "a_actor_id": actor_id, "a_actor": actor or "system",
            "a_action": action, "a_entity": entity,
            "a_entity_id": None if entity_id is None else str(entity_id),
            "a_project_id": project_id, "a_before": None if before is None else dumps(before),
            "a_after": None if after is None else dumps(after)}


def _audit(conn: Connection, actor: User | str | None, action: str, entity: str,
           entity_id: Any, project_id: int, *, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, actor_id: int | None = None) -> None:
    """Core-level audit insert (the queue's hot path does not open an ORM session)."""
    conn.execute(sql(AUDIT_INSERT), audit_params(actor, action, entity, entity_id, project_id,
                                                 before=before, after=after,
                                                 actor_id=actor_id))


__all__ = ["AUDIT_INSERT", "LockedItem", "audit_params", "consensus_for_item", "create_task",
           "escalate", "record_decision"]
