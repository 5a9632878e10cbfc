"""Machine routing at ingest: every new item gets a score, a route and (if humans are needed)
its k label slots, in one set-based pass per import batch.

    score ≥ auto_action threshold  → auto-action  (decided by the machine; audit-sampled)
    score ≤ auto_clear threshold   → auto-clear   (decided by the machine; audit-sampled)
    otherwise                      → human queue  (k label slots, ordered by priority)
    no score (no model, model down)→ human queue  (never lost, never auto-decided)

A uniform random sample of *all* items (``prevalence_rate``) goes to humans whatever the
machine said: it is what prevalence is estimated from. Every routing decision is recorded
with the score, both thresholds and the model version.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

from modops.domain import Action, DecisionSource, ItemState, Route, TaskKind, events
from modops.io.importer import ImportContext
from modops.queue.core import (
    ProjectConfig,
    dumps,
    load_project,
    loads,
    priority_score,
    sql,
    write_tx,
)
from modops.queue.decisions import _audit
from modops.store.db import utcnow

log = logging.getLogger(__name__)

DEFAULT_PREVALENCE_RATE = 0.01
# What a machine decision is labelled with, by the model's strongest head.
DEFAULT_MACHINE_LABELS = {"hate": "hate", "offensive": "harassment", "profanity": "profanity"}


@dataclass(slots=True)
class RoutingSummary:
    items: int = 0
    auto_action: int = 0
    auto_clear: int = 0
    human: int = 0
    unscored: int = 0
    prevalence_sample: int = 0
    audit_sampled: int = 0
    scored_now: int = 0
    scorer_error: str | None = None


def route_after_import(conn: Connection, ctx: ImportContext) -> None:
    """The import pipeline's post-insert hook: route everything the batch added."""
    project = load_project(conn, ctx.project_id)
    ids = [r[0] for r in conn.execute(sql(
        "SELECT id FROM items WHERE project_id = :p AND import_batch = :b AND state = 'new'"),
        {"p": ctx.project_id, "b": ctx.batch_id})]
    route_items(conn, project, ids, pending=None)


def route_pending(engine: Engine, project_key: str) -> RoutingSummary:
    """Route every item of a project still in state ``new`` (e.g. after a scorer outage)."""
    with write_tx(engine) as (conn, pending):
        project = load_project(conn, project_key)
        ids = [r[0] for r in conn.execute(sql(
            "SELECT id FROM items WHERE project_id = :p AND state = 'new' ORDER BY id"),
            {"p": project.id})]
        return route_items(conn, project, ids, pending=pending)


def _score_missing(conn: Connection, project: ProjectConfig, rows: list[Any],
                   summary: RoutingSummary) -> dict[int, tuple[float, dict[str, Any], str]]:
    """Score items that arrived without a score, with the project's scorer (built-in default)."""
    missing = [r for r in rows if r.machine_score is None]
    if not missing or not project.settings.get("score_on_ingest", True):
        return {}
    try:
        from modops.machine import ScorerUnavailable, get_scorer, item_text
    except ImportError:  # a slim install without the model
        return {}
    try:
        scorer = get_scorer(project.scorer)
        texts = [item_text(r._mapping) for r in missing]
        scores = scorer.score(texts)
    except ScorerUnavailable as exc:
        summary.scorer_error = str(exc)
        log.warning("scorer unavailable, routing %d items to humans: %s", len(missing), exc)
        return {}
    out: dict[int, tuple[float, dict[str, Any], str]] = {}
    params = []
    for r, s in zip(missing, scores, strict=True):
        detail = {"severity": s.severity, "targets": s.targets, "profanity": s.profanity}
        out[r.id] = (s.harm, detail, s.model_version)
        params.append({"s": s.harm, "d": dumps(detail), "v": s.model_version, "i": r.id})
    conn.execute(sql("UPDATE items SET machine_score = :s, machine_scores = :d, "
                      "model_version = :v WHERE id = :i"), params)
    summary.scored_now = len(out)
    return out


def _machine_label(project: ProjectConfig, scores: dict[str, Any] | None) -> list[str]:
    rules = project.rules
    mapping = {**DEFAULT_MACHINE_LABELS, **(project.settings.get("machine_labels") or {})}
    if scores:
        heads = {"hate": (scores.get("severity") or {}).get("hate", 0.0),
                 "offensive": (scores.get("severity") or {}).get("offensive", 0.0),
                 "profanity": scores.get("profanity", 0.0)}
        for head, _p in sorted(heads.items(), key=lambda kv: -kv[1]):
            if mapping.get(head) in rules.labels:
                return [mapping[head]]
    fallback = project.settings.get("auto_action_label")
    if fallback in rules.labels:
        return [fallback]
    return [next(k for k, v in rules.labels.items() if v.action == Action.REMOVE)]


