"""Item search on a large project: the manager's item browser (``queue.history.search_items``).

Builds a SQLite project of N items (default 100,000; ``--quick``: 10,000) with one bulk insert,
then times one page (50 rows, newest first) for each kind of search the page offers: by
external id (exact, prefix), by text (a term in ~1% of items, and a term in none — the worst
case, a full walk), by final label, by state, and the second page (keyset). Median of 5 runs
each; writes ``bench/results/item_search.json`` with the machine line.

    python bench/item_search.py [--quick] [--items N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import print_table, row, write_results


def build(url: str, n: int) -> int:
    from sqlalchemy import insert, select

    from modops.projects import create_project, load_spec
    from modops.store import ensure_schema, make_engine, session_scope, utcnow
    from modops.store.models import Item, Product, Project

    engine = make_engine(url)
    ensure_schema(engine)
    spec = load_spec(Path(__file__).resolve().parents[1] / "examples" / "kr-comments.yaml")
    with session_scope(engine) as s:
        create_project(s, {**spec, "key": "big"}, actor="bench")
        pid = s.scalar(select(Project.id).where(Project.key == "big"))
        product = s.scalar(select(Product.id).where(Product.key == "comment"))
    now = utcnow()
    labels = (["profanity"], ["none"], ["hate.gender"], None)
    states = ("decided", "queued", "escalated", "decided")
    with engine.begin() as conn:
        for start in range(0, n, 10_000):
            conn.execute(insert(Item), [
                {"project_id": pid, "external_id": f"ext-{i:07d}", "product_id": product,
                 "comment": f"댓글 본문 {i} " + ("코인 리딩방 " if i % 100 == 0 else "좋아요"),
                 "created_at": now - timedelta(minutes=i), "ingested_at": now,
                 "state": states[i % 4], "final_labels": labels[i % 4], "language": "ko",
                 "view_count": 0, "user_reported": False, "priority": 0.0, "is_gold": False,
                 "in_prevalence_sample": False}
                for i in range(start, min(start + 10_000, n))])
    engine.dispose()
    return int(pid)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--items", type=int, default=None)
    args = ap.parse_args()
    n = args.items or (10_000 if args.quick else 100_000)
    from modops.queue.history import ItemQuery, search_items
    from modops.store import make_engine, session_scope

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/search.db"
        t0 = time.perf_counter()
        pid = build(url, n)
        build_s = time.perf_counter() - t0
        engine = make_engine(url)
        cases = {"external id (exact)": ItemQuery(external_id=f"ext-{n // 2:07d}"),
                 "external id (prefix)": ItemQuery(external_id="ext-00012*"),
                 "text, in ~1% of items": ItemQuery(text="리딩방"),
                 "text, in none (full walk)": ItemQuery(text="없는검색어"),
                 "final label": ItemQuery(label="hate.gender"),
                 "state": ItemQuery(state="escalated"),
                 "no filter": ItemQuery()}
        rows = [row("build", "modops", "sqlite", f"{n} items inserted", build_s, "s")]
        for name, query in cases.items():
            times = []
            for _ in range(5):
                t = time.perf_counter()
                with session_scope(engine, immediate=False) as s:
                    page = search_items(s, pid, query, limit=51)
                times.append(time.perf_counter() - t)
            rows.append(row(name, "modops", "sqlite", f"one page of 50, {n} items",
                            statistics.median(times) * 1000, "ms"))
            if name == "no filter":
                t = time.perf_counter()
                with session_scope(engine, immediate=False) as s:
                    search_items(s, pid, query, before=page[-1].id, limit=51)
                rows.append(row("second page (keyset)", "modops", "sqlite",
                                f"one page of 50, {n} items",
                                (time.perf_counter() - t) * 1000, "ms"))
        engine.dispose()
    print_table(rows, f"Item search, {n:,} items")
    if not args.quick:
        print(write_results("item_search", rows))


if __name__ == "__main__":
    main()
