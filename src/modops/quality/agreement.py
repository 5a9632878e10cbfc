"""Inter-annotator agreement on long ``(item, labeler, label)`` data, vectorized.

All coefficients are nominal (labels are unordered policy categories). Missing data is the
natural state of a labeling queue: every item is seen by a few of many labelers; an absent row
(or a None/NaN label) is "missing". Everything reduces to counts ``n_uc`` (how many labels of
category ``c`` unit ``u`` received), computed with one sort, so 1M annotations take well under
a second. Tests cross-check against ``krippendorff``, ``statsmodels`` and ``scikit-learn``;
those libraries take wide (labeler × item) matrices, which do not scale to thousands of
labelers, which is why the formulas are re-implemented here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._codes import Annotations, FloatArray, IntArray, _is_missing, factorize


def _codes(items: ArrayLike, labelers: ArrayLike | None, labels: ArrayLike) -> Annotations:
    return Annotations.from_arrays(items, labelers, labels)


def _unit_counts(units: IntArray, labels: IntArray, n_labels: int) -> tuple[IntArray, IntArray,
                                                                          FloatArray, FloatArray]:
    """Sparse ``n_uc``: returns (unit, label, n_uc, m_u-per-entry) for each present pair."""
    k = max(n_labels, 1)
    keys, n_uc = np.unique(units * k + labels, return_counts=True)
    unit = keys // k
    lab = keys - unit * k
    m_u = np.bincount(unit, weights=n_uc)[unit]
    return unit, lab, n_uc.astype(np.float64), m_u


# --------------------------------------------------------------------------- Krippendorff
def _alpha_from_counts(
    unit: IntArray, lab: IntArray, n_uc: FloatArray, m_u: FloatArray, n_labels: int,
    group: IntArray | None = None, n_groups: int = 1,
) -> FloatArray:
    """Nominal alpha per group from sparse unit×label counts (Krippendorff 2011, §C).

    With coincidences ``o_ck = Σ_u (n_uc n_uk − [c=k] n_uc) / (m_u − 1)`` over pairable units
    (``m_u ≥ 2``) and ``n_c = Σ_k o_ck``, nominal alpha is
    ``1 − (n − 1) · (n − Σ_c o_cc) / (n² − Σ_c n_c²)``.
    """
    pair = m_u >= 2
    g = np.zeros(len(unit), dtype=np.int64) if group is None else group
    g, lab, n_uc, m_u = g[pair], lab[pair], n_uc[pair], m_u[pair]
    n = np.bincount(g, weights=n_uc, minlength=n_groups)
    o_diag = np.bincount(g, weights=n_uc * (n_uc - 1.0) / (m_u - 1.0), minlength=n_groups)
    n_c = np.bincount(g * n_labels + lab, weights=n_uc, minlength=n_groups * n_labels)
    sum_nc2 = (n_c.reshape(n_groups, n_labels) ** 2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        d_e = n * n - sum_nc2
        alpha = 1.0 - (n - 1.0) * (n - o_diag) / d_e
    return np.where(d_e > 0, alpha, np.nan)


def krippendorff_alpha(items: ArrayLike, labelers: ArrayLike | None, labels: ArrayLike) -> float:
    """Krippendorff's alpha, nominal metric, any number of labelers, missing data allowed.

    Krippendorff, K. (2011). *Computing Krippendorff's Alpha-Reliability*. Annenberg School
    for Communication, University of Pennsylvania. http://repository.upenn.edu/asc_papers/43

    Units with fewer than two labels are not pairable and are ignored, as in the paper.
    ``labelers`` is accepted for a uniform signature; alpha depends only on the values per
    unit. Returns NaN when all pairable values fall in one category (alpha is undefined).
    """
    a = _codes(items, labelers, labels)
    if len(a) == 0:
        return float("nan")
    unit, lab, n_uc, m_u = _unit_counts(a.tasks, a.labels, a.n_labels)
    return float(_alpha_from_counts(unit, lab, n_uc, m_u, a.n_labels)[0])


def krippendorff_alpha_by(
    groups: ArrayLike, items: ArrayLike, labelers: ArrayLike | None, labels: ArrayLike
) -> dict[Hashable, float]:
    """Nominal alpha computed separately within each group (project, team, period, …).

    A unit is the pair (group, item), so the same item in two periods is two units.
    """
    lab_arr = np.asarray(labels)
    keep = ~_is_missing(lab_arr)
    g_codes, g_ids = factorize(np.asarray(groups)[keep])
    a = Annotations.from_arrays(
        np.asarray(items)[keep], None if labelers is None else np.asarray(labelers)[keep],
        lab_arr[keep],
    )
    unit_codes, _ = factorize(g_codes * max(a.n_tasks, 1) + a.tasks)
    unit, lab, n_uc, m_u = _unit_counts(unit_codes, a.labels, a.n_labels)
    unit_group = np.zeros(int(unit_codes.max()) + 1 if len(unit_codes) else 0, dtype=np.int64)
    unit_group[unit_codes] = g_codes
    alpha = _alpha_from_counts(unit, lab, n_uc, m_u, a.n_labels, unit_group[unit], len(g_ids))
    return {k: float(v) for k, v in zip(g_ids.tolist(), alpha, strict=True)}


def krippendorff_alpha_per_label(
    items: ArrayLike, labelers: ArrayLike | None, labels: ArrayLike
) -> dict[Hashable, float]:
    """One-vs-rest nominal alpha for each category ("how reliably is *hate speech* applied").

    For category ``c`` the data is binarised to (c, not c). With ``a = n_uc`` the disagreeing
    coincidences reduce to ``Σ_u 2a(m_u − a)/(m_u − 1)``, so every category is one bincount.
    """
    a = _codes(items, labelers, labels)
    k = a.n_labels
    unit, lab, n_uc, m_u = _unit_counts(a.tasks, a.labels, k)
    pair = m_u >= 2
    lab, n_uc, m_u = lab[pair], n_uc[pair], m_u[pair]
    n = float(np.bincount(unit[pair], weights=n_uc).sum())
    disagree = np.bincount(lab, weights=2.0 * n_uc * (m_u - n_uc) / (m_u - 1.0), minlength=k)
    n_c = np.bincount(lab, weights=n_uc, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        d_e = n * n - n_c**2 - (n - n_c) ** 2
        alpha = np.where(d_e > 0, 1.0 - (n - 1.0) * disagree / d_e, np.nan)
    return {c: float(v) for c, v in zip(a.label_ids.tolist(), alpha, strict=True)}


# --------------------------------------------------------------------------- Fleiss
def fleiss_kappa_table(table: ArrayLike) -> float:
    """Fleiss' kappa from an items × categories count table.

    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
    *Psychological Bulletin*, 76(5), 378–382. https://doi.org/10.1037/h0031619

    Fleiss assumes the same number ``n`` of ratings per item. When counts vary (a queue with
    re-labels), per-item agreement ``P_i = (Σ_j n_ij² − n_i) / (n_i(n_i − 1))`` and pooled
    category shares ``p_j = Σ_i n_ij / Σ_i n_i`` are used, which reduces to Fleiss' formula for
    constant ``n``. Items with fewer than two ratings are dropped.
    """
    t = np.asarray(table, dtype=np.float64)
    n_i = t.sum(axis=1)
    t, n_i = t[n_i >= 2], n_i[n_i >= 2]
    if len(t) == 0:
        return float("nan")
    p_i = ((t * t).sum(axis=1) - n_i) / (n_i * (n_i - 1.0))
    p_j = t.sum(axis=0) / n_i.sum()
    p_e = float((p_j * p_j).sum())
    if p_e >= 1.0:
        return float("nan")
    return float((p_i.mean() - p_e) / (1.0 - p_e))


def fleiss_kappa_per_category(table: ArrayLike) -> FloatArray:
    """Fleiss (1971) category-specific kappas ``κ_j`` (eq. 20–21), same variable-n extension.

    ``κ_j = 1 − Σ_i n_ij (n_i − n_ij)/(n_i − 1) / (Σ_i n_i · p_j q_j)``.
    """
    t = np.asarray(table, dtype=np.float64)
    n_i = t.sum(axis=1)
    t, n_i = t[n_i >= 2], n_i[n_i >= 2]
    p_j = t.sum(axis=0) / n_i.sum()
    num = (t * (n_i[:, None] - t) / (n_i[:, None] - 1.0)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(p_j * (1 - p_j) > 0, 1.0 - num / (n_i.sum() * p_j * (1.0 - p_j)),
                        np.nan)


def rating_table(items: ArrayLike, labelers: ArrayLike | None,
                 labels: ArrayLike) -> tuple[FloatArray, NDArray[Any], NDArray[Any]]:
    """Items × categories count table (Fleiss' input form) plus item and label ids."""
    a = _codes(items, labelers, labels)
    k = max(a.n_labels, 1)
    table = np.bincount(a.tasks * k + a.labels, minlength=a.n_tasks * k).reshape(a.n_tasks, k)
    return table.astype(np.float64), a.task_ids, a.label_ids


def fleiss_kappa(items: ArrayLike, labelers: ArrayLike | None, labels: ArrayLike) -> float:
    """Fleiss' kappa (Fleiss 1971) from long data; see :func:`fleiss_kappa_table`."""
    a = _codes(items, labelers, labels)
    if len(a) == 0:
        return float("nan")
    unit, lab, n_uc, m_u = _unit_counts(a.tasks, a.labels, a.n_labels)
    # sparse version of fleiss_kappa_table: never materialises items × categories
    keep = m_u >= 2
    unit, lab, n_uc, m_u = unit[keep], lab[keep], n_uc[keep], m_u[keep]
    if len(unit) == 0:
        return float("nan")
    per_item = np.bincount(unit, weights=n_uc * n_uc)
    m_item = np.bincount(unit, weights=n_uc)
    ok = m_item >= 2
    p_bar = float(((per_item[ok] - m_item[ok]) / (m_item[ok] * (m_item[ok] - 1.0))).mean())
    p_j = np.bincount(lab, weights=n_uc, minlength=a.n_labels) / m_item.sum()
    p_e = float((p_j * p_j).sum())
    return float("nan") if p_e >= 1.0 else (p_bar - p_e) / (1.0 - p_e)


def percent_agreement(items: ArrayLike, labelers: ArrayLike | None, labels: ArrayLike) -> float:
    """Mean over items (with ≥ 2 labels) of the share of agreeing label pairs.

    This is Fleiss' ``P̄`` — the observed-agreement term before chance correction — the
    number ops people mean by "labelers agreed 87% of the time".
    """
    a = _codes(items, labelers, labels)
    if len(a) == 0:
        return float("nan")
    unit, _lab, n_uc, _m = _unit_counts(a.tasks, a.labels, a.n_labels)
    same = np.bincount(unit, weights=n_uc * (n_uc - 1.0))
    m = np.bincount(unit, weights=n_uc)
    ok = m >= 2
    if not ok.any():
        return float("nan")
    return float((same[ok] / (m[ok] * (m[ok] - 1.0))).mean())


# --------------------------------------------------------------------------- Cohen pairwise
@dataclass(frozen=True)
class PairwiseKappa:
    """Cohen's kappa between every pair of labelers, on the items both labeled.

    ``kappa[i, j]`` is symmetric; NaN where the pair shares fewer than ``min_overlap`` items,
    where kappa is undefined (both used a single identical category), and on the diagonal.
    ``n_shared[i, j]`` is the number of items both labeled.
    """

    labelers: NDArray[Any]
    kappa: FloatArray
    n_shared: NDArray[np.int64]

    def get(self, a: Hashable, b: Hashable) -> float:
        idx = {w: i for i, w in enumerate(self.labelers.tolist())}
        return float(self.kappa[idx[a], idx[b]])

    def mean(self) -> float:
        """Mean kappa over labeler pairs with a defined value (each pair counted once)."""
        iu = np.triu_indices(len(self.labelers), 1)
        v = self.kappa[iu]
        v = v[~np.isnan(v)]
        return float(v.mean()) if len(v) else float("nan")


def _within_item_pairs(items: IntArray) -> tuple[IntArray, IntArray]:
    """All index pairs (i, j), i < j, of rows sharing an item; ``items`` must be sorted.

    Iterates over the within-item offset ``d``; the candidate set shrinks to rows that still
    have a partner ``d`` rows ahead, so total work equals the number of pairs.
    """
    n = len(items)
    if n < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    starts = np.flatnonzero(np.r_[True, items[1:] != items[:-1]])
    sizes = np.diff(np.r_[starts, n])
    size_of = np.repeat(sizes, sizes)
    pos = np.arange(n) - np.repeat(starts, sizes)
    remaining = size_of - pos - 1
    cand = np.flatnonzero(remaining >= 1)
    left: list[IntArray] = []
    right: list[IntArray] = []
    d = 1
    while len(cand):
        left.append(cand)
        right.append(cand + d)
        d += 1
        cand = cand[remaining[cand] >= d]
    if not left:  # every item answered once (overlap k = 1): there are no pairs
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(left), np.concatenate(right)


def pairwise_cohen_kappa(
    items: ArrayLike, labelers: ArrayLike, labels: ArrayLike, min_overlap: int = 1
) -> PairwiseKappa:
    """Cohen's (1960) kappa for every labeler pair, computed in one vectorized pass.

    Cohen, J. (1960). A coefficient of agreement for nominal scales. *Educational and
    Psychological Measurement*, 20(1), 37–46.

    For a pair, ``κ = (p_o − p_e) / (1 − p_e)`` over the items both labeled, with ``p_e`` from
    each labeler's own marginals on those items (as ``sklearn.metrics.cohen_kappa_score``).
    Cost is linear in the number of within-item label pairs, not in labelers².
    """
    a = _codes(items, labelers, labels)
    w_n, k = a.n_workers, max(a.n_labels, 1)
    kappa = np.full((w_n, w_n), np.nan)
    shared = np.zeros((w_n, w_n), dtype=np.int64)
    order = np.lexsort((a.workers, a.tasks))
    t, w, lab = a.tasks[order], a.workers[order], a.labels[order]
    i, j = _within_item_pairs(t)
    keep = w[i] != w[j]
    i, j = i[keep], j[keep]
    swap = w[i] > w[j]
    wa, wb = np.where(swap, w[j], w[i]), np.where(swap, w[i], w[j])
    la, lb = np.where(swap, lab[j], lab[i]), np.where(swap, lab[i], lab[j])
    pair_keys, pair = np.unique(wa * w_n + wb, return_inverse=True)
    n_p = len(pair_keys)
    n_ab = np.bincount(pair, minlength=n_p).astype(np.float64)
    p_o = np.bincount(pair, weights=(la == lb).astype(np.float64), minlength=n_p) / n_ab
    ka, ca = np.unique(pair * k + la, return_counts=True)
    kb, cb = np.unique(pair * k + lb, return_counts=True)
    common, ia, ib = np.intersect1d(ka, kb, assume_unique=True, return_indices=True)
    p_e = np.bincount(common // k, weights=ca[ia] * cb[ib].astype(np.float64),
                      minlength=n_p) / (n_ab * n_ab)
    with np.errstate(invalid="ignore", divide="ignore"):
        kap = np.where(p_e < 1.0, (p_o - p_e) / (1.0 - p_e), np.nan)
    kap = np.where(n_ab >= min_overlap, kap, np.nan)
    ra, rb = pair_keys // w_n, pair_keys % w_n
    kappa[ra, rb] = kappa[rb, ra] = kap
    shared[ra, rb] = shared[rb, ra] = n_ab.astype(np.int64)
    return PairwiseKappa(a.worker_ids, kappa, shared)


# --------------------------------------------------------------------------- report
@dataclass(frozen=True)
class AgreementReport:
    """All agreement numbers for one slice (project, label, team, period)."""

    n_annotations: int
    n_items: int
    n_pairable_items: int
    krippendorff_alpha: float
    fleiss_kappa: float
    percent_agreement: float
    mean_pairwise_cohen_kappa: float


def agreement_report(items: ArrayLike, labelers: ArrayLike, labels: ArrayLike) -> AgreementReport:
    """Compute every coefficient once for a slice, for dashboards and period reports."""
    a = _codes(items, labelers, labels)
    t, w, lab = a.tasks, a.workers, a.labels
    pairable = int((np.bincount(t, minlength=a.n_tasks) >= 2).sum()) if len(a) else 0
    return AgreementReport(
        n_annotations=len(a),
        n_items=a.n_tasks,
        n_pairable_items=pairable,
        krippendorff_alpha=krippendorff_alpha(t, w, lab),
        fleiss_kappa=fleiss_kappa(t, w, lab),
        percent_agreement=percent_agreement(t, w, lab),
        mean_pairwise_cohen_kappa=pairwise_cohen_kappa(t, w, lab).mean() if len(a) else
        float("nan"),
    )


# --------------------------------------------------------------------------- label sets
# Multi-label answers ("hate.gender" + "profanity") are sets. Scoring a set as one nominal
# category counts {hate.gender, profanity} vs {hate.gender} as total disagreement; the
# coefficients below give partial credit. Everything derives from the coincidence matrix of
# the distinct sets, o_ST = Σ_u n_uS·(n_uT − [S=T]) / (m_u − 1) over pairable units
# (Krippendorff 2011, §C), which the SQL route in modops.analytics computes in the database.
def as_label_set(value: Any) -> frozenset[str]:
    """A label answer as a set: a list/tuple/set of labels, a JSON list, or "a,b" text."""
    if isinstance(value, frozenset):
        return value
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("["):
            return frozenset(str(x) for x in json.loads(s))
        return frozenset(x.strip() for x in s.split(",") if x.strip())
    return frozenset(str(x) for x in value)


def masi_distance(a: frozenset[str], b: frozenset[str]) -> float:
    """MASI distance (Passonneau 2006): ``1 − J·M`` with Jaccard ``J = |A∩B|/|A∪B|`` and
    monotonicity ``M`` = 1 (equal), 2/3 (one contains the other), 1/3 (they overlap), 0.

    Passonneau, R. (2006). Measuring agreement on set-valued items (MASI) for semantic and
    pragmatic annotation. *LREC 2006*. (NLTK rounds 2/3 and 1/3 to 0.67 and 0.33.)
    """
    if a == b:
        return 0.0
    inter, union = len(a & b), len(a | b)
    if inter == 0:
        return 1.0
    m = 2.0 / 3.0 if (a <= b or b <= a) else 1.0 / 3.0
    return 1.0 - (inter / union) * m


def jaccard_distance(a: frozenset[str], b: frozenset[str]) -> float:
    """``1 − |A∩B| / |A∪B|`` (0 for two empty sets)."""
    union = len(a | b)
    return 0.0 if union == 0 else 1.0 - len(a & b) / union


def _nominal_set_distance(a: frozenset[str], b: frozenset[str]) -> float:
    return float(a != b)


SET_DISTANCES: dict[str, Callable[[frozenset[str], frozenset[str]], float]] = {
    "masi": masi_distance, "jaccard": jaccard_distance, "nominal": _nominal_set_distance}


def set_coincidences(items: ArrayLike, label_sets: ArrayLike
                     ) -> tuple[list[frozenset[str]], FloatArray]:
    """Distinct label sets and their coincidence matrix ``o`` (see the section comment).

    Missing answers (None/NaN) are dropped; an empty set is a value ("no label applies").
    """
    raw = list(cast("Iterable[Any]", label_sets))  # (not asarray: equal-size sets go 2-D)
    item_arr = np.asarray(items, dtype=object)
    keep = np.array([not (v is None or (isinstance(v, float) and math.isnan(v))) for v in raw],
                    dtype=bool)
    sets = [as_label_set(v) for v, k in zip(raw, keep, strict=True) if k]
    if not sets:
        return [], np.zeros((0, 0))
    ids: dict[frozenset[str], int] = {}
    s_codes = np.fromiter((ids.setdefault(v, len(ids)) for v in sets), dtype=np.int64,
                          count=len(sets))
    u_codes, _ = factorize(item_arr[keep])
    k = len(ids)
    unit, lab, n_uc, m_u = _unit_counts(u_codes, s_codes, k)
    pair = m_u >= 2
    unit, lab, n_uc, m_u = unit[pair], lab[pair], n_uc[pair], m_u[pair]
    o = np.zeros((k, k))
    np.add.at(o, (lab, lab), n_uc * (n_uc - 1.0) / (m_u - 1.0))
    order = np.argsort(unit, kind="stable")
    unit, lab, n_uc, m_u = unit[order], lab[order], n_uc[order], m_u[order]
    i, j = _within_item_pairs(unit)
    w = n_uc[i] * n_uc[j] / (m_u[i] - 1.0)
    np.add.at(o, (lab[i], lab[j]), w)
    np.add.at(o, (lab[j], lab[i]), w)
    return list(ids), o


def set_agreement(sets: list[frozenset[str]], o: ArrayLike) -> dict[str, Any]:
    """Every label-set coefficient from the coincidence matrix of the distinct ``sets``.

    * ``alpha_<distance>`` for MASI, Jaccard and nominal distances:
      ``α = 1 − (n − 1) Σ_ST o_ST δ_ST / Σ_ST n_S n_T δ_ST`` with ``n_S = Σ_T o_ST``.
      On single-label data (every set a singleton) all three equal nominal alpha.
    * ``per_label``: binary alpha for each label ``c`` (has ``c`` or not):
      ``α_c = 1 − (n − 1) D_c / (2 n_c (n − n_c))`` with ``D_c = Σ_ST o_ST [c∈S ≠ c∈T]``.
    """
    o = np.asarray(o, dtype=np.float64)
    nan = float("nan")
    out: dict[str, Any] = {"values": 0, "per_label": {}}
    if len(sets) == 0 or o.sum() == 0:
        return {**out, **{f"alpha_{d}": nan for d in SET_DISTANCES}}
    n_s = o.sum(axis=1)
    n = float(n_s.sum())
    out["values"] = round(n)
    expected = np.outer(n_s, n_s)
    for name, dist in SET_DISTANCES.items():
        delta = np.array([[dist(a, b) for b in sets] for a in sets])
        d_e = float((expected * delta).sum())
        out[f"alpha_{name}"] = (1.0 - (n - 1.0) * float((o * delta).sum()) / d_e
                                if d_e > 0 else nan)
    labels = sorted(set().union(*sets))
    has = np.array([[c in s for s in sets] for c in labels], dtype=bool)  # labels × sets
    for c, h in zip(labels, has, strict=True):
        diff = h[:, None] != h[None, :]
        n_c = float(n_s[h].sum())
        d_e = 2.0 * n_c * (n - n_c)
        out["per_label"][c] = (1.0 - (n - 1.0) * float(o[diff].sum()) / d_e
                               if d_e > 0 else nan)
    return out


def krippendorff_alpha_sets(items: ArrayLike, labelers: ArrayLike | None,
                            label_sets: ArrayLike, distance: str = "masi") -> float:
    """Krippendorff's alpha for set-valued (multi-label) answers with the MASI, Jaccard or
    nominal distance; ``labelers`` is accepted for a uniform signature."""
    if distance not in SET_DISTANCES:
        raise ValueError(f"distance must be one of {sorted(SET_DISTANCES)}")
    return float(set_agreement(*set_coincidences(items, label_sets))[f"alpha_{distance}"])


def krippendorff_alpha_per_label_sets(items: ArrayLike, labelers: ArrayLike | None,
                                      label_sets: ArrayLike) -> dict[str, float]:
    """Binary alpha per label on multi-label answers: "was *profanity* applied reliably",
    with every answer that contains the label counting as a yes."""
    return dict(set_agreement(*set_coincidences(items, label_sets))["per_label"])
