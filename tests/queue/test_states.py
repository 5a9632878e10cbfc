"""State changes go through the transition tables (``modops.domain.states``): every UPDATE
that sets an item's or a task's state is built by ``set_state`` with a guard read from the
tables, and a move the tables forbid changes no row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

import modops
from modops.domain import IllegalTransition, ItemState, TaskState
from modops.domain.states import allowed_from, expect_one, set_state
from modops.queue import open_appeal
from tests.queue.helpers import add_items, human_project, simple_items

SRC = Path(modops.__file__).resolve().parent


def test_guards_are_the_tables_read_backwards() -> None:
    # read off the diagrams in states.py by hand
    assert allowed_from(ItemState.DECIDED) == ("new", "queued", "escalated", "appealed")
    assert allowed_from(ItemState.APPEALED) == ("decided",)
    assert allowed_from(ItemState.QUEUED, ItemState.DECIDED) == ("new",)  # routing
    assert allowed_from(TaskState.LEASED) == ("open",)
    assert allowed_from(TaskState.OPEN) == ("leased",)
    assert allowed_from(TaskState.DONE) == ("leased",)
    assert allowed_from(TaskState.CANCELLED) == ("open", "leased")
    assert set_state("tasks", TaskState.CANCELLED, where="id = :t", among=(TaskState.OPEN,)) \
        == "UPDATE tasks SET state = 'cancelled' WHERE (id = :t) AND tasks.state = 'open'"
    with pytest.raises(IllegalTransition):  # a subset must be allowed by the table
        set_state("tasks", TaskState.LEASED, where="id = :t", among=(TaskState.DONE,))
    with pytest.raises(ValueError):
        set_state("items", TaskState.DONE, where="id = :i")


def test_no_update_outside_the_state_module_sets_a_state() -> None:
    found = []
    for path in SRC.rglob("*.py"):
        if path.name == "states.py" or "migrations" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        for m in re.finditer(r"UPDATE\s+(items|tasks)\s+SET\b", source):
            head = source[m.end():source.find("WHERE", m.end())]
            if re.search(r"\bstate\s*=", head):
                found.append(f"{path.relative_to(SRC)}:{source.count(chr(10), 0, m.start()) + 1}")
    assert found == []


def test_a_move_the_tables_forbid_changes_no_row(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=1)
    add_items(engine, project, tmp_path, simple_items(1))
    with engine.begin() as conn:
        item_id, state = conn.execute(text("SELECT id, state FROM items")).one()
        assert state == ItemState.QUEUED
        # a queued item cannot be appealed, nor "upheld" back to decided from the appeal path
        appeal = set_state("items", ItemState.APPEALED, where="id = :i")
        changed = conn.execute(text(appeal), {"i": item_id}).rowcount
        with pytest.raises(IllegalTransition):
            expect_one(changed, f"item {item_id}", ItemState.APPEALED)
        assert conn.execute(text("SELECT state FROM items")).scalar() == ItemState.QUEUED
    with pytest.raises(IllegalTransition):
        open_appeal(engine, project, "i-00000", opened_by="creator")
