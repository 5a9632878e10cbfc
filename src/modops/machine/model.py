"""The built-in Korean harmful-content model: training, the saved artifact, and scoring.

One hashed character n-gram TF-IDF (syllables, jamo, initials — see ``features``) feeds linear
heads:

* severity — one-vs-rest NB-LR (logistic regression on features scaled by naive-Bayes
  log-count ratios) on BEEP! ``hate`` (hate / offensive / none), class-balanced; C and decision
  offsets picked by 5-fold CV on BEEP! train (never on dev); softmax over the three scores,
  temperature-calibrated on the out-of-fold scores;
* targets — one binary LR per target on K-MHaS *valid* (+ BEEP! bias labels for gender/other);
* profanity — binary LR on curse-detection + K-MHaS valid profanity;
* ``not_hate`` (extra) — K-MHaS binary head, used for the K-MHaS multi-label evaluation;
* harm — binary LR on the union of the three datasets (BEEP! train hate|offensive, K-MHaS valid
  any hate class, curse-detection train split), C by CV, then calibrated (Platt or isotonic,
  whichever has the lower cross-validated Brier score on the out-of-fold scores). Separate from
  the severity head, whose ``none`` probability is BEEP!'s notion of clean text only.

All heads are a single ``(n_outputs × n_features)`` matrix so scoring is one sparse matmul.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from modops.machine.features import HashedTfidf, model_view, normalize_all
from modops.machine.scoring import SEVERITY_LABELS, TARGET_LABELS, MachineScore

MODEL_FAMILY = "ko-harm"
MODEL_MAJOR = "1.1"  # 1.1: the harm head and policy scores
DEFAULT_VIEWS: tuple[tuple[str, int, int], ...] = (
    ("syllable", 1, 4),
    ("jamo", 3, 5),
    ("initials", 2, 3),
)
PROFANITY = "profanity"
NOT_HATE = "not_hate"
HARM = "harm"
OUTPUTS: tuple[str, ...] = (*SEVERITY_LABELS, *TARGET_LABELS, PROFANITY, NOT_HATE, HARM)
SEED = 20240601


@dataclass
class TrainConfig:
    """Knobs of a training run; part of the version hash."""

    n_bits: int = 19
    views: tuple[tuple[str, int, int], ...] = DEFAULT_VIEWS
    severity_c_grid: tuple[float, ...] = (1.0,)  # 5-fold CV on train: C=1 0.582 > C=4 0.576
    head_c: float = 4.0
    harm_c_grid: tuple[float, ...] = (1.0, 4.0)
    cv_folds: int = 5
    use_unlabeled: bool = True
    limit: int | None = None  # subsample each dataset (tests, smoke runs)
    seed: int = SEED

    def to_dict(self) -> dict[str, Any]:
        return {"n_bits": self.n_bits, "views": [list(v) for v in self.views],
                "severity_c_grid": list(self.severity_c_grid), "head_c": self.head_c,
                "harm_c_grid": list(self.harm_c_grid),
                "cv_folds": self.cv_folds, "use_unlabeled": self.use_unlabeled,
                "limit": self.limit, "seed": self.seed}


@dataclass
class KoreanHarmModel:
    """A trained model; ``score`` implements the ``Scorer`` protocol."""

    vectorizer: HashedTfidf
    coef: np.ndarray  # (n_outputs, n_kept) float32 over kept feature columns
    columns: np.ndarray  # kept feature ids (idf > 0)
    intercept: np.ndarray  # (n_outputs,)
    temperature: float = 1.0  # severity softmax temperature (calibration)
    severity_offsets: np.ndarray = field(default_factory=lambda: np.zeros(3))  # decision only
    thresholds: dict[str, float] = field(default_factory=dict)  # per binary head (F1-optimal)
    harm_calibration: dict[str, Any] = field(default_factory=lambda: {"kind": "none"})
    meta: dict[str, Any] = field(default_factory=dict)
    model_version: str = ""

    def __post_init__(self) -> None:
        self._dense_map: np.ndarray | None = None

    # ----- scoring -------------------------------------------------------------------------
    def _weights(self) -> np.ndarray:
        if self._dense_map is None:
            full = np.zeros((self.vectorizer.n_features, self.coef.shape[0]), dtype=np.float32)
            full[self.columns] = self.coef.T
            self._dense_map = full
        return self._dense_map

    def raw(self, texts: Sequence[str], detection: Sequence[str] | None = None) \
            -> dict[str, np.ndarray]:
        """Probabilities per output for a batch: severity (n,3), each binary head (n,).
        ``detection``: the texts already in detection form (``banks.detection_texts``)."""
        view = model_view(detection) if detection is not None else normalize_all(texts)
        x = self.vectorizer.transform(view)
        z = np.asarray(x @ self._weights()) + self.intercept
        sev = z[:, :3] / self.temperature
        sev = np.exp(sev - sev.max(axis=1, keepdims=True))
        sev /= sev.sum(axis=1, keepdims=True)
        out: dict[str, np.ndarray] = {"severity": sev}
        binary = 1.0 / (1.0 + np.exp(-z[:, 3:]))
        for k, name in enumerate(OUTPUTS[3:]):
            out[name] = binary[:, k]
        if self.harm_calibration.get("kind") == "severity":  # an artifact from before 1.1
            out[HARM] = 1.0 - sev[:, 2]
        else:
            out[HARM] = calibrate(self.harm_calibration, z[:, OUTPUTS.index(HARM)])
        return out

    def predict_severity(self, texts: Sequence[str]) -> np.ndarray:
        """Class index per text, with the CV-chosen offsets applied (macro-F1 decision rule)."""
        sev = self.raw(texts)["severity"]
        return np.argmax(np.log(sev + 1e-12) + self.severity_offsets, axis=1)

    def score(self, texts: Sequence[str], batch_size: int = 2048) -> list[MachineScore]:
        from modops.machine.banks import detection_texts, policy_scores

        out: list[MachineScore] = []
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            det = detection_texts(batch)  # normalised once, read by the heads and the banks
            r = self.raw(batch, det)
            sev = r["severity"].tolist()
            tgt = np.column_stack([r[t] for t in TARGET_LABELS]).tolist()
            prof = r[PROFANITY].tolist()
            nh = r[NOT_HATE].tolist()
            harm = r[HARM].tolist()
            policies = policy_scores(batch, sev, prof, harm, det)
            for i in range(len(sev)):
                s = sev[i]
                pol, evidence, trivial = policies[i]
                out.append(MachineScore(
                    severity=dict(zip(SEVERITY_LABELS, s, strict=True)),
                    targets=dict(zip(TARGET_LABELS, tgt[i], strict=True)),
                    profanity=prof[i],
                    harm=min(1.0, max(0.0, harm[i])),
                    model_version=self.model_version,
                    extra={NOT_HATE: nh[i], "trivial": 1.0} if trivial else {NOT_HATE: nh[i]},
                    policies=pol,
                    evidence=evidence,
                ))
        return out

    # ----- persistence ---------------------------------------------------------------------
    def save(self, path: Path) -> Path:
        """Compressed ``.npz``: idf and weights of kept columns in float16, config as JSON."""
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = dict(self.meta, model_version=self.model_version, temperature=self.temperature,
                    severity_offsets=self.severity_offsets.tolist(), thresholds=self.thresholds,
                    harm_calibration=self.harm_calibration,
                    views=[list(v) for v in self.vectorizer.views],
                    n_bits=self.vectorizer.n_bits, outputs=list(OUTPUTS))
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            columns=self.columns.astype(np.int32),
            idf=self.vectorizer.idf_[self.columns].astype(np.float16),
            coef=self.coef.astype(np.float16),
            intercept=self.intercept.astype(np.float64),
            meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8),
        )
        path.write_bytes(buf.getvalue())
        return path

    @classmethod
    def load(cls, path: Path) -> KoreanHarmModel:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode())
            vec = HashedTfidf([tuple(v) for v in meta["views"]], n_bits=int(meta["n_bits"]))
            idf = np.zeros(vec.n_features, dtype=np.float32)
            columns = z["columns"].astype(np.int64)
            idf[columns] = z["idf"].astype(np.float32)
            vec.idf_ = idf
            coef, intercept = z["coef"].astype(np.float32), z["intercept"]
            calibration = meta.get("harm_calibration") or {"kind": "none"}
            if coef.shape[0] == len(OUTPUTS) - 1:  # 1.0 artifacts had no harm head
                coef = np.vstack([coef, np.zeros((1, coef.shape[1]), np.float32)])
                intercept = np.r_[intercept, 0.0]
                calibration = {"kind": "severity"}
            return cls(vectorizer=vec, coef=coef, columns=columns,
                       harm_calibration=calibration,
                       intercept=intercept, temperature=float(meta["temperature"]),
                       severity_offsets=np.asarray(meta["severity_offsets"], dtype=float),
                       thresholds={k: float(v) for k, v in meta["thresholds"].items()},
                       meta=meta, model_version=meta["model_version"])


# ----- training ------------------------------------------------------------------------------
@dataclass
class TrainingData:
    """Texts and labels for each head; ``extra`` holds (text, labels) pairs from human review."""

    severity_texts: list[str]
    severity_labels: list[str]
    target_rows: list[tuple[str, dict[str, int]]]  # per row: labels known for that row
    profanity_rows: list[tuple[str, int]]
    kmhas_rows: list[tuple[str, int]]  # (text, 1 if not hate)
    unlabeled: list[str]
    harm_rows: list[tuple[str, int]] = field(default_factory=list)  # (text, 1 if harmful)


def base_training_data(config: TrainConfig | None = None) -> TrainingData:
    """The shipped datasets, mapped to the taxonomy (dev/test splits are never read here)."""
    from modops.machine import data as d

    cfg = config or TrainConfig()
    rng = np.random.default_rng(cfg.seed)

    def cap(rows: list[Any]) -> list[Any]:
        if cfg.limit is None or len(rows) <= cfg.limit:
            return rows
        idx = np.sort(rng.choice(len(rows), cfg.limit, replace=False))
        return [rows[i] for i in idx]

    beep = cap(d.read_beep("train"))
    kmhas = cap(d.read_kmhas("valid"))
    curse = cap(d.read_curse("train"))  # the test split checks calibration on a 3rd domain
    target_rows: list[tuple[str, dict[str, int]]] = []
    for r in beep:  # BEEP! bias only speaks for gender and "other"
        target_rows.append((r.text, {"gender": int(r.bias == "gender"),
                                     "other": int(r.bias == "others")}))
    kmhas_targets = ("origin", "physical", "politics", "age", "gender", "race", "religion")
    for text, labels in kmhas:
        target_rows.append((text, {t: int(t in labels) for t in kmhas_targets}))
    profanity_rows = [(t, y) for t, y in curse] + [(t, int("profanity" in ls)) for t, ls in kmhas]
    return TrainingData(
        severity_texts=[r.text for r in beep],
        severity_labels=[r.hate for r in beep],
        target_rows=target_rows,
        profanity_rows=profanity_rows,
        kmhas_rows=[(t, int("not_hate" in ls)) for t, ls in kmhas],
        unlabeled=cap(d.read_beep_unlabeled()) if cfg.use_unlabeled else [],
        harm_rows=([(r.text, int(r.hate != "none")) for r in beep]
                   + [(t, int("not_hate" not in ls)) for t, ls in kmhas] + list(curse)),
    )


def _best_f1_threshold(y: np.ndarray, p: np.ndarray) -> float:
    order = np.argsort(-p)
    ys, ps = y[order], p[order]
    tp = np.cumsum(ys)
    k = np.arange(1, len(ys) + 1)
    f1 = 2 * tp / (k + max(int(ys.sum()), 1))
    i = int(np.argmax(f1))
    return float(ps[i]) if ys.sum() else 0.5


def _macro_f1(y: np.ndarray, pred: np.ndarray, n: int) -> float:
    f = []
    for c in range(n):
        tp = np.sum((pred == c) & (y == c))
        denom = np.sum(pred == c) + np.sum(y == c)
        f.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(f))


def _tune_offsets(y: np.ndarray, logp: np.ndarray) -> np.ndarray:
    """Additive log-prob offsets for hate/offensive maximizing OOF macro-F1 (coarse grid)."""
    best = (_macro_f1(y, logp.argmax(1), 3), 0.0, 0.0)
    grid = np.round(np.arange(-0.6, 0.61, 0.1), 2)
    for a in grid:
        for b in grid:
            f = _macro_f1(y, (logp + np.array([a, b, 0.0])).argmax(1), 3)
            if f > best[0] + 1e-9:
                best = (f, float(a), float(b))
    # shrink towards zero: the grid optimum on ~8k OOF rows overfits a little
    return np.array([best[1] / 2, best[2] / 2, 0.0])


def calibrate(cal: dict[str, Any], z: np.ndarray) -> np.ndarray:
    """A head's logit → calibrated probability (Platt: sigmoid(a·z + b); isotonic: the fitted
    step function, interpolated; none: plain sigmoid)."""
    z = np.asarray(z, dtype=float)
    if cal.get("kind") == "platt":
        return 1.0 / (1.0 + np.exp(-(cal["a"] * z + cal["b"])))
    if cal.get("kind") == "isotonic":
        return np.interp(z, np.asarray(cal["x"]), np.asarray(cal["y"]))
    return 1.0 / (1.0 + np.exp(-z))


def fit_calibration(z: np.ndarray, y: np.ndarray, seed: int = SEED, folds: int = 5) \
        -> tuple[dict[str, Any], dict[str, float]]:
    """Choose Platt or isotonic for out-of-fold logits ``z`` by cross-validated Brier score,
    then fit the winner on all of them. Returns the calibration and each method's CV Brier."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    def fit(kind: str, zz: np.ndarray, yy: np.ndarray) -> dict[str, Any]:
        if kind == "platt":
            m = LogisticRegression(C=1e6, max_iter=1000).fit(zz[:, None], yy)
            return {"kind": "platt", "a": float(m.coef_[0, 0]), "b": float(m.intercept_[0])}
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(zz, yy)
        return {"kind": "isotonic", "x": [float(v) for v in iso.X_thresholds_],
                "y": [float(v) for v in iso.y_thresholds_]}

    brier: dict[str, float] = {}
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for kind in ("platt", "isotonic"):
        err = 0.0
        for tr, va in skf.split(z[:, None], y):
            p = calibrate(fit(kind, z[tr], y[tr]), z[va])
            err += float(((p - y[va]) ** 2).sum())
        brier[kind] = err / len(y)
    best = min(brier, key=brier.__getitem__)
    return fit(best, z, y), brier


