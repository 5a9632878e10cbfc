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
    "keyword_burst": {"enabled": True, "baseline_days": 7, "ratio": 3.0, "z": 4.0,
                      "min_docs": 5, "min_baseline_docs": 50, "max_texts": 3000,
                      "max_alerts": 5, "tags": ["NNP", "NNG"], "min_chars": 2,
                      "stopwords": []},
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


def korean_nouns(texts: list[str], tags: tuple[str, ...] = ("NNP", "NNG"),
                 min_chars: int = 2) -> list[set[str]]:
    """The set of nouns (Kiwi morphological analysis, offline) in each text.

    Each distinct text is analysed once: comment streams repeat themselves (copy-paste
    campaigns, spam, the same chant under every clip) and analysis is the costly part.
    """
    if not texts:
        return []
    from modops.machine.normalise import normalise_many

    distinct = list(dict.fromkeys(texts))
    # read through the shared normaliser: "토 토", "ｔｏｔｏ" and "토😀토" burst as one keyword
    nouns = {text: frozenset(t.form for t in toks if t.tag in tags and len(t.form) >= min_chars)
             for text, toks in zip(distinct, _kiwi().tokenize(normalise_many(distinct)),
                                   strict=True)}
    return [set(nouns[text]) for text in texts]


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


def _keyword_bursts(ctx: _Ctx, rule: dict[str, Any]) -> list[Alert]:
    cap, days = int(rule["max_texts"]), int(rule["baseline_days"])
    tags, min_chars = tuple(rule["tags"]), int(rule["min_chars"])
    stop = set(rule["stopwords"])
    texts = _windows_texts(ctx, days + 1, cap)
    today = korean_nouns(texts[0], tags, min_chars)
    n0 = len(today)
    if n0 == 0:
        return []
    base: Counter[str] = Counter()
    n_base = 0
    for k in range(1, days + 1):
        day_docs = korean_nouns(texts[k], tags, min_chars)
        n_base += len(day_docs)
        for terms in day_docs:
            base.update(terms)
    if n_base < int(rule["min_baseline_docs"]):
        return []
    docs_of: dict[str, set[int]] = {}
    for i, terms in enumerate(today):
        for t in terms - stop:
            docs_of.setdefault(t, set()).add(i)
    bursts = []
    for term, docs in docs_of.items():
        x0 = len(docs)
        if x0 < int(rule["min_docs"]):
            continue
        p = (base[term] + 1.0) / (n_base + 1.0)  # add-one: unseen terms still have a rate
        expected = n0 * p
        z = (x0 - expected) / math.sqrt(max(n0 * p * (1 - p), 1e-12))
        threshold = max(float(rule["ratio"]) * expected, float(rule["min_docs"]))
        if x0 >= threshold and z >= float(rule["z"]):
            bursts.append((z, term, x0, expected, threshold, docs))
    bursts.sort(key=lambda b: (-b[0], b[1]))
    # one alert per story: terms mostly co-occurring in the same comments join the top term
    groups: list[list[Any]] = []
    for b in bursts:
        for g in groups:
            lead = g[0][5]
            if len(b[5] & lead) >= 0.5 * min(len(b[5]), len(lead)):
                g.append(b)
                break
        else:
            groups.append([b])
    start, end = ctx.window(0)
    out = []
    for g in groups[: int(rule["max_alerts"])]:
        z, term, x0, expected, threshold, _ = g[0]
        related = [b[1] for b in g[1:]]
        also = msg("alert.part.with", terms=", ".join(related)) if related else ""
        out.append(Alert(
            "keyword_burst", "warning",
            *both("alert.msg.keyword_burst", term=term, also=also, x0=x0, n0=n0,
                  expected=expected, days=days, z=z, threshold=threshold),
            float(x0), expected, threshold, ctx.project, subject=term, window_start=start,
            window_end=end, stats={"z": z, "texts": n0, "baseline_texts": n_base,
                                   "baseline_docs_with_term": base[term], "related": related}))
    return out


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
