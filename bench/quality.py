"""Benchmark: Krippendorff's alpha over 1M annotations, Dawid–Skene over 10M annotations.

Synthetic, seeded data shaped like a moderation queue: items get ``k`` distinct labelers
from a pool; labelers have varied accuracy and a share of them are spammers answering
uniformly at random. Targets (issue 6): alpha < 2 s, Dawid–Skene < 60 s, peak RSS < 4 GB.

    .venv/bin/python bench/quality.py [--skip-crowdkit]

crowd-kit's DawidSkene is timed on a smaller size in a child process (so its memory does
not count toward our peak RSS) for comparison; the same size is timed for ModOps.
"""

from __future__ import annotations

import argparse
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
    prior = np.array([0.6, 0.2, 0.12, 0.08])[:n_labels]
    prior = prior / prior.sum() if len(prior) == n_labels else np.full(n_labels, 1 / n_labels)
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


def _crowdkit_child(n_items: int, k: int, q: Any) -> None:
    import pandas as pd
    from crowdkit.aggregation import DawidSkene as CKDawidSkene

    d = synth(n_items, k, 4, 200, SEED)
    df = pd.DataFrame({"task": d["task"], "worker": d["worker"], "label": d["label"]})
    t0 = time.perf_counter()
    ck = CKDawidSkene(n_iter=100, tol=1e-5).fit(df)
    q.put((time.perf_counter() - t0, len(ck.loss_history_)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-crowdkit", action="store_true")
    ap.add_argument("--crowdkit-items", type=int, default=100_000)
    args = ap.parse_args()
    rows = []

    # ---- Krippendorff's alpha, 1M annotations (100k items × 10 labelers from 200, 4 labels)
    d = synth(100_000, 10, 4, 200, SEED)
    t0 = time.perf_counter()
    alpha = krippendorff_alpha(d["task"], d["worker"], d["label"])
    t_alpha = time.perf_counter() - t0
    rows.append(row("alpha 1M annotations", "modops", "memory", "alpha_1m_s", t_alpha, "s"))
    print(f"alpha={alpha:.4f} in {t_alpha:.3f}s", flush=True)
    del d

    # ---- Dawid–Skene, 10M annotations (1M items × 10 labelers from 200, 4 classes)
    d = synth(1_000_000, 10, 4, 200, SEED + 1)
    data = {"task": d["task"], "worker": d["worker"], "label": d["label"]}
    t0 = time.perf_counter()
    ds = DawidSkene(n_iter=100, tol=1e-5).fit(data)
    t_ds = time.perf_counter() - t0
    acc_ds = float((ds.labels_ == d["truth"]).mean())
    print(f"dawid-skene: {t_ds:.2f}s, {ds.n_iter_} iterations, accuracy {acc_ds:.4f}", flush=True)
    mv = MajorityVote().fit_predict(data)
    acc_mv = float((mv == d["truth"]).mean())
    rows.append(row("dawid-skene 10M annotations", "modops", "memory", "dawid_skene_10m_s",
                    t_ds, "s"))
    rows.append(row("dawid-skene 10M annotations", "modops", "memory", "em_iterations",
                    ds.n_iter_, "count"))
    rows.append(row("dawid-skene 10M annotations", "modops", "memory", "accuracy_vs_truth",
                    acc_ds, "share"))
    rows.append(row("majority vote 10M annotations", "modops", "memory", "accuracy_vs_truth",
                    acc_mv, "share"))
    del d, data, ds, mv
    rows.append(row("alpha 1M + dawid-skene 10M", "modops", "memory", "peak_rss_mb",
                    peak_rss_mb(), "MB"))

    # ---- comparison with crowd-kit on a smaller size (child process)
    if not args.skip_crowdkit:
        n_small = args.crowdkit_items
        case = f"dawid-skene {n_small * 10 // 1000}k annotations"
        d = synth(n_small, 10, 4, 200, SEED)
        t0 = time.perf_counter()
        ds_small = DawidSkene(n_iter=100, tol=1e-5).fit(
            {"task": d["task"], "worker": d["worker"], "label": d["label"]})
        rows.append(row(case, "modops", "memory", "dawid_skene_s",
                        time.perf_counter() - t0, "s"))
        del ds_small
        q: Any = mp.get_context("spawn").Queue()
        p = mp.get_context("spawn").Process(target=_crowdkit_child, args=(n_small, 10, q))
        p.start()
        secs, iters = q.get()
        p.join()
        rows.append(row(case, "crowd-kit", "memory", "dawid_skene_s", secs, "s"))
        rows.append(row(case, "crowd-kit", "memory", "em_iterations", iters, "count"))

    path = write_results("quality", rows)
    print_table(rows, "quality")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
