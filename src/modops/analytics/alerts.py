"""Alerts evaluated on demand: backlog, label spikes, Korean keyword bursts, gold, drift.

Windows are trailing 24 h blocks ending at ``now`` (window 0 = the last 24 h, window k = the
24 h before that), so "today" is never a partial calendar day. Rules and thresholds come from
``projects.settings["alerts"]`` merged over :data:`DEFAULT_RULES`. Every alert carries its
observed value, what was expected, and the threshold it crossed. Persisting alerts and
sending webhooks are the caller's job; this module only evaluates.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine

from modops.domain.fields import TEXT_FIELDS
from modops.i18n import Msg, msg
from modops.quality import wilson_interval

from ._sql import ACTIONED, HUMAN_SOURCES, Scope, run
from .period import Filters

DAY = timedelta(days=1)

DEFAULT_RULES: dict[str, dict[str, Any]] = {
    "backlog": {"enabled": True, "max_past_sla": 0, "forecast_factor": 1.0,
                "recent_hours": 24},
    "label_spike": {"enabled": True, "baseline_days": 14, "ewma_lambda": 0.3, "z": 3.0,
                    "ratio": 2.0, "min_count": 10, "ignore": ["none"]},
    "keyword_burst": {"enabled": True, "baseline_days": 7, "ratio": 3.0, "confidence": 0.95,
                      "min_docs": 5, "min_share": 0.01, "max_baseline_df": 0.05,
                      "min_baseline_docs": 50, "max_texts": 3000, "max_alerts": 5,
                      "tags": ["NNP", "NNG"], "min_chars": 2, "stopwords": []},
    "gold_drop": {"enabled": True, "baseline_days": 7, "drop": 0.05, "min_n": 20},
    "drift": {"enabled": True, "baseline_days": 7, "rise": 0.10, "min_n": 30,
              "score_threshold": 0.5},
}


@dataclass(frozen=True)
class Alert:
    """One raised alert, stating its numbers in both report languages."""

    rule: str
    severity: str  # info / warning / critical
    message_en: str
    message_ko: str
    observed: float
    expected: float | None
    threshold: float
    project: str
    subject: str | None = None  # the label or term concerned
    window_start: datetime | None = None
    window_end: datetime | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def affected_items(self) -> int | None:
        """Items the rule counted: decisions with the spiking label, texts with the term,
        items past SLA, open tasks of a backlog; None for rates (gold accuracy, drift)."""
        if self.rule in ("label_spike", "keyword_burst", "backlog_past_sla"):
            return round(self.observed)
        if self.rule == "backlog_forecast_breach":
            return round(float(self.stats.get("open_tasks", 0)))
        return None


def both(key: str, **fields: Any) -> tuple[str, str]:
    """An alert message in (English, Korean), the order of :class:`Alert`'s fields, from the
    one translation catalogue (``modops.i18n``, keys ``alert.msg.*``)."""
    m = Msg(key, fields)
    return m.render("en"), m.render("ko")


def rules_for(settings: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Project rule overrides (``settings["alerts"][rule][key]``) merged over the defaults."""
    custom = (settings or {}).get("alerts") or {}
    return {name: {**default, **(custom.get(name) or {})}
            for name, default in DEFAULT_RULES.items()}


def evaluate_alerts(engine: Engine, project: str, now: datetime,
                    rules: dict[str, dict[str, Any]] | None = None) -> list[Alert]:
    """Evaluate every enabled rule for ``project`` at ``now`` (naive UTC)."""
    with engine.connect() as conn:
        sc = Scope.resolve(conn, Filters(project=project))
        prow = run(conn, "SELECT settings, sla_minutes FROM projects WHERE id = :project_id",
                   sc.params).one()
        settings = json.loads(prow[0]) if isinstance(prow[0], str) else (prow[0] or {})
        r = rules or rules_for(settings)
        ctx = _Ctx(conn, sc, project, now, int(prow[1]))
        out: list[Alert] = []
        if r["backlog"]["enabled"]:
            out += _backlog(ctx, r["backlog"])
        if r["label_spike"]["enabled"]:
            out += _label_spikes(ctx, r["label_spike"])
        if r["keyword_burst"]["enabled"]:
            out += _keyword_bursts(ctx, r["keyword_burst"])
        if r["gold_drop"]["enabled"]:
            out += _gold_drop(ctx, r["gold_drop"])
        if r["drift"]["enabled"]:
            out += _drift(ctx, r["drift"])
        conn.rollback()
    return out


