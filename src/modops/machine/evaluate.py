"""Evaluation on the held-out splits: BEEP! dev (3-class) and K-MHaS test (multi-label).

Numbers are computed the way the published scores are: macro-F1 over the three BEEP! classes,
and macro-F1 over the nine K-MHaS labels (eight hate classes + ``not_hate``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modops.machine.data import KMHAS_LABELS, read_beep, read_kmhas
from modops.machine.model import NOT_HATE, PROFANITY, KoreanHarmModel
from modops.machine.scoring import SEVERITY_LABELS


@dataclass
class Report:
    name: str
    labels: list[str]
    precision: list[float]
    recall: list[float]
    f1: list[float]
    support: list[int]
    macro_f1: float
    micro_f1: float | None = None
    confusion: list[list[int]] | None = None
    ece: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, ...]:
    p = np.divide(tp, tp + fp, out=np.zeros_like(tp, dtype=float), where=(tp + fp) > 0)
    r = np.divide(tp, tp + fn, out=np.zeros_like(tp, dtype=float), where=(tp + fn) > 0)
    f = np.divide(2 * p * r, p + r, out=np.zeros_like(p), where=(p + r) > 0)
    return p, r, f


def _binned_gap(score: np.ndarray, outcome: np.ndarray, n_bins: int) -> float:
    """Equal-width bins over ``score``: |mean outcome − mean score| per bin, weighted by the
    bin's share of items (the one calibration error both ECEs below are)."""
    bins = np.minimum((score * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            ece += mask.mean() * abs(outcome[mask].mean() - score[mask].mean())
    return float(ece)


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """Top-label ECE with equal-width bins."""
    return _binned_gap(probs.max(axis=1), (probs.argmax(axis=1) == y).astype(float), n_bins)


def binary_ece(p: Any, y: Any, n_bins: int = 10) -> float:
    """Calibration error of a probability of the positive class: equal-width bins over ``p``,
    |share of positives − mean ``p``| per bin, weighted by the bin's share of items."""
    return _binned_gap(np.asarray(p, dtype=float), np.asarray(y, dtype=float), n_bins)


def evaluate_beep(model: KoreanHarmModel, split: str = "dev") -> Report:
    rows = read_beep(split)
    y = np.array([SEVERITY_LABELS.index(r.hate) for r in rows])
    probs = model.raw([r.text for r in rows])["severity"]
    pred = np.argmax(np.log(probs + 1e-12) + model.severity_offsets, axis=1)
    k = len(SEVERITY_LABELS)
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (y, pred), 1)
    tp = np.diag(cm).astype(float)
    p, r, f = _prf(tp, cm.sum(0) - tp, cm.sum(1) - tp)
    harm_y = (y != SEVERITY_LABELS.index("none")).astype(int)
    harm_p = model.raw([r.text for r in rows])["harm"]
    return Report(
        name=f"BEEP! {split} (hate / offensive / none)", labels=list(SEVERITY_LABELS),
        precision=p.tolist(), recall=r.tolist(), f1=f.tolist(), support=cm.sum(1).tolist(),
        macro_f1=float(f.mean()), micro_f1=float(tp.sum() / cm.sum()), confusion=cm.tolist(),
        ece=expected_calibration_error(probs, y),
        extra={"harm_ece": binary_ece(harm_p, harm_y),
               "n": len(rows)},
    )


def kmhas_probabilities(model: KoreanHarmModel, texts: list[str]) -> np.ndarray:
    """(n, 9) probabilities in K-MHaS label order from the model's heads."""
    raw = model.raw(texts)
    cols = []
    for name in KMHAS_LABELS:
        cols.append(raw[NOT_HATE] if name == NOT_HATE else raw[PROFANITY] if name == PROFANITY
                    else raw[name])
    return np.column_stack(cols)


def kmhas_predict(model: KoreanHarmModel, probs: np.ndarray) -> np.ndarray:
    """Per-label thresholds chosen by CV on K-MHaS valid; at least one label per row."""
    thr = np.array([model.thresholds.get(n, 0.5) for n in KMHAS_LABELS])
    pred = probs >= thr
    empty = ~pred.any(axis=1)
    pred[empty, np.argmax(probs[empty] / np.maximum(thr, 1e-6), axis=1)] = True
    return pred


def evaluate_kmhas(model: KoreanHarmModel, split: str = "test") -> Report:
    rows = read_kmhas(split)
    y = np.array([[n in labels for n in KMHAS_LABELS] for _, labels in rows])
    pred = kmhas_predict(model, kmhas_probabilities(model, [t for t, _ in rows]))
    tp = (pred & y).sum(0).astype(float)
    fp = (pred & ~y).sum(0).astype(float)
    fn = (~pred & y).sum(0).astype(float)
    p, r, f = _prf(tp, fp, fn)
    _, _, micro_f = _prf(np.array([tp.sum()]), np.array([fp.sum()]),
                                     np.array([fn.sum()]))
    return Report(
        name=f"K-MHaS {split} (multi-label)", labels=list(KMHAS_LABELS), precision=p.tolist(),
        recall=r.tolist(), f1=f.tolist(), support=y.sum(0).tolist(), macro_f1=float(f.mean()),
        micro_f1=float(micro_f[0]),
        extra={"exact_match": float((pred == y).all(1).mean()), "n": len(rows),
               "macro_f1_hate_labels": float(f[:-1].mean())},
    )
