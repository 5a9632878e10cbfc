"""Machine routing at import is set-based and chunked: however the batch is cut into chunks,
every new item gets the same route, slots, routing record and machine decision."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from modops.io import importer
from modops.queue import ingest_file, routing, runtime
from tests.queue.helpers import add_items, human_project


def world_rows(n: int, prefix: str) -> list[dict[str, Any]]:
    """Every kind of item routing treats differently: scored high / low / between, unscored,
    gold, decided on import, and a product whose slots need a skill."""
    rows: list[dict[str, Any]] = []
    for i in range(n):
        row: dict[str, Any] = {"external_id": f"{prefix}-{i:04d}",
                               "product": ("comment", "live", "short_video")[i % 3],
                               "comment": f"댓글 {i}", "view_count": (i * 7919) % 100_000,
                               "user_reported": i % 11 == 0}
        if i % 4:
            row["machine_score"] = round(((i * 37) % 100) / 100, 2)
        if i % 23 == 0:
            row.update(is_gold=True, gold_labels=["none"])
        elif i % 29 == 0:
            row["final_labels"] = ["profanity"]
        rows.append(row)
    return rows


def outcome(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """What routing wrote, keyed by external id (row ids depend on insertion order only)."""
    queries = {
        "items": "SELECT external_id, state, route, due_at, round(CAST(priority AS NUMERIC), 9), "
                 "in_prevalence_sample, final_labels, final_action FROM items",
        "tasks": "SELECT i.external_id, t.kind, t.slot, round(CAST(t.priority AS NUMERIC), 9), "
                 "t.required_skill FROM tasks t JOIN items i ON i.id = t.item_id",
        "routing": "SELECT i.external_id, r.score, r.route, r.audit_sampled, r.reason "
                   "FROM routing_decisions r JOIN items i ON i.id = r.item_id",
        "decisions": "SELECT i.external_id, d.labels, d.action, d.source, d.basis "
                     "FROM decisions d JOIN items i ON i.id = d.item_id "
                     "WHERE d.source = 'machine'",
    }
    with engine.connect() as conn:
        return {name: sorted(tuple(str(v) for v in row) for row in conn.execute(text(q)))
                for name, q in queries.items()}


def route_world(engine: Engine, tmp_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    project = human_project(engine, k=2, audit_rate=1.0,
                            routing={"auto_action": 0.9, "auto_clear": 0.1},
                            settings={"skill_by_product": {"live": "live"},
                                      "uncertainty_boost": 1.0,
                                      "uncertainty_boost_width": 0.2})
    add_items(engine, project, tmp_path, world_rows(120, "a"), "first.jsonl")
    # A second file overlapping the first: only its new items are routed.
    add_items(engine, project, tmp_path, world_rows(120, "a")[80:] + world_rows(60, "b"),
              "second.jsonl")
    return outcome(engine)


def test_chunked_routing_matches_one_chunk(fresh_engine, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # One clock for both runs: deadlines and priorities are computed from ingestion time.
    monkeypatch.setattr(importer, "utcnow", lambda: datetime(2026, 11, 20, 9, 0, 0, 250_000))
    monkeypatch.setattr(runtime.DEFAULT, "clock", lambda: datetime(2026, 11, 20, 9, 0, 1))
    whole = route_world(fresh_engine(), tmp_path)
    monkeypatch.setattr(routing, "CHUNK", 7)
    chunked = route_world(fresh_engine(), tmp_path)
    assert chunked == whole
    items = {row[0]: row for row in whole["items"]}
    assert len(items) == 180
    routed = {row[0] for row in whole["routing"]}
    gold_or_decided = {e for e, row in items.items() if row[2] == "None" or
                       (row[1] == "queued" and row[0] not in routed)}
    assert len(routed) + len(gold_or_decided) == 180  # every item routed once, or exempt
    assert len(whole["routing"]) == len(routed)
    slots: dict[str, list[tuple[str, ...]]] = {}
    for task in whole["tasks"]:
        slots.setdefault(task[0], []).append(task)
    for external_id, row in items.items():
        kinds = sorted(t[1] for t in slots.get(external_id, []))
        if row[2] in ("human", "unscored") and external_id in routed:
            assert kinds == ["label", "label"], external_id
            skill = {t[4] for t in slots[external_id]}
            assert skill == ({"live"} if int(external_id[2:]) % 3 == 1 else {"None"})
        elif row[2] in ("auto_action", "auto_clear"):
            assert kinds == ["audit"] and row[1] == "decided", external_id
        else:
            assert kinds == [], external_id  # gold and items decided on import get no slots
    machine = {d[0] for d in whole["decisions"] if d[3] == "machine"}
    assert machine == {e for e, row in items.items() if row[2].startswith("auto_")}


def test_routing_rows_before_they_are_stored_matches_routing_them_after(
        fresh_engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The importer routes rows in its parse process, before they are stored; the set-based
    pass routes stored rows. The same file gets the same routes, slots, routing records and
    machine decisions either way, a re-import with overlap included."""
    monkeypatch.setattr(importer, "utcnow", lambda: datetime(2026, 11, 20, 9, 0, 0, 250_000))
    monkeypatch.setattr(runtime.DEFAULT, "clock", lambda: datetime(2026, 11, 20, 9, 0, 1))
    before = route_world(fresh_engine(), tmp_path)

    def after_only(engine: Engine, project: str, path: Path, fmt: str) -> None:
        # the same routing as a hook with no planner: every row is routed once stored
        importer.import_file(engine, project, path, fmt,
                             after_insert=importer.AfterInsert(routing.route_after_import))

    monkeypatch.setattr("tests.queue.helpers.ingest_file", after_only)
    after = route_world(fresh_engine(), tmp_path)
    assert before == after
    assert len(before["routing"]) > 100 and len(before["decisions"]) > 10


