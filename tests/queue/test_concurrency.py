"""32 labelers in 4 processes label 5,000 items with k = 3 as fast as they can.

Afterwards every item has exactly 3 annotations from 3 distinct labelers, no slot was handed
to two labelers, and every acknowledged submit is in the database.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from modops.simulate.load import run_labelers
from tests.queue.helpers import add_items, human_project, make_users, simple_items

N_ITEMS, K, LABELERS, PROCESSES = 5_000, 3, 32, 4


@pytest.mark.slow
def test_32_labelers_in_4_processes_never_collide(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=K, escalation_threshold=0.0)
    add_items(engine, project, tmp_path, simple_items(N_ITEMS))
    users = make_users(engine, LABELERS)

    logs, _seconds = run_labelers(engine.info_url, project, users, processes=PROCESSES)

    assert [e for log in logs for e in log.errors] == []
    handed_out = [t for log in logs for t in log.tasks]
    assert len(handed_out) == N_ITEMS * K
    assert len(set(handed_out)) == len(handed_out), "a slot was handed to two labelers"
    for log in logs:  # never the same item twice for one labeler
        assert len(set(log.items)) == len(log.items)
    with engine.connect() as conn:
        per_item = conn.execute(text(
            "SELECT item_id, count(*), count(DISTINCT labeler_id) FROM annotations "
            "WHERE kind = 'label' GROUP BY item_id")).all()
        open_slots = conn.execute(text(
            "SELECT count(*) FROM tasks WHERE kind = 'label' AND state <> 'done'")).scalar()
        states = dict(conn.execute(text("SELECT state, count(*) FROM items GROUP BY state")).all())
    assert len(per_item) == N_ITEMS
    assert Counter((n, d) for _, n, d in per_item) == {(K, K): N_ITEMS}
    assert open_slots == 0
    # every item reached consensus or (three different answers: a tie) went to a reviewer
    assert set(states) <= {"decided", "escalated"} and sum(states.values()) == N_ITEMS


def test_labeling_works_through_a_pool_of_one_connection(
        store_name: str, engine: Engine, tmp_path: Path) -> None:
    """An operation never asks the pool for a second connection while it holds one: with a
    small pool under load, every holder would wait for a connection only another holder could
    give back. Here the project cache is cold at the moment of the submit."""
    from modops.queue import next_task, runtime, submit
    from modops.store import make_engine

    project = human_project(engine, k=1)
    add_items(engine, project, tmp_path, simple_items(3))
    [user] = make_users(engine, 1)
    small = make_engine(engine.info_url, pool_size=1, max_overflow=0, pool_timeout=2) \
        if store_name == "postgresql" else engine
    try:
        task = next_task(small, project, user)
        assert task is not None
        runtime.current().projects.clear()
        result = submit(small, task.task_id, user, ["none"])
    finally:
        if small is not engine:
            small.dispose()
    assert result.item_state == "decided"
