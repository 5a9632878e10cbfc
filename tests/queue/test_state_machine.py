"""Hypothesis drives random sequences of queue operations and checks the invariants after
every step: overlap is never exceeded, nobody answers an item twice, no slot has two holders,
every acknowledged answer is stored, and every item is in a state its tasks agree with."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import text

from modops.domain import ModOpsError
from modops.queue import decide, next_review, next_task, open_appeal, skip, submit
from modops.store import utcnow
from tests.queue.helpers import add_items, human_project, make_users, simple_items

K = 2
LABELS = ["none", "profanity", "hate"]


@pytest.mark.slow
def test_random_operation_sequences_keep_the_invariants(fresh_engine, tmp_path: Path) -> None:
    class QueueMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.engine = fresh_engine()
            self.project = human_project(self.engine, k=K)
            add_items(self.engine, self.project, tmp_path, simple_items(6))
            self.labelers = make_users(self.engine, 4)
            self.reviewer = make_users(self.engine, 1, role="reviewer", prefix="rev")[0]
            self.now = utcnow()
            self.held: dict[int, int] = {}  # labeler → task id they hold
            self.acknowledged = 0

        @rule(who=st.integers(0, 3))
        def pull(self, who: int) -> None:
            user = self.labelers[who]
            task = next_task(self.engine, self.project, user, now=self.now)
            if task is not None:
                if user in self.held:
                    assert self.held[user] == task.task_id  # resuming, not a second slot
                self.held[user] = task.task_id

        @rule(who=st.integers(0, 3), label=st.sampled_from(LABELS))
        def answer(self, who: int, label: str) -> None:
            user = self.labelers[who]
            if user in self.held:
                try:
                    submit(self.engine, self.held.pop(user), user, [label], now=self.now)
                    self.acknowledged += 1
                except ModOpsError:
                    pass  # e.g. the lease expired and someone else took the slot

        @rule(who=st.integers(0, 3))
        def pass_on(self, who: int) -> None:
            user = self.labelers[who]
            if user in self.held:
                with contextlib.suppress(ModOpsError):
                    skip(self.engine, self.held.pop(user), user, now=self.now)

        @rule(minutes=st.sampled_from([1, 11]))
        def time_passes(self, minutes: int) -> None:
            self.now += timedelta(minutes=minutes)
            if minutes > 10:  # past the 10-minute lease: nobody holds anything any more
                self.held.clear()

        @rule(label=st.sampled_from(LABELS))
        def review(self, label: str) -> None:
            task = next_review(self.engine, self.project, self.reviewer, now=self.now)
            if task is not None:
                decide(self.engine, task.task_id, self.reviewer, [label], now=self.now)

        @rule(n=st.integers(0, 5))
        def appeal(self, n: int) -> None:
            # refused (not decided yet, or already appealed) changes nothing
            with contextlib.suppress(ModOpsError):
                open_appeal(self.engine, self.project, f"i-{n:05d}", opened_by="creator",
                            now=self.now)

        @invariant()
        def invariants_hold(self) -> None:
            with self.engine.connect() as conn:
                q = lambda sql: conn.execute(text(sql)).all()  # noqa: E731
                assert q("SELECT item_id FROM annotations WHERE kind = 'label' "
                         f"GROUP BY item_id HAVING count(*) > {K}") == []
                assert q("SELECT item_id, labeler_id FROM annotations WHERE kind = 'label' "
                         "GROUP BY item_id, labeler_id HAVING count(*) > 1") == []
                assert q("SELECT id FROM tasks WHERE state = 'leased' AND assignee_id IS NULL") \
                    == []
                assert q("SELECT assignee_id FROM tasks WHERE state = 'leased' AND kind = 'label' "
                         "AND lease_expires_at >= CURRENT_TIMESTAMP - INTERVAL '1' DAY "
                         "GROUP BY assignee_id HAVING count(*) > 1"
                         if conn.dialect.name == "postgresql" else
                         "SELECT assignee_id FROM tasks WHERE state = 'leased' AND kind = 'label' "
                         "GROUP BY assignee_id HAVING count(*) > 1") == []
                stored = conn.execute(text(
                    "SELECT count(*) FROM annotations WHERE kind = 'label'")).scalar()
                assert stored == self.acknowledged
                assert q("SELECT i.id FROM items i WHERE i.state = 'escalated' AND NOT EXISTS "
                         "(SELECT 1 FROM tasks t WHERE t.item_id = i.id AND t.kind = 'review' "
                         "AND t.state IN ('open', 'leased'))") == []
                assert q("SELECT id FROM items WHERE state = 'decided' AND "
                         "final_labels IS NULL") == []
                assert q("SELECT i.id FROM items i WHERE i.state = 'appealed' AND NOT EXISTS "
                         "(SELECT 1 FROM appeals a WHERE a.item_id = i.id AND "
                         "a.state = 'open')") == []

        def teardown(self) -> None:
            self.engine.dispose()

    QueueMachine.TestCase.settings = settings(
        max_examples=8, stateful_step_count=20, deadline=None,
        suppress_health_check=list(HealthCheck))
    QueueMachine.TestCase().runTest()
