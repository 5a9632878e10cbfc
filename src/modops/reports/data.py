"""Gather every number a report shows, once, from ``modops.analytics`` and ``modops.quality``.

A report is rendered in up to four formats and two languages; all of them read one
:class:`ReportData`, so the database is scanned once per report, not once per file, and every
format shows the same numbers. Independent analytics calls run on a small thread pool: on
PostgreSQL each runs in its own server process, so a week over 1M tasks takes about as long as
the slowest call instead of the sum.

Nothing here computes a metric. The comparison is ``compare_periods``'s, with its two metric
sets computed side by side (:func:`comparison_of`). Two places combine analytics numbers
without a new formula:
team scorecards sum ``throughput_breakdowns`` (team) and ``gold_accuracy_by_labeler`` numerators per
team (Wilson interval from ``modops.quality``). The staffing plan is
``modops.analytics.staffing_plan`` as of the report's end, the object the dashboard and API show.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, text

from modops.analytics import (
    Alert,
    Comparison,
    Filters,
    LabelSeries,
    Metric,
    MetricSet,
    Period,
    StaffingPlan,
    comparison_of,
    compute_metrics,
    evaluate_alerts,
    gold_accuracy_by_labeler,
    label_volume_series,
    staffing_plan,
    throughput_breakdowns,
)
from modops.analytics.catalogue import default_targets
from modops.domain import NotFound
from modops.quality import wilson_interval
from modops.store import utcnow

T = TypeVar("T")

# Default targets: (direction, green threshold, amber threshold), "min" = higher is better,
# from the metric catalogue. A project overrides them with
# settings["report"]["targets"][metric] = {"green": …, "amber": …}. Targets marked ``sla``
# (the backlog forecast) are the project's SLA: green within it, amber within 2 × SLA.
DEFAULT_TARGETS: dict[str, tuple[str, float, float]] = {
    name: ("min" if m.direction == "up" else "max", m.target.green, m.target.amber)
    for name, m in default_targets().items() if m.target is not None and not m.target.sla}
SLA_TARGETS = tuple(name for name, m in default_targets().items()
                    if m.target is not None and m.target.sla)


@dataclass(frozen=True)
class Target:
    metric: str
    direction: str  # "min" (value ≥ green is green) or "max"
    green: float
    amber: float

    def status(self, value: float | None) -> str | None:
        """``green`` / ``amber`` / ``red``; None when the metric has no value."""
        if value is None:
            return None
        if self.direction == "min":
            return "green" if value >= self.green else "amber" if value >= self.amber else "red"
        return "green" if value <= self.green else "amber" if value <= self.amber else "red"


@dataclass(frozen=True)
class TeamRow:
    """One team's scorecard row, every number summed from analytics breakdowns."""

    team: str
    tasks_finalized: float
    throughput_per_hour: float | None
    share_of_tasks: float | None
    labelers: int
    gold_n: int
    gold_correct: int
    gold_accuracy: float | None
    gold_ci: tuple[float, float] | None
    labelers_below_target: int  # Wilson upper bound below the gold target


@dataclass
class ProjectData:
    key: str
    name: str
    sla_minutes: int
    products: list[str]
    label_names: dict[str, tuple[str, str]]  # key -> (ko, en), taxonomy order
    product_names: dict[str, tuple[str, str]]
    targets: dict[str, Target]
    current: MetricSet
    previous: MetricSet | None
    comparison: Comparison | None
    series: LabelSeries
    previous_series: LabelSeries | None
    by_product: dict[str, Metric]
    by_team: dict[str, Metric]
    gold_by_labeler: dict[str, Metric]
    teams: list[TeamRow]
    alerts: list[Alert]
    staffing: StaffingPlan | None

    def delta(self, name: str) -> float | None:
        if self.comparison is None:
            return None
        return self.comparison.deltas[name].delta

    def prev_value(self, name: str) -> float | None:
        if self.previous is None:
            return None
        m = self.previous.metrics.get(name)
        return m.value if m else None


@dataclass
class ReportData:
    """Everything one report (one or several projects) shows."""

    period: Period
    previous_period: Period | None
    as_of: datetime
    generated_at: datetime
    projects: list[ProjectData]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def is_pack(self) -> bool:
        return len(self.projects) > 1


