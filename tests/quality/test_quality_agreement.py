"""Agreement coefficients: published worked examples and cross-checks with maintained libraries."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats import inter_rater

from modops.quality import (
    agreement_report,
    fleiss_kappa,
    fleiss_kappa_per_category,
    fleiss_kappa_table,
    krippendorff_alpha,
    krippendorff_alpha_by,
    krippendorff_alpha_per_label,
    pairwise_cohen_kappa,
    percent_agreement,
    rating_table,
)

NAN = np.nan

# Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg School for
# Communication, University of Pennsylvania, http://repository.upenn.edu/asc_papers/43 —
# section C, "Nominal data, any number of observers, missing data": 4 observers (rows A–D)
# × 12 units, "." = missing. The paper reports alpha_nominal = 0.743. (The same matrix is the
# doctest of the `krippendorff` package.)
KRIPPENDORFF_2011 = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
])

# Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological
# Bulletin 76(5), 378–382, Table 1: 30 patients, 6 psychiatrists each, 5 diagnoses
# (depression, personality disorder, schizophrenia, neurosis, other). Fleiss reports
# kappa = .430 and category kappas .245, .245, .520, .471, .566. Counts as transcribed in
# JonasMoss/quadagree data_raw/fleiss1971.csv (also the `diagnoses` data of R's irr package).
FLEISS_1971 = np.array([
    [0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0],
    [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6],
    [1, 0, 0, 5, 0], [1, 1, 0, 4, 0], [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1],
    [0, 0, 5, 0, 1], [3, 0, 0, 1, 2], [5, 1, 0, 0, 0], [0, 2, 0, 4, 0], [1, 0, 2, 0, 3],
    [0, 0, 0, 0, 6], [0, 1, 0, 5, 0], [0, 2, 0, 1, 3], [2, 0, 0, 4, 0], [1, 0, 0, 4, 1],
    [0, 5, 0, 1, 0], [4, 0, 0, 0, 2], [0, 2, 0, 4, 0], [1, 0, 5, 0, 0], [0, 0, 0, 0, 6],
])

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories,
# P̄ = 0.378, P̄e = 0.213, kappa = 0.210 (also table0 of statsmodels' test_inter_rater.py).
WIKIPEDIA_FLEISS = np.array([
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
])


def matrix_to_long(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """observers × units matrix with NaN = missing → (unit, observer, value) rows."""
    obs, unit = np.nonzero(~np.isnan(m))
    return unit, obs, m[obs, unit].astype(int)


def table_to_long(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """items × categories counts → (item, category) rows, one per rating."""
    items, cats = np.nonzero(table)
    reps = table[items, cats]
    return np.repeat(items, reps), np.repeat(cats, reps)


def random_long(rng: np.random.Generator, n_items: int, n_workers: int, k: int,
                n_labels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each item gets k distinct labelers; labels agree with a latent truth 70% of the time."""
    truth = rng.integers(0, n_labels, n_items)
    items = np.repeat(np.arange(n_items), k)
    workers = np.concatenate([rng.choice(n_workers, k, replace=False) for _ in range(n_items)])
    noise = rng.integers(0, n_labels, len(items))
    labels = np.where(rng.random(len(items)) < 0.7, truth[items], noise)
    return items, workers, labels


# ------------------------------------------------------------------ published examples
def test_krippendorff_alpha_matches_krippendorff_2011_worked_example() -> None:
    units, observers, values = matrix_to_long(KRIPPENDORFF_2011)
    assert round(krippendorff_alpha(units, observers, values), 3) == 0.743


def test_krippendorff_alpha_accepts_string_labels_and_missing_values() -> None:
    units, observers, values = matrix_to_long(KRIPPENDORFF_2011)
    names = np.array(["none", "hate", "insult", "sexual", "spam"], dtype=object)
    labels = names[values - 1]
    # an explicit missing label is the same as an absent row
    labels = np.concatenate([labels, np.array([None], dtype=object)])
    units = np.concatenate([units, [11]])
    observers = np.concatenate([observers, [0]])
    assert round(krippendorff_alpha(units, observers, labels), 3) == 0.743


def test_fleiss_kappa_matches_fleiss_1971_table_1() -> None:
    assert round(fleiss_kappa_table(FLEISS_1971), 3) == 0.430
    np.testing.assert_allclose(fleiss_kappa_per_category(FLEISS_1971).round(3),
                               [0.245, 0.245, 0.520, 0.471, 0.566])
    items, cats = table_to_long(FLEISS_1971)
    assert round(fleiss_kappa(items, None, cats), 3) == 0.430


