"""Re-routing the queued backlog after a threshold or rule change.

A change of the project's thresholds, or a rule switched on or off, applies to new items at
routing; without this pass the backlog would stay routed the old way. Which items move:

- only items still waiting for their *first* answer: state ``queued``, not gold, not in the
  prevalence sample (that sample goes to people whatever the machine says), no label slot
  leased or answered;
- each is planned again exactly as routing plans a new item (same planner, same rules, the
  prevalence draw left out: the item already had its draw);
- an item the plan now decides by machine (auto-action or auto-clear) is decided: a machine
  decision with its own audit entry, its open label slots cancelled, a routing record;
- an item that stays with people but whose rule gives it another skill or priority has its
  open slots updated.

Everything else is left alone. One ``items.reroute`` audit entry records the change, the
actor and the ids that moved.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from modops.domain import DecisionSource, ItemState, TaskKind, TaskState
from modops.queue import runtime
from modops.queue.config import ProjectConfig
from modops.queue.core import load_project, loads, sql, write_tx
from modops.queue.decisions import _CANCEL_OPEN_SLOTS, _audit, record_decision
from modops.queue.planning import RoutePlan, RoutePlanner
from modops.queue.routing import _RulePass, _scores

_CANDIDATES = (
    "SELECT i.id, i.external_id, i.machine_score, i.machine_scores, i.model_version, "
    "i.view_count, i.user_reported, i.ingested_at, i.is_gold, i.priority, p.key AS product, "
    "(SELECT max(t.required_skill) FROM tasks t WHERE t.item_id = i.id AND t.state = "
    f"'{TaskState.OPEN}' AND t.kind = '{TaskKind.LABEL}') AS skill "
    "FROM items i JOIN products p ON p.id = i.product_id "
    f"WHERE i.project_id = :p AND i.state = '{ItemState.QUEUED}' AND NOT i.is_gold "
    "AND NOT i.in_prevalence_sample AND i.id > :after AND NOT EXISTS (SELECT 1 FROM tasks t "
    f"WHERE t.item_id = i.id AND t.kind = '{TaskKind.LABEL}' AND t.state IN "
    f"('{TaskState.LEASED}', '{TaskState.DONE}')) ORDER BY i.id LIMIT :n")
CHUNK = 5_000


@dataclass(slots=True)
class RerouteSummary:
    examined: int = 0
    decided: list[int] = field(default_factory=list)  # item ids now decided by machine
    requeued: list[int] = field(default_factory=list)  # skill or priority changed

    def as_dict(self) -> dict[str, Any]:
        return {"examined": self.examined, "decided": len(self.decided),
                "requeued": len(self.requeued), "decided_ids": self.decided[:1000],
                "requeued_ids": self.requeued[:1000]}


def reroute_queued(engine: Engine, project_key: str, *, actor: Any, reason: str,
                   now: datetime | None = None) -> RerouteSummary:
    """Plan every queued item of the project again and apply what changed (module docstring)."""
    with write_tx(engine) as (conn, pending):
        project = load_project(conn, project_key)
        summary = reroute_in(conn, pending, project, actor=actor, reason=reason, now=now)
    return summary


def reroute_in(conn: Connection, pending: list[tuple[str, dict[str, Any]]],
               project: ProjectConfig, *, actor: Any, reason: str,
               now: datetime | None = None) -> RerouteSummary:
    now = now or runtime.current().clock()
    planner = RoutePlanner(project, now, random.Random())
    planner.prevalence_rate = 0.0  # the item had its draw when it was first routed
    rules = _RulePass(conn, project.id, planner, now)
    summary = RerouteSummary()
    after = 0
    while True:
        rows = conn.execute(sql(_CANDIDATES), {"p": project.id, "after": after,
                                               "n": CHUNK}).all()
        if not rows:
            break
        after = rows[-1].id
        _reroute_chunk(conn, pending, project, planner, rules, rows, now, summary)
        if len(rows) < CHUNK:
            break
    _audit(conn, actor, "items.reroute", "project", project.id, project.id,
           after={"reason": reason, **summary.as_dict(),
                  "thresholds": {"auto_action": project.auto_action_threshold,
                                 "auto_clear": project.auto_clear_threshold}})
    return summary


def _reroute_chunk(conn: Connection, pending: list[tuple[str, dict[str, Any]]],
                   project: ProjectConfig, planner: RoutePlanner, rules: _RulePass,
                   rows: Sequence[Any], now: datetime, summary: RerouteSummary) -> None:
    scored = [_scores(r, None) for r in rows]
    outcomes = rules.evaluate(rows, scored)
    for n, r in enumerate(rows):
        summary.examined += 1
        ingested = r.ingested_at if isinstance(r.ingested_at, datetime) else \
            datetime.fromisoformat(r.ingested_at)
        score, detail, version = scored[n][:3]
        plan = planner.plan(product=r.product, score=score, detail=detail, version=version,
                            views=r.view_count, reported=bool(r.user_reported),
                            ingested_at=ingested, is_gold=False,
                            rule=outcomes.outcome(n, hits=False) if outcomes else None)
        if plan.state == ItemState.DECIDED.value:
            _decide(conn, pending, project, r, plan, now)
            summary.decided.append(int(r.id))
        elif plan.required_skill != r.skill or abs(plan.priority - (r.priority or 0.0)) > 1e-9:
            conn.execute(sql(
                "UPDATE tasks SET required_skill = :s, priority = :prio WHERE item_id = :i "
                f"AND kind = '{TaskKind.LABEL}' AND state = '{TaskState.OPEN}'"),
                {"s": plan.required_skill, "prio": plan.priority, "i": r.id})
            conn.execute(sql("UPDATE items SET priority = :prio WHERE id = :i"),
                         {"prio": plan.priority, "i": r.id})
            summary.requeued.append(int(r.id))
    rules.log(rows, outcomes)


def _decide(conn: Connection, pending: list[tuple[str, dict[str, Any]]],
            project: ProjectConfig, r: Any, plan: RoutePlan, now: datetime) -> None:
    labels = loads(plan.final_labels) or []
    record_decision(conn, pending, project, int(r.id), labels, source=DecisionSource.MACHINE,
                    basis={**(loads(plan.basis) or {}), "rerouted": True}, now=now,
                    from_state=ItemState.QUEUED.value)
    conn.execute(sql(_CANCEL_OPEN_SLOTS), {"now": now, "i": r.id})
    conn.execute(sql("UPDATE items SET route = :route WHERE id = :i"),
                 {"route": plan.route, "i": r.id})
    conn.execute(sql(
        "INSERT INTO routing_decisions (project_id, item_id, score, auto_action_threshold, "
        "auto_clear_threshold, route, model_version, audit_sampled, reason, decided_at) "
        "VALUES (:p, :i, :score, :hi, :lo, :route, :v, :audit, :reason, :now)"),
        {"p": project.id, "i": r.id, "score": plan.score, "hi": project.auto_action_threshold,
         "lo": project.auto_clear_threshold, "route": plan.route, "v": plan.model_version,
         "audit": False, "reason": ("re-routed: " + (plan.reason or plan.route))[:200],
         "now": now})
