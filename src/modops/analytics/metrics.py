"""Every metric of the brief for one period and slice, computed where the data lives.

Each group of metrics is one set-based query (aggregates with ``CASE`` sums), so a week of
1M tasks / 3M annotations is a handful of scans, not a Python loop. Percentiles use
``percentile_cont`` on PostgreSQL and ``numpy.quantile`` (same linear interpolation) on SQLite.
Names, units and definitions are in the metric catalogue (``modops.analytics.catalogue``, from
which ``docs/metrics.md`` is generated); change a definition only together with
:data:`METHODOLOGY_VERSION`.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, text

from modops.quality import pairwise_cohen_kappa, wilson_interval
from modops.quality.agreement import PairwiseKappa, as_label_set, set_agreement
from modops.store import utcnow

from ._sql import ACTIONED, HUMAN_SOURCES, Dialect, Scope, quantiles, run
from .catalogue import unit_of
from .period import Filters, Period

METHODOLOGY_VERSION = "2026.1"
BACKLOG_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("backlog_age_lt_1h", 0, 3600),
    ("backlog_age_1_4h", 3600, 4 * 3600),
    ("backlog_age_4_24h", 4 * 3600, 24 * 3600),
    ("backlog_age_1_3d", 24 * 3600, 72 * 3600),
    ("backlog_age_gt_3d", 72 * 3600, math.inf),
)
DEFAULT_SCORE_THRESHOLD = 0.5
# An item is proactively detected when a machine signal flagged it before any user report
# (or it was never reported): its score reached the project's flag threshold (:thr, the
# ``score_threshold`` precision and recall use), it was auto-actioned, or a bank/hash match or
# a rule routed it (routing reason ``match:…`` / ``rule:…``). Being routed to people is not
# a signal: every unscored or mid-band item is, which made the rate read 100% (474/474).
MACHINE_SIGNAL = ("(r.score >= :thr OR r.route = 'auto_action' OR r.reason LIKE 'match:%' "
                  "OR r.reason LIKE 'rule:%') "
                  "AND (i.reported_at IS NULL OR r.decided_at <= i.reported_at)")
DEFAULT_PREVALENCE_MARGIN = 0.005
# PostgreSQL connections one metric set runs its independent scans on (see compute_metrics):
# two keeps a 2-core database busy without the scans queueing behind each other
DEFAULT_WORKERS = 2


@dataclass(frozen=True)
class Metric:
    """One number with the parts it was computed from, so a report can show its working."""

    name: str
    value: float | None
    numerator: float | None
    denominator: float | None
    interval: tuple[float, float] | None
    unit: str
    methodology_version: str = METHODOLOGY_VERSION
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MetricSet:
    """All metrics for one period and slice, as of ``as_of`` (backlog is a snapshot then)."""

    period: Period
    filters: Filters
    as_of: datetime
    metrics: dict[str, Metric]

    def __getitem__(self, name: str) -> Metric:
        return self.metrics[name]

    def __iter__(self) -> Iterator[Metric]:
        return iter(self.metrics.values())

    def values(self) -> dict[str, float | None]:
        return {k: m.value for k, m in self.metrics.items()}


# --------------------------------------------------------------------------- helpers
def _f(v: Any) -> float:
    return float(v) if v is not None else 0.0


def ratio(name: str, num: float, den: float, *, ci: bool = False,
          detail: dict[str, Any] | None = None) -> Metric:
    """``num / den`` (None when the denominator is 0), with a 95% Wilson interval if asked.
    The unit is the catalogue's (``modops.analytics.catalogue``)."""
    num, den = float(num), float(den)
    value = num / den if den > 0 else None
    interval = None
    if ci and den > 0 and 0 <= num <= den:
        interval = wilson_interval(round(num), round(den))
    return Metric(name, value, num, den, interval, unit_of(name), detail=detail or {})


def plain(name: str, value: float | None, num: float | None = None,
          den: float | None = None, detail: dict[str, Any] | None = None) -> Metric:
    if value is not None and isinstance(value, float) and math.isnan(value):
        value = None
    return Metric(name, value, num, den, None, unit_of(name), detail=detail or {})


def _pct(d: Dialect, expr: str, where: str | None = None) -> str:
    """PostgreSQL: median and p90 as an extra column of the same aggregate scan."""
    if not d.pg:
        return ""
    filt = f" FILTER (WHERE {where})" if where else ""
    return f", percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY {expr}){filt}"


def _pg_setup(conn: Connection, d: Dialect) -> None:
    """Per-transaction settings for period scans: sorts for percentiles and GROUP BYs stay in
    memory, and no JIT (compiling these one-off aggregates costs ~1 s per query at 1M rows,
    more than it saves)."""
    if d.pg:
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
        conn.execute(text("SET LOCAL jit = off"))


def _project_setting(conn: Connection, sc: Scope, key: str, default: Any) -> Any:
    if sc.project_id is None:
        return default
    raw = conn.execute(text("SELECT settings FROM projects WHERE id = :p"),
                       {"p": sc.project_id}).scalar()
    settings = json.loads(raw) if isinstance(raw, str) else (raw or {})
    return (settings.get("analytics") or {}).get(key, default)