def test_an_import_routed_before_storing_writes_one_routing_audit_entry(
        engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=1, routing={"auto_action": 0.9, "auto_clear": 0.1})
    add_items(engine, project, tmp_path, world_rows(60, "c"))
    with engine.connect() as conn:
        entries = conn.execute(text(
            "SELECT after FROM audit_log WHERE action = 'items.route'")).scalars().all()
        routed = conn.execute(text("SELECT count(*) FROM routing_decisions")).scalar()
    assert len(entries) == 1
    import orjson

    counts = orjson.loads(entries[0]) if isinstance(entries[0], str) else entries[0]
    assert counts["auto_action"] + counts["auto_clear"] + counts["human"] + \
        counts["unscored"] == routed


def test_scored_and_unscored_batches_of_one_import_each_get_routed_once(
        engine: Engine, tmp_path: Path) -> None:
    """In a project that scores on ingest, rows with a score are routed before they are
    stored and rows without one after (here the scorer is down, so they go to people
    unscored). Batches of both kinds in one file: every item gets one routing decision and
    its slots, and no two items share an id."""
    project = human_project(engine, k=1, routing={"auto_action": 0.9, "auto_clear": 0.1,
                                                  "scorer": "http://127.0.0.1:9/score"},
                            settings={"score_on_ingest": True})
    rows = []
    for i in range(300):
        row: dict[str, Any] = {"external_id": f"m-{i:03d}", "product": "comment",
                               "comment": f"댓글 {i}"}
        if not 100 <= i < 200:
            row["machine_score"] = (i % 10) / 10 + 0.05
        rows.append(row)
    path = tmp_path / "mixed.jsonl"
    import orjson

    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    ingest_file(engine, project, path, "jsonl", batch_size=100)
    with engine.connect() as conn:
        routes = dict(conn.execute(text(
            "SELECT i.external_id, r.route FROM routing_decisions r "
            "JOIN items i ON i.id = r.item_id")).all())
        n_items = conn.execute(text("SELECT count(DISTINCT id) FROM items")).scalar()
        slots = conn.execute(text("SELECT count(*) FROM tasks WHERE kind = 'label'")).scalar()
        audits = conn.execute(text(
            "SELECT count(*) FROM audit_log WHERE action = 'items.route'")).scalar()
    assert n_items == 300 and len(routes) == 300
    assert {routes[f"m-{i:03d}"] for i in range(100, 200)} == {"unscored"}
    assert routes["m-000"] == "auto_clear" and routes["m-009"] == "auto_action"
    human = sum(1 for r in routes.values() if r in ("human", "unscored"))
    assert slots == human
    assert audits == 1
