"""Background jobs under load: a 1M-item export and a report run as jobs in a worker process
while 32 labelers keep doing next + submit over HTTP; a failing job is retried then failed.

    python bench/jobs.py [--items 1000000] [--labelers 32] [--workers 2] [--job-nice 10]

Layout as deployed (docs/deploy.md): uvicorn app workers with ``MODOPS_JOBS=off`` (they only
enqueue) and one ``modops worker --backend thread`` process running the jobs at background
CPU priority (``MODOPS_JOB_NICE``), all on one PostgreSQL. One run measures next-task latency
of the same labelers before the jobs (baseline window) and while the export and the report
run (target p99 < 100 ms), side by side; export throughput; and that the failing job ends
``failed`` with its error after its attempts. ``--job-nice 0`` is the unlowered comparison.
Writes bench/results/jobs.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import dispense_world, print_table, row, write_results
from http_dispense import free_port, pct
from modops.settings import settings

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("MODOPS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
PROJECT = "bench-jobs"


def setup(url: str, labelers: int, items: int) -> tuple[list[str], str]:
    rows = ({"external_id": f"j-{i:07d}", "product": "comment", "view_count": i % 5000,
             "comment": f"작업 벤치마크 댓글 {i} 진짜 별로다 ㅋㅋ 010-1234-{i % 10000:04d}"}
            for i in range(items))
    tokens, managers = dispense_world(url, PROJECT, overlap=1, labelers=labelers,
                                      user_prefix="jobs", rows=rows, managers=1)
    return tokens, managers[0]


def reuse(url: str, labelers: int) -> tuple[list[str], str]:
    """Fresh tokens for the labelers and manager of a world kept by ``--keep`` (building
    1M items costs minutes; comparing settings should not)."""
    from sqlalchemy import select
    from sqlalchemy.pool import NullPool

    from modops.accounts import create_token
    from modops.store import make_engine, session_scope
    from modops.store.models import User

    engine = make_engine(url, poolclass=NullPool)
    with session_scope(engine) as s:
        def token(name: str) -> str:
            user = s.scalar(select(User).where(User.username == name))
            if user is None:
                raise SystemExit(f"no user {name} in that schema: build it with --keep")
            return create_token(s, user, "bench").token

        tokens = [token(f"jobs{i:02d}") for i in range(labelers)]
        manager = token("jobs-manager0")
    engine.dispose()
    return tokens, manager


THINK_S = [1.0, 3.0]  # a labeler reads and decides between next and submit (humans: 5-30 s)


async def labeler(client: httpx.AsyncClient, token: str, stop: asyncio.Event,
                  next_ms: list[tuple[float, float]]) -> None:
    """Open-loop-ish: with think time the latency measured is the server's, not the queueing
    of 32 closed-loop clients on a 2-core box that also runs the client. Records
    (start time, milliseconds) so one run can be cut into windows."""
    h = {"Authorization": f"Bearer {token}"}
    await asyncio.sleep(random.uniform(*THINK_S))  # do not start 32 labelers in lockstep
    while not stop.is_set():
        t0 = time.perf_counter()
        r = await client.post(f"/api/v1/projects/{PROJECT}/tasks/next", headers=h)
        if r.status_code == 503:
            continue
        next_ms.append((t0, (time.perf_counter() - t0) * 1000))
        if r.status_code == 204:
            await asyncio.sleep(0.5)
            continue
        r.raise_for_status()
        await asyncio.sleep(random.uniform(*THINK_S))
        await client.post(f"/api/v1/tasks/{r.json()['task_id']}/submit", headers=h,
                          json={"labels": ["none"]})


def job_seconds(job: dict) -> float:
    """Wall time of a finished job's last attempt, from the times the API reports."""
    from datetime import datetime

    if not (job.get("started_at") and job.get("finished_at")):
        return 0.0
    started, finished = (datetime.fromisoformat(job[k].replace("Z", "+00:00"))
                         for k in ("started_at", "finished_at"))
    return (finished - started).total_seconds()