# --------------------------------------------------------------------------- tasks
def _task_metrics(conn: Connection, sc: Scope, p: Period, as_of: datetime,
                  recent_hours: float) -> list[Metric]:
    """Throughput (tasks done in the period) and the backlog snapshot at ``as_of``."""
    d = sc.d
    open_at = ("(t.state <> 'cancelled' AND t.created_at < :asof "
               "AND (t.done_at IS NULL OR t.done_at >= :asof))")
    age = d.secs(":asof", "t.created_at")
    buckets = ",\n".join(
        f"SUM(CASE WHEN {open_at} AND {age} >= {lo} "
        + ("" if math.isinf(hi) else f"AND {age} < {hi} ") + "THEN 1 ELSE 0 END)"
        for _, lo, hi in BACKLOG_BUCKETS)
    sql = f"""
        SELECT
          SUM(CASE WHEN t.state = 'done' AND t.done_at >= :start AND t.done_at < :end
                   THEN 1 ELSE 0 END),
          SUM(CASE WHEN t.state = 'done' AND t.done_at >= :recent AND t.done_at < :asof
                   THEN 1 ELSE 0 END),
          SUM(CASE WHEN t.created_at >= :start AND t.created_at < :end THEN 1 ELSE 0 END),
          SUM(CASE WHEN {open_at} THEN 1 ELSE 0 END),
          MAX(CASE WHEN {open_at} THEN {age} END),
          {buckets}
        FROM tasks t WHERE {sc.tasks('t')}"""
    params = {**sc.params, "start": p.start, "end": p.end, "asof": as_of,
              "recent": as_of - timedelta(hours=recent_hours)}
    row = run(conn, sql, params).one()
    done, recent_done, created, open_n, oldest_s = (_f(v) for v in row[:5])
    hours = max((min(p.end, as_of) - p.start).total_seconds() / 3600.0, 0.0)
    rate = recent_done / recent_hours
    out = [
        plain("tasks_finalized", done),
        ratio("throughput_per_hour", done, hours),
        ratio("throughput_per_day", done, hours / 24.0),
        ratio("arrivals_per_hour", created, hours),
        plain("backlog_open", open_n),
        plain("backlog_oldest_age_h", oldest_s / 3600.0 if open_n else None),
        Metric("backlog_forecast_clear_h", open_n / rate if rate > 0 else
               (0.0 if open_n == 0 else None), open_n, rate, None,
               unit_of("backlog_forecast_clear_h"),
               detail={"recent_hours": recent_hours, "recent_done": recent_done}),
    ]
    out += [plain(name, _f(v)) for (name, _, _), v in zip(BACKLOG_BUCKETS, row[5:],
                                                                    strict=True)]
    return out


# --------------------------------------------------------------------------- annotations
def handle_ms(d: Dialect, a: str = "a") -> str:
    """An answer's handle time in ms: the client's measure, else lease start to submit."""
    return (f"COALESCE(CAST({a}.handle_ms AS FLOAT), "
            f"{d.secs(f'{a}.submitted_at', f'{a}.started_at')} * 1000.0)")


def _annotation_where(sc: Scope) -> tuple[str, str]:
    """Handle-time expression and ``FROM … WHERE`` for the period's annotations."""
    ht = handle_ms(sc.d)
    where = (f"FROM annotations a WHERE a.submitted_at >= :start AND a.submitted_at < :end "
             f"AND {sc.annotations('a')}")
    return ht, where


def _annotation_totals(conn: Connection, sc: Scope, p: Period) -> tuple[float, ...]:
    """``(annotations, Σ handle ms, n handle, gold n, gold correct, n for percentiles,
    median ms, p90 ms)`` — one scan on PostgreSQL (percentiles in the same aggregate)."""
    d = sc.d
    ht, where = _annotation_where(sc)
    params = {**sc.params, "start": p.start, "end": p.end}
    row = run(conn, f"""
        SELECT COUNT(*), SUM({ht}), COUNT({ht}),
          SUM(CASE WHEN a.kind = 'gold' AND a.correct IS NOT NULL THEN 1 ELSE 0 END),
          SUM(CASE WHEN a.kind = 'gold' AND a.correct THEN 1 ELSE 0 END)
          {_pct(d, ht)}
        {where}""", params).one()
    n_ann, ht_sum_ms, ht_n, gold_n, gold_ok = (_f(v) for v in row[:5])
    if d.pg:  # percentiles came with the same scan
        n_ht, (ht_med, ht_p90) = int(ht_n), list(row[5] or (math.nan, math.nan))
    else:
        n_ht, (ht_med, ht_p90) = quantiles(conn, d, ht, where, params)
    return n_ann, ht_sum_ms, ht_n, gold_n, gold_ok, n_ht, ht_med, ht_p90


def _labeler_hours(conn: Connection, sc: Scope, p: Period
                   ) -> list[tuple[int, float, Any, str | None]]:
    """``(labeler, hours, hourly cost, currency)``: distinct (labeler, clock hour) with a
    submission, priced at the labeler's team rate."""
    _, where = _annotation_where(sc)
    hour = sc.d.hour_index("a.submitted_at")
    rows = run(conn, f"""
        SELECT lh.labeler_id, COUNT(*) AS hours, tm.hourly_cost, tm.currency
        FROM (SELECT a.labeler_id, {hour} AS h {where} GROUP BY a.labeler_id, {hour}) lh
        JOIN users u ON u.id = lh.labeler_id LEFT JOIN teams tm ON tm.id = u.team_id
        GROUP BY lh.labeler_id, tm.hourly_cost, tm.currency""",
               {**sc.params, "start": p.start, "end": p.end}).all()
    return [(int(r[0]), float(r[1]), r[2], r[3]) for r in rows]