def _json(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        return json.loads(raw) if raw else {}
    return dict(raw or {})


def _project_meta(engine: Engine, key: str) -> dict[str, Any]:
    """Names and settings (not metrics): project, taxonomy labels, products, labeler teams."""
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT id, name, sla_minutes, settings, taxonomy_id FROM projects WHERE key = :k"),
            {"k": key}).one_or_none()
        if row is None:
            raise NotFound(f"no project {key!r}")
        pid, name, sla, settings, tax = row
        labels = {k: (ko, en) for k, ko, en in conn.execute(text(
            "SELECT key, name_ko, name_en FROM taxonomy_labels WHERE taxonomy_id = :t "
            "ORDER BY position, key"), {"t": tax})}
        products = [(k, ko, en) for k, ko, en in conn.execute(text(
            "SELECT p.key, p.name_ko, p.name_en FROM products p JOIN project_products pp "
            "ON pp.product_id = p.id WHERE pp.project_id = :p ORDER BY p.key"), {"p": pid})]
        all_products = {k: (ko, en) for k, ko, en in conn.execute(text(
            "SELECT key, name_ko, name_en FROM products ORDER BY key"))}
        teams = {u: (tm if tm is not None else None) for u, tm in conn.execute(text(
            "SELECT u.username, t.name FROM users u LEFT JOIN teams t ON t.id = u.team_id"))}
        conn.rollback()
    return {"name": name, "sla_minutes": int(sla or 24 * 60), "settings": _json(settings),
            "labels": labels, "products": [p[0] for p in products],
            "product_names": all_products, "teams": teams}


def targets_for(settings: dict[str, Any], sla_minutes: int) -> dict[str, Target]:
    """Default targets merged with ``settings["report"]["targets"]``."""
    custom = (settings.get("report") or {}).get("targets") or {}
    sla_h = sla_minutes / 60.0
    base: dict[str, tuple[str, float, float]] = {
        **DEFAULT_TARGETS, **{name: ("max", sla_h, 2 * sla_h) for name in SLA_TARGETS}}
    out: dict[str, Target] = {}
    for name, (direction, green, amber) in base.items():
        c: dict[str, Any] = custom.get(name) or {}
        out[name] = Target(name, str(c.get("direction", direction)),
                           float(c.get("green", green)), float(c.get("amber", amber)))
    for name, c in custom.items():  # targets for metrics without a default
        if name not in out and isinstance(c, dict) and "green" in c:
            out[name] = Target(name, str(c.get("direction", "min")), float(c["green"]),
                               float(c.get("amber", c["green"])))
    return out


def team_rows(by_team: dict[str, Metric], by_labeler_gold: dict[str, Metric],
              labeler_team: dict[str, str | None], labelers_by_team: dict[str, int],
              gold_target: float) -> list[TeamRow]:
    """Team scorecards from analytics breakdowns: finalized tasks per team (throughput_by),
    gold counts summed over the team's labelers (gold_accuracy_by_labeler)."""
    total = sum(m.numerator or 0.0 for m in by_team.values())
    gold: dict[str, list[int]] = {}
    for user, lm in by_labeler_gold.items():
        team = labeler_team.get(user) or "(none)"
        g = gold.setdefault(team, [0, 0, 0])
        g[0] += int(lm.denominator or 0)
        g[1] += int(lm.numerator or 0)
        if lm.interval is not None and lm.interval[1] < gold_target:
            g[2] += 1
    rows = []
    for team in sorted(set(by_team) | set(gold)):
        m = by_team.get(team)
        n, ok, below = gold.get(team, [0, 0, 0])
        done = (m.numerator or 0.0) if m else 0.0
        ci = wilson_interval(ok, n) if n else None
        rows.append(TeamRow(team, done, m.value if m else None,
                            done / total if total else None, labelers_by_team.get(team, 0),
                            n, ok, ok / n if n else None,
                            (float(ci[0]), float(ci[1])) if ci else None, below))
    return rows


def _resolve_previous(period: Period, compare: str | None) -> Period | None:
    if compare is None or compare in ("", "none", "off"):
        return None
    if compare == "previous":
        return period.previous()
    return Period.parse(compare)


