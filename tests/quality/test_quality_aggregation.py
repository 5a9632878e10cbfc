"""Majority vote and Dawid–Skene: recovery on simulated labelers, crowd-kit parity, per-item API."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from crowdkit import aggregation as ck_mod

from modops.quality import Aggregator, Consensus, DawidSkene, MajorityVote, aggregate_item

K = 4
# Labeler pool: few experts, many "biased" labelers who under-call class 3 (reported as the
# benign class 0 60% of the time — the systematic miss gold items exist to catch), weak
# labelers and spammers who answer uniformly at random.
KINDS = ["expert"] * 4 + ["biased"] * 14 + ["weak"] * 8 + ["spam"] * 14


def simulate(seed: int, n_items: int = 3000,
             per_item: int = 3) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    n_w = len(KINDS)
    truth = rng.choice(K, n_items, p=[0.5, 0.2, 0.15, 0.15])
    tasks = np.repeat(np.arange(n_items), per_item)
    workers = np.argsort(rng.random((n_items, n_w)), axis=1)[:, :per_item].ravel()
    z = truth[tasks]
    labels = np.empty(len(tasks), dtype=np.int64)
    for w, kind in enumerate(KINDS):
        m = np.flatnonzero(workers == w)
        zz, u = z[m], rng.random(len(m))
        wrong = (zz + rng.integers(1, K, len(m))) % K
        if kind == "spam":
            out = rng.integers(0, K, len(m))
        elif kind == "expert":
            out = np.where(u < 0.92, zz, wrong)
        elif kind == "weak":
            out = np.where(u < 0.6, zz, wrong)
        else:
            out = np.where(u < 0.8, zz, wrong)
            out = np.where((zz == 3) & (rng.random(len(m)) < 0.6), 0, out)
        labels[m] = out
    return {"task": tasks, "worker": workers, "label": labels}, truth


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dawid_skene_beats_majority_vote_and_gold_beats_both(seed: int) -> None:
    data, truth = simulate(seed)
    n = len(truth)
    rng = np.random.default_rng(100 + seed)
    gold_items = rng.choice(n, n // 10, replace=False)  # 10% gold rate
    scored = np.ones(n, dtype=bool)
    scored[gold_items] = False  # judge everyone only on non-gold items

    mv = MajorityVote().fit_predict(data)
    ds = DawidSkene().fit(data)
    ds_gold = DawidSkene().fit(data, gold={int(i): int(truth[i]) for i in gold_items})

    acc_mv = (mv == truth)[scored].mean()
    acc_ds = (ds.labels_ == truth)[scored].mean()
    acc_gold = (ds_gold.labels_ == truth)[scored].mean()
    assert acc_ds >= acc_mv + 0.02, (acc_mv, acc_ds)
    assert acc_gold >= acc_ds + 0.01, (acc_ds, acc_gold)

    # spammers are found: their estimated accuracy sits near chance, experts' near truth
    kinds = np.array(KINDS)
    est = ds_gold.worker_accuracy_[np.searchsorted(ds_gold.worker_ids_, np.arange(len(KINDS)))]
    assert est[kinds == "spam"].max() < 0.45
    assert est[kinds == "expert"].min() > 0.8
    # gold posteriors stay pinned
    assert np.all(ds_gold.labels_[gold_items] == truth[gold_items])
    assert np.all(ds_gold.probas_[gold_items].max(axis=1) == 1.0)


def _crowdkit_arrays(ck) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """crowd-kit's fitted values as arrays; its errors_ only has observed (worker, label) rows."""
    probas = ck.probas_.sort_index()[sorted(ck.probas_.columns)].to_numpy()
    errors = ck.errors_.sort_index()[sorted(ck.errors_.columns)]
    rows = np.array(errors.index.tolist())  # (worker, observed label)
    priors = ck.priors_.sort_index().to_numpy()
    return probas, errors.to_numpy(), rows, priors


@pytest.mark.parametrize("with_gold", [False, True])
def test_dawid_skene_matches_crowd_kit(with_gold: bool) -> None:
    data, truth = simulate(seed=11, n_items=400)
    df = pd.DataFrame(data)
    gold = {int(i): int(truth[i]) for i in range(0, 400, 9)} if with_gold else None
    # Same number of EM steps on both sides (the stopping criteria differ: crowd-kit uses the
    # ELBO, we use the log-likelihood), so the iterates must agree up to float round-off.
    ck = ck_mod.DawidSkene(n_iter=40, tol=-np.inf).fit(
        df, true_labels=pd.Series(gold) if gold else None)
    ours = DawidSkene(n_iter=40, tol=-np.inf).fit(data, gold=gold)
    probas, errors, rows, priors = _crowdkit_arrays(ck)
    np.testing.assert_allclose(ours.probas_, probas, atol=1e-8)
    np.testing.assert_allclose(ours.errors_[rows[:, 0], rows[:, 1]], errors, atol=1e-8)
    np.testing.assert_allclose(ours.priors_, priors, atol=1e-8)
    assert np.array_equal(ours.labels_, ck.labels_.sort_index().to_numpy())


