"""Backtests: what a rule, or a threshold change, would have done to the last N days of items
that have a final human decision — before it is switched on.

Set-wise, never row by row through the ORM: one query reads the decided items with the
columns the rule's signals need (signals with an ``sql`` form are read as columns; the others
from facts, item by item, slower), the engine evaluates the rule as NumPy masks over all of
them, and the counts are vector sums.

- **Population**: items of the project whose current decision was made by people (labelers,
  reviewer, appeal, or imported with its final labels) within the last ``days`` days.
- **Positive** (what the rule is trying to find): for a rule whose action carries a label
  (``auto_action``, ``label_hint``), the human decision has that label or one of its children
  (``illegal_goods`` covers ``illegal_goods.gambling``); for any other rule, the human
  decision took an enforcement action (anything but ``no_action``).
- **Volume** = items the rule matches; **precision** = matched and positive / matched;
  **recall** = matched and positive / positive; both with 95 % Wilson intervals.
- **Route changes**: items whose route the rule would have changed: an ``auto_action`` rule
  changes every matched item the machine did not auto-action; ``hold``, ``escalate`` and
  ``route`` change every matched item the machine decided (auto-action or auto-clear); the
  machine's route is the one recorded when the item was routed.
- **Thresholds**: a change of (auto_action, auto_clear) is replayed on the stored scores:
  auto-action where score >= auto_action, auto-clear where score <= auto_clear (policy
  thresholds, trivial text and bank holds are not replayed); precision of each machine
  route against the human decision, and the items whose route moves.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray
from sqlalchemy import Connection

from modops.quality.intervals import wilson_interval
from modops.rules.engine import LIVE, Batch, RuleRef, RuleSet
from modops.rules.signals import SignalType, get_signal
from modops.rules.spec import RuleSpec
from modops.rules.sqlcompile import literal, render, to_sql
from modops.store.db import driver

HUMAN_SOURCES = ("labelers", "reviewer", "appeal", "import")
EXAMPLES = 8
_BASE = ("id", "route", "positive", "days_ago")
#: the columns of the core facts, for signals without an SQL form (read as facts)
_FACT_COLUMNS = {"product": "p.key", "score": "i.machine_score",
                 "detail": "i.machine_scores", "views": "i.view_count",
                 "reported": "i.user_reported", "reported_at": "i.reported_at",
                 "created_at": "i.created_at", "ingested_at": "i.ingested_at",
                 "metadata": "i.metadata", "language": "i.language", "route": "i.route"}


def _days_expr(now: datetime, pg: bool) -> str:
    if pg:
        return (f"floor(extract(epoch from (TIMESTAMP '{now:%Y-%m-%d %H:%M:%S}' - "
                "d.decided_at)) / 86400)::int")
    return f"CAST(julianday('{now:%Y-%m-%d %H:%M:%S}') - julianday(d.decided_at) AS INTEGER)"


def positive_sql(label: str | None) -> str:
    """The human decision calls the item what the rule looks for (module docstring)."""
    if label is None:
        return "(d.action <> 'no_action')"
    exact, child = literal(f'%"{label}"%'), literal(f'%"{label}.%')
    return (f"(CAST(d.labels AS TEXT) LIKE {exact} OR CAST(d.labels AS TEXT) LIKE {child})")


_FROM = ("FROM decisions d JOIN items i ON i.id = d.item_id "
         "JOIN products p ON p.id = i.product_id ")


def _where(project_id: int, since: datetime) -> str:
    sources = ", ".join(f"'{s}'" for s in HUMAN_SOURCES)
    return (f"WHERE d.project_id = {int(project_id)} AND d.current "
            f"AND d.source IN ({sources}) AND d.decided_at >= '{since:%Y-%m-%d %H:%M:%S}' "
            "AND NOT i.is_gold")


def _query(project_id: int, since: datetime, now: datetime, pg: bool, positive: str,
           extra: Sequence[str]) -> str:
    cols = ", ".join(["i.id", "i.route", f"CASE WHEN {positive} THEN 1 ELSE 0 END",
                      _days_expr(now, pg), *extra])
    return f"SELECT {cols} {_FROM}{_where(project_id, since)}"


def _fetch(conn: Connection, statement: str) -> list[tuple[Any, ...]]:
    cur = driver(conn).cursor()
    try:
        cur.execute(statement)
        return list(cur.fetchall())
    finally:
        cur.close()


def _loads(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _numeric(values: Sequence[Any]) -> NDArray[np.float64]:
    return np.array(values, dtype=np.float64)


def _objects(values: Sequence[Any]) -> NDArray[Any]:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


class DecidedItems:
    """The decided items of the window, as columns: id, recorded route, positive (for the
    rule's label), days ago, and the rule's signals."""

    def __init__(self, conn: Connection, project_id: int, days: int, now: datetime,
                 signals: Sequence[str], label: str | None) -> None:
        pg = conn.dialect.name == "postgresql"
        self.conn, self.project_id, self.days = conn, project_id, days
        sql_cols: dict[str, str] = {}
        fact_sigs: list[str] = []
        for name in signals:
            rendered = render(get_signal(name).sql, pg)
            if rendered is None:
                fact_sigs.append(name)
            else:
                sql_cols[name] = rendered
        fact_cols = list(_FACT_COLUMNS.items()) if fact_sigs else []
        extra = list(sql_cols.values()) + [c for _k, c in fact_cols]
        rows = _fetch(conn, _query(project_id, now - timedelta(days=days), now, pg,
                                   positive_sql(label), extra))
        columns = list(zip(*rows, strict=True)) if rows else [()] * (len(_BASE) + len(extra))
        self.n = len(rows)
        self.ids = np.array(columns[0], dtype=np.int64)
        self.route = _objects(columns[1])
        self.positive = np.array(columns[2], dtype=bool)
        self.days_ago = np.array(columns[3], dtype=np.int64)
        pre: dict[str, NDArray[Any]] = {}
        for k, name in enumerate(sql_cols):
            col = columns[len(_BASE) + k]
            numeric = get_signal(name).type in (SignalType.NUMBER, SignalType.INT,
                                                SignalType.BOOL)
            pre[name] = _numeric(col) if numeric else _objects(col)
        facts = None
        if fact_sigs:
            facts = self._facts(columns[len(_BASE) + len(sql_cols):], now, fact_cols)
        self.batch = Batch(facts, self.n)
        self.batch._cols.update(pre)

    def _facts(self, cols: Sequence[Sequence[Any]], now: datetime,
               fact_cols: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        names = [k for k, _c in fact_cols]
        out = []
        for n in range(self.n):
            f: dict[str, Any] = {k: cols[j][n] for j, k in enumerate(names)}
            f["detail"], f["metadata"] = _loads(f["detail"]), _loads(f["metadata"])
            f["id"], f["now"] = int(self.ids[n]), now
            out.append(f)
        return out

    def examples(self, mask: NDArray[np.bool_], limit: int = EXAMPLES) -> list[dict[str, Any]]:
        return examples_by_id(self.conn, [int(i) for i in self.ids[np.flatnonzero(mask)[:limit]]])


def examples_by_id(conn: Connection, ids: Sequence[int]) -> list[dict[str, Any]]:
    """What a person needs to judge an example: its ids, route and the human decision."""
    if not ids:
        return []
    marks = ", ".join(str(int(i)) for i in ids)
    rows = _fetch(conn, "SELECT i.id, i.external_id, i.route, d.action, "
                        "CAST(d.labels AS TEXT) FROM items i JOIN decisions d ON "
                        f"d.item_id = i.id AND d.current WHERE i.id IN ({marks})")
    by_id = {r[0]: r for r in rows}
    return [{"id": int(r[0]), "external_id": r[1], "route": r[2], "human_action": r[3],
             "human_labels": _loads(r[4])} for r in (by_id[i] for i in ids if i in by_id)]


def _rate(hits: int, n: int) -> dict[str, Any]:
    if n == 0:
        return {"value": None, "low": None, "high": None, "n": 0, "hits": 0}
    lo, hi = wilson_interval(hits, n)
    return {"value": hits / n, "low": float(lo), "high": float(hi), "n": n, "hits": hits}


def _daily_arrays(days: int, day_of: NDArray[np.int64], fired: NDArray[np.bool_],
                  tp: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    d = np.clip(day_of, 0, days - 1)
    return (np.bincount(d[fired], minlength=days)[:days],
            np.bincount(d[tp], minlength=days)[:days])


def _daily(matched: NDArray[np.int64], correct: NDArray[np.int64]) -> list[dict[str, int]]:
    """Oldest day first, for the chart."""
    return [{"days_ago": d, "matched": int(matched[d]), "correct": int(correct[d])}
            for d in range(len(matched) - 1, -1, -1)]


def _route_changes(spec: RuleSpec, data: DecidedItems, fired: NDArray[np.bool_]) \
        -> NDArray[np.bool_]:
    kinds = {a.kind for a in spec.then}
    if "auto_action" in kinds:
        return fired & (data.route != "auto_action")
    if kinds & {"hold", "escalate", "route"}:
        return fired & ((data.route == "auto_action") | (data.route == "auto_clear"))
    return np.zeros(data.n, dtype=bool)


def _route_change_sql(spec: RuleSpec) -> str:
    kinds = {a.kind for a in spec.then}
    if "auto_action" in kinds:
        return "COALESCE(i.route <> 'auto_action', TRUE)"
    if kinds & {"hold", "escalate", "route"}:
        return "COALESCE(i.route IN ('auto_action', 'auto_clear'), FALSE)"
    return "FALSE"


def _label(spec: RuleSpec) -> str | None:
    return next((a.label for a in spec.then if a.label), None)


def _result(spec: RuleSpec, days: int, counts: Mapping[str, int],
            matched_by_day: NDArray[np.int64], correct_by_day: NDArray[np.int64],
            examples: dict[str, list[dict[str, Any]]], method: str,
            started: float) -> dict[str, Any]:
    label = _label(spec)
    return {
        "kind": "rule", "rule": spec.key, "days": days, "items": counts["items"],
        "method": method,
        "positive_definition": f"label {label}" if label else "enforcement action",
        "matched": counts["matched"], "matched_per_day": counts["matched"] / days,
        "precision": _rate(counts["hits"], counts["matched"]),
        "recall": _rate(counts["hits"], counts["positives"]),
        "route_changes": counts["changes"], "daily": _daily(matched_by_day, correct_by_day),
        "examples": examples, "seconds": round(time.perf_counter() - started, 3),
    }


def backtest_rule(conn: Connection, project_id: int, spec: RuleSpec, *, days: int,
                  now: datetime) -> dict[str, Any]:
    """The rule's volume, precision, recall, route changes and examples (module docstring):
    one aggregate query when the condition compiles to SQL, else the engine over columns."""
    started = time.perf_counter()
    pg = conn.dialect.name == "postgresql"
    fired = to_sql(spec.when, pg)
    if fired is not None:
        return _backtest_sql(conn, project_id, spec, fired, days=days, now=now, pg=pg,
                             started=started)
    data = DecidedItems(conn, project_id, days, now, spec.signals, _label(spec))
    mask = RuleSet([RuleRef(spec, 1, LIVE)]).evaluate(data.batch).masks[0] \
        if data.n else np.zeros(0, dtype=bool)
    pos = data.positive
    tp = fired_and_pos = mask & pos
    changes = _route_changes(spec, data, mask)
    counts = {"items": data.n, "matched": int(mask.sum()), "hits": int(tp.sum()),
              "positives": int(pos.sum()), "changes": int(changes.sum())}
    examples = {"correct": data.examples(fired_and_pos), "wrong": data.examples(mask & ~pos),
                "missed": data.examples(pos & ~mask), "route_changed": data.examples(changes)}
    return _result(spec, days, counts, *_daily_arrays(days, data.days_ago, mask, tp),
                   examples, "engine", started)


def _backtest_sql(conn: Connection, project_id: int, spec: RuleSpec, fired: str, *,
                  days: int, now: datetime, pg: bool, started: float) -> dict[str, Any]:
    pos, change = positive_sql(_label(spec)), _route_change_sql(spec)
    where = _where(project_id, now - timedelta(days=days))
    flags = (f"SELECT {_days_expr(now, pg)} AS day, CASE WHEN {fired} THEN 1 ELSE 0 END AS f, "
             f"CASE WHEN {pos} THEN 1 ELSE 0 END AS p, CASE WHEN {change} THEN 1 ELSE 0 END "
             f"AS c {_FROM}{where}")
    rows = _fetch(conn, f"SELECT day, count(*), sum(f), sum(f * p), sum(p), sum(f * c) "
                        f"FROM ({flags}) x GROUP BY day")
    matched_by_day = np.zeros(days, dtype=np.int64)
    correct_by_day = np.zeros(days, dtype=np.int64)
    totals = np.zeros(5, dtype=np.int64)
    for day, *values in rows:
        d = min(max(int(day), 0), days - 1)
        totals += np.array([int(v or 0) for v in values], dtype=np.int64)
        matched_by_day[d] += int(values[1] or 0)
        correct_by_day[d] += int(values[2] or 0)
    counts = dict(zip(("items", "matched", "hits", "positives", "changes"),
                      (int(t) for t in totals), strict=True))

    def sample(condition: str) -> list[dict[str, Any]]:
        ids = [r[0] for r in _fetch(conn, f"SELECT i.id {_FROM}{where} AND {condition} "
                                          f"ORDER BY i.id LIMIT {EXAMPLES}")]
        return examples_by_id(conn, ids)

    examples = {"correct": sample(f"{fired} AND {pos}"),
                "wrong": sample(f"{fired} AND NOT {pos}"),
                "missed": sample(f"{pos} AND NOT {fired}"),
                "route_changed": sample(f"{fired} AND {change}")}
    return _result(spec, days, counts, matched_by_day, correct_by_day, examples, "sql",
                   started)


def _thresholds_routes(score: NDArray[np.float64], hi: float | None, lo: float | None) \
        -> NDArray[Any]:
    out = np.full(score.shape, "human", dtype=object)
    out[np.isnan(score)] = "unscored"
    with np.errstate(invalid="ignore"):
        if lo is not None:
            out[score <= lo] = "auto_clear"
        if hi is not None:
            out[score >= hi] = "auto_action"
    return out


def backtest_thresholds(conn: Connection, project_id: int, *, auto_action: float | None,
                        auto_clear: float | None, current: Mapping[str, float | None],
                        days: int, now: datetime) -> dict[str, Any]:
    """A threshold change replayed on the stored scores (module docstring)."""
    started = time.perf_counter()
    data = DecidedItems(conn, project_id, days, now, ["score"], None)
    score = data.batch.column("score")
    harmful = data.positive
    new = _thresholds_routes(score, auto_action, auto_clear)
    old = _thresholds_routes(score, current.get("auto_action"), current.get("auto_clear"))
    act, clear = new == "auto_action", new == "auto_clear"
    moved = new != old
    return {
        "kind": "thresholds", "days": days, "items": data.n,
        "thresholds": {"auto_action": auto_action, "auto_clear": auto_clear},
        "current": dict(current),
        "routes": {r: int((new == r).sum()) for r in ("auto_action", "auto_clear", "human",
                                                      "unscored")},
        "auto_action_precision": _rate(int((act & harmful).sum()), int(act.sum())),
        "auto_clear_precision": _rate(int((clear & ~harmful).sum()), int(clear.sum())),
        "recall": _rate(int((act & harmful).sum()), int(harmful.sum())),
        "matched": int(act.sum()), "route_changes": int(moved.sum()),
        "daily": _daily(*_daily_arrays(days, data.days_ago, act, act & harmful)),
        "examples": {"route_changed": data.examples(moved),
                     "wrong": data.examples(act & ~harmful),
                     "missed": data.examples(clear & harmful)},
        "seconds": round(time.perf_counter() - started, 3),
    }