def _annotation_metrics(totals: tuple[float, ...],
                        lab_rows: list[tuple[int, float, Any, str | None]],
                        tasks_done: float
                        ) -> tuple[list[Metric], float | None, float, dict[str, Any]]:
    """Handle time, gold accuracy, labeler-hours, utilization, productivity, labor cost.

    Costs are summed per currency and never converted: with one currency the cost is that
    sum (``detail.currency``); with several it is None and ``detail.by_currency`` has each."""
    n_ann, ht_sum_ms, ht_n, gold_n, gold_ok, n_ht, ht_med, ht_p90 = totals
    labeler_hours = float(sum(r[1] for r in lab_rows))
    by_currency: dict[str, float] = {}
    costed_hours = 0.0
    for _, hours, rate, cur in lab_rows:
        if rate is not None:
            key = cur or "KRW"
            by_currency[key] = by_currency.get(key, 0.0) + hours * float(rate)
            costed_hours += hours
    currency = next(iter(by_currency)) if len(by_currency) == 1 else None
    cost = (by_currency[currency] if currency else None) if by_currency else 0.0
    uncosted_hours = labeler_hours - costed_hours
    cost_detail = {"uncosted_labeler_hours": uncosted_hours, "currency": currency,
                   "by_currency": by_currency}
    on_task_h = ht_sum_ms / 3_600_000.0
    out = [
        plain("annotations", n_ann),
        plain("handle_time_median_s", ht_med / 1000.0 if n_ht else None, den=n_ht),
        plain("handle_time_p90_s", ht_p90 / 1000.0 if n_ht else None, den=n_ht),
        ratio("handle_time_mean_s", ht_sum_ms / 1000.0, ht_n),
        plain("labeler_hours", labeler_hours,
              detail={"labelers": len(lab_rows)}),
        ratio("productivity", tasks_done, labeler_hours),
        ratio("utilization", on_task_h, labeler_hours),
        ratio("gold_accuracy", gold_ok, gold_n, ci=True),
        plain("labor_cost", cost, detail=cost_detail),
    ]
    return out, cost, uncosted_hours, cost_detail


# --------------------------------------------------------------------------- agreement
def _item_category_counts(sc: Scope) -> str:
    """``WITH c AS (item_id, cat, n)``: the period's label-slot answers per item and label list
    (the list's canonical text is the category), opening both agreement queries."""
    cat = sc.d.labels_text("a.labels")
    return f"""WITH c AS (
          SELECT a.item_id, {cat} AS cat, COUNT(*) AS n
          FROM annotations a
          WHERE a.kind = 'label' AND a.submitted_at >= :start AND a.submitted_at < :end
            AND {sc.annotations('a')}
          GROUP BY a.item_id, {cat}),"""


