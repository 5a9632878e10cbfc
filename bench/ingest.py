"""Ingest benchmark: import 1M synthetic Korean items from JSONL, then export them again,
into SQLite and PostgreSQL. Each store runs in its own child process so peak RSS is its own.

    python bench/ingest.py [--items 1000000] [--stores sqlite,postgresql] [--http] [--quick]

Writes bench/results/ingest.json (metrics import_items_per_s, export_items_per_s, peak_rss_mb).
``--http`` adds the same file uploaded to ``modops serve --workers 2`` (the routed ingest,
``POST /api/v1/projects/{key}/import``), with the peak RSS of each process of the server's
tree (``peak_rss_mb_<role>``: supervisor, each worker) and of the whole tree.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_speed_us, print_table, row, write_results

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("MODOPS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
SYLLABLES = ("가나다라마바사아자차카타파하고노도로모보소오조초코토포호구누두루무부수우주추쿠투"
             "푸후그느드르므브스으즈츠크트프흐기니디리미비시이지치키티피히개내대래매배새애재채"
             "진짜너무좋다별로인데왜이래ㅋㅋㅎㅎ드라마배우연기대박응원합니다")


def make_words(rng: random.Random, n: int = 4000) -> list[str]:
    return ["".join(rng.choices(SYLLABLES, k=rng.randint(1, 5))) for _ in range(n)]


def write_items(path: Path, n: int, seed: int = 42) -> None:
    rng = random.Random(seed)
    words = make_words(rng)
    products = ["comment", "short_video", "live"]
    with path.open("wb") as f:
        buf = []
        for i in range(n):
            text = " ".join(rng.choices(words, k=22))[:80]
            buf.append(orjson.dumps({
                "external_id": f"syn-{i:08d}",
                "product": products[i % 3],
                "comment": text,
                "created_at": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
                "view_count": i % 10_000,
                "metadata": {"author": f"u{i % 50_000}", "region": "KR", "batch": i // 100_000},
            }))
            if len(buf) == 10_000:
                f.write(b"\n".join(buf) + b"\n")
                buf = []
        if buf:
            f.write(b"\n".join(buf) + b"\n")


def run_store(store: str, items_file: Path, n: int) -> dict[str, float]:
    """Child process: fresh database, create project, import, export; report numbers."""
    from sqlalchemy import text
    from sqlalchemy.pool import NullPool

    from modops.io import export_project, import_file
    from modops.projects import create_project, load_spec
    from modops.store import make_engine, session_scope, upgrade

    tmp = Path(tempfile.mkdtemp(prefix="modops-bench-"))
    schema = f"modops_bench_{os.getpid()}"
    if store == "sqlite":
        engine = make_engine(f"sqlite:///{tmp / 'bench.db'}")
    else:
        admin = make_engine(PG_URL, poolclass=NullPool)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))
        engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade(engine)
        with session_scope(engine) as s:
            create_project(s, load_spec(REPO / "examples" / "kr-comments.yaml"), actor="bench")
        speed_before = cpu_speed_us()
        t0, cpu0 = time.perf_counter(), time.process_time()
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        # the importer alone (a raw load: no routing hook), as committed results measure it
        report = import_file(engine, "kr-comments", items_file, "jsonl", batch_size=10_000,
                             after_insert=None)
        import_s = time.perf_counter() - t0
        import_cpu_s = time.process_time() - cpu0
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        import_parse_cpu_s = (children1.ru_utime + children1.ru_stime
                              - children0.ru_utime - children0.ru_stime)
        assert report.inserted == n, report
        out = tmp / "export.jsonl"
        t0 = time.perf_counter()
        exported = export_project(engine, "kr-comments", "jsonl", out)
        export_s = time.perf_counter() - t0
        assert exported.items == n
    finally:
        engine.dispose()
        if store != "sqlite":
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        for p in tmp.iterdir():
            p.unlink()
        tmp.rmdir()
    # The import parses in a child process: count its peak too (the sum is an upper bound).
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"import_items_per_s": n / import_s, "export_items_per_s": n / export_s,
            "import_s": import_s, "export_s": export_s,
            "import_cpu_s": import_cpu_s, "import_parse_cpu_s": import_parse_cpu_s,
            "peak_rss_mb": (own + children) / 1024, "speed_before": speed_before,
            "speed_after": cpu_speed_us()}


def run_http(store: str, items_file: Path, n: int) -> dict[str, float]:
    """Upload the file to a fresh two-worker server; peak RSS per process of its tree."""
    import threading

    import httpx
    import psutil

    import peer

    with tempfile.TemporaryDirectory() as tmp:
        server = peer.ModOps(store, Path(tmp), 1, 2)
        server.setup()
        server.start()
        assert server.proc is not None
        peaks: dict[int, float] = {}
        tree_peak = [0.0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                total = 0.0
                for p in peer.tree(server.proc.pid):  # type: ignore[union-attr]
                    try:
                        rss = p.memory_info().rss / 2**20
                    except psutil.NoSuchProcess:
                        continue
                    peaks[p.pid] = max(peaks.get(p.pid, 0.0), rss)
                    total += rss
                tree_peak[0] = max(tree_peak[0], total)
                stop.wait(0.2)

        idle = sum(p.memory_info().rss for p in peer.tree(server.proc.pid)) / 2**20
        monitor = threading.Thread(target=sample, daemon=True)
        monitor.start()
        try:
            with httpx.Client(base_url=server.base, timeout=1800) as c:
                t0 = time.perf_counter()
                inserted = server.import_items(c, items_file, items_file)
                seconds = time.perf_counter() - t0
        finally:
            stop.set()
            monitor.join()
            peer.stop(server.proc)
            server.cleanup()
    assert inserted == n, inserted
    out = {"import_items_per_s": n / seconds, "import_s": seconds, "idle_rss_mb": idle,
           "peak_rss_mb": tree_peak[0]}
    root = server.proc.pid
    workers = sorted(pid for pid in peaks if pid != root)
    out["peak_rss_mb_supervisor"] = peaks.get(root, 0.0)
    for i, pid in enumerate(workers):
        out[f"peak_rss_mb_worker{i}"] = peaks[pid]
    return out


def http_rows(args: argparse.Namespace, items_file: Path) -> list[dict]:
    rows = []
    for store in args.stores.split(","):
        result = run_http(store, items_file, args.items)
        print(f"{store} over HTTP: {result['import_s']:.1f}s, tree peak "
              f"{result['peak_rss_mb']:.0f} MB (idle {result['idle_rss_mb']:.0f} MB); load "
              f"{os.getloadavg()[0]:.1f}")
        case = f"{args.items} items over HTTP"
        units = {"import_items_per_s": "items/s", "import_s": "s"}
        rows += [row(case, "modops", store, k, round(v, 1), units.get(k, "MB"))
                 for k, v in result.items()]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--http", action="store_true", help="also import over HTTP")
    parser.add_argument("--quick", action="store_true", help="a 20,000-item smoke run")
    parser.add_argument("--child", nargs=2, metavar=("STORE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.items = min(args.items, 20_000)
    if args.child:
        print(json.dumps(run_store(args.child[0], Path(args.child[1]), args.items)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        items_file = Path(tmp) / "items.jsonl"
        t0 = time.perf_counter()
        write_items(items_file, args.items)
        size_mb = items_file.stat().st_size / 2**20
        print(f"generated {args.items:,} items ({size_mb:.0f} MB) in "
              f"{time.perf_counter() - t0:.1f}s")
        os.sync()  # the input's own write-back is not the import's to pay for
        for store in args.stores.split(","):
            out = subprocess.run(
                [sys.executable, __file__, "--items", str(args.items), "--child", store,
                 str(items_file)], check=True, capture_output=True, text=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{store}: import {result['import_s']:.1f}s wall, CPU "
                  f"{result['import_cpu_s']:.1f}s writer + {result['import_parse_cpu_s']:.1f}s "
                  f"parser; load {os.getloadavg()[0]:.1f}")
            case = f"{args.items} items"
            rows += [
                row(case, "modops", store, "import_items_per_s",
                    round(result["import_items_per_s"], 1), "items/s"),
                row(case, "modops", store, "export_items_per_s",
                    round(result["export_items_per_s"], 1), "items/s"),
                row(case, "modops", store, "peak_rss_mb", round(result["peak_rss_mb"], 1), "MB"),
                # the host's speed around this store's run (lower is faster; see _common)
                row(case, "modops", store, "cpu_speed_us",
                    round((result["speed_before"] + result["speed_after"]) / 2, 1), "µs/op"),
            ]
        if args.http:
            rows += http_rows(args, items_file)
    print_table(rows, "Ingest: import and export of synthetic Korean items (JSONL)")
    print(f"wrote {write_results('ingest', rows)}")


if __name__ == "__main__":
    main()
