"""Routing thresholds from validation data, and the active-learning priority boost.

Routing (BRIEF §3): ``harm >= high`` → auto-action, ``harm < low`` → auto-clear, in between →
human queue. Ops managers state targets (precision of auto-actions, recall of harmful items
kept out of auto-clear); this module turns them into numbers on a labeled validation set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Chosen thresholds and what they are expected to do on data like the validation set."""

    high: float
    low: float
    expected_human_share: float
    achieved_precision: float
    achieved_recall: float
    model_version: str = ""
    n: int = 0


def choose_thresholds(
    scores: Sequence[float],
    is_harmful: Sequence[bool],
    auto_action_precision: float = 0.95,
    auto_clear_recall: float = 0.98,
    model_version: str = "",
) -> Thresholds:
    """Pick the high (auto-action) and low (auto-clear) thresholds.

    * ``high`` = the lowest observed score ``t`` such that precision of {items with score ≥ t}
      meets ``auto_action_precision``; if none does, ``high`` is above every score (``inf``
      — nothing is auto-actioned) and precision is reported as 1.0 on the empty set.
    * ``low`` = the highest observed score ``t`` such that recall of harmful items with score ≥ t
      is at least ``auto_clear_recall`` (items below ``low`` are auto-cleared).
    * ``expected_human_share`` = share of items with ``low ≤ score < high``.

    Why the lowest/highest: they give the widest automation that still meets the targets,
    which is what an ops manager is buying with the targets.
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(is_harmful, dtype=bool)
    if s.shape != y.shape or s.ndim != 1 or s.size == 0:
        raise ValueError("scores and is_harmful must be non-empty 1-D sequences of equal length")
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    tp = np.cumsum(y_sorted)
    count = np.arange(1, s.size + 1)
    # Only evaluate at the last position of each run of equal scores (a threshold includes ties).
    last_of_run = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    idx = np.flatnonzero(last_of_run)
    precision = tp[idx] / count[idx]
    thr = s_sorted[idx]

    ok = np.flatnonzero(precision >= auto_action_precision)
    if ok.size:
        k = ok[-1]  # lowest threshold (most items) meeting the precision target
        high, achieved_precision = float(thr[k]), float(precision[k])
    else:
        high, achieved_precision = float("inf"), 1.0

    n_pos = int(y.sum())
    if n_pos == 0:
        low, achieved_recall = float(s.max()), 1.0
    else:
        recall = tp[idx] / n_pos
        ok_r = np.flatnonzero(recall >= auto_clear_recall)
        k = ok_r[0]  # highest threshold (fewest items kept) meeting the recall target
        low, achieved_recall = float(thr[k]), float(recall[k])
    low = min(low, high)
    human = float(np.mean((s >= low) & (s < high)))
    return Thresholds(high=high, low=low, expected_human_share=human,
                      achieved_precision=achieved_precision, achieved_recall=achieved_recall,
                      model_version=model_version, n=int(s.size))


def boundary_boost(harm: float, threshold: float = 0.5, width: float = 0.15,
                   weight: float = 1.0) -> float:
    """Active-learning priority boost in ``[0, weight]`` for items near the decision boundary.

    A triangular bump: ``weight`` at ``harm == threshold``, falling linearly to 0 at
    ``threshold ± width``. Human labels on these items teach the next model the most
    (uncertainty sampling). The queue multiplies or adds it to its priority as it sees fit.
    """
    if width <= 0:
        return 0.0
    return max(0.0, weight * (1.0 - abs(harm - threshold) / width))


def uncertainty(severity: dict[str, float]) -> float:
    """Normalized entropy of the severity distribution (0 = sure, 1 = uniform)."""
    p = np.clip(np.array(list(severity.values()), dtype=float), 1e-12, 1.0)
    if p.size < 2:
        return 0.0
    return float(-(p * np.log(p)).sum() / np.log(p.size))


@dataclass(frozen=True, slots=True)
class PolicyThreshold:
    """One policy's auto-action threshold and what it did on the validation labels.

    ``threshold`` is None when the policy may not be automated: fewer than ``min_labels``
    in-domain human labels, no positives, or no score at which the precision target holds.
    Intervals are Wilson 95 %. ``volume`` = share of validation items the threshold automates.
    """

    policy: str
    label: str | None
    threshold: float | None
    precision: float | None
    precision_ci: tuple[float, float] | None
    recall: float | None
    recall_ci: tuple[float, float] | None
    volume: float
    n: int
    positives: int
    validation: str
    reason: str = ""

    def to_setting(self) -> dict[str, object]:
        """The form stored in ``settings.policy_thresholds`` (what routing reads)."""
        return {"threshold": self.threshold, "n": self.n, "positives": self.positives,
                "precision": self.precision, "recall": self.recall, "volume": self.volume,
                "validation": self.validation}


def policy_positive(label: str | None, human_labels: Sequence[str]) -> bool:
    """Whether the label an auto-action would apply agrees with the human decision."""
    if label is None:
        return False
    return any(h == label or h.startswith(label + ".") for h in human_labels)


def choose_policy_thresholds(
    scores: Sequence[dict[str, float]],
    human: Sequence[Sequence[str]],
    label_of: dict[str, str | None],
    validation: str,
    target_precision: float = 0.95,
    min_labels: int = 200,
) -> list[PolicyThreshold]:
    """Per policy: the lowest score whose auto-actions reach ``target_precision`` on in-domain
    human labels (``human[i]`` = the final labels of item i, ``scores[i]`` = its policy
    scores); never a threshold on fewer than ``min_labels`` labels."""
    from modops.quality import wilson_interval

    n = len(scores)
    out: list[PolicyThreshold] = []
    for policy, label in label_of.items():
        s = np.array([sc.get(policy, 0.0) for sc in scores], dtype=float)
        y = np.array([policy_positive(label, h) for h in human], dtype=bool)
        pos = int(y.sum())
        reason = ""
        if label is None:
            reason = "no label of the taxonomy for this policy"
        elif n < min_labels:
            reason = f"{n} in-domain human labels < {min_labels}"
        elif pos == 0:
            reason = "no positive among the human labels"
        th = None
        if not reason:
            th = choose_thresholds(s.tolist(), y.tolist(), target_precision, 0.0)
            if th.high == float("inf"):
                reason = f"no threshold reaches precision {target_precision:.2f}"
        if reason or th is None:
            out.append(PolicyThreshold(policy, label, None, None, None, None, None, 0.0, n,
                                       pos, validation, reason))
            continue
        flagged = s >= th.high
        tp, k = int((flagged & y).sum()), int(flagged.sum())
        p_ci = wilson_interval(tp, k) if k else (float("nan"), float("nan"))
        r_ci = wilson_interval(tp, pos)
        out.append(PolicyThreshold(
            policy, label, float(th.high), tp / k if k else None,
            (float(p_ci[0]), float(p_ci[1])), tp / pos, (float(r_ci[0]), float(r_ci[1])),
            k / n, n, pos, validation))
    return out
