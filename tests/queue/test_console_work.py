"""The queue side of the labeler's and reviewer's screens (issue 20), on SQLite and PostgreSQL:
lease on start and release on leave, a labeler's own answers changed while undecided
(audited), a chosen review task, and the machine's part in the decision context."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from modops.domain import NotFound, ValidationError
from modops.queue import held_task, leave, next_review, next_task, open_appeal, submit
from modops.queue.answers import EDIT_WINDOW, answer_for_edit, edit_answer, recent_answers
from modops.queue.runtime import current
from tests.queue.helpers import add_items, human_project, make_users, simple_items


def test_held_task_leases_nothing_and_leave_hands_the_task_back(engine: Engine,
                                                              tmp_path: Path) -> None:
    project = human_project(engine, k=1)
    add_items(engine, project, tmp_path, simple_items(2))
    a, b = make_users(engine, 2)
    assert held_task(engine, project, a) is None  # opening the page: nothing leased
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tasks WHERE state = 'leased'")).scalar() == 0
    task = next_task(engine, project, a)  # the labeler starts
    assert task is not None
    again = held_task(engine, project, a)
    assert again is not None and again.task_id == task.task_id
    assert leave(engine, task.task_id, b) is False  # not b's to hand back
    assert leave(engine, task.task_id, a) is True
    assert leave(engine, task.task_id, a) is False  # idempotent
    assert held_task(engine, project, a) is None
    with engine.connect() as conn:
        state = conn.execute(text("SELECT state, assignee_id FROM tasks WHERE id = :t"),
                             {"t": task.task_id}).one()
    assert tuple(state) == ("open", None)
    # Left, not skipped: the item may come back to the same labeler (highest priority first).
    back = next_task(engine, project, a)
    assert back is not None and back.item.id == task.item.id


def test_leaving_a_gold_task_cancels_it(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=1, gold_rate=1.0)
    add_items(engine, project, tmp_path, [{"external_id": "g", "product": "comment",
                                           "comment": "골드", "is_gold": True,
                                           "gold_labels": ["none"]}])
    (a,) = make_users(engine, 1)
    task = next_task(engine, project, a)
    assert task is not None and task.kind == "label"
    assert leave(engine, task.task_id, a)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT state FROM tasks WHERE id = :t"),
                            {"t": task.task_id}).scalar() == "cancelled"


def test_own_answer_changed_while_undecided_and_audited(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=3)
    add_items(engine, project, tmp_path, simple_items(1))
    a, b, c = make_users(engine, 3)
    task = next_task(engine, project, a)
    assert task is not None
    ann = submit(engine, task.task_id, a, ["profanity"]).annotation_id
    (mine,) = recent_answers(engine, project, a)
    assert mine.annotation_id == ann and mine.labels == ["profanity"] and mine.editable
    assert recent_answers(engine, project, b) == []  # only one's own answers
    with pytest.raises(NotFound):
        edit_answer(engine, ann, b, ["none"])  # someone else's: not found
    with pytest.raises(NotFound):
        answer_for_edit(engine, project, ann, b)
    view, given, editable = answer_for_edit(engine, project, ann, a)
    assert view.item.id == task.item.id and given == ["profanity"] and editable
    assert edit_answer(engine, ann, a, ["harassment"]) == ["harassment"]
    with engine.connect() as conn:
        labels = conn.execute(text("SELECT labels FROM annotations WHERE id = :a"),
                              {"a": ann}).scalar()
        audit = conn.execute(text("SELECT actor, before, after FROM audit_log "
                                  "WHERE action = 'label.edit'")).all()
    assert "harassment" in str(labels)
    assert len(audit) == 1 and audit[0][0] == "lab0"
    assert "profanity" in str(audit[0][1]) and "harassment" in str(audit[0][2])
    # The others answer: the item is decided, and the answer is final.
    for user in (b, c):
        t = next_task(engine, project, user)
        assert t is not None
        submit(engine, t.task_id, user, ["harassment"])
    (mine,) = recent_answers(engine, project, a)
    assert not mine.editable
    with pytest.raises(ValidationError):
        edit_answer(engine, ann, a, ["none"])


def test_answer_window_closes(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=2)
    add_items(engine, project, tmp_path, simple_items(1))
    (a,) = make_users(engine, 1)
    task = next_task(engine, project, a)
    assert task is not None
    ann = submit(engine, task.task_id, a, ["none"]).annotation_id
    later = current().clock() + EDIT_WINDOW + timedelta(minutes=1)
    assert not recent_answers(engine, project, a, now=later)[0].editable
    with pytest.raises(ValidationError):
        edit_answer(engine, ann, a, ["spam"], now=later)


def test_reviewer_takes_a_chosen_task_and_sees_the_machine(engine: Engine,
                                                          tmp_path: Path) -> None:
    project = human_project(engine, k=1)
    add_items(engine, project, tmp_path, simple_items(3))
    (a,) = make_users(engine, 1)
    (rev,) = make_users(engine, 1, role="reviewer", prefix="rev")
    externals = []
    for _ in range(3):
        t = next_task(engine, project, a)
        assert t is not None
        submit(engine, t.task_id, a, ["profanity"])
        externals.append(t.item.external_id)
    with engine.connect() as conn:
        conn.execute(text("UPDATE items SET machine_score = 0.93, model_version = 'kr-2' "
                          "WHERE external_id = :e"), {"e": externals[2]})
        conn.commit()
    for ext in externals:
        open_appeal(engine, project, ext, opened_by="creator", reason="억울합니다")
    with engine.connect() as conn:
        chosen = conn.execute(text(
            "SELECT t.id FROM tasks t JOIN items i ON i.id = t.item_id WHERE t.kind = 'appeal' "
            "AND i.external_id = :e"), {"e": externals[2]}).scalar()
    first = next_review(engine, project, rev)  # the oldest appeal, leased
    assert first is not None and first.task_id != chosen
    view = next_review(engine, project, rev, task_id=chosen)  # a clicked row
    assert view is not None and view.task_id == chosen and view.kind == "appeal"
    assert view.current_labels == ["profanity"] and view.decision is not None
    assert view.decision["source"] == "labelers"
    assert view.routing is not None and view.routing["score"] == pytest.approx(0.93)
    assert view.routing["model_version"] == "kr-2"
    with engine.connect() as conn:  # the first one went back to the queue
        assert conn.execute(text("SELECT state FROM tasks WHERE id = :t"),
                            {"t": first.task_id}).scalar() == "open"
