"""Labeler and team scorecards: the pure, array-level part (the store feeds it later).

Input is one row per submitted annotation with these columns (dict of arrays, or a list of
dicts, or any frame with ``__getitem__`` by column name):

=================  ===========================================================================
``labeler``        labeler id
``team``           team id (optional; or pass ``teams={labeler: team}``)
``item``           item id
``label``          the label submitted
``handle_time_s``  seconds from lease start to submit (NaN/None if unknown)
``is_gold``        True for gold items
``gold_label``     the gold answer (used where ``is_gold``)
``consensus_label`` the item's final consensus label (None while still open)
``overturned``     True/False if the item was escalated and a reviewer ruled on this label
                   (True = the reviewer overturned it); None when not escalated
``audit_error``    True/False if QA audited this task; None when not audited
=================  ===========================================================================

Definitions follow the brief's metric list: handle time median and p90 (linear-interpolated
quantiles, as ``numpy.quantile``); gold accuracy with a 95% Wilson interval (Wilson 1927);
agreement with consensus = share of this labeler's labels equal to the item's consensus
(note: the labeler's own vote is part of that consensus, so this is optimistic for small k);
escalation overturn rate = overturned / escalated-and-ruled; audit error rate = errors /
audited, also with a Wilson interval.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._codes import FloatArray, IntArray, factorize
from .intervals import wilson_interval

REQUIRED = ("labeler", "item", "label")


@dataclass(frozen=True)
class Scorecard:
    """One row of the scorecard (a labeler, a team, or ``"__all__"``)."""

    key: Hashable
    volume: int
    handle_time_median_s: float
    handle_time_p90_s: float
    gold_n: int
    gold_correct: int
    gold_accuracy: float
    gold_ci_low: float
    gold_ci_high: float
    consensus_n: int
    consensus_agreement: float
    escalated_n: int
    overturned_n: int
    overturn_rate: float
    audited_n: int
    audit_errors: int
    audit_error_rate: float
    audit_ci_low: float
    audit_ci_high: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _column(frame: Any, name: str, n: int, default: Any = None) -> NDArray[Any]:
    try:
        col = frame[name]
    except (KeyError, IndexError):
        out = np.empty(n, dtype=object)
        out[:] = default
        return out
    return np.asarray(col)


def _to_columns(frame: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> Mapping[str, Any]:
    if isinstance(frame, Mapping) or hasattr(frame, "columns"):
        return frame  # type: ignore[return-value]
    rows = list(frame)
    keys: list[str] = []
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    cols: dict[str, Any] = {}
    for k in keys:
        arr = np.empty(len(rows), dtype=object)
        arr[:] = [r.get(k) for r in rows]
        cols[k] = arr
    return cols


def _tristate(values: NDArray[Any]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(known, true) masks for a column of True/False/None (or 1/0/NaN)."""
    if values.dtype.kind == "b":
        return np.ones(len(values), dtype=bool), values
    if values.dtype.kind in "iuf":
        known = ~np.isnan(values.astype(np.float64))
        return known, known & (np.nan_to_num(values.astype(np.float64)) != 0)
    known = np.fromiter((v is not None and v == v for v in values), bool, len(values))
    true = np.fromiter((bool(v) if k else False for v, k in zip(values, known, strict=True)),
                       bool, len(values))
    return known, true


def _known(values: NDArray[Any]) -> NDArray[np.bool_]:
    if values.dtype.kind == "f":
        known: NDArray[np.bool_] = ~np.isnan(values)
        return known
    if values.dtype.kind == "O":
        return np.fromiter((v is not None and v == v for v in values), bool, len(values))
    return np.ones(len(values), dtype=bool)


def _group_quantiles(groups: IntArray, values: FloatArray, n_groups: int,
                     qs: tuple[float, ...]) -> list[FloatArray]:
    """Per-group quantiles (numpy's default linear interpolation) with one lexsort."""
    ok = ~np.isnan(values)
    g, v = groups[ok], values[ok]
    order = np.lexsort((v, g))
    g, v = g[order], v[order]
    counts = np.bincount(g, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out = []
    for q in qs:
        pos = q * (counts - 1).clip(min=0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, (counts - 1).clip(min=0))
        frac = pos - lo
        res = np.full(n_groups, np.nan)
        has = counts > 0
        a = v[(starts + lo)[has]]
        b = v[(starts + hi)[has]]
        res[has] = a + (b - a) * frac[has]
        out.append(res)
    return out


def _rate(num: NDArray[Any], den: NDArray[Any]) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)


def _group_keys(cols: Mapping[str, Any], labeler: NDArray[Any], by: str,
                teams: Mapping[Hashable, Hashable] | None) -> NDArray[Any]:
    """Each annotation's group: its labeler, or its labeler's team."""
    if by == "labeler":
        return labeler
    if by != "team":
        raise ValueError("by must be 'labeler' or 'team'")
    if "team" in cols:
        return np.asarray(cols["team"])
    if teams is None:
        raise ValueError("team scorecards need a 'team' column or a teams= mapping")
    keys = np.empty(len(labeler), dtype=object)
    keys[:] = [teams.get(x) for x in labeler.tolist()]
    return keys


