"""Benchmark: a full period report — every format, both languages — for one ISO week over
1M tasks / 3M annotations (issue 8 target: ``full_report_s`` < 15 s).

The world is the analytics benchmark's (``bench/analytics.py``'s generator, imported, not
copied), loaded into a fresh PostgreSQL schema that is dropped afterwards. A run is
``modops.reports.build_reports`` end to end: the analytics calls (one pass, a few of them
concurrent), then the document, charts and the eight files. The first run in the process is
reported separately (imports, Kiwi model and font loading); ``full_report_s`` is the median of
the runs after it. PostgreSQL only: SQLite's metric scan alone takes ~30 s at this size (see
bench/results/analytics.json).

    .venv/bin/python bench/report.py [--tasks 1000000] [--annotations 3000000] [--repeat 3]
                                     [--schema NAME  (reuse a loaded schema, keep it)]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mb, print_table, row, write_results
from analytics import PG_URL, WEEK, load
from modops.reports import FORMATS, LANGS, build_reports
from modops.store import make_engine, upgrade

CASE = "1M tasks / 3M annotations, ISO week, 4 formats x 2 languages"
NOW = datetime(2026, 11, 23, 12)


def one_run(engine: Any, out: Path) -> tuple[float, dict[str, float], int]:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    files = build_reports(engine, ["kr-comments"], WEEK.label, langs=LANGS, formats=FORMATS,
                          out_dir=out, now=NOW, timings=timings)
    return time.perf_counter() - t0, timings, len(files)


def measure(engine: Any, repeat: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    runs: list[tuple[float, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="modops-report-bench-") as tmp:
        for i in range(repeat + 1):
            total, timings, n = one_run(engine, Path(tmp) / str(i))
            render = sum(v for k, v in timings.items() if k.startswith(("ko:", "en:")))
            print(f"  run {i}: {total:.2f} s (collect {timings['collect_total']:.2f} s, "
                  f"render {render:.2f} s, {n} files)", flush=True)
            runs.append((total, timings))
        sizes = {p.name: p.stat().st_size for p in (Path(tmp) / "0").iterdir()}
    first, rest = runs[0], runs[1:]
    median = statistics.median(r[0] for r in rest)
    rows.append(row(CASE, "modops", "postgresql", "full_report_s", median, "s"))
    rows.append(row(CASE, "modops", "postgresql", "full_report_first_run_s", first[0], "s"))
    # where the time goes (median over the warm runs)
    keys = sorted({k for _, tm in rest for k in tm})
    for k in keys:
        vals = [tm[k] for _, tm in rest if k in tm]
        name = k.replace("kr-comments:", "analytics:").replace(":", "_").replace("+", "_")
        rows.append(row(CASE, "modops", "postgresql", f"{name}_s", statistics.median(vals),
                        "s"))
    for name, size in sorted(sizes.items()):
        rows.append(row(CASE, "modops", "-", f"bytes_{name.split('_', 2)[-1]}", size, "B"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--annotations", type=int, default=3_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--schema", help="use this already loaded schema and keep it")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    admin = make_engine(PG_URL, poolclass=NullPool)
    schema = args.schema or f"bench_report_{secrets.token_hex(4)}"
    rows: list[dict[str, Any]] = []
    try:
        if not args.schema:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(PG_URL, poolclass=NullPool,
                             connect_args={"options": f"-csearch_path={schema}"})
        if not args.schema:
            upgrade(engine)
            t0 = time.perf_counter()
            counts = load(engine, args.tasks, args.annotations)
            rows.append(row("load", "modops", "postgresql", "load_s",
                            time.perf_counter() - t0, "s"))
            rows += [row("load", "modops", "postgresql", f"{k}_rows", v, "rows")
                     for k, v in counts.items()]
        rows += measure(engine, args.repeat)
        engine.dispose()
    finally:
        if not args.schema:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    rows.append(row("process", "modops", "-", "peak_rss_mb", peak_rss_mb(), "MB"))
    print_table(rows, "report: one week, every format, both languages")
    if not args.no_write:
        print(write_results("report", rows))


if __name__ == "__main__":
    main()
