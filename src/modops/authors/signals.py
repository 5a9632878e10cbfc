"""Account signals for rules and priority (issue 19; ``modops.rules.signals``): the author's
account age, followers, verification, live strikes per policy, repeat-offender flag and
enforcement status. Loaded set-wise for a chunk of items (one query)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text

from modops.rules.signals import Facts, SignalType, register_facts, register_family, register_signal

REPEAT_OFFENDER_STRIKES = 3  # live strikes (any policy): the default of settings.strikes


def _load_author(conn: Any, item_ids: Sequence[int]) -> dict[int, Any]:
    marks = ", ".join(str(int(i)) for i in item_ids)
    rows = conn.execute(text(
        "SELECT i.id, i.author_created_at, i.author_followers, i.author_verified, a.id, "
        "a.created_at, a.follower_count, a.verified, a.status, i.created_at "
        "FROM items i LEFT JOIN authors a ON a.platform_id = i.author_id "
        f"WHERE i.author_id IS NOT NULL AND i.id IN ({marks})")).all()
    authors = {r[4] for r in rows if r[4] is not None}
    strikes: dict[int, dict[str, int]] = {}
    if authors:
        for author_id, policy, n in conn.execute(text(
                "SELECT author_id, policy, COUNT(*) FROM strikes WHERE voided_at IS NULL "
                "AND expires_at > CURRENT_TIMESTAMP AND author_id IN "
                f"({', '.join(str(int(a)) for a in authors)}) GROUP BY author_id, policy")):
            strikes.setdefault(author_id, {})[policy] = int(n)
    return {r[0]: _author_facts(r, strikes.get(r[4], {})) for r in rows}


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _author_facts(r: Any, per_policy: dict[str, int]) -> dict[str, Any]:
    """One item's author facts: the authors row's latest values, else the item's own."""
    created, posted = _time(r[5] or r[1]), _time(r[9])
    verified = r[7] if r[7] is not None else r[3]
    return {
        "age_days": None if created is None or posted is None
        else (posted - created).total_seconds() / 86400.0,
        "followers": r[6] if r[6] is not None else r[2],
        "verified": None if verified is None else bool(verified),
        "strikes": per_policy, "status": r[8] or "active"}


def _author(f: Facts) -> dict[str, Any]:
    return f.get("author") or {}


register_facts("author", _load_author, "the item's author account (modops.authors)")
register_signal("account_age_days", SignalType.NUMBER, "days",
                "Days from the author's account creation to the item's posting.",
                lambda f: _author(f).get("age_days"), source="account", facts=("author",))
register_signal("follower_count", SignalType.INT, "followers",
                "The author's follower count (latest known).",
                lambda f: _author(f).get("followers"), source="account", facts=("author",))
register_signal("verified", SignalType.BOOL, "flag", "The platform verified the author.",
                lambda f: _author(f).get("verified"), source="account", facts=("author",))
register_signal("author_strikes", SignalType.INT, "strikes",
                "The author's live strikes, all policies (decay windows applied).",
                lambda f: sum((_author(f).get("strikes") or {}).values()) if _author(f)
                else None, source="account", facts=("author",))
register_signal("repeat_offender", SignalType.BOOL, "flag",
                f"The author has {REPEAT_OFFENDER_STRIKES} or more live strikes.",
                lambda f: sum((_author(f).get("strikes") or {}).values())
                >= REPEAT_OFFENDER_STRIKES if _author(f) else None,
                source="account", facts=("author",))
register_signal("account_status", SignalType.STR, "code",
                "The author's enforcement status: active, warned, restricted, suspended, "
                "banned.", lambda f: _author(f).get("status"), source="account",
                facts=("author",))


def _strikes_for(policy: str) -> Any:
    return lambda f: (_author(f).get("strikes") or {}).get(policy, 0) if _author(f) else None


register_family("strikes.", SignalType.INT, "strikes",
                "The author's live strikes under one policy, e.g. strikes.harassment.",
                _strikes_for, source="account", facts=("author",),
                examples=("harassment", "spam"))
