"""Routing one item: the rules in the module docstring of ``modops.queue.routing``.

Plain data and arithmetic, importable without a database: the importer's parse process
routes rows with ``RoutePlanner`` before they are stored, and the set-based pass over stored
items calls the same ``plan``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from modops.domain import Action, ItemState, Route, TaskKind
from modops.queue.config import ProjectConfig, dumps, epoch_days, priority_score
from modops.rules.engine import ItemOutcome
from modops.rules.spec import ActionSpec

DEFAULT_PREVALENCE_RATE = 0.01
# What a machine decision is labelled with, by the model's strongest head.
DEFAULT_MACHINE_LABELS = {"hate": "hate", "offensive": "harassment", "profanity": "profanity"}
#: A policy is automated only with at least this many in-domain human labels behind its
#: threshold (issue 17): below it, its precision cannot be measured, so humans decide.
DEFAULT_MIN_POLICY_LABELS = 200
#: A bank or extractor score at or above this keeps an item out of auto-clear.
BANK_HOLD = 0.5


def policy_label(project: ProjectConfig, policy: str) -> str | None:
    """The project's taxonomy label for a policy key: itself, else its parent, else none."""
    labels = project.rules.labels
    if policy in labels:
        return policy
    parent = policy.split(".", 1)[0]
    return parent if parent in labels else None


def policy_auto_action(project: ProjectConfig, detail: dict[str, Any] | None,
                       min_labels: int) -> tuple[str, str, float, float] | None:
    """The policy to auto-action an item for: (label, policy, score, threshold) of the policy
    whose score clears its own threshold by the widest margin, among policies with a
    threshold chosen on at least ``min_labels`` in-domain human labels; else None."""
    table = project.settings.get("policy_thresholds") or {}
    if not detail or not table:
        return None
    scores = detail.get("policies") or {}
    best: tuple[float, tuple[str, str, float, float]] | None = None
    for policy, spec in table.items():
        threshold = spec.get("threshold") if isinstance(spec, dict) else None
        if threshold is None or int(spec.get("n", 0)) < min_labels:
            continue
        score = scores.get(policy)
        label = policy_label(project, policy)
        if score is None or label is None or score < threshold:
            continue
        margin = score - threshold
        if best is None or margin > best[0]:
            best = (margin, (label, policy, float(score), float(threshold)))
    return best[1] if best else None


def bank_flagged(detail: dict[str, Any] | None) -> bool:
    """A bank or extractor fired strongly: the item may not be auto-cleared."""
    evidence = (detail or {}).get("evidence") or {}
    policies = (detail or {}).get("policies") or {}
    return any(policies.get(p, 0.0) >= BANK_HOLD and e.get("source") != "head"
               for p, e in evidence.items())


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


def _machine_label(project: ProjectConfig, scores: dict[str, Any] | None) -> list[str]:
    rules = project.rules
    mapping = {**DEFAULT_MACHINE_LABELS, **(project.settings.get("machine_labels") or {})}
    policies = (scores or {}).get("policies") or {}
    if policies:  # the strongest policy the taxonomy knows, with its own label and action
        for policy, _p in sorted(policies.items(), key=lambda kv: -kv[1]):
            label = policy_label(project, policy)
            if label is not None:
                return [label]
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


class RoutePlan(NamedTuple):
    """One item's routing outcome: the item's new fields, its routing decision, the machine
    decision (if the machine decided) and the task slots it gets."""

    route: str  # the machine's verdict, as recorded
    state: str
    due_at: datetime | None
    priority: float
    sampled: bool  # in the prevalence sample
    final_labels: str | None  # JSON, when the machine decided
    final_action: str | None
    recorded: bool  # has a routing decision (gold items have none)
    score: float | None
    model_version: str | None
    audit: bool
    reason: str | None
    basis: str | None  # JSON, the machine decision's basis
    views: int | None  # views at decision
    kind: str | None  # the kind of its task slots
    nslots: int
    required_skill: str | None


