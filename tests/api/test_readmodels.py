"""The project dashboard read model (``modops.api.readmodels.dashboard``), against counts
worked out by hand for a small queue."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from modops.api.readmodels import dashboard
from modops.projects import get_project
from modops.queue import next_task, submit
from modops.store import session_scope
from tests.queue.helpers import add_items, human_project, make_users, simple_items


def test_dashboard_counts_a_small_queue(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=1)
    add_items(engine, project, tmp_path, simple_items(3))
    a, b = make_users(engine, 2, skills=["ko"])
    now = datetime(2026, 12, 1, 12, 0)
    done = next_task(engine, project, a, now=now)
    assert done is not None
    submit(engine, done.task_id, a, ["none"], now=now + timedelta(minutes=1))  # k = 1: decided
    assert next_task(engine, project, b, now=now + timedelta(minutes=2)) is not None  # leased
    with session_scope(engine) as s:
        d = dashboard(s, get_project(s, project), now=now + timedelta(minutes=5))
    assert d.items == 3 and d.by_state == {"queued": 2, "decided": 1} and d.decided == 1
    assert (d.open_tasks, d.leased_tasks, d.open_reviews, d.open_appeals) == (2, 1, 0, 0)
    assert d.decided_24h == 1 and len(d.throughput) == 24
    assert d.throughput[-1] == (datetime(2026, 12, 1, 12, 0), 1)  # this hour, last bucket