def _clear_label(project: ProjectConfig) -> list[str]:
    return [next(k for k, v in project.rules.labels.items() if v.action == Action.NO_ACTION)]


def route_items(conn: Connection, project: ProjectConfig, item_ids: Sequence[int], *,
                pending: list[tuple[str, dict[str, Any]]] | None,
                now: datetime | None = None, rng: random.Random | None = None) \
        -> RoutingSummary:
    summary = RoutingSummary(items=len(item_ids))
    if not item_ids:
        return summary
    now = now or utcnow()
    rng = rng or random.Random()
    hi, lo = project.auto_action_threshold, project.auto_clear_threshold
    prevalence_rate = float(project.settings.get("prevalence_rate", DEFAULT_PREVALENCE_RATE))
    boost_width = float(project.settings.get("uncertainty_boost_width", 0.0))
    boost_weight = float(project.settings.get("uncertainty_boost", 0.0))
    weights = project.priority_weights
    skill_by_label = project.settings.get("skill_by_product") or {}
    k = project.overlap_k
    no_action_label = _clear_label(project)

    item_updates: list[dict[str, Any]] = []
    routing_rows: list[dict[str, Any]] = []
    decision_rows: list[dict[str, Any]] = []
    task_rows: list[dict[str, Any]] = []
    slotted: list[int] = []  # human-queue items whose k slots need no skill
    for start in range(0, len(item_ids), 5000):
        chunk = list(item_ids[start:start + 5000])
        marks = ", ".join(str(int(i)) for i in chunk)
        rows = conn.execute(text(  # id lists vary: not memoized
            "SELECT i.id, i.external_id, i.title, i.caption, i.comment, i.transcript, i.text, "
            "i.machine_score, i.machine_scores, i.model_version, i.view_count, i.user_reported, "
            "i.ingested_at, i.is_gold, p.key AS product FROM items i "
            f"JOIN products p ON p.id = i.product_id WHERE i.id IN ({marks}) "
            "AND i.state = 'new' ORDER BY i.id")).all()
        fresh = _score_missing(conn, project, rows, summary)
        for r in rows:
            score, detail, version = fresh.get(
                r.id, (r.machine_score, loads(r.machine_scores), r.model_version))
            version = version or project.model_version
            ingested = r.ingested_at if isinstance(r.ingested_at, datetime) else \
                datetime.fromisoformat(r.ingested_at)
            due = ingested + timedelta(minutes=project.sla_for(r.product))
            if r.is_gold:
                # Served by the gold mechanism, not the queue: no slots and no SLA deadline, so
                # gold never shows up as backlog or as a breach.
                item_updates.append({"i": r.id, "route": Route.HUMAN.value, "state": "queued",
                                     "due": None, "prio": 0.0, "prev": False})
                continue
            if score is None:
                route = Route.UNSCORED
            elif hi is not None and score >= hi:
                route = Route.AUTO_ACTION
            elif lo is not None and score <= lo:
                route = Route.AUTO_CLEAR
            else:
                route = Route.HUMAN
            sampled = rng.random() < prevalence_rate
            reason = None
            if sampled and route in (Route.AUTO_ACTION, Route.AUTO_CLEAR):
                reason = f"prevalence sample (machine said {route.value})"
                route_for_queue = Route.HUMAN
            else:
                route_for_queue = route
            audit = route_for_queue in (Route.AUTO_ACTION, Route.AUTO_CLEAR) and \
                rng.random() < project.audit_rate
            boost = 0.0
            if score is not None and boost_width > 0 and hi is not None and lo is not None:
                # active learning: items near the decision boundary go first
                boundary = (hi + lo) / 2
                if abs(score - boundary) <= boost_width:
                    boost = boost_weight * (1 - abs(score - boundary) / boost_width)
            prio = priority_score(weights, score=score, views=r.view_count,
                                  reported=bool(r.user_reported), due_at=due, boost=boost)
            getattr_name = route.value
            setattr(summary, getattr_name, getattr(summary, getattr_name) + 1)
            summary.prevalence_sample += sampled
            summary.audit_sampled += audit
            routing_rows.append({
                "p": project.id, "i": r.id, "s": score, "hi": hi, "lo": lo,
                "route": route.value, "v": version, "audit": audit, "reason": reason,
                "now": now})
            if route_for_queue in (Route.AUTO_ACTION, Route.AUTO_CLEAR):
                labels = _machine_label(project, detail) if route_for_queue is \
                    Route.AUTO_ACTION else no_action_label
                action = project.rules.action_for(labels).value
                item_updates.append({"i": r.id, "route": route.value,
                                     "state": ItemState.DECIDED.value, "due": due,
                                     "prio": prio, "prev": sampled, "labels": dumps(labels),
                                     "action": action, "decided": now})
                decision_rows.append({
                    "p": project.id, "i": r.id, "labels": dumps(labels), "action": action,
                    "source": DecisionSource.MACHINE.value,
                    "basis": dumps({"score": score, "threshold": hi if route is
                                    Route.AUTO_ACTION else lo, "model_version": version}),
                    "now": now, "views": r.view_count})
                if pending is not None:
                    pending.append((events.DECISION, {
                        "project": project.key, "item_id": r.id, "external_id": r.external_id,
                        "labels": labels, "action": action, "source": "machine",
                        "decided_at": now.isoformat() + "Z"}))
                if audit:
                    task_rows.append({"p": project.id, "i": r.id, "kind": TaskKind.AUDIT.value,
                                      "slot": 0, "prio": prio, "now": now, "skill": None})
            else:
                item_updates.append({"i": r.id, "route": route.value,
                                     "state": ItemState.QUEUED.value, "due": due,
                                     "prio": prio, "prev": sampled})
                skill = skill_by_label.get(r.product)
                if skill is None:
                    slotted.append(r.id)  # k plain slots: inserted set-based below
                else:
                    task_rows.extend({"p": project.id, "i": r.id, "kind": TaskKind.LABEL.value,
                                      "slot": slot, "prio": prio, "now": now, "skill": skill}
                                     for slot in range(k))
    queued = [u for u in item_updates if "labels" not in u]
    decided = [u for u in item_updates if "labels" in u]
    if queued:
        conn.execute(sql(
            "UPDATE items SET route = :route, state = :state, due_at = :due, priority = :prio, "
            "in_prevalence_sample = :prev WHERE id = :i"), queued)
    if decided:
        conn.execute(sql(
            "UPDATE items SET route = :route, state = :state, due_at = :due, priority = :prio, "
            "in_prevalence_sample = :prev, final_labels = :labels, final_action = :action, "
            "decided_at = :decided WHERE id = :i"), decided)
    if routing_rows:
        conn.execute(sql(
            "INSERT INTO routing_decisions (project_id, item_id, score, auto_action_threshold, "
            "auto_clear_threshold, route, model_version, audit_sampled, reason, decided_at) "
            "VALUES (:p, :i, :s, :hi, :lo, :route, :v, :audit, :reason, :now)"), routing_rows)
    if decision_rows:
        conn.execute(sql(
            "INSERT INTO decisions (project_id, item_id, labels, action, source, basis, "
            "decided_at, current, views_at_decision) VALUES (:p, :i, :labels, :action, "
            ":source, :basis, :now, TRUE, :views)"), decision_rows)
    # k label slots per queued item in one statement per chunk (a million items → 3M rows
    # without a Python round trip each); priority comes from the item row just updated.
    slots = " UNION ALL ".join(f"SELECT {n} AS n" for n in range(k))
    for start in range(0, len(slotted), 5000):
        ids = ", ".join(str(int(i)) for i in slotted[start:start + 5000])
        conn.execute(text(
            "INSERT INTO tasks (project_id, item_id, kind, state, slot, priority, created_at) "
            f"SELECT i.project_id, i.id, 'label', 'open', s.n, i.priority, :now FROM items i "
            f"CROSS JOIN ({slots}) s WHERE i.id IN ({ids}) ORDER BY i.id, s.n"), {"now": now})
    if task_rows:
        conn.execute(sql(
            "INSERT INTO tasks (project_id, item_id, kind, state, slot, priority, "
            "required_skill, created_at) VALUES (:p, :i, :kind, 'open', :slot, :prio, :skill, "
            ":now)"), task_rows)
    _audit(conn, "system", "items.route", "project", project.id, project.id,
           after={"items": summary.items, "auto_action": summary.auto_action,
                  "auto_clear": summary.auto_clear, "human": summary.human,
                  "unscored": summary.unscored, "prevalence_sample": summary.prevalence_sample,
                  "audit_sampled": summary.audit_sampled,
                  "thresholds": {"auto_action": hi, "auto_clear": lo}})
    return summary
