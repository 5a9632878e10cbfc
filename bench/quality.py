"""Benchmark: Krippendorff's alpha over 1M annotations, Dawid–Skene over 10M annotations.

Synthetic, seeded data shaped like a moderation queue: items get ``k`` distinct labelers
from a pool; labelers have varied accuracy and a share of them are spammers answering
uniformly at random. Targets (issue 6): alpha < 2 s, Dawid–Skene < 60 s, peak RSS < 4 GB.

    .venv/bin/python bench/quality.py [--skip-libraries] [--crowdkit-items N]

For comparison, the ``krippendorff`` package is timed on the same 1M annotations, and
crowd-kit's DawidSkene on the same 10M annotations in a child process (so its memory does
not count toward our peak RSS; it reports its own).
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mb, print_table, row, write_results
from modops.quality import DawidSkene, MajorityVote, krippendorff_alpha

SEED = 20240601


def synth(n_items: int, k: int, n_labels: int, n_workers: int,
          seed: int) -> dict[str, np.ndarray]:
    """``n_items × k`` annotations; 20% spammers, the rest accuracy uniform in [0.55, 0.95]."""
    rng = np.random.default_rng(seed)
    acc = rng.uniform(0.55, 0.95, n_workers)
    spam = rng.random(n_workers) < 0.2
    prior = np.full(n_labels, 1.0 / n_labels)
    if n_labels == 4:  # mostly benign content, as in a moderation queue
        prior = np.array([0.6, 0.2, 0.12, 0.08])
    truth = rng.choice(n_labels, n_items, p=prior).astype(np.int8)
    start = rng.integers(0, n_workers, n_items, dtype=np.int32)
    task = np.repeat(np.arange(n_items, dtype=np.int32), k)
    worker = np.repeat(start, k)
    worker += np.tile(np.arange(k, dtype=np.int32), n_items)
    worker %= n_workers  # k distinct labelers per item
    z = np.repeat(truth, k)
    correct = rng.random(len(task), dtype=np.float32) < acc[worker].astype(np.float32)
    wrong = (z + rng.integers(1, n_labels, len(task), dtype=np.int8)) % n_labels
    label = np.where(correct, z, wrong).astype(np.int8)
    sp_rows = spam[worker]
    label[sp_rows] = rng.integers(0, n_labels, int(sp_rows.sum()), dtype=np.int8)
    return {"task": task, "worker": worker, "label": label, "truth": truth}


def _crowdkit_child(n_items: int, k: int, seed: int, q: Any) -> None:
    import pandas as pd
    from crowdkit.aggregation import DawidSkene as CKDawidSkene

    d = synth(n_items, k, 4, 200, seed)
    df = pd.DataFrame({"task": d["task"], "worker": d["worker"], "label": d["label"]})
    t0 = time.perf_counter()
    ck = CKDawidSkene(n_iter=100, tol=1e-5).fit(df)
    secs = time.perf_counter() - t0
    acc = float((ck.labels_.sort_index().to_numpy() == d["truth"]).mean())
    q.put((secs, len(ck.loss_history_), acc, peak_rss_mb()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-libraries", action="store_true",
                    help="skip the krippendorff and crowd-kit comparison rows")
    ap.add_argument("--crowdkit-items", type=int, default=1_000_000,
                    help="items (x10 annotations) for the crowd-kit comparison")
    args = ap.parse_args()
    rows = []

    # ---- Krippendorff's alpha, 1M annotations (100k items × 10 labelers from 200, 4 labels)
    d = synth(100_000, 10, 4, 200, SEED)
    t0 = time.perf_counter()
    alpha = krippendorff_alpha(d["task"], d["worker"], d["label"])
    t_alpha = time.perf_counter() - t0
    rows.append(row("alpha 1M annotations", "modops", "memory", "alpha_1m_s", t_alpha, "s"))
    print(f"alpha={alpha:.6f} in {t_alpha:.3f}s", flush=True)
    if not args.skip_libraries:
        import krippendorff

        t0 = time.perf_counter()  # the library takes a wide labelers × items matrix
        wide = np.full((200, 100_000), np.nan)
        wide[d["worker"], d["task"]] = d["label"]
        lib = krippendorff.alpha(reliability_data=wide, level_of_measurement="nominal",
                                 value_domain=[0, 1, 2, 3])
        t_lib = time.perf_counter() - t0
        assert abs(lib - alpha) < 1e-9, (lib, alpha)
        rows.append(row("alpha 1M annotations", "krippendorff", "memory", "alpha_1m_s", t_lib,
                        "s"))
        del wide
    del d

    # ---- Dawid–Skene, 10M annotations (1M items × 10 labelers from 200, 4 classes)
    case = "dawid-skene 10M annotations"
    d = synth(1_000_000, 10, 4, 200, SEED + 1)
    data = {"task": d["task"], "worker": d["worker"], "label": d["label"]}
    t0 = time.perf_counter()
    ds = DawidSkene(n_iter=100, tol=1e-5).fit(data)
    t_ds = time.perf_counter() - t0
    acc_ds = float((ds.labels_ == d["truth"]).mean())
    print(f"dawid-skene: {t_ds:.2f}s, {ds.n_iter_} iterations, accuracy {acc_ds:.4f}", flush=True)
    rows.append(row(case, "modops", "memory", "dawid_skene_10m_s", t_ds, "s"))
    rows.append(row(case, "modops", "memory", "em_iterations", ds.n_iter_, "count"))
    rows.append(row(case, "modops", "memory", "accuracy_vs_truth", acc_ds, "share"))
    del ds
    # worst case: EM forced to run 50 iterations (a slowly converging project)
    t0 = time.perf_counter()
    DawidSkene(n_iter=50, tol=-np.inf).fit(data)
    t_50 = time.perf_counter() - t0
    print(f"dawid-skene 50 forced iterations: {t_50:.2f}s", flush=True)
    rows.append(row(case + ", 50 EM iterations forced", "modops", "memory",
                    "dawid_skene_10m_50iter_s", t_50, "s"))
    mv = MajorityVote().fit_predict(data)
    rows.append(row("majority vote 10M annotations", "modops", "memory", "accuracy_vs_truth",
                    float((mv == d["truth"]).mean()), "share"))
    del d, data, mv
    rows.append(row("alpha 1M + dawid-skene 10M", "modops", "memory", "peak_rss_mb",
                    peak_rss_mb(), "MB"))

    # ---- crowd-kit's DawidSkene on the same data, in a child process (own RSS)
    if args.skip_libraries or importlib.util.find_spec("crowdkit") is None:
        print("crowd-kit comparison skipped (not installed or --skip-libraries)")
    else:
        n_small = args.crowdkit_items
        ck_case = f"dawid-skene {n_small * 10 / 1e6:g}M annotations"
        ctx = mp.get_context("spawn")
        q: Any = ctx.Queue()
        p = ctx.Process(target=_crowdkit_child, args=(n_small, 10, SEED + 1, q))
        p.start()
        secs, iters, acc, rss = q.get()
        p.join()
        print(f"crowd-kit: {secs:.2f}s, {iters} iterations, accuracy {acc:.4f}, "
              f"rss {rss:.0f} MB", flush=True)
        rows.append(row(ck_case, "crowd-kit", "memory", "dawid_skene_s", secs, "s"))
        rows.append(row(ck_case, "crowd-kit", "memory", "em_iterations", iters, "count"))
        rows.append(row(ck_case, "crowd-kit", "memory", "accuracy_vs_truth", acc, "share"))
        rows.append(row(ck_case, "crowd-kit", "memory", "peak_rss_mb", rss, "MB"))

    path = write_results("quality", rows)
    print_table(rows, "quality")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
