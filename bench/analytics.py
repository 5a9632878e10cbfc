"""Benchmark: the full metric set for one ISO week over 1M tasks / 3M annotations.

Data is generated inside the database with one ``INSERT … SELECT`` per table over a number
series (``generate_series`` on PostgreSQL, a recursive CTE on SQLite) and a deterministic
integer hash, so both stores hold the same rows and loading takes seconds, not minutes.
PostgreSQL runs in a fresh schema (``-csearch_path``) dropped afterwards; SQLite in a temp
file. Target (issue 7): ``week_metrics_s`` < 5 s on PostgreSQL.

Loading takes minutes at full size, so ``--schema NAME`` / ``--sqlite-db PATH`` keep the
loaded world and reuse it on the next run (loaded once if missing, never dropped).

    .venv/bin/python bench/analytics.py [--tasks 1000000] [--annotations 3000000] [--skip-sqlite]
                                        [--schema NAME] [--sqlite-db PATH]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mb, print_table, row, write_results
from modops.analytics import Filters, Period, compute_metrics, throughput_by
from modops.analytics.alerts import evaluate_alerts
from modops.analytics.trends import compare_periods, label_volume_series
from modops.projects import create_project, load_spec
from modops.store import make_engine, session_scope, upgrade

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("MODOPS_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
WEEK = Period.parse("2026-W47")
N_LABELERS = 300
LABELS = "CASE WHEN {t} < 60 THEN 'none' WHEN {t} < 72 THEN 'harassment' WHEN {t} < 82 " \
         "THEN 'profanity' WHEN {t} < 90 THEN 'hate.gender' ELSE 'spam' END"
ACTION = "CASE WHEN {t} < 60 THEN 'no_action' WHEN {t} < 72 THEN 'remove' WHEN {t} < 82 " \
         "THEN 'restrict' ELSE 'remove' END"
TEXTS = ["오늘 경기 진짜 최고였다", "이 영상 너무 웃기다 ㅋㅋ", "배우 연기 정말 좋네요",
         "노래 가사가 마음에 든다", "댓글 보러 왔습니다", "편집 실력 대박"]


class Gen:
    """Dialect pieces for the generator SQL."""

    def __init__(self, pg: bool) -> None:
        self.pg = pg

    def series(self, n: int) -> tuple[str, str]:
        if self.pg:
            return "", f"FROM generate_series(CAST(1 AS BIGINT), {n}) AS g(x)"
        return (f"WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g "
                f"WHERE x < {n}) ", "FROM g")

    def ts(self, seconds: str) -> str:
        """Week start + ``seconds`` as a stored timestamp."""
        if self.pg:
            return f"(TIMESTAMP '{WEEK.start:%Y-%m-%d}' + ({seconds}) * INTERVAL '1 second')"
        return (f"(strftime('%Y-%m-%d %H:%M:%S', '{WEEK.start:%Y-%m-%d}', "
                f"printf('%+d seconds', CAST(({seconds}) AS INTEGER))) || '.000000')")

    def arr(self, expr: str) -> str:
        return f"jsonb_build_array({expr})" if self.pg else f"json_array({expr})"

    def b(self, cond: str) -> str:
        return f"({cond})" if self.pg else f"(CASE WHEN {cond} THEN 1 ELSE 0 END)"

    def idiv(self, a: str, b: str) -> str:
        return f"(({a}) / {b})" if not self.pg else f"(CAST(({a}) AS BIGINT) / {b})"


def load(engine: Engine, n_tasks: int, n_ann: int) -> dict[str, int]:
    """Project, 300 labelers, then items, routing, decisions, tasks, annotations, appeals."""
    pg = engine.dialect.name == "postgresql"
    g = Gen(pg)
    with session_scope(engine) as s:
        create_project(s, load_spec(REPO / "examples" / "kr-comments.yaml"), actor="bench")
    n_items = n_ann // 3
    week_s = int((WEEK.end - WEEK.start).total_seconds())
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        pid = conn.execute(text("SELECT id FROM projects WHERE key = 'kr-comments'")).scalar()
        conn.execute(text("UPDATE teams SET hourly_cost = 18.5"))
        team_ids = [r[0] for r in conn.execute(text("SELECT id FROM teams ORDER BY id"))]
        products = [r[0] for r in conn.execute(text("SELECT id FROM products ORDER BY id"))]
        for i in range(N_LABELERS):
            conn.execute(text(
                "INSERT INTO users (username, role, team_id, skills, active, locale, created_at)"
                " VALUES (:u, 'labeler', :t, '[]', :a, 'ko', :c)"),
                {"u": f"lab{i:03d}", "t": team_ids[i % len(team_ids)], "a": True,
                 "c": WEEK.start})
        uid0 = conn.execute(text("SELECT MIN(id) FROM users")).scalar()
    t_item = "(((x * 48271) % 1000003) % 100)"
    ingest = f"(x * {week_s} / {n_items + 1})"
    route = ("CASE WHEN ((x * 16807) % 1000003) % 100 < 10 THEN 'auto_action' "
             "WHEN ((x * 16807) % 1000003) % 100 < 30 THEN 'auto_clear' ELSE 'human' END")
    machine = "((x * 16807) % 1000003) % 100 < 30"
    decided = "((x * 40693) % 1000003) % 100 < 97"
    texts = " ".join(f"WHEN {i} THEN '{t}'" for i, t in enumerate(TEXTS))
    head, src = g.series(n_items)
    statements: list[tuple[str, str]] = [
        ("items", f"""{head}INSERT INTO items (id, project_id, external_id, product_id, comment,
            language, created_at, ingested_at, view_count, user_reported, reported_at, state,
            route, machine_score, model_version, priority, is_gold, in_prevalence_sample,
            final_labels, final_action, decided_at, due_at, escalated_at)
          SELECT x, {pid}, 'b' || CAST(x AS TEXT), CASE x % 3 WHEN 0 THEN {products[0]}
              WHEN 1 THEN {products[1]} ELSE {products[2]} END,
            CASE x % {len(TEXTS)} {texts} END, 'ko',
            {g.ts(f"{ingest} - (x % 3600)")}, {g.ts(ingest)}, (x * 31) % 5000,
            {g.b("x % 10 = 0")}, CASE WHEN x % 10 = 0 THEN {g.ts(f"{ingest} + 3600")} END,
            CASE WHEN {decided} THEN 'decided' ELSE 'queued' END, {route},
            (((x * 69621) % 1000003) % 1000) / 1000.0, 'm1', 0, {g.b("x % 50 = 1")},
            {g.b("x % 100 = 0")},
            CASE WHEN {decided} THEN {g.arr(LABELS.format(t=t_item))} END,
            CASE WHEN {decided} THEN {ACTION.format(t=t_item)} END,
            CASE WHEN {decided} THEN {g.ts(f"{ingest} + CASE WHEN {machine} THEN 0 "
                                           f"ELSE (x * 7) % 100000 END")} END,
            {g.ts(f"{ingest} + 86400")},
            CASE WHEN x % 20 = 0 THEN {g.ts(f"{ingest} + 1800")} END
          {src}"""),
        ("routing_decisions", f"""{head}INSERT INTO routing_decisions (project_id, item_id,
            score, auto_action_threshold, auto_clear_threshold, route, model_version,
            audit_sampled, decided_at)
          SELECT {pid}, x, (((x * 69621) % 1000003) % 1000) / 1000.0, 0.97, 0.03, {route}, 'm1',
            {g.b("x % 50 = 2")}, {g.ts(ingest)} {src}"""),
        ("decisions", f"""{head}INSERT INTO decisions (id, project_id, item_id, labels, action,
            source, basis, decided_at, current, views_at_decision)
          SELECT x, {pid}, x, {g.arr(LABELS.format(t=t_item))}, {ACTION.format(t=t_item)},
            CASE WHEN {machine} THEN 'machine' WHEN x % 20 = 0 THEN 'reviewer'
                 ELSE 'labelers' END, '{{}}',
            {g.ts(f"{ingest} + CASE WHEN {machine} THEN 0 ELSE (x * 7) % 100000 END")},
            {g.b("1 = 1")}, ((x * 31) % 5000) % 100
          {src} WHERE {decided}"""),
        ("appeals", f"""{head}INSERT INTO appeals (project_id, item_id, decision_id, opened_by,
            opened_at, state, resolved_at)
          SELECT {pid}, x, x, 'author', {g.ts(f"{ingest} + 90000")},
            CASE WHEN x % 3 = 0 THEN 'overturned' WHEN x % 3 = 1 THEN 'upheld' ELSE 'open' END,
            CASE WHEN x % 3 < 2 THEN {g.ts(f"{ingest} + 100000")} END
          {src} WHERE {decided} AND x % 97 = 0"""),
    ]
    item_of = g.idiv("x - 1", 3) + " + 1"
    slot = "((x - 1) % 3)"
    labeler = f"((({item_of}) * 7 + {slot}) % {N_LABELERS} + {uid0})"
    i_ingest = f"(({item_of}) * {week_s} / {n_items + 1})"
    i_truth = f"(((({item_of}) * 48271) % 1000003) % 100)"
    done = "((x * 92717) % 1000003) % 100 < 95"
    th, tsrc = g.series(n_tasks)
    statements.append(("tasks", f"""{th}INSERT INTO tasks (project_id, item_id, kind, state,
            slot, priority, assignee_id, leased_at, created_at, done_at)
          SELECT {pid}, {item_of}, 'label', CASE WHEN {done} THEN 'done' ELSE 'open' END,
            {slot}, 0, CASE WHEN {done} THEN {labeler} END,
            CASE WHEN {done} THEN {g.ts(f"{i_ingest} + 540 + {slot} * 60")} END,
            {g.ts(i_ingest)},
            CASE WHEN {done} THEN {g.ts(f"{i_ingest} + 600 + {slot} * 60")} END
          {tsrc}"""))
    ah, asrc = g.series(n_ann)
    kind = (f"CASE WHEN ({item_of}) % 50 = 1 THEN 'gold' WHEN ({item_of}) % 50 = 2 "
            "THEN 'audit' ELSE 'label' END")
    right = "((x * 69621) % 1000003) % 100 < 85"
    wrong = LABELS.format(t="(((x * 1103) % 1000003) % 100)")
    handle = "(20000 + (x * 7919) % 100000)"
    statements.append(("annotations", f"""{ah}INSERT INTO annotations (project_id, item_id,
            labeler_id, kind, labels, flagged, started_at, submitted_at, handle_ms, correct)
          SELECT {pid}, {item_of}, {labeler}, {kind},
            {g.arr(f"CASE WHEN {right} THEN {LABELS.format(t=i_truth)} ELSE {wrong} END")},
            {g.b("1 = 0")},
            {g.ts(f"{i_ingest} + 600 + {slot} * 60 - {handle} / 1000")},
            {g.ts(f"{i_ingest} + 600 + {slot} * 60")}, {handle},
            CASE WHEN ({item_of}) % 50 = 1 THEN {g.b(right)} END
          {asrc}"""))
    with engine.begin() as conn:
        for name, sql in statements:
            t0 = time.perf_counter()
            conn.execute(text(sql))
            counts[name] = conn.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar() or 0
            print(f"  {name}: {counts[name]:,} rows in {time.perf_counter() - t0:.1f} s",
                  flush=True)
    # statistics, and on PostgreSQL the visibility map autovacuum would set on a live store
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if pg else "ANALYZE"))
    return counts


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def measure(engine: Engine, store: str, repeat: int) -> list[dict[str, Any]]:
    f = Filters(project="kr-comments")
    now = datetime(2026, 11, 23, 12)
    case = "1M tasks / 3M annotations, ISO week"
    runs = timed(lambda: compute_metrics(engine, WEEK, f, now=now), repeat)
    ms = compute_metrics(engine, WEEK, f, now=now)
    print(f"  {store}: week metrics {[round(r, 2) for r in runs]} s; "
          f"alpha={ms['krippendorff_alpha'].value:.3f} "
          f"prevalence={ms['prevalence'].value:.3f} tasks={ms['tasks_finalized'].value:,.0f}",
          flush=True)
    rows = [row(case, "modops", store, "week_metrics_s", statistics.median(runs), "s"),
            row(case, "modops", store, "week_metrics_first_run_s", runs[0], "s")]
    extra: list[tuple[str, Callable[[], Any]]] = [
        ("week_compare_periods_s", lambda: compare_periods(engine, WEEK, f, now=now)),
        ("week_throughput_by_labeler_s", lambda: throughput_by(engine, WEEK, "labeler", f)),
        ("week_label_series_s", lambda: label_volume_series(engine, WEEK, f)),
        ("evaluate_alerts_s", lambda: evaluate_alerts(engine, "kr-comments", now)),
    ]
    for name, fn in extra:
        rows.append(row(case, "modops", store, name, min(timed(fn, 2)), "s"))
    return rows


def _loaded(engine: Engine) -> bool:
    """True when a kept world is already there (the bench project exists)."""
    with engine.connect() as conn:
        has_projects = conn.execute(text(
            "SELECT COUNT(*) FROM projects WHERE key = 'kr-comments'")).scalar()
    return bool(has_projects)


def _load_rows(engine: Engine, store: str, n_tasks: int, n_ann: int) -> list[dict[str, Any]]:
    upgrade(engine)
    if _loaded(engine):
        print(f"  {store}: reusing the loaded world", flush=True)
        return []
    t0 = time.perf_counter()
    counts = load(engine, n_tasks, n_ann)
    rows = [row("load", "modops", store, "load_s", time.perf_counter() - t0, "s")]
    return rows + [row("load", "modops", store, f"{k}_rows", v, "rows")
                   for k, v in counts.items()]


def run_pg(n_tasks: int, n_ann: int, repeat: int, keep: str | None = None
           ) -> list[dict[str, Any]]:
    """In a fresh schema dropped afterwards, or in ``keep`` (loaded once, never dropped)."""
    admin = make_engine(PG_URL, poolclass=NullPool)
    schema = keep or f"bench_analytics_{secrets.token_hex(4)}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    try:
        engine = make_engine(PG_URL, poolclass=NullPool,
                             connect_args={"options": f"-csearch_path={schema}"})
        rows = _load_rows(engine, "postgresql", n_tasks, n_ann)
        rows += measure(engine, "postgresql", repeat)
        engine.dispose()
        return rows
    finally:
        if keep is None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run_sqlite(n_tasks: int, n_ann: int, repeat: int, keep: Path | None = None
               ) -> list[dict[str, Any]]:
    """In a temporary file, or in ``keep`` (loaded once, kept)."""
    with tempfile.TemporaryDirectory(prefix="modops-bench-") as tmp:
        path = keep or Path(tmp) / "bench.db"
        engine = make_engine(f"sqlite:///{path}", poolclass=NullPool)
        rows = _load_rows(engine, "sqlite", n_tasks, n_ann)
        rows += measure(engine, "sqlite", repeat)
        engine.dispose()
        return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--annotations", type=int, default=3_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--schema", help="PostgreSQL schema to load once and keep")
    ap.add_argument("--sqlite-db", type=Path, help="SQLite file to load once and keep")
    args = ap.parse_args()
    print("PostgreSQL", flush=True)
    rows = run_pg(args.tasks, args.annotations, args.repeat, args.schema)
    if not args.skip_sqlite:
        print("SQLite", flush=True)
        try:
            rows += run_sqlite(args.tasks, args.annotations, args.repeat, args.sqlite_db)
        except Exception as exc:  # keep the PostgreSQL numbers; say what failed
            print(f"SQLite run failed: {exc!r}", flush=True)
            rows.append(row("1M tasks / 3M annotations, ISO week", "modops", "sqlite",
                            "failed", float("nan"), "-"))
    rows.append(row("process", "modops", "-", "peak_rss_mb", peak_rss_mb(), "MB"))
    print_table(rows, "analytics: one week of metrics")
    if not args.no_write:
        print(write_results("analytics", rows))


if __name__ == "__main__":
    main()