def collect_project(engine: Engine, key: str, period: Period, previous: Period | None,
                    now: datetime, pool: ThreadPoolExecutor,
                    timings: dict[str, float] | None = None) -> ProjectData:
    """Run the analytics calls for one project (concurrently) and assemble the numbers."""
    import time

    meta = _project_meta(engine, key)
    f = Filters(project=key)
    as_of = min(period.end, now)
    timings = timings if timings is not None else {}

    def timed(name: str, fn: Callable[[], T]) -> Future[T]:
        def run() -> T:
            t0 = time.perf_counter()
            try:
                return fn()
            finally:
                timings[f"{key}:{name}"] = time.perf_counter() - t0
        return pool.submit(run)

    # the slowest calls first, so they start while the quick ones fill the other worker; the
    # two periods' metric sets run side by side (compare_periods would run them in turn)
    cur_f = timed("metrics", lambda: compute_metrics(engine, period, f, now=now))
    prev_f = (timed("metrics_previous", lambda: compute_metrics(
        engine, previous, f, min(previous.end, now))) if previous is not None else None)
    alerts_f = timed("alerts", lambda: evaluate_alerts(engine, key, as_of))
    plan_f = timed("staffing_plan", lambda: staffing_plan(engine, key, as_of))
    series_f = timed("label_series", lambda: label_volume_series(engine, period, f))
    prev_series_f = (timed("label_series_prev", lambda: label_volume_series(
        engine, previous, f)) if previous is not None else None)
    by_f = timed("throughput_breakdowns", lambda: throughput_breakdowns(
        engine, period, ("product", "team", "labeler"), f, now))
    gold_f = timed("gold_by_labeler", lambda: gold_accuracy_by_labeler(engine, period, f))

    current = cur_f.result()
    prev_ms = prev_f.result() if prev_f is not None else None
    comparison = comparison_of(current, prev_ms) if prev_ms is not None else None
    targets = targets_for(meta["settings"], meta["sla_minutes"])
    labeler_team: dict[str, str | None] = meta["teams"]
    labelers_by_team: dict[str, int] = {}
    by = by_f.result()
    for user in by["labeler"]:
        team = labeler_team.get(user) or "(none)"
        labelers_by_team[team] = labelers_by_team.get(team, 0) + 1
    gold = gold_f.result()
    teams = team_rows(by["team"], gold, labeler_team, labelers_by_team,
                      targets["gold_accuracy"].green)
    return ProjectData(
        key=key, name=meta["name"], sla_minutes=meta["sla_minutes"],
        products=meta["products"], label_names=meta["labels"],
        product_names=meta["product_names"], targets=targets, current=current,
        previous=prev_ms, comparison=comparison, series=series_f.result(),
        previous_series=prev_series_f.result() if prev_series_f is not None else None,
        by_product=by["product"], by_team=by["team"], gold_by_labeler=gold,
        teams=teams, alerts=sorted(alerts_f.result(), key=_alert_order),
        staffing=plan_f.result())


_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def _alert_order(a: Alert) -> tuple[int, str, str]:
    return (_SEVERITY_ORDER.get(a.severity, 9), a.rule, a.subject or "")


def collect(engine: Engine, projects: list[str], period: Period | str, *,
            compare: str | None = "previous", now: datetime | None = None,
            workers: int | None = None) -> ReportData:
    """All numbers for a report over ``projects`` (one, or several for a global sync pack)."""
    import time

    if not projects:
        raise ValueError("a report needs at least one project")
    p = Period.parse(period) if isinstance(period, str) else period
    prev = _resolve_previous(p, compare)
    now = now or utcnow()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    # SQLite serialises writers, not readers; 3 workers keep 2 cores busy either way
    n = workers or (1 if engine.dialect.name == "sqlite" and engine.url.database in
                    (None, "", ":memory:") else 3)
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="modops-report") as pool:
        data = [collect_project(engine, k, p, prev, now, pool, timings)
                for k in sorted(dict.fromkeys(projects))]
    timings["collect_total"] = time.perf_counter() - t0
    return ReportData(p, prev, min(p.end, now), now, data, timings)
