"""The rules routing reads and the match log it writes, on the caller's connection (the
routing transaction): plain SQL, no session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, text

from modops.rules.engine import LIVE, SHADOW, RuleRef, RuleSet
from modops.rules.spec import RuleSpec, parse_rule

_ACTIVE = text(
    "SELECT id, key, version, mode, source FROM rules WHERE project_id = :p AND current "
    f"AND mode IN ('{LIVE}', '{SHADOW}') ORDER BY key")


@lru_cache(maxsize=1024)
def _parsed(rule_id: int, source: str) -> RuleSpec:
    """A stored version's YAML never changes (a change is a new version): parse it once."""
    return parse_rule(source, f"rule#{rule_id}")


def active_rules(conn: Connection, project_id: int) -> list[RuleRef]:
    """The project's rules in force (live or shadow), current versions."""
    return [RuleRef(_parsed(r.id, r.source), r.version, r.mode, r.id)
            for r in conn.execute(_ACTIVE, {"p": project_id})]


def ruleset(conn: Connection, project_id: int, now: datetime) -> RuleSet:
    return RuleSet(active_rules(conn, project_id), now)


def has_rules(conn: Connection, project_id: int) -> bool:
    return bool(conn.execute(text(
        f"SELECT 1 FROM rules WHERE project_id = :p AND current AND mode IN ('{LIVE}', "
        f"'{SHADOW}') LIMIT 1"), {"p": project_id}).first())


def record_hits(conn: Connection, project_id: int,
                hits: Sequence[tuple[int, int, str, bool]], now: datetime) -> None:
    """``(item_id, rule_id, mode, applied)`` per match: the match log (shadow matches too)."""
    if not hits:
        return
    rows: list[dict[str, Any]] = [
        {"p": project_id, "i": item, "r": rule, "m": mode, "a": applied, "t": now}
        for item, rule, mode, applied in hits]
    conn.execute(text(
        "INSERT INTO rule_hits (project_id, item_id, rule_id, mode, applied, at) "
        "VALUES (:p, :i, :r, :m, :a, :t)"), rows)
