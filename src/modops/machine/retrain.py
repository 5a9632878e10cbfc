"""Retraining on human labels: train a candidate, compare it with the active model on a held-out
slice of the human labels, register it — promotion stays a separate, explicit command."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from modops.machine.model import (
    KoreanHarmModel,
    TrainConfig,
    base_training_data,
    train,
)
from modops.machine.registry import Registry
from modops.machine.scoring import SEVERITY_LABELS


@dataclass(frozen=True, slots=True)
class RetrainResult:
    old_version: str | None
    new_version: str
    old_macro_f1: float | None
    new_macro_f1: float
    n_extra_train: int
    n_holdout: int


def _macro_f1(model: KoreanHarmModel, texts: list[str], labels: list[str]) -> float:
    if not texts:
        return float("nan")
    y = np.array([SEVERITY_LABELS.index(v) for v in labels])
    pred = model.predict_severity(texts)
    f = []
    for c in range(len(SEVERITY_LABELS)):
        tp = np.sum((pred == c) & (y == c))
        d = np.sum(pred == c) + np.sum(y == c)
        if np.sum(y == c):
            f.append(2 * tp / d if d else 0.0)
    return float(np.mean(f)) if f else float("nan")


def _split_holdout(extra: Sequence[tuple[str, str]], share: float, seed: int
                   ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(to train on, held out): a seeded ``share`` of the pairs with a severity label."""
    pairs = [(t, lab) for t, lab in extra if lab in SEVERITY_LABELS]
    rng = np.random.default_rng(seed)
    mask = rng.random(len(pairs)) < share if pairs else np.zeros(0, bool)
    hold = [p for p, m in zip(pairs, mask, strict=True) if m]
    fit = [p for p, m in zip(pairs, mask, strict=True) if not m]
    return fit, hold


def _active_model(reg: Registry) -> KoreanHarmModel | None:
    try:
        return reg.load()
    except (FileNotFoundError, KeyError):
        return None


def retrain(
    extra: Sequence[tuple[str, str]],
    *,
    registry: Registry | None = None,
    config: TrainConfig | None = None,
    holdout_share: float = 0.2,
    log: Callable[[str], None] | None = None,
) -> RetrainResult:
    """Train base data + ``extra`` (text, severity label) pairs; register, do not promote.

    A seeded ``holdout_share`` of the human labels is kept out of training and used to compare
    the currently active model with the candidate on the same rows.
    """
    reg = registry or Registry()
    cfg = config or TrainConfig()
    fit, hold = _split_holdout(extra, holdout_share, cfg.seed)
    data = base_training_data(cfg)
    data.severity_texts += [t for t, _ in fit]
    data.severity_labels += [lab for _, lab in fit]
    data.harm_rows += [(t, int(lab != "none")) for t, lab in fit]
    old = _active_model(reg)
    new = train(cfg, data, log=log)
    ht, hl = [t for t, _ in hold], [lab for _, lab in hold]
    old_f1 = _macro_f1(old, ht, hl) if old is not None else None
    new_f1 = _macro_f1(new, ht, hl)
    old_version = old.model_version if old is not None else None
    reg.register(new, {"parent": old_version, "n_extra_train": len(fit),
                       "n_holdout": len(hold), "holdout_macro_f1": new_f1,
                       "parent_holdout_macro_f1": old_f1,
                       "cv_macro_f1": new.meta.get("cv_macro_f1")})
    return RetrainResult(old_version, new.model_version, old_f1, new_f1, len(fit), len(hold))
