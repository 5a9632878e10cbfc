"""A project's final human labels as training and validation data for the model.

Only decisions made by people (labelers' consensus, reviewers, appeals) count: machine
decisions would teach the model its own mistakes. Taxonomy labels map to the model's
severity classes: any ``hate*`` label → hate, any other violation → offensive, no violation
→ none.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import Engine, text

from modops.domain.fields import SCORED_TEXT_FIELDS, select_list
from modops.machine.scoring import item_text

HUMAN_SOURCES = ("labelers", "reviewer", "appeal")


@dataclass(frozen=True, slots=True)
class HumanLabel:
    text: str
    severity: str  # hate / offensive / none
    harmful: bool
    machine_score: float | None
    labels: tuple[str, ...] = ()  # the taxonomy labels of the decision in force


def severity_of(labels: list[str], action: str) -> str:
    if action == "no_action":
        return "none"
    if any(label == "hate" or label.startswith("hate.") for label in labels):
        return "hate"
    return "offensive"


def human_labels(engine: Engine, project_key: str) -> list[HumanLabel]:
    """Every item of the project whose decision in force was made by people, oldest first."""
    marks = ", ".join(f"'{s}'" for s in HUMAN_SOURCES)
    with engine.connect() as conn:
        rows = conn.execute(text(
            f"SELECT {select_list(SCORED_TEXT_FIELDS)}, i.machine_score, d.labels, d.action "
            "FROM items i JOIN decisions d ON d.item_id = i.id "
            "JOIN projects p ON p.id = i.project_id WHERE p.key = :k AND d.current = :true "
            f"AND d.source IN ({marks}) ORDER BY d.id"), {"k": project_key, "true": True}).all()
    out = []
    for r in rows:
        labels = orjson.loads(r.labels) if isinstance(r.labels, str | bytes) else r.labels
        severity = severity_of(labels, r.action)
        out.append(HumanLabel(item_text(r._mapping), severity, severity != "none",
                              r.machine_score, tuple(labels)))
    return out
