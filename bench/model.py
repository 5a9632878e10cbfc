"""Benchmark the built-in Korean model: one-core scoring throughput and held-out quality.

Threads are pinned to 1 (OMP/OPENBLAS/MKL) before numpy loads, so ``items_per_s`` is a
single-core number. Texts are ~80-character comments built from BEEP! train comments.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table, row, write_results  # noqa: E402
from modops.machine.data import read_beep  # noqa: E402
from modops.machine.evaluate import evaluate_beep, evaluate_kmhas  # noqa: E402
from modops.machine.registry import Registry  # noqa: E402


def eighty_char_texts(n: int) -> list[str]:
    comments = [r.text for r in read_beep("train")]
    out: list[str] = []
    i = 0
    while len(out) < n:
        t = comments[i % len(comments)]
        while len(t) < 80:
            i += 1
            t = f"{t} {comments[i % len(comments)]}"
        out.append(t[:80])
        i += 1
    return out


def main() -> None:
    model = Registry().load()
    texts = eighty_char_texts(50_000)
    model.score(texts[:2048])  # warm-up (weight matrix materialization)
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        model.score(texts)
        best = max(best, len(texts) / (time.perf_counter() - t0))
    beep = evaluate_beep(model)
    kmhas = evaluate_kmhas(model)
    case = f"ko-harm {model.model_version}"
    rows = [
        row(case, "modops", "none", "items_per_s", round(best, 1), "items/s"),
        row(case, "modops", "none", "beep_dev_macro_f1", round(beep.macro_f1, 4), "F1"),
        row(case, "modops", "none", "kmhas_test_macro_f1", round(kmhas.macro_f1, 4), "F1"),
        row(case, "modops", "none", "kmhas_test_micro_f1", round(kmhas.micro_f1 or 0, 4), "F1"),
        row(case, "modops", "none", "beep_dev_ece", round(beep.ece or 0, 4), "ECE"),
    ]
    print_table(rows, "built-in Korean model (1 thread)")
    print(write_results("model", rows))


if __name__ == "__main__":
    main()