def window(samples: list[tuple[float, float]], start: float, end: float) -> list[float]:
    return [ms for t, ms in samples if start <= t < end]


async def drive(base: str, tokens: list[str], manager: str, *, warmup_s: float,
                baseline_s: float) -> dict[str, object]:
    """Labelers work throughout; after a warm-up, a baseline window, then the jobs start and
    the 'during' window lasts until the export and the report have both finished."""
    h = {"Authorization": f"Bearer {manager}"}
    limits = httpx.Limits(max_connections=len(tokens) + 4)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as c:
        stop = asyncio.Event()
        samples: list[tuple[float, float]] = []
        workers = [asyncio.create_task(labeler(c, t, stop, samples)) for t in tokens]
        await asyncio.sleep(warmup_s)  # connections, caches, the planner: not measured
        base0 = time.perf_counter()
        load_before = os.getloadavg()[0]
        await asyncio.sleep(baseline_s)
        t0 = time.perf_counter()
        export = (await c.post(f"/api/v1/projects/{PROJECT}/jobs", headers=h,
                               json={"kind": "export", "params": {"format": "jsonl"}})).json()
        report = (await c.post(f"/api/v1/projects/{PROJECT}/jobs", headers=h,
                               json={"kind": "report", "params": {}})).json()
        failing = (await c.post(f"/api/v1/projects/{PROJECT}/jobs", headers=h, json={
            "kind": "purge", "params": {"days": 0}, "max_attempts": 2})).json()
        states: dict[int, dict] = {}
        main_done: float | None = None
        while True:
            await asyncio.sleep(1)
            for j in (export, report, failing):
                states[j["id"]] = (await c.get(f"/api/v1/jobs/{j['id']}", headers=h)).json()
            if main_done is None and all(states[j["id"]]["state"] in ("succeeded", "failed")
                                         for j in (export, report)):
                main_done = time.perf_counter()
            if all(s["state"] in ("succeeded", "failed") for s in states.values()):
                break
            if time.perf_counter() - t0 > 3600:
                break
        end = main_done or time.perf_counter()
        load_during = os.getloadavg()[0]
        stop.set()
        await asyncio.gather(*workers, return_exceptions=True)
    return {"baseline": window(samples, base0, t0), "during": window(samples, t0, end),
            "elapsed": end - t0, "load_before": load_before, "load_during": load_during,
            "export": states[export["id"]], "report": states[report["id"]],
            "failing": states[failing["id"]]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--labelers", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pg-url", default=PG_URL)
    ap.add_argument("--think", type=float, nargs=2, default=THINK_S, metavar=("MIN", "MAX"),
                    help="labeler think time between next and submit, seconds")
    ap.add_argument("--job-nice", type=int, default=settings().job_nice,
                    help="nice value of the job worker's threads (0: not lowered)")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    ap.add_argument("--baseline", type=float, default=30.0,
                    help="seconds of labeling alone (the baseline window)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the benchmark schema (its name is printed) for --schema")
    ap.add_argument("--schema", help="reuse a schema kept by --keep instead of building one")
    args = ap.parse_args()
    THINK_S[:] = args.think

    from modops.store import make_engine

    schema = args.schema or f"bench_jobs_{os.getpid()}_{secrets.token_hex(2)}"
    admin = make_engine(args.pg_url, poolclass=NullPool)
    if not args.schema:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in args.pg_url else "?"
    url = f"{args.pg_url}{sep}options=-csearch_path%3D{schema}"
    procs: list[subprocess.Popen[bytes]] = []
    job_dir = tempfile.mkdtemp(prefix="modops-jobs-")
    try:
        t = time.perf_counter()
        if args.schema:
            tokens, manager = reuse(url, args.labelers)
        else:
            tokens, manager = setup(url, args.labelers, args.items)
        setup_s = time.perf_counter() - t
        print(f"setup: {args.items:,} items in {setup_s:.0f}s (schema {schema})")
        env = {**os.environ, "MODOPS_DATABASE_URL": url, "MODOPS_WEBHOOKS": "0",
               "MODOPS_JOBS": "off", "MODOPS_JOB_DIR": job_dir,
               "MODOPS_JOB_NICE": str(args.job_nice),
               "MODOPS_SECRET_KEY": secrets.token_urlsafe(16)}
        port = free_port()
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "modops.api.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers),
             "--log-level", "warning", "--no-access-log"], env=env, cwd=REPO))
        procs.append(subprocess.Popen(
            [sys.executable, "-c", "from modops.cli.ops import worker_cmd; "
             "worker_cmd(processes=1, threads=2, scheduler=False, backend='thread')"],
            env=env, cwd=REPO))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        out = asyncio.run(drive(base, tokens, manager, warmup_s=args.warmup,
                                baseline_s=args.baseline))
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
        shutil.rmtree(job_dir, ignore_errors=True)  # a 1M-item export is half a gigabyte
        if not (args.keep or args.schema):
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    export, report, failing = out["export"], out["report"], out["failing"]
    case = (f"{args.items:,} items, {args.labelers} labelers "
            f"(think {args.think[0]:g}-{args.think[1]:g} s), w={args.workers}, "
            f"job nice {args.job_nice}")
    sysname, store = "modops-jobs", "postgresql"
    export_s = (export.get("result") or {}).get("seconds") or 0.0
    rows = [
        row(case, sysname, store, "next_p50_ms_baseline", pct(out["baseline"], 0.5), "ms"),
        row(case, sysname, store, "next_p99_ms_baseline", pct(out["baseline"], 0.99), "ms"),
        row(case, sysname, store, "next_p50_ms_during_jobs", pct(out["during"], 0.5), "ms"),
        row(case, sysname, store, "next_p99_ms_during_jobs", pct(out["during"], 0.99), "ms"),
        row(case, sysname, store, "next_calls_baseline", len(out["baseline"]), "count"),
        row(case, sysname, store, "next_calls_during_jobs", len(out["during"]), "count"),
        row(case, sysname, store, "export_state_ok", float(export["state"] == "succeeded"),
            "bool"),
        row(case, sysname, store, "export_seconds", export_s, "s"),
        row(case, sysname, store, "export_items_per_s",
            (export.get("result") or {}).get("items", 0) / max(export_s, 1e-9), "items/s"),
        row(case, sysname, store, "report_state_ok", float(report["state"] == "succeeded"),
            "bool"),
        row(case, sysname, store, "report_seconds", job_seconds(report), "s"),
        row(case, sysname, store, "failing_job_failed_after_attempts",
            float(failing["state"] == "failed" and failing["attempts"] == 2), "bool"),
        row(case, sysname, store, "jobs_wall_s", out["elapsed"], "s"),
        row(case, sysname, store, "setup_s", setup_s, "s"),
        row(case, sysname, store, "load_avg_1m_before_jobs", out["load_before"], "load"),
        row(case, sysname, store, "load_avg_1m_end_of_jobs", out["load_during"], "load"),
    ]
    print(f"export: {export['state']} {export.get('result') or export.get('error')}")
    print(f"report: {report['state']} {report.get('result') or report.get('error')}")
    print(f"failing: {failing['state']} after {failing['attempts']}: {failing.get('error')}")
    print(f"next-task p50/p99 ms: baseline {pct(out['baseline'], 0.5):.0f}/"
          f"{pct(out['baseline'], 0.99):.0f} (n={len(out['baseline'])}), during jobs "
          f"{pct(out['during'], 0.5):.0f}/{pct(out['during'], 0.99):.0f} "
          f"(n={len(out['during'])}); load {out['load_before']:.1f} -> "
          f"{out['load_during']:.1f}")
    write_results("jobs", rows)
    print_table(rows, "Background jobs under labeling load")


if __name__ == "__main__":
    main()