def _fit_temperature(y: np.ndarray, logits: np.ndarray) -> float:
    best_t, best_nll = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.3), np.log(3.0), 41)):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        nll = -np.mean(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1)))
        if nll < best_nll:
            best_t, best_nll = float(t), float(nll)
    return best_t


@dataclass
class _Severity:
    """The severity head as trained: weights (3, F), intercepts, calibration and its CV."""

    w: np.ndarray
    b: np.ndarray
    temperature: float
    offsets: np.ndarray
    c: float
    cv_macro_f1: float
    n: int


def _nb_ratio(xb: sp.csr_matrix, idx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """NB log-count ratio (Wang & Manning 2012): scales features before the LR."""
    p = np.asarray(xb[idx][yy[idx] == 1].sum(0)).ravel() + 1.0
    q = np.asarray(xb[idx][yy[idx] == 0].sum(0)).ravel() + 1.0
    return np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)


def _fit_nblr(xs: sp.csr_matrix, xb: sp.csr_matrix, ys: np.ndarray, idx: np.ndarray,
              c: float) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest NB-LR; returns effective linear weights (3, F) and intercepts."""
    from sklearn.linear_model import LogisticRegression

    wk = np.zeros((3, xs.shape[1]), dtype=np.float32)
    bk = np.zeros(3)
    for k in range(3):
        yy = (ys == k).astype(int)
        r = _nb_ratio(xb, idx, yy)
        m = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        m.fit(xs[idx].multiply(r).tocsr(), yy[idx])
        wk[k] = m.coef_[0] * r  # NB scaling folds into the weights: still one matmul
        bk[k] = m.intercept_[0]
    return wk, bk


def _train_severity(cfg: TrainConfig, xs: sp.csr_matrix, labels: list[str],
                    say: Callable[[str], None], t0: float) -> _Severity:
    """Severity: C by CV, then temperature and decision offsets on the out-of-fold scores."""
    from sklearn.model_selection import StratifiedKFold

    ys = np.array([SEVERITY_LABELS.index(v) for v in labels])
    skf = StratifiedKFold(n_splits=cfg.cv_folds, shuffle=True, random_state=cfg.seed)
    folds = list(skf.split(np.zeros(len(ys)), ys))
    xb = (xs > 0).astype(np.float32)
    best: tuple[float, float, np.ndarray] = (-1.0, 1.0, np.zeros((len(ys), 3)))
    for c in cfg.severity_c_grid:
        oof = np.zeros((len(ys), 3))
        for tr, va in folds:
            wk, bk = _fit_nblr(xs, xb, ys, tr, c)
            oof[va] = np.asarray(xs[va] @ wk.T) + bk
        f = _macro_f1(ys, oof.argmax(1), 3)
        say(f"severity C={c}: CV macro-F1 {f:.4f}")
        if f > best[0]:
            best = (f, c, oof)
    cv_f1, c_best, oof = best
    temperature = _fit_temperature(ys, oof)
    z = oof / temperature
    logp = z - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)) - z.max(
        1, keepdims=True)
    offsets = _tune_offsets(ys, logp)
    cv_f1_off = _macro_f1(ys, (logp + offsets).argmax(1), 3)
    if cv_f1_off < cv_f1:  # offsets only if they help out-of-fold
        offsets, cv_f1_off = np.zeros(3), cv_f1
    w, b = _fit_nblr(xs, xb, ys, np.arange(len(ys)), c_best)
    say(f"severity: C={c_best} T={temperature:.2f} offsets={offsets.round(2).tolist()} "
        f"CV macro-F1 {cv_f1:.4f} → {cv_f1_off:.4f} ({time.perf_counter()-t0:.1f}s)")
    return _Severity(w, b, temperature, offsets, c_best, cv_f1_off, len(ys))


def _binary_heads(data: TrainingData) -> list[tuple[str, list[tuple[str, int]]]]:
    heads: list[tuple[str, list[tuple[str, int]]]] = []
    for t in TARGET_LABELS:
        heads.append((t, [(text, labels[t]) for text, labels in data.target_rows if t in labels]))
    heads.append((PROFANITY, data.profanity_rows))
    heads.append((NOT_HATE, data.kmhas_rows))
    return heads


def _head_threshold(cfg: TrainConfig, x: sp.csr_matrix, y: np.ndarray) -> float:
    """The F1-optimal threshold of a binary head on its out-of-fold probabilities."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    oof_p = np.zeros(len(y))
    n_splits = min(3, int(np.bincount(y).min()))
    if n_splits < 2:  # too few positives to cross-validate (tiny smoke runs)
        oof_p[:] = y.mean()
    else:
        skf_b = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=cfg.seed)
        for tr, va in skf_b.split(np.zeros(len(y)), y):
            mb = LogisticRegression(C=cfg.head_c, max_iter=2000).fit(x[tr], y[tr])
            oof_p[va] = mb.predict_proba(x[va])[:, 1]
    return _best_f1_threshold(y, oof_p)


