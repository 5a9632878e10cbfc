"""Choosing a project's routing thresholds (``modops model thresholds``): per policy, the
auto-action threshold at a precision target on in-domain human labels; harm's auto-clear
threshold at a recall target, on the same labels or, without enough of them, on BEEP! dev."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from modops.machine.thresholds import (
    PolicyThreshold,
    Thresholds,
    choose_policy_thresholds,
    choose_thresholds,
)

POLICY_ORDER = ("hate", "harassment", "profanity")
NO_VIOLATION = ("none", "0", "false", "no")


@dataclass(frozen=True, slots=True)
class RoutingChoice:
    policies: list[PolicyThreshold]
    harm: Thresholds
    clear_source: str  # where the auto-clear threshold was validated


def label_for(rules: dict[str, str], policy: str) -> str | None:
    """The taxonomy label a policy score decides: the policy itself, else its parent."""
    if policy in rules:
        return policy
    parent = policy.split(".", 1)[0]
    return parent if parent in rules else None


def labels_of_rows(rows: Iterable[dict[str, Any]], text_column: str, label_column: str
                   ) -> tuple[list[str], list[list[str]]]:
    """Texts and their label lists from file rows (labels comma-separated; none/0/empty: no
    violation)."""
    texts: list[str] = []
    human: list[list[str]] = []
    for r in rows:
        texts.append(str(r.get(text_column) or ""))
        human.append([x.strip() for x in str(r.get(label_column) or "").split(",")
                      if x.strip() and x.strip().lower() not in NO_VIOLATION])
    return texts, human


def choose_routing(model: Any, rules: dict[str, str], texts: list[str],
                   human: list[list[str]], source: str, auto_action_precision: float,
                   auto_clear_recall: float, min_labels: int) -> RoutingChoice:
    """Per-policy auto-action thresholds and harm's thresholds for a project whose taxonomy
    maps label → action (``rules``), from ``human`` labels of ``texts``."""
    scores = model.score(texts) if texts else []
    policies = sorted({p for s in scores for p in s.policies} | set(POLICY_ORDER))
    label_of = {p: label_for(rules, p) for p in policies}
    chosen = choose_policy_thresholds([s.policies for s in scores], human, label_of, source,
                                      auto_action_precision, min_labels)
    harmful = [any(rules.get(h, "no_action") != "no_action" for h in hs) for hs in human]
    if len(texts) >= min_labels and any(harmful):
        th = choose_thresholds([s.harm for s in scores], harmful, auto_action_precision,
                               auto_clear_recall, model_version=model.model_version)
        return RoutingChoice(chosen, th, source)
    return RoutingChoice(chosen, _out_of_domain_clear(model, auto_clear_recall),
                         f"BEEP! dev (out of domain: the project has {len(texts)} labels)")


def _out_of_domain_clear(model: Any, auto_clear_recall: float) -> Thresholds:
    """Auto-clear only, at the stated recall target, on BEEP! dev."""
    from modops.machine.data import read_beep

    beep = read_beep("dev")
    return choose_thresholds([s.harm for s in model.score([r.text for r in beep])],
                             [r.hate != "none" for r in beep], 2.0, auto_clear_recall,
                             model_version=model.model_version)
