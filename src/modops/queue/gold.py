"""Gold items: questions with a known answer, mixed into labelers' queues at the gold rate.

Gold comes from imports (``is_gold`` + ``gold_labels``) or from a reviewer's final decision
(``make_gold``). Gold tasks are served exactly like label tasks; the answer is scored on
submit (``annotations.correct``) and, if the project allows, the labeler sees the guideline
feedback at once.
"""

from __future__ import annotations

from sqlalchemy import Engine

from modops.domain import IllegalTransition, NotFound
from modops.queue.core import dumps, load_project, loads, sql, write_tx
from modops.queue.decisions import _audit


def make_gold(engine: Engine, project_key: str, external_id: str, *, actor: str,
              note: str | None = None) -> list[str]:
    """Turn a reviewed item into a gold item whose answer is its final decision."""
    with write_tx(engine) as (conn, _):
        project = load_project(conn, project_key)
        row = conn.execute(sql(
            "SELECT i.id, i.is_gold, d.labels, d.source FROM items i LEFT JOIN decisions d "
            "ON d.item_id = i.id AND d.current = :true WHERE i.project_id = :p "
            "AND i.external_id = :e"), {"p": project.id, "e": external_id, "true": True}).first()
        if row is None:
            raise NotFound(f"no item {external_id!r} in project {project.key}")
        if row.labels is None or row.source not in ("reviewer", "appeal", "labelers"):
            raise IllegalTransition(
                f"item {external_id!r} has no human decision to make a gold answer from")
        labels: list[str] = loads(row.labels)
        conn.execute(sql("UPDATE items SET is_gold = :true, gold_labels = :labels WHERE id = :i"),
                     {"true": True, "labels": dumps(labels), "i": row.id})
        _audit(conn, actor, "gold.create", "item", row.id, project.id,
               before={"is_gold": bool(row.is_gold)},
               after={"is_gold": True, "gold_labels": labels, "note": note})
        return labels