def agreement_histogram(conn: Connection, sc: Scope, p: Period) -> list[tuple[str, int, int, int]]:
    """``(category, m_u, n_uc, units)``: how many units with ``m_u`` label-slot answers gave
    category ``c`` exactly ``n_uc`` times. Both coefficients are sums over this tiny table,
    so agreement over millions of annotations needs no raw rows in Python.

    The category is the label list's canonical text (on PostgreSQL, ``jsonb`` as text:
    grouping by it is ~10% cheaper than hashing ``jsonb``, and label lists are lists of
    strings, so the groups are the same). One scan: splitting the items in two halves to run
    side by side cost 40% more CPU than it saved on a 2-core database."""
    sql = f"""
        {_item_category_counts(sc)}
        m AS (SELECT c.cat, c.n, SUM(c.n) OVER (PARTITION BY c.item_id) AS m FROM c)
        SELECT cat, m, n, COUNT(*) FROM m WHERE m >= 2 GROUP BY cat, m, n"""
    rows = run(conn, sql, {**sc.params, "start": p.start, "end": p.end}).all()
    return sorted((str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows)  # fixed order


def _is_multi_label(hist: list[tuple[str, int, int, int]]) -> bool:
    return any(len(as_label_set(h[0])) > 1 for h in hist)


def agreement_coincidences(conn: Connection, sc: Scope, p: Period
                           ) -> tuple[list[frozenset[str]], np.ndarray]:
    """The coincidence matrix of the period's distinct label sets (``modops.quality``'s
    ``set_coincidences``, summed in the database): ``o_ST = Σ_u n_uS (n_uT − [S=T]) /
    (m_u − 1)``. A self-join per item, so it runs only when some answer holds two labels."""
    rows = run(conn, f"""
        {_item_category_counts(sc)}
        m AS (SELECT item_id, SUM(n) AS m FROM c GROUP BY item_id HAVING SUM(n) >= 2)
        SELECT c1.cat, c2.cat,
               SUM(CAST(c1.n * (c2.n - CASE WHEN c1.cat = c2.cat THEN 1 ELSE 0 END) AS FLOAT)
                   / (m.m - 1))
        FROM c c1 JOIN c c2 ON c2.item_id = c1.item_id JOIN m ON m.item_id = c1.item_id
        GROUP BY c1.cat, c2.cat""", {**sc.params, "start": p.start, "end": p.end}).all()
    ids: dict[frozenset[str], int] = {}
    cells = [(ids.setdefault(as_label_set(str(a)), len(ids)),
              ids.setdefault(as_label_set(str(b)), len(ids)), float(v)) for a, b, v in rows]
    o = np.zeros((len(ids), len(ids)))
    for i, j, v in cells:
        o[i, j] += v
    return list(ids), o


def agreement_from_histogram(hist: list[tuple[str, int, int, int]]) -> dict[str, Any]:
    """Krippendorff's nominal alpha (Krippendorff 2011, §C), Fleiss' kappa (Fleiss 1971, with
    ``modops.quality``'s variable-n extension) and one-vs-rest alpha per category.

    Same formulas as ``modops.quality.krippendorff_alpha`` / ``fleiss_kappa`` (the tests check
    equality on raw data), regrouped: every per-unit term depends only on ``(m_u, n_uc)``.
    """
    nan = float("nan")
    if not hist:
        return {"alpha": nan, "fleiss": nan, "per_label": {}, "units": 0, "values": 0}
    cats = [h[0] for h in hist]
    m = np.array([h[1] for h in hist], dtype=np.float64)
    n = np.array([h[2] for h in hist], dtype=np.float64)
    w = np.array([h[3] for h in hist], dtype=np.float64)
    codes = {c: i for i, c in enumerate(dict.fromkeys(cats))}
    ci = np.array([codes[c] for c in cats])
    total = float((w * n).sum())
    n_c = np.bincount(ci, weights=w * n, minlength=len(codes))
    o_diag = float((w * n * (n - 1) / (m - 1)).sum())
    d_e = total * total - float((n_c**2).sum())
    alpha = 1.0 - (total - 1.0) * (total - o_diag) / d_e if d_e > 0 else nan
    units = float((w * n / m).sum())
    p_bar = (float((w * n * n / (m * (m - 1))).sum())
             - float((w * n / m / (m - 1)).sum())) / units
    p_j = n_c / total
    p_e = float((p_j**2).sum())
    fleiss = (p_bar - p_e) / (1.0 - p_e) if p_e < 1.0 else nan
    disagree = np.bincount(ci, weights=w * 2 * n * (m - n) / (m - 1), minlength=len(codes))
    de_c = total * total - n_c**2 - (total - n_c) ** 2
    per_label = {}
    for c, i in codes.items():
        try:
            key = ",".join(json.loads(c)) if c.startswith("[") else c
        except (ValueError, TypeError):
            key = c
        per_label[key] = (float(1.0 - (total - 1.0) * disagree[i] / de_c[i])
                          if de_c[i] > 0 else nan)
    return {"alpha": alpha, "fleiss": fleiss, "per_label": per_label,
            "units": round(units), "values": int(total), "percent_agreement": p_bar}


def _agreement_job(conn: Connection, sc: Scope, p: Period) -> tuple[Any, Any]:
    hist = agreement_histogram(conn, sc, p)
    return hist, (agreement_coincidences(conn, sc, p) if _is_multi_label(hist) else None)


def _agreement_metrics(hist: list[tuple[str, int, int, int]],
                       coincidences: tuple[list[frozenset[str]], np.ndarray] | None = None
                       ) -> list[Metric]:
    """Nominal alpha on single-label data; on multi-label data (some answer holds two labels)
    alpha with the MASI distance and binary alpha per label, which give partial credit where
    the nominal coefficient on whole sets counts {a, b} vs {a} as a full disagreement."""
    ag = agreement_from_histogram(hist)
    detail = {"pairable_items": ag["units"], "values": ag["values"]}
    alpha, alpha_detail = ag["alpha"], {**detail, "per_label": ag["per_label"],
                                        "distance": "nominal"}
    if coincidences is not None:
        sa = set_agreement(*coincidences)
        alpha = sa["alpha_masi"]
        alpha_detail = {**detail, "per_label": sa["per_label"], "distance": "masi",
                        "alpha_jaccard": sa["alpha_jaccard"],
                        "alpha_nominal_sets": sa["alpha_nominal"]}
    return [
        plain("krippendorff_alpha", alpha, den=ag["units"],
              detail=alpha_detail),
        plain("fleiss_kappa", ag["fleiss"], den=ag["units"], detail=detail),
        plain("percent_agreement", ag.get("percent_agreement"), den=ag["units"]),
    ]


# --------------------------------------------------------------------------- items
def _item_metrics(conn: Connection, sc: Scope, p: Period,
                  score_threshold: float) -> tuple[list[Metric], float, float]:
    """Metrics over items whose decision in force was made in the period."""
    d = sc.d
    tta = d.secs("i.decided_at", "i.created_at")
    act = f"i.final_action IN {ACTIONED}"
    human = f"d.source IN {HUMAN_SOURCES!r}".replace(",)", ")")
    flagged = (f"EXISTS (SELECT 1 FROM routing_decisions r WHERE r.item_id = i.id "
               f"AND {MACHINE_SIGNAL})")
    sla_ok = (f"CASE WHEN i.due_at IS NOT NULL THEN (CASE WHEN i.decided_at <= i.due_at "
              f"THEN 1 ELSE 0 END) ELSE (CASE WHEN {d.secs('i.decided_at', 'i.ingested_at')} "
              f"<= pr.sla_minutes * 60.0 THEN 1 ELSE 0 END) END")
    pred = "i.machine_score >= :thr"
    truth = act
    from_where = (f"FROM items i JOIN projects pr ON pr.id = i.project_id "
                  f"LEFT JOIN decisions d ON d.item_id = i.id AND d.current "
                  f"WHERE i.decided_at >= :start AND i.decided_at < :end AND {sc.items('i')}")
    sql = f"""
        SELECT COUNT(*),
          SUM({sla_ok}),
          SUM(CASE WHEN {act} THEN 1 ELSE 0 END),
          SUM(CASE WHEN {act} AND {flagged} THEN 1 ELSE 0 END),
          SUM(CASE WHEN i.final_action = 'remove' AND d.views_at_decision IS NOT NULL
                   THEN 1 ELSE 0 END),
          SUM(CASE WHEN i.final_action = 'remove' AND d.views_at_decision = 0
                   THEN 1 ELSE 0 END),
          SUM(CASE WHEN i.final_action = 'remove' THEN 1 ELSE 0 END),
          SUM(CASE WHEN i.final_action = 'remove' AND {tta} <= 86400 THEN 1 ELSE 0 END),
          SUM(CASE WHEN {act} AND d.views_at_decision IS NOT NULL THEN 1 ELSE 0 END),
          SUM(CASE WHEN {act} THEN d.views_at_decision END),
          SUM(CASE WHEN d.source = 'machine' THEN 1 ELSE 0 END),
          SUM(CASE WHEN d.source IS NOT NULL THEN 1 ELSE 0 END),
          SUM(CASE WHEN {human} THEN 1 ELSE 0 END),
          SUM(CASE WHEN {human} AND i.escalated_at IS NOT NULL THEN 1 ELSE 0 END),
          SUM(CASE WHEN {human} AND i.machine_score IS NOT NULL AND {pred} AND {truth}
                   THEN 1 ELSE 0 END),
          SUM(CASE WHEN {human} AND i.machine_score IS NOT NULL AND {pred} AND NOT ({truth})
                   THEN 1 ELSE 0 END),
          SUM(CASE WHEN {human} AND i.machine_score IS NOT NULL AND NOT ({pred}) AND {truth}
                   THEN 1 ELSE 0 END),
          SUM(CASE WHEN {human} AND i.machine_score IS NOT NULL THEN 1 ELSE 0 END)
          {_pct(d, tta, act)}
        {from_where}"""
    params = {**sc.params, "start": p.start, "end": p.end, "thr": score_threshold}
    row = run(conn, sql, params).one()
    (decided, sla_n, actioned, proactive, rm_views_known, rm_zero, removed, rm_24h,
     act_views_known, act_views, automated, with_decision, human_n, escalated,
     tp, fp, fn, scored) = (_f(v) for v in row[:18])
    if d.pg:
        n_tta, (tta_med, tta_p90) = int(actioned), list(row[18] or (math.nan, math.nan))
    else:
        n_tta, (tta_med, tta_p90) = quantiles(
            conn, d, f"CASE WHEN {act} THEN {tta} END", from_where, params)
    prec = ratio("machine_precision", tp, tp + fp, ci=True,
                 detail={"score_threshold": score_threshold})
    rec = ratio("machine_recall", tp, tp + fn, ci=True,
                detail={"score_threshold": score_threshold})
    f1 = (2 * tp / (2 * tp + fp + fn)) if (2 * tp + fp + fn) > 0 else None
    out = [
        plain("items_finalized", decided),
        ratio("sla_attainment", sla_n, decided, ci=True),
        ratio("proactive_rate", proactive, actioned, ci=True),
        ratio("zero_view_removal_rate", rm_zero, rm_views_known, ci=True),
        ratio("removal_within_24h", rm_24h, removed, ci=True),
        plain("time_to_action_median_h", tta_med / 3600.0 if n_tta else None,
              den=n_tta),
        plain("time_to_action_p90_h", tta_p90 / 3600.0 if n_tta else None, den=n_tta),
        ratio("views_before_action", act_views, act_views_known),
        ratio("automated_share", automated, with_decision, ci=True),
        ratio("escalation_rate", escalated, human_n, ci=True),
        prec, rec,
        Metric("machine_f1", f1, 2 * tp, 2 * tp + fp + fn, None, unit_of("machine_f1"),
               detail={"tp": tp, "fp": fp, "fn": fn, "tn": scored - tp - fp - fn,
                       "score_threshold": score_threshold}),
    ]
    return out, decided, actioned


def _prevalence_metrics(conn: Connection, sc: Scope, p: Period, margin: float) -> list[Metric]:
    """Prevalence over the uniform sample of items ingested in the period, decided by people."""
    d = sc.d
    viol = d.has_label("i.final_labels") if sc.label else f"i.final_action IN {ACTIONED}"
    v = "CAST(i.view_count AS FLOAT)"
    row = run(conn, f"""
        SELECT COUNT(*), SUM(CASE WHEN {viol} THEN 1 ELSE 0 END),
               SUM({v}), SUM(CASE WHEN {viol} THEN {v} ELSE 0 END), SUM({v} * {v})
        FROM items i
        WHERE i.in_prevalence_sample AND i.ingested_at >= :start AND i.ingested_at < :end
          AND i.final_action IS NOT NULL AND {sc.items('i', label=False)}""",
              {**sc.params, "start": p.start, "end": p.end}).one()
    n, x, views, vviews, v2 = (_f(v) for v in row)
    prev = ratio("prevalence", x, n, ci=True)
    p_hat = prev.value
    need = sample_size_for_margin(p_hat if p_hat else 0.5, margin) if n else None
    prev = Metric(prev.name, prev.value, prev.numerator, prev.denominator, prev.interval,
                  prev.unit, detail={"sample_needed_for_margin": need, "target_margin": margin,
                                     "interval_method": "wilson"})
    # Views-weighted: ratio estimator Σ w·y / Σ w; interval = Wilson at Kish's effective n
    # (Σw)² / Σw², which equals n when all weights are equal.
    pv = vviews / views if views > 0 else None
    n_eff = views * views / v2 if v2 > 0 else 0.0
    interval = None
    if pv is not None and n_eff > 0:
        interval = wilson_interval(pv * n_eff, n_eff)
    pview = Metric("prevalence_views", pv, vviews, views, interval,
                   unit_of("prevalence_views"),
                   detail={"effective_n": n_eff, "interval_method": "wilson, Kish n_eff"})
    return [prev, pview,
            plain("prevalence_sample_needed", need, num=n,
                  detail={"target_margin": margin})]


def sample_size_for_margin(p: float, margin: float, confidence: float = 0.95) -> int:
    """Smallest n whose 95% Wilson interval half-width at proportion ``p`` is ≤ ``margin``.

    Starts from the normal approximation ``n = z² p(1−p) / E²`` and walks to the Wilson
    answer (which is what the report prints, so the advice matches the interval shown).
    """
    if not 0 < margin < 0.5:
        raise ValueError("margin must be in (0, 0.5)")
    p = min(max(p, 1e-6), 1 - 1e-6)
    z = 1.959963984540054 if confidence == 0.95 else float(
        __import__("scipy.special", fromlist=["ndtri"]).ndtri(0.5 + confidence / 2))

    def half(n: float) -> float:
        den = 1 + z * z / n
        return z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den

    lo, hi = 1, max(2, math.ceil(z * z * max(p * (1 - p), margin * margin) / margin**2) * 4)
    while half(hi) > margin:
        hi *= 2
    while lo < hi:  # half-width decreases in n
        mid = (lo + hi) // 2
        if half(mid) <= margin:
            hi = mid
        else:
            lo = mid + 1
    return lo


# --------------------------------------------------------------------------- audits, appeals
def _audit_metrics(conn: Connection, sc: Scope, p: Period) -> list[Metric]:
    """Audit annotations vs the decision in force when the audit task was leased."""
    d = sc.d
    at = "COALESCE(a.started_at, a.submitted_at)"
    in_force = f"""COALESCE(
            (SELECT d2.id FROM decisions d2 WHERE d2.item_id = a.item_id AND d2.decided_at <= {at}
             ORDER BY d2.decided_at DESC, d2.id DESC LIMIT 1),
            (SELECT d3.id FROM decisions d3 WHERE d3.item_id = a.item_id AND d3.current
             ORDER BY d3.id DESC LIMIT 1))"""
    # PostgreSQL: a primary-key lookup per audit annotation (LIMIT 1 is a no-op on the key
    # but keeps the planner from hashing the whole decisions table to join a few thousand)
    join = (f"JOIN LATERAL (SELECT dl.source, dl.action, dl.labels FROM decisions dl "
            f"WHERE dl.id = {in_force} LIMIT 1) dd ON TRUE" if d.pg
            else f"JOIN decisions dd ON dd.id = {in_force}")
    rows = run(conn, f"""
        SELECT dd.source, CASE WHEN dd.action IN {ACTIONED} THEN 1 ELSE 0 END, COUNT(*),
               SUM(CASE WHEN {d.labels_equal('a.labels', 'dd.labels')} THEN 0 ELSE 1 END)
        FROM annotations a
        {join}
        WHERE a.kind = 'audit' AND a.submitted_at >= :start AND a.submitted_at < :end
          AND {sc.annotations('a')}
        GROUP BY dd.source, CASE WHEN dd.action IN {ACTIONED} THEN 1 ELSE 0 END""",
               {**sc.params, "start": p.start, "end": p.end}).all()
    n = sum(r[2] for r in rows)
    err = sum(r[3] for r in rows)
    m_n = sum(r[2] for r in rows if r[0] == "machine")
    m_err = sum(r[3] for r in rows if r[0] == "machine")
    aa_n = sum(r[2] for r in rows if r[0] == "machine" and r[1] == 1)
    aa_err = sum(r[3] for r in rows if r[0] == "machine" and r[1] == 1)
    return [
        ratio("audit_error_rate", err, n, ci=True),
        ratio("audit_error_rate_machine", m_err, m_n, ci=True),
        ratio("audit_error_rate_human", err - m_err, n - m_n, ci=True),
        ratio("auto_action_precision", aa_n - aa_err, aa_n, ci=True),
    ]


def _appeal_counts(conn: Connection, sc: Scope, p: Period) -> tuple[float, float, float]:
    """Appeals opened, resolved, and overturned in the period."""
    row = run(conn, f"""
        SELECT SUM(CASE WHEN ap.opened_at >= :start AND ap.opened_at < :end THEN 1 ELSE 0 END),
          SUM(CASE WHEN ap.state IN ('upheld', 'overturned') AND ap.resolved_at >= :start
                   AND ap.resolved_at < :end THEN 1 ELSE 0 END),
          SUM(CASE WHEN ap.state = 'overturned' AND ap.resolved_at >= :start
                   AND ap.resolved_at < :end THEN 1 ELSE 0 END)
        FROM appeals ap WHERE {sc.appeals('ap')}""",
              {**sc.params, "start": p.start, "end": p.end}).one()
    opened, resolved, overturned = (_f(v) for v in row)
    return opened, resolved, overturned


def _appeal_metrics(counts: tuple[float, float, float], actioned: float) -> list[Metric]:
    opened, resolved, overturned = counts
    return [ratio("appeal_rate", opened, actioned),
            ratio("appeal_overturn_rate", overturned, resolved, ci=True)]


def _call_with(fn: Callable[[Connection], Any], conn_of: Callable[[], Connection]) -> Any:
    """``fn`` on the worker thread's own connection (opened there, on first use)."""
    return fn(conn_of())


def _run_jobs(engine: Engine, conn: Connection, jobs: dict[str, Callable[[Connection], Any]],
              workers: int) -> dict[str, Any]:
    """Run ``jobs`` on ``conn``, or (``workers`` > 1, PostgreSQL) on ``workers`` connections
    that import ``conn``'s snapshot (``pg_export_snapshot``): every job sees the same data."""
    if workers <= 1 or len(jobs) <= 1:
        return {name: fn(conn) for name, fn in jobs.items()}
    snapshot = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar())
    if not re.fullmatch(r"[0-9A-Fa-f-]+", snapshot):
        raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
    local = threading.local()
    opened: list[Connection] = []
    lock = threading.Lock()

    def worker_conn() -> Connection:
        c = getattr(local, "conn", None)
        if c is None:
            c = engine.connect().execution_options(isolation_level="REPEATABLE READ")
            with lock:
                opened.append(c)
            c.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
            _pg_setup(c, Dialect("postgresql"))
            local.conn = c
        return c

    try:
        with ThreadPoolExecutor(max_workers=min(workers, len(jobs)),
                                thread_name_prefix="modops-metrics") as pool:
            futures = {name: pool.submit(_call_with, fn, worker_conn)
                       for name, fn in jobs.items()}
            return {name: fut.result() for name, fut in futures.items()}
    finally:
        for c in opened:
            c.rollback()
            c.close()