def _train_binary_heads(cfg: TrainConfig, data: TrainingData,
                        feats: Callable[[Sequence[str]], sp.csr_matrix], w: np.ndarray,
                        b: np.ndarray) -> dict[str, float]:
    """Targets, profanity and not_hate: one LR each into rows of ``w``/``b``; returns each
    head's threshold. A head with one class only gets a fixed intercept (±6)."""
    from sklearn.linear_model import LogisticRegression

    thresholds: dict[str, float] = {}
    cache: dict[str, sp.csr_matrix] = {}
    for name, rows in _binary_heads(data):
        k = OUTPUTS.index(name)
        y = np.array([v for _, v in rows])
        if len(rows) == 0 or y.min() == y.max():
            b[k] = -6.0 if len(rows) == 0 or y.max() == 0 else 6.0
            thresholds[name] = 0.5
            continue
        key = hashlib.sha1("\x00".join(t for t, _ in rows).encode()).hexdigest()
        if key not in cache:
            cache[key] = feats([t for t, _ in rows])
        x = cache[key]
        thresholds[name] = _head_threshold(cfg, x, y)
        mb = LogisticRegression(C=cfg.head_c, max_iter=2000).fit(x, y)
        w[k] = mb.coef_[0]
        b[k] = mb.intercept_[0]
    return thresholds


