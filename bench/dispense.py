"""Dispense benchmark: 1, 8 and 32 concurrent labelers doing next_task + submit against
PostgreSQL and SQLite, on a project with 100,000 label slots (k = 1 here, so every pair
finishes a slot; overlap has its own concurrency test).

    python bench/dispense.py [--slots 100000] [--labelers 1,8,32] [--seconds 60] [--processes 8]
                             [--modes separate,chained]

Two ways of doing a pair, measured side by side: ``separate`` is next_task then submit (two
calls), ``chained`` is submit_and_next (the answer and the next lease in one call, what the
API's submit-and-next route runs); rows of the second have system ``modops-chained``.

The labelers are threads spread over up to ``--processes`` client processes (one GIL per
process: with 32 threads in one process the client, not the queue, would set the latency).

Each case runs until its slots are gone or ``--seconds`` pass; pairs/s is what was done over
the time it took. Writes bench/results/dispense.json (pairs_per_s, p50_ms, p99_ms, duplicates).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import print_table, row, write_results

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("MODOPS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def prepare(store: str, slots: int, labelers: int, tmp: Path, tag: str = "") \
        -> tuple[str, list[int], object]:
    from sqlalchemy import text
    from sqlalchemy.pool import NullPool

    from modops.accounts import add_user
    from modops.projects import create_project, get_project, load_spec, update_project
    from modops.queue import ingest_file
    from modops.store import make_engine, session_scope, upgrade

    if store == "sqlite":
        path = tmp / f"dispense-{labelers}{tag}.db"
        url = f"sqlite:///{path}"
        cleanup = None
    else:
        schema = f"modops_dispense_{os.getpid()}_{labelers}"
        admin = make_engine(PG_URL, poolclass=NullPool)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"

        def cleanup() -> None:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))

    engine = make_engine(url)
    upgrade(engine)
    spec = load_spec(REPO / "examples" / "kr-comments.yaml")
    spec.update({"overlap": 1, "gold_rate": 0, "audit_rate": 0, "routing": {}, "teams": [],
                 "required_skills": []})
    with session_scope(engine) as s:
        create_project(s, spec, actor="bench")
        update_project(s, get_project(s, "kr-comments"),
                       {"settings": {"score_on_ingest": False, "prevalence_rate": 0}}, "bench")
        users = [add_user(s, f"bench{i}", "labeler").id for i in range(labelers)]
    items = tmp / "items.jsonl"
    if not items.exists():
        import orjson

        with items.open("wb") as f:
            for i in range(slots):
                f.write(orjson.dumps({"external_id": f"d-{i}", "product": "comment",
                                      "comment": f"벤치마크 댓글 {i}",
                                      "machine_score": (i * 7919 % 1000) / 1000}) + b"\n")
    ingest_file(engine, "kr-comments", items, "jsonl")
    engine.dispose()
    return url, users, cleanup


def run_case(store: str, labelers: int, slots: int, seconds: float, tmp: Path,
             processes: int, chained: bool) -> list[dict]:
    from modops.simulate.load import run_labelers

    url, users, cleanup = prepare(store, slots, labelers, tmp, "-chained" if chained else "")
    try:
        logs, wall = run_labelers(url, "kr-comments", users, processes=min(processes, labelers),
                                  seconds=seconds, chained=chained)
    finally:
        if cleanup:
            cleanup()
    tasks = [t for log in logs for t in log.tasks]
    lat = np.array([x for log in logs for x in log.latencies_ms])
    errors = [e for log in logs for e in log.errors]
    if errors:
        print(f"{store}/{labelers}: {len(errors)} errors, first: {errors[0][:200]}")
    case, system = str(labelers), "modops-chained" if chained else "modops"
    return [
        row(case, system, store, "pairs_per_s", round(len(tasks) / wall, 1), "pairs/s"),
        row(case, system, store, "p50_ms", round(float(np.percentile(lat, 50)), 2), "ms"),
        row(case, system, store, "p99_ms", round(float(np.percentile(lat, 99)), 2), "ms"),
        row(case, system, store, "duplicates", len(tasks) - len(set(tasks)), "slots"),
        row(case, system, store, "pairs_done", len(tasks), "pairs"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slots", type=int, default=100_000)
    parser.add_argument("--labelers", default="1,8,32")
    parser.add_argument("--stores", default="postgresql,sqlite")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--modes", default="separate,chained",
                        help="separate (next_task + submit) and/or chained (submit_and_next)")
    parser.add_argument("--processes", type=int, default=8,
                        help="client processes the labelers (threads) are spread over")
    args = parser.parse_args()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for store in args.stores.split(","):
            for n in (int(x) for x in args.labelers.split(",")):
                for mode in args.modes.split(","):
                    t0 = time.perf_counter()
                    rows += run_case(store, n, args.slots, args.seconds, Path(tmp),
                                     args.processes, chained=mode == "chained")
                    print(f"{store} × {n} labelers, {mode}: done in "
                          f"{time.perf_counter() - t0:.0f}s", flush=True)
    print_table(rows, "Dispense: next_task + submit pairs")
    print(f"wrote {write_results('dispense', rows)}")


if __name__ == "__main__":
    main()