def test_dawid_skene_converges_and_loglik_is_monotone() -> None:
    data, _ = simulate(seed=4, n_items=1000)
    ds = DawidSkene(n_iter=1000, tol=1e-7).fit(data)
    assert ds.n_iter_ < 1000
    hist = np.array(ds.loss_history_)
    assert np.all(np.diff(hist) >= -1e-9)  # EM never decreases the likelihood
    np.testing.assert_allclose(ds.probas_.sum(axis=1), 1.0)
    np.testing.assert_allclose(ds.errors_.sum(axis=1), 1.0)


def test_fit_codes_equals_fit_on_ids() -> None:
    data, _ = simulate(seed=5, n_items=300)
    a = DawidSkene(n_iter=20, tol=-np.inf).fit(data)
    b = DawidSkene(n_iter=20, tol=-np.inf).fit_codes(data["task"], data["worker"], data["label"],
                                                      n_labels=K)
    np.testing.assert_allclose(a.probas_, b.probas_)


def test_string_ids_and_taxonomy_order() -> None:
    data = {
        "task": ["v1", "v1", "v1", "v2", "v2", "v2"],
        "worker": ["kim", "lee", "park", "kim", "lee", "park"],
        "label": ["hate", "hate", "none", "none", "none", "none"],
    }
    ds = DawidSkene().fit(data, categories=["none", "hate", "spam"])
    assert list(ds.label_ids_) == ["none", "hate", "spam"]
    assert ds.probas_.shape == (2, 3)
    assert list(ds.labels_) == ["hate", "none"]
    # smoothing (a Dirichlet prior on confusion cells) keeps tiny-data posteriors less extreme
    smooth = DawidSkene(smoothing=1.0).fit(data, categories=["none", "hate", "spam"])
    assert smooth.probas_.max() < ds.probas_.max()
    # gold label never voted is still representable
    ds2 = DawidSkene().fit(data, gold={"v2": "spam"})
    assert "spam" in list(ds2.label_ids_)
    assert ds2.labels_[list(ds2.task_ids_).index("v2")] == "spam"


# ------------------------------------------------------------------ per-item consensus
def test_aggregate_item() -> None:
    assert aggregate_item(["hate", "hate", "none"]) == ("hate", pytest.approx(2 / 3), False)
    assert aggregate_item(["hate", "none"]) == (None, 0.5, True)
    assert aggregate_item(["spam"]) == ("spam", 1.0, False)
    assert aggregate_item([]) == (None, 0.0, False)


def test_aggregators_satisfy_protocol_and_weight_votes() -> None:
    data, _ = simulate(seed=3)
    ds = DawidSkene().fit(data)
    mv = MajorityVote()
    assert isinstance(mv, Aggregator) and isinstance(ds, Aggregator)

    kinds = np.array(KINDS)
    expert = int(np.flatnonzero(kinds == "expert")[0])
    spammers = [int(w) for w in np.flatnonzero(kinds == "spam")[:2]]
    votes = [(expert, 2), (spammers[0], 1), (spammers[1], 1)]
    # two spammers outvote the expert under majority, not under Dawid–Skene
    assert ds.aggregate(votes).label == "2"
    mv_out = mv.aggregate([(w, str(lab)) for w, lab in votes])
    assert isinstance(mv_out, Consensus) and mv_out.label == "1"

    out = ds.predict_item(votes)
    assert out.n_votes == 3 and not out.tie
    assert sum(out.probas.values()) == pytest.approx(1.0)
    assert out.share == pytest.approx(max(out.probas.values()))
    # unknown labeler: treated as the average labeler, still a valid posterior
    new = ds.predict_item([("new-hire", 0)])
    assert new.label is not None and sum(new.probas.values()) == pytest.approx(1.0)
    with pytest.raises(KeyError):
        ds.predict_item([(expert, 99)])


def test_log_space_many_votes_per_item_and_record_input() -> None:
    # 400 votes on one item would underflow a product of probabilities; log space does not
    rng = np.random.default_rng(9)
    records = [{"task": f"t{i % 50}", "worker": f"w{w}", "label": str(int(rng.integers(0, 2)))}
               for w in range(400) for i in range(w % 3, 50, 3)]
    records += [{"task": "big", "worker": f"w{w}", "label": "1"} for w in range(400)]
    records.append({"task": "t1", "worker": "w0", "label": None})  # missing label: dropped
    ds = DawidSkene(n_iter=30).fit(records)
    assert np.all(np.isfinite(ds.probas_))
    big = list(ds.task_ids_).index("big")
    assert ds.labels_[big] == "1"
    mv = MajorityVote().fit(records)
    assert mv.probas_.shape == (51, 2) and not mv.ties_[list(mv.task_ids_).index("big")]


def test_accepts_pandas_frame() -> None:
    data, _ = simulate(seed=6, n_items=200)
    a = DawidSkene(n_iter=10, tol=-np.inf).fit(pd.DataFrame(data))
    b = DawidSkene(n_iter=10, tol=-np.inf).fit(data)
    np.testing.assert_allclose(a.probas_, b.probas_)


def test_unfitted_dawid_skene_says_so() -> None:
    with pytest.raises(RuntimeError, match="fit"):
        DawidSkene().aggregate([("kim", "hate")])
