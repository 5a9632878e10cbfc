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

import re
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
from modops.rules.signals import JsonPath, SignalType, get_signal
from modops.rules.spec import RuleSpec
from modops.store.db import driver

HUMAN_SOURCES = ("labelers", "reviewer", "appeal", "import")
EXAMPLES = 8
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")
_BASE = ("id", "external_id", "route", "action", "labels", "days_ago")
#: the columns of the core facts, for signals without an SQL form (read as facts)
_FACT_COLUMNS = {"product": "p.key", "score": "i.machine_score",
                 "detail": "i.machine_scores", "views": "i.view_count",
                 "reported": "i.user_reported", "reported_at": "i.reported_at",
                 "created_at": "i.created_at", "ingested_at": "i.ingested_at",
                 "metadata": "i.metadata", "language": "i.language", "route": "i.route"}


def _render(spec: Any, pg: bool) -> str | None:
    """A signal's SQL form in this dialect, or None (read it from facts)."""
    if isinstance(spec, str):
        return spec
    if not isinstance(spec, JsonPath) or not all(_SAFE_KEY.match(k) for k in spec.path):
        return None
    if pg:
        path = "{" + ",".join(spec.path) + "}"
        cast = {"number": "::float8", "bool": "::boolean"}.get(spec.cast, "")
        return f"({spec.column} #>> '{path}'){cast}"
    path = "$" + "".join(f'."{k}"' for k in spec.path)
    return f"json_extract({spec.column}, '{path}')"


