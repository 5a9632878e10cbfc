"""A small seeded world shared by the API and browser tests: users of every role, two
projects with different teams, and items routed to people (no model, no gold, no audit: the
tests need to know exactly what the queue will hand out)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select

from modops.accounts import add_user, hash_password
from modops.projects import create_project, load_spec
from modops.queue import ingest_file
from modops.store import session_scope
from modops.store.models import Project

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "examples" / "kr-comments.yaml"
PASSWORD = "correct-horse-9"
PROJECT = "kr-web"
OTHER = "busan-only"

# username, role, team
USERS = [
    ("admin", "admin", None),
    ("manager", "manager", "Seoul A"),
    ("reviewer", "reviewer", "Seoul A"),
    ("lab1", "labeler", "Seoul A"),
    ("lab2", "labeler", "Seoul A"),
    ("lab3", "labeler", "Seoul B"),
    ("busan", "labeler", "Busan"),
    ("busanmgr", "manager", "Busan"),
]


@dataclass
class World:
    engine: Engine
    project: str = PROJECT
    other: str = OTHER
    users: dict[str, int] = field(default_factory=dict)


def project_spec(key: str, teams: list[str], **overrides: Any) -> dict[str, Any]:
    spec = load_spec(SPEC)
    spec.update({"key": key, "teams": teams, "gold_rate": 0.0, "audit_rate": 0.0,
                 "routing": {}, **overrides})
    return spec


def import_rows(engine: Engine, key: str, rows: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "items.jsonl"
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
        ingest_file(engine, key, path, "jsonl", actor="test")


def comments(prefix: str, n: int) -> list[dict[str, Any]]:
    return [{"external_id": f"{prefix}-{i}", "product": "comment",
             "comment": f"테스트 댓글 {i} 😀", "view_count": 100 + i} for i in range(n)]


@lru_cache(maxsize=1)
def password_hash() -> str:
    return hash_password(PASSWORD)


def build_world(engine: Engine, *, items: int = 12, overlap: int = 3) -> World:
    world = World(engine)
    with session_scope(engine) as s:
        for key, teams in ((PROJECT, ["Seoul A", "Seoul B"]), (OTHER, ["Busan"])):
            p = create_project(s, project_spec(key, teams, overlap=overlap), actor="test")
            p.settings = {"score_on_ingest": False}
        for username, role, team in USERS:
            u = add_user(s, username, role, team=team, skills=["ko"],
                         display_name=username.upper(), actor="test")
            u.password_hash = password_hash()  # argon2 is slow by design: hash once per run
            world.users[username] = u.id
        s.flush()
        assert s.scalar(select(Project.id).where(Project.key == PROJECT)) is not None
    import_rows(engine, PROJECT, comments("c", items))
    import_rows(engine, OTHER, comments("b", 3))
    return world
