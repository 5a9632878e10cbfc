"""Benchmark: the rule engine and the backtest (issue 19).

- ``rules_items_per_s``: 50 rules (half live, half shadow; thresholds, in-lists, set
  membership, patterns on text, any/not) evaluated on batches of 10,000 synthetic items with
  the facts routing builds, one core: evaluation, the winning action per item and the match
  log's (rule, item) pairs. Goal >= 20,000 items/s.
- ``backtest_s``: one rule backtested over 1,000,000 items with a human decision on
  PostgreSQL (seeded set-wise with generate_series in a scratch schema, dropped after).
  Goal <= 10 s.

    .venv/bin/python bench/rules.py [--quick]     # --quick: 20,000 items, 100,000 decided

Rows are merged into bench/results/rules.json (other scripts write rows there too).
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import merge_results, print_table, row
from modops.rules.engine import LIVE, SHADOW, RuleRef, RuleSet
from modops.rules.spec import parse_rule, parse_rules

SEED = 20261202
PG_URL = os.environ.get("MODOPS_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
POLICIES = ("hate", "profanity", "illegal_goods.gambling", "sexual", "fraud", "spam")
NOW = datetime(2026, 12, 1, 12, 0)


def fifty_rules() -> str:
    rules = []
    for i in range(50):
        p = POLICIES[i % len(POLICIES)]
        when: dict[str, Any] = [
            {"all": [{f"policy.{p}": {"gte": round(0.5 + 0.009 * i, 3)}}, {"reported": True}]},
            {"any": [{"views": {"gte": 10_000 * i}}, {"score": {"gte": 0.9}}]},
            {"all": [{"product": {"in": ["comment", "live"]}}, {"banks_fired": {"contains": p}}]},
            {"all": [{"score": {"between": [0.3, 0.6]}}, {"not": {"region": {"eq": "KR"}}}]},
            {"all": [{f"policy.{p}": {"gte": 0.7}}, {"text": {"pattern": "토토|먹튀|바카라"}}]},
        ][i % 5]
        then = [{"auto_action": {"label": "spam"}}, {"escalate": {}}, {"hold": {}},
                {"route": {"skill": "ko", "priority": 1}},
                {"label_hint": {"label": "spam"}}][i % 5]
        rules.append({"id": f"r{i:02d}", "owner": "bench", "priority": i % 7, "when": when,
                      "then": then})
    return yaml.safe_dump({"rules": rules}, allow_unicode=True)


def synthetic_facts(n: int, rng: random.Random) -> list[dict[str, Any]]:
    texts = ("안녕하세요 반가워요", "사설 토토 가입코드", "좋아요 ㅋㅋ", "먹튀 없는 사이트",
             "오늘 날씨 좋네")
    out = []
    for i in range(n):
        policies = {p: rng.random() for p in POLICIES}
        evidence = {p: {"source": "bank" if rng.random() < 0.1 else "head", "name": p}
                    for p in POLICIES}
        out.append({"id": i, "product": rng.choice(("comment", "live", "ad", "short_video")),
                    "score": rng.random(), "views": rng.randint(0, 1_000_000),
                    "reported": rng.random() < 0.2, "now": NOW, "ingested_at": NOW,
                    "metadata": {"author_region": rng.choice(("KR", "KR", "JP", "US"))},
                    "route": "human", "detail": {"policies": policies, "evidence": evidence},
                    "text": rng.choice(texts)})
    return out


def bench_engine(n_items: int) -> float:
    specs = parse_rules(fifty_rules(), "bench")
    rs = RuleSet([RuleRef(s, 1, LIVE if i % 2 else SHADOW) for i, s in enumerate(specs)], NOW)
    batch = 10_000
    chunks = [synthetic_facts(min(batch, n_items), random.Random(SEED + k))
              for k in range(max(1, n_items // batch))]
    rs.evaluate_facts(chunks[0][:100])  # compile
    started = time.perf_counter()
    done = 0
    for facts in chunks:
        ev = rs.evaluate_facts(facts)
        _ = [ev.outcome(i, hits=False) for i in range(len(facts))]
        rules, items = ev.hit_pairs()
        _ = list(zip(rules.tolist(), items.tolist(), strict=True))
        done += len(facts)
    return done / (time.perf_counter() - started)


BACKTEST_RULE = """\
id: bench-gambling
owner: bench
when:
  all:
    - reported: true
    - policy.illegal_goods.gambling: {gte: 0.6}
    - not: {product: {in: [ad]}}