@dataclass
class _Ctx:
    conn: Connection
    sc: Scope
    project: str
    now: datetime
    sla_minutes: int

    def params(self, **kw: Any) -> dict[str, Any]:
        return {**self.sc.params, "now": self.now, **kw}

    def window(self, k: int = 0) -> tuple[datetime, datetime]:
        return self.now - (k + 1) * DAY, self.now - k * DAY


# --------------------------------------------------------------------------- backlog
def _backlog(ctx: _Ctx, rule: dict[str, Any]) -> list[Alert]:
    d, sc = ctx.sc.d, ctx.sc
    past = run(ctx.conn, f"""
        SELECT COUNT(*), MAX({d.secs(':now', 'i.due_at')}) FROM items i
        WHERE i.project_id = :project_id AND i.state IN ('new', 'queued', 'escalated')
          AND i.due_at < :now""", ctx.params()).one()
    out: list[Alert] = []
    n_past, worst_s = int(past[0] or 0), float(past[1] or 0.0)
    if n_past > rule["max_past_sla"]:
        out.append(Alert(
            "backlog_past_sla", "critical",
            *both("alert.msg.backlog_past_sla", n=n_past, worst_h=worst_s / 3600),
            n_past, 0.0, float(rule["max_past_sla"]), ctx.project,
            stats={"worst_overdue_h": worst_s / 3600}))
    recent_h = float(rule["recent_hours"])
    row = run(ctx.conn, f"""
        SELECT SUM(CASE WHEN t.state IN ('open', 'leased') THEN 1 ELSE 0 END),
               SUM(CASE WHEN t.state = 'done' AND t.done_at >= :recent AND t.done_at < :now
                        THEN 1 ELSE 0 END)
        FROM tasks t WHERE {sc.tasks('t')}""",
              ctx.params(recent=ctx.now - timedelta(hours=recent_h))).one()
    open_n, done = float(row[0] or 0), float(row[1] or 0)
    if open_n > 0:
        rate = done / recent_h
        forecast = open_n / rate if rate > 0 else math.inf
        limit = ctx.sla_minutes / 60.0 * float(rule["forecast_factor"])
        if forecast > limit:
            shown = msg("alert.part.never") if math.isinf(forecast) else \
                msg("alert.part.hours", h=forecast)
            out.append(Alert(
                "backlog_forecast_breach", "warning",
                *both("alert.msg.backlog_forecast_breach", open=open_n, shown=shown,
                      recent_h=recent_h, rate=rate, limit=limit),
                forecast, ctx.sla_minutes / 60.0, limit, ctx.project,
                stats={"open_tasks": open_n, "throughput_per_hour": rate}))
    return out


# --------------------------------------------------------------------------- label spikes
def ewma_baseline(history: list[float], lam: float) -> tuple[float, float]:
    """EWMA mean and standard deviation of ``history`` (oldest first), with the variance
    floored at the Poisson variance (a count's sd is at least √mean, and at least 1)."""
    if not history:
        return 0.0, 1.0
    mean, var = history[0], 0.0
    for x in history[1:]:
        diff = x - mean
        mean += lam * diff
        var = (1 - lam) * (var + lam * diff * diff)
    return mean, max(math.sqrt(var), math.sqrt(max(mean, 1.0)))


def _label_spikes(ctx: _Ctx, rule: dict[str, Any]) -> list[Alert]:
    d = ctx.sc.d
    days = int(rule["baseline_days"])
    w = d.floor_int(f"{d.secs(':now', 'i.decided_at')} / 86400.0")
    # items per (window, label list) first, then one unnest per distinct list (not per item)
    join, lab = d.unnest_labels("g.fl", "e")
    rows = run(ctx.conn, f"""
        SELECT g.w, {lab}, SUM(g.n)
        FROM (SELECT {w} AS w, i.final_labels AS fl, COUNT(*) AS n FROM items i
              WHERE i.project_id = :project_id AND i.decided_at >= :since
                AND i.decided_at < :now
              GROUP BY {w}, i.final_labels) g {join}
        GROUP BY g.w, {lab}""", ctx.params(since=ctx.now - (days + 1) * DAY)).all()
    counts: dict[str, list[float]] = {}
    for k, label, n in rows:
        if label is not None and 0 <= int(k) <= days:
            counts.setdefault(str(label), [0.0] * (days + 1))[int(k)] += float(n)
    out: list[Alert] = []
    start, end = ctx.window(0)
    for label, series in sorted(counts.items()):
        if label in rule["ignore"]:
            continue
        today, history = series[0], series[1:][::-1]  # oldest first
        expected, sd = ewma_baseline(history, float(rule["ewma_lambda"]))
        z = (today - expected) / sd
        threshold = max(expected + float(rule["z"]) * sd, float(rule["ratio"]) * expected,
                        float(rule["min_count"]))
        if today >= threshold:
            out.append(Alert(
                "label_spike", "warning",
                *both("alert.msg.label_spike", label=label, today=today, expected=expected,
                      days=days, z=z, threshold=threshold),
                today, expected, threshold, ctx.project, subject=label, window_start=start,
                window_end=end, stats={"z": z, "sd": sd, "ratio": today / expected
                                       if expected else math.inf, "history": history}))
    return out