class RoutePlanner:
    """The routing rules for one item, the one place they live (module docstring).

    Used by the set-based pass over stored items and by the importer, which routes rows in
    its parse process before they are stored (so it must pickle: plain data, no connection).
    """

    def __init__(self, project: ProjectConfig, now: datetime, rng: random.Random) -> None:
        settings = project.settings
        self.project = project
        self.now = now
        self.rng = rng
        self.hi, self.lo = project.auto_action_threshold, project.auto_clear_threshold
        self.prevalence_rate = float(settings.get("prevalence_rate", DEFAULT_PREVALENCE_RATE))
        self.boost_width = float(settings.get("uncertainty_boost_width", 0.0))
        self.boost_weight = float(settings.get("uncertainty_boost", 0.0))
        self.skill_by_product: dict[str, str] = settings.get("skill_by_product") or {}
        self.no_action_label = _clear_label(project)
        self.min_policy_labels = int(settings.get("min_policy_labels",
                                                  DEFAULT_MIN_POLICY_LABELS))
        self.sla_by_product: dict[str, timedelta] = {}
        #: items without a score wait for the model, which runs after they are stored
        self.scores_missing = bool(settings.get("score_on_ingest", True))
        self.summary = RoutingSummary()  # what the importer stored of its plans
        #: the project has live or shadow rules: every item is routed after it is stored
        self.has_rules = False

    def count(self, plans: Iterable[Sequence[Any]]) -> None:
        """Count stored plans (plain tuples in RoutePlan's layout: what the parse process
        sends) into ``summary``."""
        for plan in plans:
            count_plan(self.summary, plan)

    def machine_route(self, score: float | None, detail: dict[str, Any] | None) \
            -> tuple[Route, tuple[Any, ...] | None]:
        """The route the thresholds and policy automation alone give, before rules and the
        prevalence sample (the ``machine_route`` signal), with the policy automated if any.

        Trivial text (empty, "ㅋㅋ", "?", emoji only, < 2 Hangul syllables) is never acted on
        by the machine; a strong bank or extractor hit is never cleared by it."""
        hi, lo = self.hi, self.lo
        trivial = bool(detail and ((detail.get("extra") or {}).get("trivial")
                                   or detail.get("trivial")))
        if score is None:
            return Route.UNSCORED, None
        by_policy = None if trivial else \
            policy_auto_action(self.project, detail, self.min_policy_labels)
        if by_policy is not None or (hi is not None and score >= hi and not trivial):
            return Route.AUTO_ACTION, by_policy
        if lo is not None and score <= lo and not bank_flagged(detail):
            return Route.AUTO_CLEAR, None
        return Route.HUMAN, None

    def plan(self, *, product: str, score: float | None, detail: dict[str, Any] | None,
             version: str | None, views: int, reported: bool, ingested_at: datetime,
             is_gold: bool, rule: ItemOutcome | None = None) -> RoutePlan:
        # Hot path (issue 22): called once per imported row in the parse process. A helper
        # call costs 55 ns (timeit, 6 arguments, 1M calls, quiet host) of 15.9 us a row at the
        # import's 62,953 items/s (bench/results/ingest.json): +0.35 % per helper per row.
        project, rng = self.project, self.rng
        version = version or project.model_version
        if is_gold:
            # Served by the gold mechanism, not the queue: no slots and no SLA deadline, so
            # gold never shows up as backlog or as a breach.
            return RoutePlan(_HUMAN, _QUEUED, None, 0.0, False, None, None, False, None, None,
                             False, None, None, None, None, 0, None)
        sla = self.sla_by_product.get(product)
        if sla is None:
            sla = self.sla_by_product[product] = timedelta(minutes=project.sla_for(product))
        due = ingested_at + sla
        hi, lo = self.hi, self.lo
        route, by_policy = self.machine_route(score, detail)
        act = rule.action if rule is not None else None
        if act is not None:  # a live rule's routing action (modops.rules; docs/rules.md)
            route, by_policy = _rule_route(project, route, act, score, version, rule)
        sampled = rng.random() < self.prevalence_rate
        reason = _rule_reason(rule) if act is not None else None
        if sampled and route in _MACHINE_ROUTES:
            reason = f"prevalence sample (machine said {route.value})"
            route_for_queue = Route.HUMAN
        else:
            route_for_queue = route
        audit = route_for_queue in _MACHINE_ROUTES and rng.random() < project.audit_rate
        boost = 0.0
        if score is not None and self.boost_width > 0 and hi is not None and lo is not None:
            # active learning: items near the decision boundary go first
            boundary = (hi + lo) / 2
            if abs(score - boundary) <= self.boost_width:
                boost = self.boost_weight * (1 - abs(score - boundary) / self.boost_width)
        prio = priority_score(project.priority_weights, score=score, views=views,
                              reported=reported, due_at=due, boost=boost)
        skill = self.skill_by_product.get(product)
        if act is not None:
            prio += act.priority
            skill = act.skill or skill
        if route_for_queue in _MACHINE_ROUTES:
            if by_policy is not None:
                labels = [by_policy[0]]
                basis = dumps({"score": by_policy[2], "threshold": by_policy[3],
                               "policy": by_policy[1], "model_version": version,
                               "evidence": ((detail or {}).get("evidence") or {}).get(
                                   by_policy[1])} if act is None else by_policy[4])
            else:
                labels = _machine_label(project, detail) if route_for_queue is \
                    Route.AUTO_ACTION else self.no_action_label
                basis = dumps({"score": score, "threshold": hi if route is Route.AUTO_ACTION
                               else lo, "model_version": version})
            enforcement = (act.enforcement if act is not None else None) or \
                project.rules.action_for(labels).value
            return RoutePlan(route.value, _DECIDED, due, prio, sampled, dumps(labels),
                             enforcement, True, score, version,
                             audit, reason, basis, views, _AUDIT_KIND, 1 if audit else 0, None)
        return RoutePlan(route.value, _QUEUED, due, prio, sampled, None, None, True, score,
                         version, audit, reason, None, None, _LABEL_KIND, project.overlap_k,
                         skill)

    def plan_import(self, product: str, score: float | None, views: int, reported: bool,
                    is_gold: bool) -> RoutePlan | None:
        """A row being imported, routed before it is stored; None leaves it for the pass
        after the insert (it has no score yet and the model will score it there)."""
        if (score is None and self.scores_missing) or self.has_rules:
            return None  # rules read facts only the stored item has: routed after insert
        return self.plan(product=product, score=score, detail=None, version=None,
                         views=views, reported=reported, ingested_at=self.now,
                         is_gold=is_gold)

    def plan_imports(self, products: Sequence[str], scores: Sequence[float | None],
                     views: Sequence[int], reported: Sequence[bool],
                     is_gold: Sequence[bool]) -> list[tuple[Any, ...] | None]:
        """``plan_import`` for a block of rows given as columns (the columnar import). Rows
        with no score and not gold, most of what a platform sends, take ``_unscored``: the
        same rule with its per-product parts worked out once; the rest go row by row."""
        plan_import = self.plan_import
        if self.scores_missing or self.has_rules:  # routed after they are stored (as plan_import)
            return [None if s is None else plan_import(p, s, v, r, g)
                    for p, s, v, r, g in zip(products, scores, views, reported, is_gold,
                                              strict=True)]
        unscored = self._unscored()
        return [unscored(p, v, r) if s is None and not g else plan_import(p, s, v, r, g)
                for p, s, v, r, g in zip(products, scores, views, reported, is_gold,
                                          strict=True)]

    def _unscored(self) -> Callable[[str, int, bool], tuple[Any, ...]]:
        """``plan`` for an unscored, non-gold row (route ``unscored``, k label slots), as a
        plain tuple in RoutePlan's layout: the priority is ``priority_score``'s expression
        term for term (equal floats), the prevalence draw the same single ``rng.random()``."""
        project, rng, rate = self.project, self.rng, self.prevalence_rate
        weights = project.priority_weights
        w_score = weights.get("machine_score", 1.0) * 0.5
        w_views, w_reports = weights.get("views", 0.5), weights.get("reports", 1.0)
        w_sla = weights.get("sla", 1.0)
        version, k = project.model_version, project.overlap_k
        per_product: dict[str, tuple[datetime, float, str | None]] = {}
        log10, unscored = math.log10, Route.UNSCORED.value

        def plan(product: str, views: int, reported: bool) -> tuple[Any, ...]:
            const = per_product.get(product)
            if const is None:
                sla = self.sla_by_product.get(product)
                if sla is None:
                    sla = self.sla_by_product[product] = timedelta(
                        minutes=project.sla_for(product))
                due = self.now + sla
                const = per_product[product] = (due, epoch_days(due),
                                                self.skill_by_product.get(product))
            due, days, skill = const
            prio = (w_score + w_views * log10(1 + max(0, views)) / 6.0
                    + w_reports * (1.0 if reported else 0.0) - w_sla * days + 0.0)
            return (unscored, _QUEUED, due, prio, rng.random() < rate, None, None, True, None,
                    version, False, None, None, None, _LABEL_KIND, k, skill)

        return plan