def _query(project_id: int, since: datetime, now: datetime, pg: bool,
           extra: Sequence[str]) -> str:
    days = (f"floor(extract(epoch from (TIMESTAMP '{now:%Y-%m-%d %H:%M:%S}' - d.decided_at)) "
            "/ 86400)::int" if pg else
            f"CAST(julianday('{now:%Y-%m-%d %H:%M:%S}') - julianday(d.decided_at) AS INTEGER)")
    sources = ", ".join(f"'{s}'" for s in HUMAN_SOURCES)
    cols = ", ".join(["i.id", "i.external_id", "i.route", "d.action",
                      "CAST(d.labels AS TEXT)", days, *extra])
    return (f"SELECT {cols} FROM decisions d JOIN items i ON i.id = d.item_id "
            "JOIN products p ON p.id = i.product_id "
            f"WHERE d.project_id = {int(project_id)} AND d.current "
            f"AND d.source IN ({sources}) AND d.decided_at >= '{since:%Y-%m-%d %H:%M:%S}' "
            "AND NOT i.is_gold")


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
    """The decided items of the window, as columns."""

    def __init__(self, conn: Connection, project_id: int, days: int, now: datetime,
                 signals: Sequence[str]) -> None:
        pg = conn.dialect.name == "postgresql"
        self.days = days
        sql_cols: dict[str, str] = {}
        fact_sigs: list[str] = []
        for name in signals:
            rendered = _render(get_signal(name).sql, pg)
            if rendered is None:
                fact_sigs.append(name)
            else:
                sql_cols[name] = rendered
        fact_cols = list(_FACT_COLUMNS.items()) if fact_sigs else []
        extra = list(sql_cols.values()) + [c for _k, c in fact_cols]
        rows = _fetch(conn, _query(project_id, now - timedelta(days=days), now, pg, extra))
        columns = list(zip(*rows, strict=True)) if rows else [()] * (len(_BASE) + len(extra))
        self.n = len(rows)
        self.ids = np.array(columns[0], dtype=np.int64)
        self.external_ids = _objects(columns[1])
        self.route = _objects(columns[2])
        self.action = _objects(columns[3])
        self.labels = _objects(columns[4])
        self.days_ago = np.array(columns[5], dtype=np.int64)
        pre: dict[str, NDArray[Any]] = {}
        for k, name in enumerate(sql_cols):
            col = columns[len(_BASE) + k]
            numeric = get_signal(name).type in (SignalType.NUMBER, SignalType.INT,
                                                SignalType.BOOL)
            pre[name] = _numeric(col) if numeric else _objects(col)
        facts = None
        if fact_sigs:
            facts = self._facts(conn, columns[len(_BASE) + len(sql_cols):], now, fact_cols)
        self.batch = Batch(facts, self.n)
        self.batch._cols.update(pre)

    def _facts(self, conn: Connection, cols: Sequence[Sequence[Any]], now: datetime,
               fact_cols: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        names = [k for k, _c in fact_cols]
        out = []
        for n in range(self.n):
            f: dict[str, Any] = {k: cols[j][n] for j, k in enumerate(names)}
            f["detail"], f["metadata"] = _loads(f["detail"]), _loads(f["metadata"])
            f["id"], f["now"] = int(self.ids[n]), now
            out.append(f)
        return out

    def positive(self, label: str | None) -> NDArray[np.bool_]:
        """Items the human decision calls what the rule looks for (module docstring)."""
        if label is None:
            return np.array([a != "no_action" for a in self.action], dtype=bool)
        exact, child = f'"{label}"', f'"{label}.'
        return np.array([bool(s) and (exact in s or child in s) for s in self.labels],
                        dtype=bool)


def _rate(hits: int, n: int) -> dict[str, Any]:
    if n == 0:
        return {"value": None, "low": None, "high": None, "n": 0, "hits": 0}
    lo, hi = wilson_interval(hits, n)
    return {"value": hits / n, "low": float(lo), "high": float(hi), "n": n, "hits": hits}


def _examples(data: DecidedItems, mask: NDArray[np.bool_], limit: int = EXAMPLES) \
        -> list[dict[str, Any]]:
    idx = np.flatnonzero(mask)[:limit]
    return [{"id": int(data.ids[i]), "external_id": data.external_ids[i],
             "route": data.route[i], "human_action": data.action[i],
             "human_labels": data.labels[i]} for i in idx]


def _daily(data: DecidedItems, fired: NDArray[np.bool_], tp: NDArray[np.bool_]) \
        -> list[dict[str, int]]:
    days = np.clip(data.days_ago, 0, data.days - 1) if data.n else data.days_ago
    matched = np.bincount(days[fired], minlength=data.days)
    correct = np.bincount(days[tp], minlength=data.days)
    return [{"days_ago": d, "matched": int(matched[d]), "correct": int(correct[d])}
            for d in range(data.days - 1, -1, -1)]


def _route_changes(spec: RuleSpec, data: DecidedItems, fired: NDArray[np.bool_]) \
        -> NDArray[np.bool_]:
    kinds = {a.kind for a in spec.then}
    if "auto_action" in kinds:
        return fired & (data.route != "auto_action")
    if kinds & {"hold", "escalate", "route"}:
        return fired & ((data.route == "auto_action") | (data.route == "auto_clear"))
    return np.zeros(data.n, dtype=bool)


def backtest_rule(conn: Connection, project_id: int, spec: RuleSpec, *, days: int,
                  now: datetime) -> dict[str, Any]:
    """The rule's volume, precision, recall, route changes and examples (module docstring)."""
    started = time.perf_counter()
    data = DecidedItems(conn, project_id, days, now, spec.signals)
    fired = RuleSet([RuleRef(spec, 1, LIVE)]).evaluate(data.batch).masks[0] \
        if data.n else np.zeros(0, dtype=bool)
    label = next((a.label for a in spec.then if a.label), None)
    pos = data.positive(label)
    tp = fired & pos
    changes = _route_changes(spec, data, fired)
    matched, hits, positives = int(fired.sum()), int(tp.sum()), int(pos.sum())
    return {
        "kind": "rule", "rule": spec.key, "days": days, "items": data.n,
        "positive_definition": f"label {label}" if label else "enforcement action",
        "matched": matched, "matched_per_day": matched / days,
        "precision": _rate(hits, matched), "recall": _rate(hits, positives),
        "route_changes": int(changes.sum()), "daily": _daily(data, fired, tp),
        "examples": {"correct": _examples(data, tp), "wrong": _examples(data, fired & ~pos),
                     "missed": _examples(data, pos & ~fired),
                     "route_changed": _examples(data, changes)},
        "seconds": round(time.perf_counter() - started, 3),
    }


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
    data = DecidedItems(conn, project_id, days, now, ["score"])
    score = data.batch.column("score")
    harmful = data.positive(None)
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
        "daily": _daily(data, act, act & harmful),
        "examples": {"route_changed": _examples(data, moved),
                     "wrong": _examples(data, act & ~harmful),
                     "missed": _examples(data, clear & harmful)},
        "seconds": round(time.perf_counter() - started, 3),
    }