# --------------------------------------------------------------------------- keyword bursts
@lru_cache(maxsize=1)
def _kiwi() -> Any:
    from kiwipiepy import Kiwi

    return Kiwi()


# text -> its nouns, per (tags, min_chars): a replay of the scheduler over days (the demo
# world, backfills) evaluates overlapping windows, so the same comments come back at every
# step; analysing each once cut the demo's 66-step replay from ~7 minutes to seconds.
_NOUNS: dict[tuple[tuple[str, ...], int], dict[str, frozenset[str]]] = {}
_NOUNS_MAX = 200_000  # texts remembered per (tags, min_chars) before the memo starts over


def korean_nouns(texts: list[str], tags: tuple[str, ...] = ("NNP", "NNG"),
                 min_chars: int = 2) -> list[set[str]]:
    """The set of nouns (Kiwi morphological analysis, offline) in each text.

    Each distinct text is analysed once, and remembered: comment streams repeat themselves
    (copy-paste campaigns, spam, the same chant under every clip), evaluations repeat over
    overlapping windows, and analysis is the costly part.
    """
    if not texts:
        return []
    from modops.machine.normalise import normalise_many

    memo = _NOUNS.setdefault((tags, min_chars), {})
    distinct = list(dict.fromkeys(texts))
    if len(memo) + len(distinct) > _NOUNS_MAX:
        memo.clear()
    fresh = [t for t in distinct if t not in memo]
    # read through the shared normaliser: "토 토", "ｔｏｔｏ" and "토😀토" burst as one keyword
    if fresh:
        for text, toks in zip(fresh, _kiwi().tokenize(normalise_many(fresh)), strict=True):
            memo[text] = frozenset(t.form for t in toks
                                   if t.tag in tags and len(t.form) >= min_chars)
    return [set(memo[text]) for text in texts]


_TEXT = " || ' ' || ".join(f"COALESCE(i.{name}, '')" for name in TEXT_FIELDS)


def _windows_texts(ctx: _Ctx, windows: int, cap: int) -> list[list[str]]:
    """For windows 0‥``windows - 1``: up to ``cap`` texts ingested in each, evenly spread over
    ids (every ``ceil(n / cap)``-th id, deterministic). Two queries over the whole range — the
    counts, then the sampled texts — instead of two per window."""
    bounds = {f"wb{k}": ctx.window(k)[0] for k in range(windows)}
    which = "CASE " + " ".join(f"WHEN i.ingested_at >= :wb{k} THEN {k}"
                               for k in range(windows)) + " END"
    where = (f"FROM items i WHERE i.project_id = :project_id "
             f"AND i.ingested_at >= :wb{windows - 1} AND i.ingested_at < :now")
    p = ctx.params(**bounds)
    counts = {int(k): int(n) for k, n in run(
        ctx.conn, f"SELECT {which} AS w, COUNT(*) {where} GROUP BY {which}", p)}
    steps = {k: max(1, math.ceil(n / cap)) for k, n in counts.items() if n}
    out: list[list[str]] = [[] for _ in range(windows)]
    if not steps:
        return out
    step = "CASE " + " ".join(f"WHEN i.ingested_at >= :wb{k} THEN {steps.get(k, 1)}"
                              for k in range(windows)) + " END"
    for k, body in run(ctx.conn, f"SELECT {which}, {_TEXT} {where} AND i.id % ({step}) = 0",
                       p):
        out[int(k)].append(str(body))
    return out


