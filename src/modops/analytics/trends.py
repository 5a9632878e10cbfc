"""Trends: period-over-period deltas for every metric, and per-policy-label daily volumes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from modops.store import utcnow

from ._sql import Scope, run
from .metrics import Metric, MetricSet, compute_metrics
from .period import Filters, Period


@dataclass(frozen=True)
class Delta:
    """``current − previous`` (and relative change) of one metric; None when either is."""

    name: str
    current: Metric
    previous: Metric
    delta: float | None
    relative: float | None


@dataclass(frozen=True)
class Comparison:
    current: MetricSet
    previous: MetricSet
    deltas: dict[str, Delta]

    def __getitem__(self, name: str) -> Delta:
        return self.deltas[name]


def compare_periods(engine: Engine, period: Period | str, filters: Filters | None = None,
                    now: datetime | None = None, previous: Period | None = None) -> Comparison:
    """Every metric for ``period`` and for the one before it (or ``previous``), with deltas.

    The previous period is computed as of its own end, so its backlog is the snapshot then.
    A period still running at ``now`` is compared with the same elapsed window of the one
    before (``Period.same_elapsed``), never with all of it.
    """
    p = Period.parse(period) if isinstance(period, str) else period
    at = now or utcnow()
    prev_p = previous or (p.same_elapsed(p.previous(), at) if p.is_partial(at)
                          else p.previous())
    cur = compute_metrics(engine, p, filters, now)
    prev = compute_metrics(engine, prev_p, filters, min(prev_p.end, now or utcnow()))
    return comparison_of(cur, prev)


def comparison_of(current: MetricSet, previous: MetricSet) -> Comparison:
    """Deltas between two metric sets: ``current − previous``, relative to ``|previous|``;
    None when either value is None (a report computes both sets side by side)."""
    deltas: dict[str, Delta] = {}
    for name, m in current.metrics.items():
        pm = previous.metrics[name]
        d = rel = None
        if m.value is not None and pm.value is not None:
            d = m.value - pm.value
            rel = d / abs(pm.value) if pm.value else None
        deltas[name] = Delta(name, m, pm, d, rel)
    return Comparison(current, previous, deltas)


@dataclass(frozen=True)
class LabelSeries:
    """Items decided per day with each final label: ``counts[label][i]`` is for ``days[i]``."""

    days: list[str]
    counts: dict[str, list[int]]


def label_volume_series(engine: Engine, period: Period | str,
                        filters: Filters | None = None) -> LabelSeries:
    """Per-policy-label volume by day (decision in force, by its day in UTC)."""
    p = Period.parse(period) if isinstance(period, str) else period
    days = [d.label for d in p.days()]
    with engine.connect() as conn:
        sc = Scope.resolve(conn, filters or Filters())
        d = sc.d
        # count items per (day, label list) first, then split the few distinct lists into
        # labels: one unnest per list instead of one per item
        join, lab = d.unnest_labels("g.fl", "e")
        rows = run(conn, f"""
            SELECT g.day, {lab}, SUM(g.n)
            FROM (SELECT {d.day_key('i.decided_at')} AS day, i.final_labels AS fl,
                         COUNT(*) AS n
                  FROM items i
                  WHERE i.decided_at >= :start AND i.decided_at < :end AND {sc.items('i')}
                  GROUP BY {d.day_key('i.decided_at')}, i.final_labels) g {join}
            GROUP BY g.day, {lab}""",
                   {**sc.params, "start": p.start, "end": p.end}).all()
        conn.rollback()
    index = {k: i for i, k in enumerate(days)}
    counts: dict[str, list[int]] = {}
    for day, label, n in rows:
        if day in index and label is not None:
            counts.setdefault(str(label), [0] * len(days))[index[day]] += int(n)
    return LabelSeries(days, dict(sorted(counts.items())))