# --------------------------------------------------------------------------- entry point
def compute_metrics(engine: Engine, period: Period | str, filters: Filters | None = None,
                    now: datetime | None = None, *, recent_hours: float = 24.0,
                    score_threshold: float | None = None,
                    prevalence_margin: float = DEFAULT_PREVALENCE_MARGIN,
                    workers: int | None = None) -> MetricSet:
    """Every metric of the brief for ``period`` and ``filters`` (see docs/metrics.md).

    ``now`` caps the period for rates and is the backlog snapshot time (default: the end of
    the period, or now if the period is still running). ``score_threshold`` is the model score
    counted as a machine "violation" for precision/recall (default: the project's
    ``settings["analytics"]["score_threshold"]``, else 0.5). On PostgreSQL the independent
    scans run on ``workers`` connections (default :data:`DEFAULT_WORKERS`) that all read one
    exported snapshot, so the numbers are as consistent as from a single transaction.
    """
    p = Period.parse(period) if isinstance(period, str) else period
    f = filters or Filters()
    as_of = min(p.end, now or utcnow())
    pg = engine.dialect.name == "postgresql"
    with engine.connect().execution_options(
            **({"isolation_level": "REPEATABLE READ"} if pg else {})) as conn:
        sc = Scope.resolve(conn, f)
        _pg_setup(conn, sc.d)
        thr = float(score_threshold if score_threshold is not None else
                    _project_setting(conn, sc, "score_threshold", DEFAULT_SCORE_THRESHOLD))
        # independent scans, the longest first; on PostgreSQL they run side by side
        n = (workers if workers is not None else DEFAULT_WORKERS) if pg else 1
        jobs: dict[str, Callable[[Connection], Any]] = {
            "agreement": lambda c: _agreement_job(c, sc, p),
            "items": lambda c: (_item_metrics(c, sc, p, thr), _appeal_counts(c, sc, p)),
            "totals": lambda c: _annotation_totals(c, sc, p),
            "labeler_hours": lambda c: _labeler_hours(c, sc, p),
            "audit": lambda c: _audit_metrics(c, sc, p),
            "tasks": lambda c: _task_metrics(c, sc, p, as_of, recent_hours),
            "prevalence": lambda c: _prevalence_metrics(c, sc, p, prevalence_margin),
        }
        got = _run_jobs(engine, conn, jobs, n)
        conn.rollback()
    out: list[Metric] = got["tasks"]
    ann, cost, _uncosted, cost_detail = _annotation_metrics(
        got["totals"], got["labeler_hours"], out[0].value or 0.0)
    (items, decided, actioned), appeals = got["items"]
    agreement = _agreement_metrics(*got["agreement"])
    out += ann + agreement + items + got["prevalence"] + got["audit"]
    out += _appeal_metrics(appeals, actioned)
    out.append(ratio("cost_per_item", cost, decided, detail=cost_detail)
               if cost is not None else
               plain("cost_per_item", None, den=decided, detail=cost_detail))
    return MetricSet(p, f, as_of, {m.name: m for m in out})