@dataclass(frozen=True, slots=True)
class Burst:
    """One term that burst today: in ``docs`` of today's texts (their indexes)."""

    term: str
    x0: int  # today's texts with the term
    n0: int  # today's texts
    base_docs: int  # baseline texts with the term
    n_base: int  # baseline texts
    lift: float  # today's rate / the baseline's rate (add-one)
    lift_low: float  # the lift's conservative bound: Wilson low today / Wilson high baseline
    needed: int  # today's texts with the term at which the bound reaches the ratio
    docs: frozenset[int]

    @property
    def expected(self) -> float:
        return self.n0 * (self.base_docs + 1.0) / (self.n_base + 1.0)


def _keyword_bursts(ctx: _Ctx, rule: dict[str, Any]) -> list[Alert]:
    days = int(rule["baseline_days"])
    tags, min_chars = tuple(rule["tags"]), int(rule["min_chars"])
    texts = _windows_texts(ctx, days + 1, int(rule["max_texts"]))
    today = korean_nouns(texts[0], tags, min_chars)
    if not today:
        return []
    baseline = [terms for k in range(1, days + 1)
                for terms in korean_nouns(texts[k], tags, min_chars)]
    if len(baseline) < int(rule["min_baseline_docs"]):
        return []
    groups = group_bursts(find_bursts(today, baseline, rule))
    start, end = ctx.window(0)
    return [_burst_alert(g, days, rule, ctx.project, start, end)
            for g in groups[: int(rule["max_alerts"])]]


