"""Gold: mixed in at the project's rate, indistinguishable from normal work, scored on submit."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from modops.domain import IllegalTransition
from modops.queue import decide, make_gold, next_review, next_task, skip, submit
from tests.queue.helpers import add_items, human_project, make_users, simple_items

GOLD_RATE = 0.1


@pytest.mark.slow
def test_gold_injection_rate_over_dispensed_tasks(engine: Engine, store_name: str,
                                                  tmp_path: Path) -> None:
    # 10,000 dispensed tasks on SQLite; PostgreSQL checks the same with 3,000 (slower per call)
    n = 10_000 if store_name == "sqlite" else 3_000
    labelers = 10
    project = human_project(engine, k=1, gold_rate=GOLD_RATE)
    gold = [{"external_id": f"gold-{i}", "product": "comment", "comment": f"골드 {i}",
             "is_gold": True, "gold_labels": ["none"]} for i in range(n // labelers)]
    add_items(engine, project, tmp_path, simple_items(n) + gold)
    users = make_users(engine, labelers)
    served = 0
    gold_served = 0
    while served < n:
        for user in users:
            task = next_task(engine, project, user)
            skip(engine, task.task_id, user)  # fastest way to dispense: the lease is what counts
            served += 1
    with engine.connect() as conn:
        gold_served = conn.execute(text("SELECT count(*) FROM tasks WHERE kind = 'gold'")).scalar()
    rate = gold_served / served
    tolerance = 4 * (GOLD_RATE * (1 - GOLD_RATE) / served) ** 0.5  # 4 binomial std devs
    assert abs(rate - GOLD_RATE) < tolerance, (rate, tolerance)


def test_gold_tasks_look_exactly_like_normal_tasks_and_are_scored(
        engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=1, gold_rate=1.0)  # always gold while any is left
    gold = {"external_id": "gold-1", "product": "comment", "comment": "골드 문제",
            "is_gold": True, "gold_labels": ["profanity"]}
    add_items(engine, project, tmp_path, [*simple_items(1), gold])
    (a,) = make_users(engine, 1)
    gold_task = next_task(engine, project, a)
    result = submit(engine, gold_task.task_id, a, ["none"])
    normal_task = next_task(engine, project, a)  # gold exhausted for this labeler
    assert gold_task.item.external_id == "gold-1" and normal_task.item.external_id == "i-00000"
    as_dict = [dataclasses.asdict(t) for t in (gold_task, normal_task)]
    assert as_dict[0].keys() == as_dict[1].keys()
    assert as_dict[0]["item"].keys() == as_dict[1]["item"].keys()
    assert gold_task.kind == normal_task.kind == "label"
    assert "gold" not in repr(as_dict[0]).replace("gold-1", "")
    # The answer is scored, but nothing in the result tells it from an ordinary one.
    assert dataclasses.asdict(result).keys() == {"annotation_id", "item_state", "decided_labels",
                                                 "escalated"}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT correct FROM annotations")).scalar() in (False, 0)


def test_a_reviewed_item_becomes_gold(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=2)
    add_items(engine, project, tmp_path, simple_items(1))
    a, b = make_users(engine, 2)
    (rev,) = make_users(engine, 1, role="reviewer", prefix="rev")
    with pytest.raises(IllegalTransition, match="no human decision"):
        make_gold(engine, project, "i-00000", actor="rev0")
    submit(engine, next_task(engine, project, a).task_id, a, ["spam"])
    submit(engine, next_task(engine, project, b).task_id, b, ["none"])
    decide(engine, next_review(engine, project, rev).task_id, rev, ["spam"])
    assert make_gold(engine, project, "i-00000", actor="rev0") == ["spam"]