# --------------------------------------------------------------------------- breakdowns
_BY = {
    "project": ("t.project_id", "JOIN projects g ON g.id = t.project_id", "g.key"),
    "product": ("it.product_id", "JOIN items it ON it.id = t.item_id "
                "JOIN products g ON g.id = it.product_id", "g.key"),
    "team": ("u.team_id", "LEFT JOIN users u ON u.id = t.assignee_id "
             "LEFT JOIN teams g ON g.id = u.team_id", "g.name"),
    "labeler": ("t.assignee_id", "LEFT JOIN users g ON g.id = t.assignee_id", "g.username"),
}


def throughput_by(engine: Engine, period: Period | str, by: str,
                  filters: Filters | None = None, now: datetime | None = None
                  ) -> dict[str, Metric]:
    """Tasks finalized per hour in the period, broken down by project/product/team/labeler."""
    if by not in _BY:
        raise ValueError(f"by must be one of {sorted(_BY)}")
    p = Period.parse(period) if isinstance(period, str) else period
    hours = max((min(p.end, now or utcnow()) - p.start).total_seconds() / 3600.0, 0.0)
    _, join, key = _BY[by]
    with engine.connect() as conn:
        sc = Scope.resolve(conn, filters or Filters())
        rows = run(conn, f"""
            SELECT {key}, COUNT(*) FROM tasks t {join}
            WHERE t.state = 'done' AND t.done_at >= :start AND t.done_at < :end
              AND {sc.tasks('t')}
            GROUP BY {key} ORDER BY {key}""",
                   {**sc.params, "start": p.start, "end": p.end}).all()
        conn.rollback()
    return {str(k) if k is not None else "(none)": ratio("throughput_per_hour", n, hours)
            for k, n in rows}


