"""The project settings the queue reads, and the priority formula: plain data and arithmetic,
importable without a database (the importer's parse process routes rows with them)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from modops.projects.taxonomy import TaxonomyRules


@dataclass(slots=True)
class ProjectConfig:
    """The settings the queue needs, read once per operation."""

    id: int
    key: str
    status: str
    overlap_k: int
    gold_rate: float
    audit_rate: float
    sla_minutes: int
    lease_seconds: int
    auto_action_threshold: float | None
    auto_clear_threshold: float | None
    escalation_threshold: float
    priority_weights: dict[str, float]
    required_skills: tuple[str, ...]
    team_ids: tuple[int, ...]
    show_machine_suggestion: bool
    model_version: str | None
    scorer: str | None
    settings: dict[str, Any]
    rules: TaxonomyRules

    def sla_for(self, product_key: str) -> int:
        """Minutes from ingestion to decision; products may override (LIVE is often 1 h)."""
        return int((self.settings.get("sla_by_product") or {}).get(product_key,
                                                                      self.sla_minutes))



def epoch_days(dt: datetime) -> float:
    return dt.timestamp() / 86400.0 if dt.tzinfo else (
        (dt - datetime(1970, 1, 1)).total_seconds() / 86400.0)


def priority_score(weights: dict[str, float], *, score: float | None, views: int,
                   reported: bool, due_at: datetime, boost: float = 0.0) -> float:
    """Higher is served first. Each factor is scaled to roughly 0–1 before weighting:

    * machine score (unscored items count as 0.5: unknown is as urgent as borderline),
    * exposure: log10(1 + views) / 6, so a million views ≈ 1,
    * user reports: 1 if reported,
    * SLA urgency: minus the deadline in days, so each day earlier is worth one unit. A linear
      term keeps the order fixed over time, so stored priorities never need refreshing.
    """
    return (weights.get("machine_score", 1.0) * (0.5 if score is None else score)
            + weights.get("views", 0.5) * math.log10(1 + max(0, views)) / 6.0
            + weights.get("reports", 1.0) * (1.0 if reported else 0.0)
            - weights.get("sla", 1.0) * epoch_days(due_at)
            + boost)


def loads(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()
