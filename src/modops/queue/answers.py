"""A labeler's own last answers: read them, and change one while its item is undecided.

Only the labeler's own answers are read or changed (``labeler_id`` is in every statement). An
answer can be changed while its item still waits for other labelers (state ``queued``) and for
``EDIT_WINDOW`` after it was given; once the item is decided, escalated or appealed the answer
is part of a decision and stays as it was. Every change goes into the audit log with the labels
before and after (``label.edit``). Gold answers follow the same rule and are re-scored, so
nothing about editing tells a gold item apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from modops.domain import ItemState, NotFound, TaskKind, ValidationError
from modops.privacy import mask_pii, project_kinds
from modops.queue import runtime
from modops.queue.core import (
    UserRef,
    cached_project,
    dumps,
    is_pg,
    load_actor,
    load_project,
    loads,
    read_actor,
    sql,
    write_tx,
)
from modops.queue.decisions import _audit
from modops.queue.dispense import _dt, _view_from_row

EDIT_WINDOW = timedelta(minutes=30)
PREVIEW_CHARS = 80
_KINDS = (TaskKind.LABEL.value, TaskKind.GOLD.value)


@dataclass(slots=True)
class AnswerView:
    annotation_id: int
    task_id: int | None
    item_id: int
    preview: str
    labels: list[str]
    flagged: bool
    submitted_at: datetime
    editable: bool


def _editable(row: Any, now: datetime) -> bool:
    return (not row.flagged and row.item_state == ItemState.QUEUED.value
            and now - _dt(row.submitted_at) <= EDIT_WINDOW)


_RECENT = (
    "SELECT a.id, a.task_id, a.item_id, a.labels, a.flagged, a.submitted_at, "
    "i.state AS item_state, i.comment, i.title, i.caption, i.text, i.transcript "
    "FROM annotations a JOIN items i ON i.id = a.item_id "
    "WHERE a.labeler_id = :u AND a.project_id = :p AND a.kind IN ('label', 'gold') "
    "ORDER BY a.submitted_at DESC, a.id DESC LIMIT :n")


def recent_answers(engine: Engine, project_key: str, user: UserRef, *, limit: int = 8,
                   now: datetime | None = None) -> list[AnswerView]:
    """The labeler's last answers in this project, newest first, with whether each can still
    be changed."""
    now = now or runtime.current().clock()
    project = cached_project(engine, project_key)
    actor = read_actor(engine, user)
    kinds = project_kinds(project.settings)
    with engine.connect() as conn:
        rows = conn.execute(sql(_RECENT), {"u": actor.id, "p": project.id, "n": limit}).all()
    out = []
    for r in rows:
        text = r.comment or r.title or r.caption or r.text or r.transcript or ""
        out.append(AnswerView(
            annotation_id=r.id, task_id=r.task_id, item_id=r.item_id,
            preview=(mask_pii(text, kinds) or "")[:PREVIEW_CHARS], labels=loads(r.labels),
            flagged=bool(r.flagged), submitted_at=_dt(r.submitted_at),
            editable=_editable(r, now)))
    return out


_OWN = (
    "SELECT a.id, a.project_id, a.item_id, a.task_id, a.kind, a.labels, a.flagged, "
    "a.submitted_at, i.state AS item_state, i.gold_labels, i.is_gold "
    "FROM annotations a JOIN items i ON i.id = a.item_id "
    "WHERE a.id = :a AND a.labeler_id = :u AND a.kind IN ('label', 'gold')")


def _own_answer(conn: Connection, annotation_id: int, user_id: int, *, lock: bool) -> Any:
    suffix = " FOR UPDATE OF a FOR NO KEY UPDATE OF i" if lock and is_pg(conn) else ""
    row = conn.execute(sql(_OWN + suffix), {"a": annotation_id, "u": user_id}).first()
    if row is None:  # someone else's answer, or none: the same answer (ids tell nothing)
        raise NotFound(f"no answer {annotation_id} of yours")
    return row


def answer_for_edit(engine: Engine, project_key: str, annotation_id: int, user: UserRef,
                    *, now: datetime | None = None) -> tuple[Any, list[str], bool]:
    """The item of one of the labeler's answers, as they were shown it, with the labels they
    gave and whether it can still be changed."""
    now = now or runtime.current().clock()
    project = cached_project(engine, project_key)
    actor = read_actor(engine, user)
    with engine.connect() as conn:
        row = _own_answer(conn, annotation_id, actor.id, lock=False)
        if row.project_id != project.id:
            raise NotFound(f"no answer {annotation_id} of yours in this project")
        from modops.queue.dispense import _TASK_VIEW_SQL

        task = conn.execute(sql(_TASK_VIEW_SQL), {"t": row.task_id}).first() \
            if row.task_id is not None else None
        if task is None:
            raise NotFound(f"answer {annotation_id} has no task to show")
        view = _view_from_row(task, project)
    return view, loads(row.labels), _editable(row, now)


def edit_answer(engine: Engine, annotation_id: int, user: UserRef, labels: list[str], *,
                now: datetime | None = None, project_id: int | None = None) -> list[str]:
    """Change one of the labeler's answers while its item is undecided (audited)."""
    now = now or runtime.current().clock()
    with write_tx(engine) as (conn, _):
        actor = load_actor(conn, user)
        row = _own_answer(conn, annotation_id, actor.id, lock=True)
        if project_id is not None and row.project_id != project_id:
            raise NotFound(f"no answer {annotation_id} of yours in this project")
        if not _editable(row, now):
            raise ValidationError(
                "this answer can no longer be changed: its item has been decided or sent to "
                "review, or the time to change it has passed")
        project = load_project(conn, row.project_id)
        canonical = project.rules.validate(labels)
        before = loads(row.labels)
        correct = None
        if row.kind == TaskKind.GOLD.value and row.gold_labels is not None:
            correct = loads(row.gold_labels) == canonical
        conn.execute(sql("UPDATE annotations SET labels = :labels, correct = :c WHERE id = :a"),
                     {"labels": dumps(canonical), "c": correct, "a": annotation_id})
        _audit(conn, actor.username, "label.edit", "annotation", annotation_id, project.id,
               before={"labels": before},
               after={"item_id": row.item_id, "task_id": row.task_id, "labels": canonical},
               actor_id=actor.id)
    return canonical


__all__ = ["EDIT_WINDOW", "AnswerView", "answer_for_edit", "edit_answer", "recent_answers"]
