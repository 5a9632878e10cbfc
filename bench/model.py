"""Benchmark the built-in Korean model: one-core throughput, held-out quality, evasion and
look-alikes, calibration per source, and what a fresh project's defaults would automate.

Threads are pinned to 1 (OMP/OPENBLAS/MKL) before numpy loads, so ``items_per_s`` is a
single-core number (scoring includes the normaliser, the signal banks and ``MachineScore``s).
Texts are 20,000 ~80-character comments built from BEEP! train comments (best of 2).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mb, print_table, row, write_results  # noqa: E402
from modops.machine import evasion  # noqa: E402
from modops.machine.data import read_beep, read_curse, read_kmhas  # noqa: E402
from modops.machine.evaluate import binary_ece, evaluate_beep, evaluate_kmhas  # noqa: E402
from modops.machine.model import KoreanHarmModel  # noqa: E402
from modops.machine.registry import Registry  # noqa: E402

EXAMPLE_SPEC = Path(__file__).resolve().parents[1] / "examples" / "kr-comments.yaml"


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


def detector(model: KoreanHarmModel) -> Any:
    """"Flagged" for the evasion and look-alike sets: harm or profanity at or above the
    F1-optimal threshold each head got from cross-validation on its training data."""
    t_harm = model.thresholds.get("harm", 0.5)
    t_prof = model.thresholds.get("profanity", 0.5)

    def flagged(texts: list[str]) -> list[bool]:
        return [s.harm >= t_harm or s.policies.get("profanity", 0.0) >= t_prof
                for s in model.score(texts)]
    return flagged


def project_config(spec_routing: dict[str, float] | None) -> Any:
    """A project as ``create_project`` makes it from the example spec, without a database."""
    from modops.domain import Action
    from modops.projects.service import load_spec
    from modops.projects.taxonomy import LabelInfo, TaxonomyRules
    from modops.queue.config import ProjectConfig

    spec = load_spec(EXAMPLE_SPEC)
    labels: dict[str, LabelInfo] = {}

    def walk(items: list[dict[str, Any]], parent: str | None, action: str | None) -> None:
        for lab in items:
            act = lab.get("action", action)
            labels[lab["key"]] = LabelInfo(lab["key"], parent, lab["name_ko"], lab["name_en"],
                                           Action(act), lab.get("shortcut"))
            walk(lab.get("children") or [], lab["key"], act)

    walk(spec["taxonomy"]["labels"], None, None)
    routing = spec_routing or {}
    return ProjectConfig(
        id=1, key="bench", status="active", overlap_k=1, gold_rate=0.0, audit_rate=0.0,
        sla_minutes=1440, lease_seconds=600, auto_action_threshold=routing.get("auto_action"),
        auto_clear_threshold=routing.get("auto_clear"), escalation_threshold=0.66,
        priority_weights={}, required_skills=(), team_ids=(), show_machine_suggestion=False,
        model_version=None, scorer=None, settings={"prevalence_rate": 0.0},
        rules=TaxonomyRules("kr-policy", 1, False, labels))


def auto_action_precision(rows: list[tuple[str, Any]], scores: list[Any],
                          routing: dict[str, float] | None) -> tuple[float, int, int]:
    """Route K-MHaS test the way import routing would; precision of the auto-actions."""
    from modops.queue.planning import RoutePlanner

    planner = RoutePlanner(project_config(routing), datetime(2026, 12, 1), random.Random(0))
    acted = correct = 0
    for (_, labels), s in zip(rows, scores, strict=True):
        d = s.to_dict()
        if s.extra.get("trivial"):
            d["trivial"] = True
        plan = planner.plan(product="comment", score=s.harm, detail=d, version="m", views=0,
                            reported=False, ingested_at=datetime(2026, 12, 1), is_gold=False)
        if plan.route == "auto_action":
            acted += 1
            correct += "not_hate" not in labels
    return (correct / acted if acted else 1.0), acted, len(rows)


COLD = """
import os, resource, sys, time
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[v] = "1"
t0 = time.perf_counter()
from modops.machine import get_scorer
scorer = get_scorer(None)
scorer.score(["모델 로드"])
load = time.perf_counter() - t0
texts = [l.rstrip("\\n") for l in sys.stdin][:4096]
scorer.score(texts)
print(load, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
"""


def cold_start(texts: list[str]) -> tuple[float, float]:
    """A fresh interpreter: seconds from import to the first score (imports, artifact, bank
    regexes, weight map), and peak RSS after scoring 4,096 short comments."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", COLD], input="\n".join(texts), text=True,
                         capture_output=True, check=True, env={**os.environ}).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    model = Registry().load()
    load_s, rss_mb = min(cold_start(eighty_char_texts(4096)) for _ in range(3))
    texts = eighty_char_texts(20_000)
    model.score(texts[:2048])  # warm-up (weight matrix materialization)
    best = best_cpu = 0.0
    for _ in range(2):
        t0, c0 = time.perf_counter(), time.process_time()
        model.score(texts)
        best = max(best, len(texts) / (time.perf_counter() - t0))
        # CPU time of this process: on a shared host the wall clock also counts the time
        # other processes held the core
        best_cpu = max(best_cpu, len(texts) / (time.process_time() - c0))
    beep = evaluate_beep(model)
    kmhas = evaluate_kmhas(model)
    case = f"ko-harm {model.model_version}"
    rows = [
        row(case, "modops", "none", "items_per_s", round(best, 1), "items/s"),
        row(case, "modops", "none", "items_per_cpu_s", round(best_cpu, 1), "items/CPU-s"),
        row(case, "modops", "none", "model_load_s", round(load_s, 3), "s"),
        row(case, "modops", "none", "beep_dev_macro_f1", round(beep.macro_f1, 4), "F1"),
        row(case, "modops", "none", "kmhas_test_macro_f1", round(kmhas.macro_f1, 4), "F1"),
        row(case, "modops", "none", "kmhas_test_micro_f1", round(kmhas.micro_f1 or 0, 4), "F1"),
        row(case, "modops", "none", "beep_dev_ece", round(beep.ece or 0, 4), "ECE"),
    ]
    # calibration of harm on each evaluation source (none of them trained on)
    sources = {
        "beep-dev": [(r.text, int(r.hate != "none")) for r in read_beep("dev")],
        "kmhas-test": [(t, int("not_hate" not in ls)) for t, ls in read_kmhas("test")],
        "curse-test": read_curse("test"),
    }
    scored: dict[str, list[Any]] = {}
    for name, pairs in sources.items():
        scored[name] = model.score([t for t, _ in pairs])
        ece = binary_ece([s.harm for s in scored[name]], [y for _, y in pairs])
        rows.append(row(name, "modops", "none", "harm_ece", round(ece, 4), "ECE"))
    # evasion and look-alikes
    report = evasion.evaluate(detector(model))
    for trick, value in report.retention.items():
        rows.append(row(trick, "modops", "none", "evasion_retention", round(value, 4), "ratio"))
    rows.append(row("lookalikes", "modops", "none", "lookalike_fp_rate",
                    round(report.lookalike_fp_rate, 4), "rate"))
    rows.append(row("controls", "modops", "none", "control_fp_rate",
                    round(report.control_fp_rate, 4), "rate"))
    # what a fresh project automates on K-MHaS test
    for label, routing in (("fresh project (no routing thresholds)", None),
                           ("examples/kr-comments.yaml routing (harm auto_action 0.97)",
                            {"auto_action": 0.97, "auto_clear": 0.03})):
        prec, acted, n = auto_action_precision(read_kmhas("test"), scored["kmhas-test"],
                                               routing)
        rows.append(row(label, "modops", "none", "auto_action_precision_default",
                        round(prec, 4), "precision"))
        rows.append(row(label, "modops", "none", "auto_actions", acted, f"of {n} items"))
    rows.append(row(case, "modops", "none", "scorer_rss_mb", round(rss_mb, 1), "MB"))
    rows.append(row(case, "modops", "none", "bench_peak_rss_mb", round(peak_rss_mb(), 1), "MB"))
    print_table(rows, "built-in Korean model (1 thread)")
    print(write_results("model", rows))


if __name__ == "__main__":
    main()