def _doc_sets(docs: list[set[str]], stop: set[str]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for i, terms in enumerate(docs):
        for t in terms - stop:
            out.setdefault(t, set()).add(i)
    return out


def find_bursts(today: list[set[str]], baseline: list[set[str]],
                rule: dict[str, Any]) -> list[Burst]:
    """Terms whose share of today's texts is at least ``ratio`` times their share of the
    baseline's, with confidence: the lift's bound (Wilson low bound of today's rate over the
    Wilson high bound of the baseline's, ``confidence``) must reach ``ratio``. Guards: minimum
    support (``min_docs`` texts and ``min_share`` of today's) and document frequency (a term
    in ``max_baseline_df`` or more of the baseline's texts is background vocabulary, e.g.
    "한국"). Strongest bound first."""
    n0, n_base = len(today), len(baseline)
    support = max(int(rule["min_docs"]), math.ceil(float(rule["min_share"]) * n0))
    candidates = {t: d for t, d in _doc_sets(today, set(rule["stopwords"])).items()
                  if len(d) >= support}
    base = Counter(t for terms in baseline for t in terms if t in candidates)
    ratio, conf = float(rule["ratio"]), float(rule["confidence"])
    out = []
    for term, docs in candidates.items():
        xb = base[term]
        if xb >= float(rule["max_baseline_df"]) * n_base:
            continue
        base_high = float(wilson_interval(xb, n_base, conf)[1])
        low = float(wilson_interval(len(docs), n0, conf)[0]) / base_high
        if low >= ratio:
            lift = (len(docs) / n0) / ((xb + 1.0) / (n_base + 1.0))
            needed = _texts_needed(n0, base_high * ratio, conf, support)
            out.append(Burst(term, len(docs), n0, xb, n_base, lift, low, needed,
                             frozenset(docs)))
    out.sort(key=lambda b: (-b.lift_low, b.term))
    return out


def _texts_needed(n0: int, rate: float, confidence: float, floor: int) -> int:
    """The fewest of ``n0`` texts whose Wilson low bound reaches ``rate`` (at least
    ``floor``): the alert's threshold, in texts."""
    lo, hi = floor, n0
    while lo < hi:
        mid = (lo + hi) // 2
        if float(wilson_interval(mid, n0, confidence)[0]) >= rate:
            hi = mid
        else:
            lo = mid + 1
    return lo


def group_bursts(bursts: list[Burst]) -> list[list[Burst]]:
    """One alert per story: terms mostly co-occurring in the same texts join the top term."""
    groups: list[list[Burst]] = []
    for b in bursts:
        for g in groups:
            lead = g[0].docs
            if len(b.docs & lead) >= 0.5 * min(len(b.docs), len(lead)):
                g.append(b)
                break
        else:
            groups.append([b])
    return groups


def _burst_alert(group: list[Burst], days: int, rule: dict[str, Any], project: str,
                 start: datetime, end: datetime) -> Alert:
    b = group[0]
    related = [r.term for r in group[1:]]
    also = msg("alert.part.with", terms=", ".join(related)) if related else ""
    return Alert(
        "keyword_burst", "warning",
        *both("alert.msg.keyword_burst", term=b.term, also=also, x0=b.x0, n0=b.n0,
              expected=b.expected, days=days, lift=b.lift, lift_low=b.lift_low,
              ratio=float(rule["ratio"]), threshold=b.needed),
        float(b.x0), b.expected, float(b.needed), project, subject=b.term,
        window_start=start, window_end=end,
        stats={"lift": b.lift, "lift_low": b.lift_low, "texts": b.n0,
               "baseline_texts": b.n_base, "baseline_docs_with_term": b.base_docs,
               "related": related})


# --------------------------------------------------------------------------- quality drops
def _two_windows(ctx: _Ctx, days: int, select: str, from_where: str,
                 time_col: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """(numerator, denominator) for the last 24 h and for the ``days`` before."""
    start, _ = ctx.window(0)
    rows = run(ctx.conn, f"""
        SELECT CASE WHEN {time_col} >= :cut THEN 0 ELSE 1 END AS w, {select}
        {from_where} AND {time_col} >= :since AND {time_col} < :now
        GROUP BY CASE WHEN {time_col} >= :cut THEN 0 ELSE 1 END""",
               ctx.params(cut=start, since=start - days * DAY)).all()
    got = {int(r[0]): (float(r[1] or 0), float(r[2] or 0)) for r in rows}
    return got.get(0, (0.0, 0.0)), got.get(1, (0.0, 0.0))


def _gold_drop(ctx: _Ctx, rule: dict[str, Any]) -> list[Alert]:
    days = int(rule["baseline_days"])
    (ok0, n0), (ok1, n1) = _two_windows(
        ctx, days, "SUM(CASE WHEN a.correct THEN 1 ELSE 0 END), COUNT(*)",
        "FROM annotations a WHERE a.project_id = :project_id AND a.kind = 'gold' "
        "AND a.correct IS NOT NULL", "a.submitted_at")
    if n0 < int(rule["min_n"]) or n1 < int(rule["min_n"]):
        return []
    acc0, base = ok0 / n0, ok1 / n1
    threshold = base - float(rule["drop"])
    hi = wilson_interval(int(ok0), int(n0))[1]
    if acc0 < threshold and hi < base:
        start, end = ctx.window(0)
        return [Alert(
            "gold_accuracy_drop", "warning",
            *both("alert.msg.gold_accuracy_drop", acc=acc0, ok=ok0, n=n0, base=base,
                  days=days, threshold=threshold),
            acc0, base, threshold, ctx.project, window_start=start, window_end=end,
            stats={"wilson_high": hi, "n": n0, "baseline_n": n1})]
    return []


def _drift(ctx: _Ctx, rule: dict[str, Any]) -> list[Alert]:
    days = int(rule["baseline_days"])
    human = "(" + ", ".join(f"'{s}'" for s in HUMAN_SOURCES) + ")"
    disagree = (f"CASE WHEN (i.machine_score >= :thr) <> (i.final_action IN {ACTIONED}) "
                "THEN 1 ELSE 0 END")
    start, _ = ctx.window(0)
    rows = run(ctx.conn, f"""
        SELECT CASE WHEN i.decided_at >= :cut THEN 0 ELSE 1 END, SUM({disagree}), COUNT(*)
        FROM items i JOIN decisions d ON d.item_id = i.id AND d.current
        WHERE i.project_id = :project_id AND i.machine_score IS NOT NULL
          AND d.source IN {human} AND i.decided_at >= :since AND i.decided_at < :now
        GROUP BY CASE WHEN i.decided_at >= :cut THEN 0 ELSE 1 END""",
               ctx.params(cut=start, since=start - days * DAY,
                          thr=float(rule["score_threshold"]))).all()
    got = {int(r[0]): (float(r[1] or 0), float(r[2] or 0)) for r in rows}
    (x0, n0), (x1, n1) = got.get(0, (0.0, 0.0)), got.get(1, (0.0, 0.0))
    if n0 < int(rule["min_n"]) or n1 < int(rule["min_n"]):
        return []
    r0, base = x0 / n0, x1 / n1
    threshold = base + float(rule["rise"])
    if r0 >= threshold:
        pooled = (x0 + x1) / (n0 + n1)
        z = (r0 - base) / math.sqrt(max(pooled * (1 - pooled) * (1 / n0 + 1 / n1), 1e-12))
        start, end = ctx.window(0)
        return [Alert(
            "model_drift", "warning",
            *both("alert.msg.model_drift", rate=r0, x=x0, n=n0, base=base, days=days,
                  threshold=threshold),
            r0, base, threshold, ctx.project, window_start=start, window_end=end,
            stats={"z": z, "n": n0, "baseline_n": n1})]
    return []
