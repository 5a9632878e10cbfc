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

from sqlalchemy import Engine, select, text

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
from modops.analytics.significance import (
    DEFAULT_LEVEL,
    DEFAULT_MIN_N,
    ChangeTest,
    change_test,
    status_allowed,
)
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
        return self._band(value)

    def status_of(self, m: Metric, min_n: int = DEFAULT_MIN_N) -> str | None:
        """The status a report may show: none when n < ``min_n`` or the 95% interval holds
        the target (``analytics.significance.status_allowed``)."""
        if m.value is None or not status_allowed(m, self.green, min_n):
            return None
        return self._band(m.value)

    def _band(self, value: float) -> str:
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


@dataclass(frozen=True)
class Incident:
    """A stored alert episode open at some moment of the report period, with its timeline:
    per day of the period, the decisions with its label (label spikes) or the items mentioning
    its term (keyword bursts); empty for rules without a countable subject."""

    id: int
    rule: str
    severity: str
    subject: str | None
    message_ko: str
    message_en: str
    start: datetime
    last_seen: datetime
    end: datetime | None  # None: still open
    peak: float | None
    peak_at: datetime | None
    expected: float | None
    affected_items: int | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    series: list[int] = field(default_factory=list)


def collect_incidents(engine: Engine, key: str, period: Period, as_of: datetime,
                      series: LabelSeries) -> list[Incident]:
    """Episodes open during ``[period.start, as_of)`` (``notify.alerts.incidents_between``),
    critical first, then by start."""
    from modops.notify.alerts import incidents_between
    from modops.store import session_scope
    from modops.store.models import Project

    with session_scope(engine) as s:
        project = s.scalars(select(Project).where(Project.key == key)).one()
        rows = incidents_between(s, project, period.start, max(as_of, period.start))
        out = []
        for r in rows:
            if r.rule == "label_spike" and r.subject:
                timeline = list(series.counts.get(r.subject, [0] * len(series.days)))
            elif r.rule == "keyword_burst" and r.subject:
                timeline = _mentions_per_day(s, project.id, r.subject, period, series.days)
            else:
                timeline = []
            out.append(Incident(
                r.id, r.rule, r.severity, r.subject, r.message_ko, r.message_en,
                r.first_seen_at, r.last_seen_at, r.resolved_at, r.peak_observed, r.peak_at,
                r.expected, r.affected_items, r.acknowledged_by, r.acknowledged_at, timeline))
    return sorted(out, key=lambda i: (_SEVERITY_ORDER.get(i.severity, 9), i.start, i.id))


def _mentions_per_day(s: Any, project_id: int, term: str, period: Period,
                      days: list[str]) -> list[int]:
    """Items ingested per day whose title, caption or comment contains ``term`` (the term is
    a bound parameter, LIKE wildcards escaped: it comes from user content)."""
    pat = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    like = " OR ".join(f"{c} LIKE :pat ESCAPE '\\'" for c in ("i.title", "i.caption",
                                                                 "i.comment"))
    counts = dict.fromkeys(days, 0)
    for at, in s.execute(text(f"""
            SELECT i.ingested_at FROM items i
            WHERE i.project_id = :p AND i.ingested_at >= :a AND i.ingested_at < :b
              AND ({like})"""), {"p": project_id, "a": period.start, "b": period.end,
                                  "pat": pat}):
        day = (at if isinstance(at, datetime) else datetime.fromisoformat(str(at))).strftime(
            "%Y-%m-%d")
        if day in counts:
            counts[day] += 1
    return [counts[d] for d in days]


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
    incidents: list[Incident] = field(default_factory=list)
    min_n: int = DEFAULT_MIN_N  # settings.report.min_n: below it, no status and no sentence
    level: float = DEFAULT_LEVEL  # settings.report.significance_level for change tests

    def hours(self, ms: MetricSet) -> float:
        """Elapsed hours of a metric set's period (capped at its as-of time)."""
        return max((min(ms.period.end, ms.as_of) - ms.period.start).total_seconds() / 3600, 0.0)

    def change(self, name: str) -> ChangeTest | None:
        """The significance test of a metric's change, None without a comparison or a test."""
        if self.comparison is None or self.previous is None or name not in self.comparison.deltas:
            return None
        d = self.comparison.deltas[name]
        return change_test(d.current, d.previous, self.hours(self.current),
                           self.hours(self.previous), self.level)

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
    partial: bool = False  # the period was still running at generation time

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


def _gold_by_team(by_labeler_gold: dict[str, Metric], labeler_team: dict[str, str | None],
                  gold_target: float) -> dict[str, list[int]]:
    """Per team: gold answers, correct ones, and labelers whose interval lies below target."""
    gold: dict[str, list[int]] = {}
    for user, lm in by_labeler_gold.items():
        team = labeler_team.get(user) or "(none)"
        g = gold.setdefault(team, [0, 0, 0])
        g[0] += int(lm.denominator or 0)
        g[1] += int(lm.numerator or 0)
        if lm.interval is not None and lm.interval[1] < gold_target:
            g[2] += 1
    return gold


def team_rows(by_team: dict[str, Metric], by_labeler_gold: dict[str, Metric],
              labeler_team: dict[str, str | None], labelers_by_team: dict[str, int],
              gold_target: float) -> list[TeamRow]:
    """Team scorecards from analytics breakdowns: finalized tasks per team (throughput_by),
    gold counts summed over the team's labelers (gold_accuracy_by_labeler)."""
    total = sum(m.numerator or 0.0 for m in by_team.values())
    gold = _gold_by_team(by_labeler_gold, labeler_team, gold_target)
    return [_team_row(team, by_team.get(team), gold.get(team, [0, 0, 0]), total,
                      labelers_by_team.get(team, 0))
            for team in sorted(set(by_team) | set(gold))]


def _team_row(team: str, m: Metric | None, gold: list[int], total: float,
              labelers: int) -> TeamRow:
    n, ok, below = gold
    done = (m.numerator or 0.0) if m else 0.0
    ci = wilson_interval(ok, n) if n else None
    return TeamRow(team, done, m.value if m else None, done / total if total else None,
                   labelers, n, ok, ok / n if n else None,
                   (float(ci[0]), float(ci[1])) if ci else None, below)


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
    series = series_f.result()
    targets = targets_for(meta["settings"], meta["sla_minutes"])
    report_settings = meta["settings"].get("report") or {}
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
        previous=prev_ms, comparison=comparison, series=series,
        previous_series=prev_series_f.result() if prev_series_f is not None else None,
        by_product=by["product"], by_team=by["team"], gold_by_labeler=gold,
        teams=teams, alerts=sorted(alerts_f.result(), key=_alert_order),
        staffing=plan_f.result(),
        incidents=collect_incidents(engine, key, period, as_of, series),
        min_n=int(report_settings.get("min_n", DEFAULT_MIN_N)),
        level=float(report_settings.get("significance_level", DEFAULT_LEVEL)))


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
    partial = p.is_partial(now)
    if partial and prev is not None:  # same elapsed window of the comparison period
        prev = p.same_elapsed(prev, now)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    # SQLite serialises writers, not readers; 3 workers keep 2 cores busy either way
    n = workers or (1 if engine.dialect.name == "sqlite" and engine.url.database in
                    (None, "", ":memory:") else 3)
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="modops-report") as pool:
        data = [collect_project(engine, k, p, prev, now, pool, timings)
                for k in sorted(dict.fromkeys(projects))]
    timings["collect_total"] = time.perf_counter() - t0
    return ReportData(p, prev, min(p.end, now), now, data, timings, partial=partial)
