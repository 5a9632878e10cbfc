"""Rules at routing, on SQLite and PostgreSQL: shadow rules act on nothing, live rules route;
enabling needs a backtest; a backtest's counts equal a hand count; threshold and rule changes
re-route exactly the queued items they should, audited; bad files change nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from modops.domain import PermissionDenied, ValidationError
from modops.rules import service
from modops.rules.spec import RuleFileError
from tests.queue.helpers import add_items, human_project

REPORTED_RULE = """\
id: reported-profanity
name: 신고된 욕설
owner: minji
priority: 3
when:
  all:
    - reported: true
    - score: {gte: 0.5}
then:
  - auto_action: {label: profanity, enforcement: restrict}
"""


def rows(n: int = 20) -> list[dict[str, Any]]:
    """Scores 0.00, 0.05, …; every 3rd item reported."""
    return [{"external_id": f"r-{i:03d}", "product": "comment", "comment": f"댓글 {i}",
             "machine_score": round(i * 0.05, 2), "user_reported": i % 3 == 0}
            for i in range(n)]


def project(engine: Engine, **routing: float) -> str:
    return human_project(engine, "rules", k=1,
                         routing=routing or {"auto_action": 0.99})


def q(engine: Engine, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(statement), params)]


def states(engine: Engine) -> dict[str, tuple[str, str | None]]:
    return {e: (s, a) for e, s, a in q(engine,
            "SELECT external_id, state, final_action FROM items")}


def test_shadow_rule_is_logged_and_acts_on_nothing(engine: Engine, tmp_path: Path) -> None:
    key = project(engine)
    saved = service.save_rules(engine, key, REPORTED_RULE, name="r.yaml", actor="minji")
    assert saved == [{"id": "reported-profanity", "version": 1, "mode": "shadow",
                      "status": "created"}]
    add_items(engine, key, tmp_path, rows())
    assert {s for s, _a in states(engine).values()} == {"queued"}
    assert q(engine, "SELECT count(*) FROM decisions") == [(0,)]
    # matched: reported (0, 3, …, 18) with score >= 0.5 (i >= 10): 12, 15, 18
    hits = q(engine, "SELECT i.external_id, h.mode, h.applied FROM rule_hits h "
                     "JOIN items i ON i.id = h.item_id ORDER BY i.external_id")
    assert hits == [("r-012", "shadow", False), ("r-015", "shadow", False),
                    ("r-018", "shadow", False)]


def test_live_rule_routes_new_items(engine: Engine, tmp_path: Path) -> None:
    key = project(engine)
    service.save_rules(engine, key, REPORTED_RULE, name="r.yaml", actor="minji")
    service.set_mode(engine, key, "reported-profanity", "live", actor="admin", admin=True,
                     override_reason="test world has no history")
    add_items(engine, key, tmp_path, rows())
    decided = {e for e, (s, _a) in states(engine).items() if s == "decided"}
    assert decided == {"r-012", "r-015", "r-018"}
    assert q(engine, "SELECT DISTINCT d.labels, d.action, r.reason FROM decisions d JOIN "
                     "routing_decisions r ON r.item_id = d.item_id")[0][1:] == \
        ("restrict", "rule reported-profanity v1: auto_action")


def test_backtest_counts_equal_a_hand_count_and_enabling_needs_one(
        engine: Engine, tmp_path: Path) -> None:
    key = project(engine)
    # 20 items decided by people (imported with final labels): profanity on 10..19 except 11
    decided = rows()
    for i, r in enumerate(decided):
        r["final_labels"] = ["profanity"] if i >= 10 and i != 11 else ["none"]
    add_items(engine, key, tmp_path, decided)
    service.save_rules(engine, key, REPORTED_RULE, name="r.yaml", actor="minji")
    with pytest.raises(ValidationError, match="run a backtest"):
        service.set_mode(engine, key, "reported-profanity", "live", actor="minji")
    with pytest.raises(PermissionDenied):
        service.set_mode(engine, key, "reported-profanity", "live", actor="minji",
                         override_reason="trust me")
    bt = service.run_backtest(engine, key, key="reported-profanity", days=7, actor="minji")
    # by hand: matched = reported & score >= .5 = {12, 15, 18}, all profanity -> 3/3;
    # positives = {10, 12..19} = 9 -> recall 3/9; route changes: all 3 were not auto-actioned
    assert (bt["items"], bt["matched"], bt["precision"]["hits"], bt["precision"]["n"],
            bt["recall"]["n"], bt["route_changes"]) == (20, 3, 3, 3, 9, 3)
    assert bt["precision"]["value"] == 1.0 and bt["recall"]["value"] == pytest.approx(1 / 3)
    assert 0 < bt["recall"]["low"] < 1 / 3 < bt["recall"]["high"] < 1
    assert {e["external_id"] for e in bt["examples"]["correct"]} == {"r-012", "r-015", "r-018"}
    assert sum(d["matched"] for d in bt["daily"]) == 3 and len(bt["daily"]) == 7
    assert bt["method"] == "sql"
    # the same rule through the engine (report_count has no SQL form) counts the same
    engine_rule = REPORTED_RULE.replace("    - reported: true\n",
                                        "    - reported: true\n    - report_count: {gte: 0}\n")
    again = service.run_backtest(engine, key, text=engine_rule, days=7)
    assert again["method"] == "engine"
    assert {k: again[k] for k in ("items", "matched", "precision", "recall", "route_changes",
                                  "daily", "examples")} == \
        {k: bt[k] for k in ("items", "matched", "precision", "recall", "route_changes",
                            "daily", "examples")}
    out = service.set_mode(engine, key, "reported-profanity", "live", actor="minji")
    assert out["backtest_id"] == bt["id"] and out["backtest"]["matched"] == 3
    audit = q(engine, "SELECT after FROM audit_log WHERE action = 'rule.mode'")
    assert len(audit) == 1 and str(bt["id"]) in str(audit[0][0])


def test_threshold_change_backtest(engine: Engine, tmp_path: Path) -> None:
    key = project(engine, auto_action=0.99, auto_clear=0.0)
    decided = rows()
    for i, r in enumerate(decided):
        r["final_labels"] = ["profanity"] if i >= 14 else ["none"]
    add_items(engine, key, tmp_path, decided)
    bt = service.run_threshold_backtest(engine, key, auto_action=0.8, auto_clear=0.2, days=3)
    # scores .80 .. .95 (i = 16..19) auto-action, all profanity; .00 .. .20 (0..4) auto-clear
    assert bt["routes"] == {"auto_action": 4, "auto_clear": 5, "human": 11, "unscored": 0}
    assert bt["auto_action_precision"]["hits"] == 4 and bt["recall"]["n"] == 6
    assert bt["auto_clear_precision"]["value"] == 1.0
    assert bt["route_changes"] == 4 + 4  # 0.00 was auto-clear already


def test_threshold_change_reroutes_exactly_the_queued_items_it_should(
        engine: Engine, tmp_path: Path) -> None:
    key = project(engine, auto_action=0.99, auto_clear=0.0)
    items = rows()
    items[17].update(is_gold=True, gold_labels=["profanity"])
    add_items(engine, key, tmp_path, items)
    # r-016 is being labelled (leased): it stays; r-018 is in the prevalence sample: stays
    with engine.begin() as conn:
        conn.execute(text("UPDATE tasks SET state = 'leased' WHERE item_id = "
                          "(SELECT id FROM items WHERE external_id = 'r-016')"))
        conn.execute(text("UPDATE items SET in_prevalence_sample = TRUE "
                          "WHERE external_id = 'r-018'"))
    before = states(engine)
    out = service.change_thresholds(engine, key, auto_action=0.8, auto_clear=0.1,
                                    actor="minji")
    after = states(engine)
    moved = {e for e in after if after[e] != before[e]}
    # >= 0.8: 16 (leased), 17 (gold), 18 (sampled), 19 -> only 19; <= 0.1: 0 was
    # auto-cleared at import (threshold 0.0), 1 and 2 now
    assert moved == {"r-019", "r-001", "r-002"}
    assert after["r-019"][0] == "decided" and after["r-001"] == ("decided", "no_action")
    assert out["reroute"]["decided"] == 3
    open_tasks = q(engine, "SELECT i.external_id FROM tasks t JOIN items i ON i.id = t.item_id "
                           "WHERE t.state = 'open' AND i.external_id IN ('r-019', 'r-001')")
    assert open_tasks == []
    audit = [a for (a,) in q(engine, "SELECT action FROM audit_log ORDER BY id")]
    assert "project.update" in audit and "items.reroute" in audit
    assert audit.count("decision.create") == 3


def test_enabling_a_rule_reroutes_the_backlog(engine: Engine, tmp_path: Path) -> None:
    key = project(engine)
    add_items(engine, key, tmp_path, rows())
    service.save_rules(engine, key, REPORTED_RULE, name="r.yaml", actor="minji")
    assert {s for s, _a in states(engine).values()} == {"queued"}  # saved: shadow
    service.run_backtest(engine, key, key="reported-profanity", days=7)
    out = service.set_mode(engine, key, "reported-profanity", "live", actor="minji")
    assert out["reroute"]["decided"] == 3
    assert {e for e, (s, _a) in states(engine).items() if s == "decided"} == \
        {"r-012", "r-015", "r-018"}


def test_bad_rule_file_changes_nothing(engine: Engine) -> None:
    key = project(engine)
    service.save_rules(engine, key, REPORTED_RULE, name="r.yaml", actor="minji")
    lines = REPORTED_RULE.replace("0.5", "0.6").splitlines()
    bad = "rules:\n  - " + lines[0] + "\n" + "".join("    " + ln + "\n" for ln in lines[1:])
    bad += "  - id: broken\n    owner: x\n    when: {nope: 1}\n    then: {hold: {}}\n"
    with pytest.raises(RuleFileError, match=r"^bad.yaml:14: unknown signal 'nope'"):
        service.save_rules(engine, key, bad, name="bad.yaml", actor="minji")
    assert q(engine, "SELECT key, version FROM rules") == [("reported-profanity", 1)]
    # a changed rule is a new version, in shadow
    changed = REPORTED_RULE.replace("0.5", "0.6")
    assert service.save_rules(engine, key, changed, name="r.yaml", actor="minji")[0][
        "status"] == "new version"
    assert sorted(q(engine, "SELECT version, mode, current FROM rules")) == \
        [(1, "shadow", False), (2, "shadow", True)]