def compute_scorecards(
    frame: Mapping[str, Any] | Iterable[Mapping[str, Any]],
    by: str = "labeler",
    teams: Mapping[Hashable, Hashable] | None = None,
    confidence: float = 0.95,
    include_overall: bool = False,
) -> list[Scorecard]:
    """Scorecards grouped by ``"labeler"`` or ``"team"``, sorted by key.

    ``teams`` maps labeler → team when the frame has no ``team`` column. With
    ``include_overall`` a final row keyed ``"__all__"`` covers every annotation.
    """
    cols = _to_columns(frame)
    for name in REQUIRED:
        if name not in cols:
            raise ValueError(f"scorecard frame needs a {name!r} column")
    labeler = np.asarray(cols["labeler"])
    n = len(labeler)
    g, ids = factorize(_group_keys(cols, labeler, by, teams))
    n_g = len(ids)
    if include_overall:
        g = np.concatenate([g, np.full(n, n_g)])
        ids = np.concatenate([ids.astype(object), np.asarray(["__all__"], dtype=object)])
        n_g += 1

    def tile(a: NDArray[Any]) -> NDArray[Any]:
        return np.concatenate([a, a]) if include_overall else a

    label = tile(np.asarray(cols["label"], dtype=object))
    ht_raw = _column(cols, "handle_time_s", n, np.nan)
    ht = tile(np.asarray([np.nan if v is None else v for v in ht_raw], dtype=np.float64)
              if ht_raw.dtype.kind == "O" else ht_raw.astype(np.float64))
    gold_known, is_gold = _tristate(_column(cols, "is_gold", n, False))
    is_gold = tile(is_gold & gold_known)
    gold_label = tile(_column(cols, "gold_label", n).astype(object))
    cons = tile(_column(cols, "consensus_label", n).astype(object))
    esc_known, overturned = (tile(x) for x in _tristate(_column(cols, "overturned", n)))
    aud_known, aud_err = (tile(x) for x in _tristate(_column(cols, "audit_error", n)))

    volume = np.bincount(g, minlength=n_g)
    med, p90 = _group_quantiles(g, ht, n_g, (0.5, 0.9))
    gold_correct_row = is_gold & (label == gold_label)
    gold_n = np.bincount(g, weights=is_gold, minlength=n_g).astype(np.int64)
    gold_ok = np.bincount(g, weights=gold_correct_row, minlength=n_g).astype(np.int64)
    g_lo, g_hi = wilson_interval(gold_ok, gold_n, confidence)
    has_cons = _known(cons)
    cons_n = np.bincount(g, weights=has_cons, minlength=n_g).astype(np.int64)
    cons_ok = np.bincount(g, weights=has_cons & (label == cons), minlength=n_g)
    esc_n = np.bincount(g, weights=esc_known, minlength=n_g).astype(np.int64)
    over_n = np.bincount(g, weights=esc_known & overturned, minlength=n_g).astype(np.int64)
    aud_n = np.bincount(g, weights=aud_known, minlength=n_g).astype(np.int64)
    aud_e = np.bincount(g, weights=aud_known & aud_err, minlength=n_g).astype(np.int64)
    a_lo, a_hi = wilson_interval(aud_e, aud_n, confidence)

    gold_acc, cons_rate = _rate(gold_ok, gold_n), _rate(cons_ok, cons_n)
    over_rate, aud_rate = _rate(over_n, esc_n), _rate(aud_e, aud_n)
    rows = [
        Scorecard(
            key=ids[i].item() if hasattr(ids[i], "item") else ids[i],
            volume=int(volume[i]),
            handle_time_median_s=float(med[i]),
            handle_time_p90_s=float(p90[i]),
            gold_n=int(gold_n[i]),
            gold_correct=int(gold_ok[i]),
            gold_accuracy=float(gold_acc[i]),
            gold_ci_low=float(g_lo[i]),
            gold_ci_high=float(g_hi[i]),
            consensus_n=int(cons_n[i]),
            consensus_agreement=float(cons_rate[i]),
            escalated_n=int(esc_n[i]),
            overturned_n=int(over_n[i]),
            overturn_rate=float(over_rate[i]),
            audited_n=int(aud_n[i]),
            audit_errors=int(aud_e[i]),
            audit_error_rate=float(aud_rate[i]),
            audit_ci_low=float(a_lo[i]),
            audit_ci_high=float(a_hi[i]),
        )
        for i in range(n_g)
    ]
    return rows


def labeler_scorecards(frame: Mapping[str, Any] | Iterable[Mapping[str, Any]],
                       confidence: float = 0.95) -> list[Scorecard]:
    """Per-labeler scorecards; see :func:`compute_scorecards`."""
    return compute_scorecards(frame, by="labeler", confidence=confidence)


def team_scorecards(frame: Mapping[str, Any] | Iterable[Mapping[str, Any]],
                    teams: Mapping[Hashable, Hashable] | None = None,
                    confidence: float = 0.95) -> list[Scorecard]:
    """Per-team scorecards plus an ``"__all__"`` row; see :func:`compute_scorecards`."""
    return compute_scorecards(frame, by="team", teams=teams, confidence=confidence,
                              include_overall=True)
