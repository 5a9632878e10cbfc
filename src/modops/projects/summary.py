"""A project's at-a-glance numbers (the CLI's ``status``; the dashboards go much further)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from modops.projects.service import get_project


@dataclass(slots=True)
class ProjectSummary:
    key: str
    name: str
    products: list[str]
    taxonomy: str
    overlap_k: int
    sla_minutes: int
    items: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    by_route: dict[str, int] = field(default_factory=dict)
    annotations: int = 0
    labelers: int = 0
    decisions_by_action: dict[str, int] = field(default_factory=dict)
    top_labels: list[tuple[str, int]] = field(default_factory=list)


def summarize(engine: Engine, project_key: str) -> ProjectSummary:
    with Session(engine) as s:
        p = get_project(s, project_key)
        out = ProjectSummary(
            key=p.key, name=p.name, products=[x.key for x in p.products],
            taxonomy=f"{p.taxonomy.key} v{p.taxonomy.version}", overlap_k=p.overlap_k,
            sla_minutes=p.sla_minutes,
        )
        params: dict[str, Any] = {"p": p.id}
        rows = s.execute(text("SELECT state, count(*) FROM items WHERE project_id = :p "
                              "GROUP BY state"), params).all()
        out.by_state = {k: int(v) for k, v in rows}
        out.items = sum(out.by_state.values())
        rows = s.execute(text("SELECT coalesce(route, 'unrouted'), count(*) FROM items "
                              "WHERE project_id = :p GROUP BY 1"), params).all()
        out.by_route = {k: int(v) for k, v in rows}
        out.annotations, out.labelers = s.execute(text(
            "SELECT count(*), count(DISTINCT labeler_id) FROM annotations WHERE project_id = :p"
        ), params).one()
        rows = s.execute(text("SELECT final_action, count(*) FROM items WHERE project_id = :p "
                              "AND final_action IS NOT NULL GROUP BY final_action"), params).all()
        out.decisions_by_action = {k: int(v) for k, v in rows}
        counts: Counter[str] = Counter()
        for (labels,) in s.execute(text("SELECT final_labels FROM items WHERE project_id = :p "
                                        "AND final_labels IS NOT NULL"), params):
            counts.update(orjson.loads(labels) if isinstance(labels, str) else labels)
        out.top_labels = counts.most_common(10)
    return out