def _rule_route(project: ProjectConfig, route: Route, act: ActionSpec, score: float | None,
                version: str | None, rule: ItemOutcome | None) \
        -> tuple[Route, tuple[Any, ...] | None]:
    """A live rule's routing action over the machine's route: ``auto_action`` decides with
    the rule's label (``by_policy``-shaped, its basis last); every other routing action
    sends the item to people."""
    ref = rule.rule if rule is not None else None
    if act.kind == "auto_action" and act.label:
        basis = {"rule": ref.spec.key if ref else None,
                 "rule_version": ref.version if ref else None,
                 "score": score, "model_version": version}
        return Route.AUTO_ACTION, (act.label, act.label, score or 0.0, 0.0, basis)
    return (Route.HUMAN if route in _MACHINE_ROUTES else route), None


def _rule_reason(rule: ItemOutcome | None) -> str | None:
    ref = rule.rule if rule is not None else None
    act = rule.action if rule is not None else None
    if ref is None or act is None:
        return None
    return f"rule {ref.spec.key} v{ref.version}: {act.kind}"[:200]


_HUMAN, _QUEUED, _DECIDED = Route.HUMAN.value, ItemState.QUEUED.value, ItemState.DECIDED.value
_LABEL_KIND, _AUDIT_KIND = TaskKind.LABEL.value, TaskKind.AUDIT.value
_MACHINE_ROUTES = (Route.AUTO_ACTION, Route.AUTO_CLEAR)


_ROUTE, _SAMPLED, _RECORDED, _AUDIT = (RoutePlan._fields.index(f)
                                      for f in ("route", "sampled", "recorded", "audit"))


def count_plan(summary: RoutingSummary, plan: Sequence[Any]) -> None:
    """Add one item's plan (a RoutePlan or a plain tuple in its layout) to ``summary``."""
    summary.items += 1
    if plan[_RECORDED]:
        route = plan[_ROUTE]
        setattr(summary, route, getattr(summary, route) + 1)
    summary.prevalence_sample += plan[_SAMPLED]
    summary.audit_sampled += plan[_AUDIT]