def _harm_c_by_cv(cfg: TrainConfig, hx: sp.csr_matrix, hy: np.ndarray,
                  say: Callable[[str], None]) -> tuple[float, float, np.ndarray]:
    """(CV log-loss, C, out-of-fold logits) of the harm head's best C."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    skf_h = StratifiedKFold(n_splits=3, shuffle=True, random_state=cfg.seed)
    best_h: tuple[float, float, np.ndarray] = (np.inf, 1.0, np.zeros(len(hy)))
    for c in cfg.harm_c_grid:
        oof_z = np.zeros(len(hy))
        for tr, va in skf_h.split(np.zeros(len(hy)), hy):
            mh = LogisticRegression(C=c, max_iter=2000).fit(hx[tr], hy[tr])
            oof_z[va] = mh.decision_function(hx[va])
        p = 1.0 / (1.0 + np.exp(-oof_z))
        ll = float(-np.mean(hy * np.log(p + 1e-12) + (1 - hy) * np.log(1 - p + 1e-12)))
        say(f"harm C={c}: CV log-loss {ll:.4f}")
        if ll < best_h[0]:
            best_h = (ll, c, oof_z)
    return best_h


def _train_harm(cfg: TrainConfig, data: TrainingData,
                feats: Callable[[Sequence[str]], sp.csr_matrix], w: np.ndarray, b: np.ndarray,
                thresholds: dict[str, float], say: Callable[[str], None],
                t0: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """Harm: the union of the three datasets, C by CV log-loss, then calibrated; into its row
    of ``w``/``b`` and ``thresholds``. Returns the calibration and what goes into the meta."""
    from sklearn.linear_model import LogisticRegression

    k = OUTPUTS.index(HARM)
    hy = np.array([v for _, v in data.harm_rows], dtype=int)
    if not (len(hy) and 0 < hy.sum() < len(hy) and int(np.bincount(hy).min()) >= 5):
        b[k] = -6.0 if not len(hy) or hy.max() == 0 else 6.0  # 5-fold calibration impossible
        return {"kind": "none"}, {}
    hx = feats([t for t, _ in data.harm_rows])
    harm_ll, harm_c, oof_z = _harm_c_by_cv(cfg, hx, hy, say)
    harm_cal, brier = fit_calibration(oof_z, hy, cfg.seed)
    thresholds[HARM] = _best_f1_threshold(hy, calibrate(harm_cal, oof_z))
    mh = LogisticRegression(C=harm_c, max_iter=2000).fit(hx, hy)
    w[k], b[k] = mh.coef_[0], mh.intercept_[0]
    say(f"harm: C={harm_c}, calibration {harm_cal['kind']} (CV Brier {brier}) "
        f"({time.perf_counter()-t0:.1f}s)")
    return harm_cal, {"harm_c": harm_c, "harm_cv_log_loss": harm_ll, "harm_cv_brier": brier,
                      "harm_calibration_kind": harm_cal["kind"], "n_harm": len(hy)}


def train(
    config: TrainConfig | None = None,
    data: TrainingData | None = None,
    log: Callable[[str], None] | None = None,
) -> KoreanHarmModel:
    """Train all heads. Deterministic for a given config + data (fixed seeds, sorted inputs)."""
    cfg = config or TrainConfig()
    say = log or (lambda _m: None)
    data = data or base_training_data(cfg)
    t0 = time.perf_counter()

    all_text = (data.severity_texts + [t for t, _ in data.target_rows]
                + [t for t, _ in data.profanity_rows] + data.unlabeled)
    vec = HashedTfidf(cfg.views, n_bits=cfg.n_bits).fit(normalize_all(all_text))
    say(f"features: {int((vec.idf_ > 0).sum()):,} active buckets ({time.perf_counter()-t0:.1f}s)")

    def feats(texts: Sequence[str]) -> sp.csr_matrix:
        return vec.transform(normalize_all(texts))

    w = np.zeros((len(OUTPUTS), vec.n_features), dtype=np.float32)
    b = np.zeros(len(OUTPUTS))
    sev = _train_severity(cfg, feats(data.severity_texts), data.severity_labels, say, t0)
    w[:3], b[:3] = sev.w, sev.b
    thresholds = _train_binary_heads(cfg, data, feats, w, b)
    say(f"binary heads done ({time.perf_counter()-t0:.1f}s)")
    harm_cal, harm_meta = _train_harm(cfg, data, feats, w, b, thresholds, say, t0)

    columns = np.flatnonzero(vec.idf_ > 0)
    model = KoreanHarmModel(
        vectorizer=vec, coef=w[:, columns], columns=columns, intercept=b,
        temperature=sev.temperature, severity_offsets=sev.offsets, thresholds=thresholds,
        harm_calibration=harm_cal,
        meta={**harm_meta, "config": cfg.to_dict(), "severity_c": sev.c,
              "cv_macro_f1": sev.cv_macro_f1,
              "train_seconds": round(time.perf_counter() - t0, 1),
              "n_severity": sev.n, "n_extra": len(data.severity_texts) - 0},
    )
    model.model_version = version_of(model)
    return model


def version_of(model: KoreanHarmModel) -> str:
    """``ko-harm-1.0+<hash of the weights>``: equal weights ⇔ equal version."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(model.coef.astype(np.float16)).tobytes())
    h.update(np.ascontiguousarray(model.intercept).tobytes())
    h.update(np.ascontiguousarray(model.columns).tobytes())
    h.update(json.dumps([model.temperature, model.severity_offsets.tolist(),
                         model.harm_calibration]).encode())
    return f"{MODEL_FAMILY}-{MODEL_MAJOR}+{h.hexdigest()[:10]}"


def load_builtin(version: str | None = None) -> KoreanHarmModel:
    """The active registered model, else the artifact shipped with the package."""
    from modops.machine.registry import Registry

    return Registry().load(version)