def test_fleiss_kappa_matches_wikipedia_worked_example() -> None:
    assert round(fleiss_kappa_table(WIKIPEDIA_FLEISS), 3) == 0.210
    items, cats = table_to_long(WIKIPEDIA_FLEISS)
    assert round(fleiss_kappa(items, None, cats), 3) == 0.210
    assert round(percent_agreement(items, None, cats), 3) == 0.378


# ------------------------------------------------------------------ library cross-checks
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_krippendorff_alpha_equals_krippendorff_package(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_workers, n_items = 12, 300
    items, workers, labels = random_long(rng, n_items, n_workers, 3, 4)
    wide = np.full((n_workers, n_items), np.nan)
    wide[workers, items] = labels
    expected = krippendorff.alpha(reliability_data=wide, level_of_measurement="nominal")
    assert krippendorff_alpha(items, workers, labels) == pytest.approx(expected, abs=1e-12)


def test_per_label_alpha_equals_binarised_krippendorff_package() -> None:
    units, observers, values = matrix_to_long(KRIPPENDORFF_2011)
    per_label = krippendorff_alpha_per_label(units, observers, values)
    for c in (1, 2, 3, 4):
        binary = np.where(np.isnan(KRIPPENDORFF_2011), np.nan, np.equal(KRIPPENDORFF_2011, c))
        expected = krippendorff.alpha(reliability_data=binary, level_of_measurement="nominal")
        assert per_label[c] == pytest.approx(expected, abs=1e-12)


def test_alpha_by_group_equals_alpha_of_each_slice() -> None:
    rng = np.random.default_rng(7)
    items, workers, labels = random_long(rng, 400, 10, 3, 3)
    groups = np.where(items < 150, "team-a", "team-b")
    by = krippendorff_alpha_by(groups, items, workers, labels)
    for g in ("team-a", "team-b"):
        m = groups == g
        assert by[g] == pytest.approx(krippendorff_alpha(items[m], workers[m], labels[m]))


def test_fleiss_kappa_equals_statsmodels_on_random_data() -> None:
    rng = np.random.default_rng(3)
    items, workers, labels = random_long(rng, 500, 20, 5, 4)
    table, _, _ = rating_table(items, workers, labels)
    expected = inter_rater.fleiss_kappa(table, method="fleiss")
    assert fleiss_kappa(items, workers, labels) == pytest.approx(expected, abs=1e-12)
    assert fleiss_kappa_table(table) == pytest.approx(expected, abs=1e-12)


def test_pairwise_cohen_kappa_equals_sklearn_on_shared_items() -> None:
    rng = np.random.default_rng(5)
    items, workers, labels = random_long(rng, 400, 8, 3, 4)
    pk = pairwise_cohen_kappa(items, workers, labels)
    by_worker = {w: dict(zip(items[workers == w], labels[workers == w], strict=True))
                 for w in range(8)}
    checked = 0
    for a in range(8):
        for b in range(a + 1, 8):
            shared = sorted(set(by_worker[a]) & set(by_worker[b]))
            assert pk.n_shared[a, b] == len(shared)
            if len(shared) < 2:
                continue
            ya = [by_worker[a][i] for i in shared]
            yb = [by_worker[b][i] for i in shared]
            assert pk.get(a, b) == pytest.approx(cohen_kappa_score(ya, yb), abs=1e-12)
            assert pk.get(b, a) == pk.get(a, b)
            checked += 1
    assert checked == 28
    assert np.isnan(pk.kappa[0, 0])


def test_agreement_report_is_consistent() -> None:
    units, observers, values = matrix_to_long(KRIPPENDORFF_2011)
    rep = agreement_report(units, observers, values)
    assert rep.n_items == 12 and rep.n_pairable_items == 11 and rep.n_annotations == 41
    assert round(rep.krippendorff_alpha, 3) == 0.743
    assert 0 < rep.percent_agreement <= 1


def test_perfect_and_degenerate_agreement() -> None:
    items = np.repeat(np.arange(5), 3)
    workers = np.tile(np.arange(3), 5)
    labels = items % 2
    assert krippendorff_alpha(items, workers, labels) == pytest.approx(1.0)
    assert fleiss_kappa(items, workers, labels) == pytest.approx(1.0)
    assert percent_agreement(items, workers, labels) == 1.0
    # one category only: chance agreement is 1, coefficients undefined
    assert np.isnan(krippendorff_alpha(items, workers, np.zeros_like(labels)))
    assert np.isnan(fleiss_kappa(items, workers, np.zeros_like(labels)))


# --------------------------------------------------------------------------- label sets
def test_masi_and_jaccard_distances_by_hand() -> None:
    from modops.quality import masi_distance
    from modops.quality.agreement import jaccard_distance
    a, ab, b, bc = (frozenset(x) for x in ("a", "ab", "b", "bc"))
    assert masi_distance(ab, ab) == 0.0
    assert masi_distance(a, b) == 1.0
    assert masi_distance(a, ab) == pytest.approx(1 - 0.5 * 2 / 3)   # subset: J = 1/2, M = 2/3
    assert masi_distance(ab, bc) == pytest.approx(1 - (1 / 3) * (1 / 3))  # overlap: J = 1/3
    assert jaccard_distance(ab, bc) == pytest.approx(2 / 3)


def test_multi_label_alpha_by_hand() -> None:
    """Three items, two labelers each: U1 {a} vs {a,b}; U2 {b} vs {b}; U3 {a} vs {c}.

    Coincidences (m_u = 2, so each ordered pair weighs 1): o({a},{a,b}) = o({a},{c}) = 1 both
    ways, o({b},{b}) = 2. Totals n_{a} = 2, n_{a,b} = 1, n_{b} = 2, n_{c} = 1, n = 6.
    MASI: δ({a},{a,b}) = δ({b},{a,b}) = 1 − ½·⅔ = ⅔, every other distinct pair is disjoint (1).
      observed Σ o δ = 2·⅔ + 2·1 = 10/3; expected Σ n_S n_T δ (ordered) = 2·(2·⅔ + 4 + 2 + 2·⅔
      + 1 + 2) = 70/3; α = 1 − 5·(10/3)/(70/3) = 2/7.
    Jaccard: the two ⅔ become ½: observed 3, expected 2·11 = 22; α = 1 − 15/22 = 7/22.
    Nominal (each set one category): observed 4, expected 2·13 = 26; α = 1 − 20/26 = 3/13.
    Binary per label: a disagrees only on U3 (D = 2), n_a = 3: 1 − 5·2/(2·3·3) = 4/9; b only
    on U1, n_b = 3: 4/9; c on U3, n_c = 1: 1 − 5·2/(2·1·5) = 0.
    """
    from modops.quality import krippendorff_alpha_per_label_sets, krippendorff_alpha_sets
    items = [1, 1, 2, 2, 3, 3, 4]  # item 4 has one answer: not pairable
    labelers = ["x", "y", "x", "y", "x", "y", "x"]
    sets = [["a"], ["a", "b"], "b", ("b",), "a", "c", ["a"]]
    assert krippendorff_alpha_sets(items, labelers, sets) == pytest.approx(2 / 7)
    assert krippendorff_alpha_sets(items, labelers, sets, "jaccard") == pytest.approx(7 / 22)
    assert krippendorff_alpha_sets(items, labelers, sets, "nominal") == pytest.approx(3 / 13)
    assert krippendorff_alpha_per_label_sets(items, labelers, sets) == pytest.approx(
        {"a": 4 / 9, "b": 4 / 9, "c": 0.0})
    # partial credit: the nominal coefficient on joined keys is the lowest of the three
    assert krippendorff_alpha(items, labelers, [",".join(sorted(s)) for s in sets]) == \
        pytest.approx(3 / 13)


def test_set_alpha_equals_nominal_alpha_on_single_labels() -> None:
    from modops.quality import krippendorff_alpha_per_label_sets, krippendorff_alpha_sets
    rng = np.random.default_rng(7)
    items = rng.integers(0, 40, 300)
    labels = rng.choice(["a", "b", "c"], 300, p=[0.6, 0.3, 0.1])
    nominal = krippendorff_alpha(items, None, labels)
    for d in ("masi", "jaccard", "nominal"):
        assert krippendorff_alpha_sets(items, None, [[x] for x in labels], d) == \
            pytest.approx(nominal)
    assert krippendorff_alpha_per_label_sets(items, None, labels.tolist()) == pytest.approx(
        krippendorff_alpha_per_label(items, None, labels))
