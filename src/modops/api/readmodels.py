"""Read-only numbers the screens show: a labeler's own day, a project's dashboard.

Plain SQL that runs the same on SQLite and PostgreSQL; time bucketing happens in Python so no
dialect-specific date functions are needed. The analytics package goes much further; these are
the few numbers a screen needs at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from modops.domain import ItemState, TaskKind, TaskState
from modops.store import utcnow
from modops.store.models import Project

KST = timedelta(hours=9)  # the team works on Korean time: "today" starts at 00:00 KST


def start_of_day_kst(now: datetime) -> datetime:
    local = now + KST
    return local.replace(hour=0, minute=0, second=0, microsecond=0) - KST


@dataclass(slots=True)
class LabelerStats:
    today: int
    gold_answered: int
    gold_correct: int

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_answered if self.gold_answered else None


def labeler_stats(session: Session, user_id: int, now: datetime | None = None, *,
                  include_today: bool = False) -> LabelerStats:
    """Own answers since 00:00 KST, and own gold accuracy over the 30 days before today.

    Gold answers of today are left out: a total that moved right after an answer would tell
    the labeler that the task was gold (and whether they got it right), unless the project
    chose immediate gold feedback (``include_today``).
    """
    now = now or utcnow()
    midnight = start_of_day_kst(now)
    today = session.execute(text(
        "SELECT count(*) FROM annotations WHERE labeler_id = :u AND submitted_at >= :t "
        "AND kind IN ('label', 'gold')"), {"u": user_id, "t": midnight}).scalar_one()
    answered, correct = session.execute(text(
        "SELECT count(*), coalesce(sum(CASE WHEN correct THEN 1 ELSE 0 END), 0) "
        "FROM annotations WHERE labeler_id = :u AND correct IS NOT NULL AND submitted_at >= :t "
        "AND submitted_at < :m"),
        {"u": user_id, "t": midnight - timedelta(days=30),
         "m": now + timedelta(seconds=1) if include_today else midnight}).one()
    return LabelerStats(int(today), int(answered), int(correct))


@dataclass(slots=True)
class Dashboard:
    key: str
    name: str
    items: int = 0
    decided: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    open_tasks: int = 0  # label/gold slots waiting or leased
    leased_tasks: int = 0
    open_reviews: int = 0
    open_appeals: int = 0
    oldest_open_minutes: float | None = None
    sla_evaluated: int = 0
    sla_met: int = 0
    decided_24h: int = 0
    throughput: list[tuple[datetime, int]] = field(default_factory=list)  # per hour, 24 h

    @property
    def progress(self) -> float:
        return self.decided / self.items if self.items else 0.0

    @property
    def backlog(self) -> int:
        return self.items - self.decided

    @property
    def sla_attainment(self) -> float | None:
        return self.sla_met / self.sla_evaluated if self.sla_evaluated else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "name": self.name, "items": self.items, "decided": self.decided,
            "progress": round(self.progress, 4), "backlog": self.backlog,
            "by_state": self.by_state, "open_tasks": self.open_tasks,
            "leased_tasks": self.leased_tasks, "open_reviews": self.open_reviews,
            "open_appeals": self.open_appeals, "oldest_open_minutes": self.oldest_open_minutes,
            "sla_evaluated": self.sla_evaluated, "sla_met": self.sla_met,
            "sla_attainment": self.sla_attainment, "decided_24h": self.decided_24h,
            "throughput_per_hour": [{"hour": h.isoformat() + "Z", "decided": n}
                                    for h, n in self.throughput],
        }


def _dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def dashboard(session: Session, project: Project, now: datetime | None = None) -> Dashboard:
    now = now or utcnow()
    p = {"p": project.id}
    d = Dashboard(key=project.key, name=project.name)
    d.by_state = {k: int(v) for k, v in session.execute(text(
        "SELECT state, count(*) FROM items WHERE project_id = :p GROUP BY state"), p)}
    d.items = sum(d.by_state.values())
    d.decided = d.by_state.get(ItemState.DECIDED.value, 0)
    _count_open_tasks(session, p, d, now)
    d.sla_evaluated, d.sla_met = (int(x or 0) for x in session.execute(text(
        "SELECT count(*), sum(CASE WHEN decided_at <= due_at THEN 1 ELSE 0 END) FROM items "
        "WHERE project_id = :p AND decided_at IS NOT NULL AND due_at IS NOT NULL"), p).one())
    d.throughput = _decided_by_hour(session, p, now)
    d.decided_24h = sum(n for _, n in d.throughput)
    return d


def _count_open_tasks(session: Session, p: dict[str, Any], d: Dashboard, now: datetime) -> None:
    """Open and leased work by kind, and how long the oldest label slot has waited."""
    for kind, state, n, oldest in session.execute(text(
            "SELECT kind, state, count(*), min(created_at) FROM tasks WHERE project_id = :p "
            f"AND state IN ('{TaskState.OPEN}', '{TaskState.LEASED}') GROUP BY kind, state"), p):
        n = int(n)
        if kind in (TaskKind.LABEL, TaskKind.GOLD):
            d.open_tasks += n
            if state == TaskState.LEASED:
                d.leased_tasks += n
            oldest_dt = _dt(oldest)
            if oldest_dt is not None:
                age = (now - oldest_dt).total_seconds() / 60
                d.oldest_open_minutes = max(d.oldest_open_minutes or 0.0, age)
        elif kind == TaskKind.REVIEW:
            d.open_reviews += n
        elif kind == TaskKind.APPEAL:
            d.open_appeals += n


def _decided_by_hour(session: Session, p: dict[str, Any],
                     now: datetime) -> list[tuple[datetime, int]]:
    """Decisions per hour over the last 24 hours (this hour included), oldest first."""
    start = (now - timedelta(hours=23)).replace(minute=0, second=0, microsecond=0)
    buckets = {start + timedelta(hours=i): 0 for i in range(24)}
    for (at,) in session.execute(text(
            "SELECT decided_at FROM items WHERE project_id = :p AND decided_at >= :s"),
            {**p, "s": start}):
        at = _dt(at)
        if at is None:
            continue
        hour = at.replace(minute=0, second=0, microsecond=0)
        if hour in buckets:
            buckets[hour] += 1
    return sorted(buckets.items())