then: {auto_action: {label: illegal_goods.gambling}}
"""


def _seed_pg(engine: Any, n: int) -> int:
    from sqlalchemy import text

    from modops.projects import create_project, load_spec
    from modops.store import session_scope

    spec = load_spec(Path(__file__).resolve().parents[1] / "examples" / "kr-comments.yaml")
    spec["key"] = "bench-rules"
    with session_scope(engine) as s:
        project_id = create_project(s, spec, actor="bench").id
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        product = conn.execute(text("SELECT id FROM products WHERE key = 'comment'")).scalar()
        conn.execute(text(
            "INSERT INTO items (id, project_id, external_id, product_id, language, created_at, "
            "ingested_at, view_count, user_reported, state, route, machine_score, "
            "machine_scores, priority, is_gold, in_prevalence_sample, final_labels, "
            "final_action, decided_at) "
            "SELECT g, :p, 'b-' || g, :prod, 'ko', :t, :t, g % 5000, g % 4 = 0, 'decided', "
            "CASE WHEN g % 10 = 0 THEN 'auto_action' ELSE 'human' END, (g % 100) / 100.0, "
            "jsonb_build_object('policies', jsonb_build_object('illegal_goods.gambling', "
            "((g * 7) % 100) / 100.0, 'profanity', (g % 37) / 37.0)), 0, FALSE, FALSE, "
            "CASE WHEN (g * 7) % 100 >= 55 THEN '[\"illegal_goods.gambling\"]'::jsonb "
            "ELSE '[\"none\"]'::jsonb END, CASE WHEN (g * 7) % 100 >= 55 THEN 'remove' "
            "ELSE 'no_action' END, :t - (g % 28) * interval '1 day' "
            "FROM generate_series(1, :n) g"), {"p": project_id, "prod": product, "n": n,
                                               "t": NOW - timedelta(hours=1)})
        conn.execute(text(
            "INSERT INTO decisions (project_id, item_id, labels, action, source, basis, "
            "decided_at, current) SELECT project_id, id, final_labels, final_action, "
            "'labelers', '{}'::jsonb, decided_at, TRUE FROM items WHERE project_id = :p"),
            {"p": project_id})
        conn.execute(text("ANALYZE items"))
        conn.execute(text("ANALYZE decisions"))
    return int(project_id)


def bench_backtest(n: int) -> tuple[float, dict[str, Any]]:
    from sqlalchemy import text
    from sqlalchemy.pool import NullPool

    from modops.rules.backtest import backtest_rule
    from modops.store import make_engine, upgrade

    schema = f"bench_rules_{secrets.token_hex(4)}"
    admin = make_engine(PG_URL, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, poolclass=NullPool,
                         connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade(engine)
        project_id = _seed_pg(engine, n)
        spec = parse_rule(BACKTEST_RULE, "bench")
        with engine.connect() as conn:
            backtest_rule(conn, project_id, spec, days=28, now=NOW)  # warm the cache
            started = time.perf_counter()
            result = backtest_rule(conn, project_id, spec, days=28, now=NOW)
            seconds = time.perf_counter() - started
        return seconds, result
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small smoke run")
    args = ap.parse_args()
    n_engine, n_decided = (20_000, 100_000) if args.quick else (200_000, 1_000_000)
    rows = []
    per_s = bench_engine(n_engine)
    rows.append(row("rules_engine", "modops", "memory", "rules_items_per_s", round(per_s),
                    f"items/s, 50 rules, {n_engine:,} items, one core"))
    seconds, result = bench_backtest(n_decided)
    assert result["items"] == n_decided, result["items"]
    rows.append(row("rules_backtest", "modops", "postgresql", "backtest_s", round(seconds, 3),
                    f"s, one rule over {n_decided:,} decided items"))
    print_table(rows, "rules" + (" (quick)" if args.quick else ""))
    if not args.quick:
        print(merge_results("rules", rows))


if __name__ == "__main__":
    main()