def throughput_breakdowns(engine: Engine, period: Period | str, bys: Sequence[str],
                          filters: Filters | None = None, now: datetime | None = None
                          ) -> dict[str, dict[str, Metric]]:
    """:func:`throughput_by` for several breakdowns from one scan of the period's finished
    tasks (counted per project, product and assignee, then summed per key in Python)."""
    bad = [b for b in bys if b not in _BY]
    if bad:
        raise ValueError(f"by must be one of {sorted(_BY)}")
    p = Period.parse(period) if isinstance(period, str) else period
    hours = max((min(p.end, now or utcnow()) - p.start).total_seconds() / 3600.0, 0.0)
    # the items join only when a product breakdown needs it
    product, join = (("it.product_id", "JOIN items it ON it.id = t.item_id")
                     if "product" in bys else ("t.project_id", ""))
    with engine.connect() as conn:
        sc = Scope.resolve(conn, filters or Filters())
        rows = run(conn, f"""
            SELECT t.project_id, {product}, t.assignee_id, COUNT(*)
            FROM tasks t {join}
            WHERE t.state = 'done' AND t.done_at >= :start AND t.done_at < :end
              AND {sc.tasks('t')}
            GROUP BY t.project_id, {product}, t.assignee_id""",
                   {**sc.params, "start": p.start, "end": p.end}).all()
        names: dict[str, dict[Any, Any]] = {
            "project": dict(conn.execute(text("SELECT id, key FROM projects")).all()),
            "product": dict(conn.execute(text("SELECT id, key FROM products")).all()),
            "labeler": dict(conn.execute(text("SELECT id, username FROM users")).all())}
        teams: dict[int, str] = dict(conn.execute(text("SELECT id, name FROM teams")).all())
        names["team"] = {uid: teams.get(tid) for uid, tid in
                         conn.execute(text("SELECT id, team_id FROM users")).all()}
        conn.rollback()
    column = {"project": 0, "product": 1, "team": 2, "labeler": 2}
    out: dict[str, dict[str, Metric]] = {}
    for by in bys:
        counts: dict[str, float] = {}
        for r in rows:
            key = names[by].get(r[column[by]])
            k = str(key) if key is not None else "(none)"
            counts[k] = counts.get(k, 0.0) + float(r[3])
        out[by] = {k: ratio("throughput_per_hour", n, hours)
                   for k, n in sorted(counts.items())}
    return out


