"""Builders for queue tests: a project whose items all go to people, and a team of labelers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine

from modops.accounts import add_user
from modops.projects import get_project, update_project
from modops.queue import ingest_file
from modops.store import session_scope
from tests.conftest import make_project


def human_project(engine: Engine, key: str = "queue", *, k: int = 3, gold_rate: float = 0.0,
                  audit_rate: float = 0.0, routing: dict[str, Any] | None = None,
                  **extra: Any) -> str:
    """A project where nothing is scored on ingest and nothing is sampled unless asked."""
    settings = {"score_on_ingest": False, "prevalence_rate": 0.0}
    spec: dict[str, Any] = {"overlap": k, "gold_rate": gold_rate, "audit_rate": audit_rate,
                            "routing": routing or {}, "required_skills": [],
                            "escalation_threshold": 0.6, "teams": [], **extra}
    spec.pop("settings", None)
    make_project(engine, key, **spec)
    with session_scope(engine) as s:
        update_project(s, get_project(s, key),
                       {"settings": {**settings, **(extra.get("settings") or {})}}, actor="test")
    return key


def add_items(engine: Engine, project: str, tmp_path: Path, rows: list[dict[str, Any]],
              name: str = "items.jsonl") -> None:
    path = tmp_path / name
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    ingest_file(engine, project, path, "jsonl")


def simple_items(n: int, prefix: str = "i", **fields: Any) -> list[dict[str, Any]]:
    return [{"external_id": f"{prefix}-{i:05d}", "product": "comment",
             "comment": f"댓글 {i}", **fields} for i in range(n)]


def make_users(engine: Engine, n: int, role: str = "labeler", prefix: str = "lab",
               **kwargs: Any) -> list[int]:
    ids = []
    with session_scope(engine) as s:
        for i in range(n):
            ids.append(add_user(s, f"{prefix}{i}", role, **kwargs).id)
    return ids