def gold_accuracy_by_labeler(engine: Engine, period: Period | str,
                             filters: Filters | None = None) -> dict[str, Metric]:
    """Gold accuracy per labeler with 95% Wilson intervals."""
    p = Period.parse(period) if isinstance(period, str) else period
    with engine.connect() as conn:
        sc = Scope.resolve(conn, filters or Filters())
        rows = run(conn, f"""
            SELECT u.username, COUNT(*), SUM(CASE WHEN a.correct THEN 1 ELSE 0 END)
            FROM annotations a JOIN users u ON u.id = a.labeler_id
            WHERE a.kind = 'gold' AND a.correct IS NOT NULL
              AND a.submitted_at >= :start AND a.submitted_at < :end AND {sc.annotations('a')}
            GROUP BY u.username ORDER BY u.username""",
                   {**sc.params, "start": p.start, "end": p.end}).all()
        conn.rollback()
    return {u: ratio("gold_accuracy", ok, n, ci=True) for u, n, ok in rows}


def pairwise_agreement(engine: Engine, period: Period | str, filters: Filters | None = None,
                       min_overlap: int = 1) -> PairwiseKappa:
    """Cohen's kappa for every labeler pair (``modops.quality.pairwise_cohen_kappa``) on the
    period's label-slot annotations; labelers are usernames."""
    p = Period.parse(period) if isinstance(period, str) else period
    with engine.connect() as conn:
        sc = Scope.resolve(conn, filters or Filters())
        rows = run(conn, f"""
            SELECT a.item_id, u.username, {sc.d.labels_text('a.labels')}
            FROM annotations a JOIN users u ON u.id = a.labeler_id
            WHERE a.kind = 'label' AND a.submitted_at >= :start AND a.submitted_at < :end
              AND {sc.annotations('a')}""",
                   {**sc.params, "start": p.start, "end": p.end}).all()
        conn.rollback()
    if not rows:
        return PairwiseKappa(np.array([], dtype=object), np.zeros((0, 0)),
                             np.zeros((0, 0), dtype=np.int64))
    items, users, labels = zip(*rows, strict=True)
    return pairwise_cohen_kappa(np.array(items), np.array(users, dtype=object),
                                np.array(labels, dtype=object), min_overlap=min_overlap)
