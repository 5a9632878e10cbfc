"""What a labeler does with a leased task: submit, skip or flag it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from modops.domain import (
    DecisionSource,
    IllegalTransition,
    NotFound,
    PermissionDenied,
    TaskKind,
    TaskState,
    ValidationError,
)
from modops.domain.states import check_task
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
from modops.queue.decisions import _audit, consensus_for_item, escalate, record_decision
from modops.queue.dispense import _dt, release
from modops.queue.views import SubmitResult
from modops.store.db import utcnow

MAX_NOTE_CHARS = 5_000


def _held_task(conn: Connection, task_id: int, user_id: int, now: datetime) -> Any:
    """Load and lock the task, and check this user holds its lease."""
    lock = " FOR UPDATE" if is_pg(conn) else ""
    task = conn.execute(sql(
        "SELECT id, project_id, item_id, kind, state, assignee_id, leased_at, lease_expires_at "
        f"FROM tasks WHERE id = :t{lock}"), {"t": task_id}).first()
    if task is None:
        raise NotFound(f"no task {task_id}")
    if task.assignee_id != user_id:
        raise PermissionDenied(
            f"task {task_id} is not leased to you (the lease may have expired and the task "
            "gone to someone else)")
    if task.state != TaskState.LEASED.value:
        check_task(task.state, TaskState.DONE, task_id)  # raises the clear error
    return task


def handle_ms(leased_at: Any, now: datetime) -> int | None:
    """Time on task: lease start → answer, in milliseconds (never negative)."""
    if leased_at is None:
        return None
    return max(0, int((now - _dt(leased_at)).total_seconds() * 1000))


def submit(engine: Engine, task_id: int, user: UserRef, labels: list[str], *,
           note: str | None = None, now: datetime | None = None) -> SubmitResult:
    """Record a labeler's answer. Acknowledged only after commit: a returned result is durable.

    A lease that ran out is still honoured while nobody else has taken the slot.
    """
    now = now or utcnow()
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise ValidationError(f"a note may have at most {MAX_NOTE_CHARS} characters")
    actor = read_actor(engine, user)
    with write_tx(engine) as (conn, pending):
        task = _held_task(conn, task_id, actor.id, now)
        if task.kind not in (TaskKind.LABEL.value, TaskKind.GOLD.value):
            raise IllegalTransition(f"task {task_id} is a {task.kind} task: use decide()")
        project = cached_project(engine, task.project_id)
        canonical = project.rules.validate(labels)
        # Lock the item first (before any insert that references it) so that of two labelers
        # submitting its last slots at the same moment exactly one sees all k answers and runs
        # consensus. NO KEY UPDATE does not conflict with the key-share locks foreign keys take.
        lock = " FOR NO KEY UPDATE" if is_pg(conn) else ""
        item = conn.execute(sql(
            "SELECT state, view_count, external_id, final_labels FROM items "
            f"WHERE id = :i{lock}"), {"i": task.item_id}).one()
        item_state = item.state
        leased_at = _dt(task.leased_at)
        time_on_task = handle_ms(leased_at, now)
        correct = None
        gold_labels = None
        if task.kind == TaskKind.GOLD.value:
            gold_labels = loads(conn.execute(sql("SELECT gold_labels FROM items WHERE id = :i"),
                                             {"i": task.item_id}).scalar())
            correct = gold_labels == canonical
        annotation_id = conn.execute(sql(
            "INSERT INTO annotations (project_id, item_id, task_id, labeler_id, kind, labels, "
            "note, flagged, started_at, submitted_at, handle_ms, correct) VALUES (:p, :i, :t, "
            ":u, :kind, :labels, :note, :false, :started, :now, :ms, :correct) RETURNING id"),
            {"p": project.id, "i": task.item_id, "t": task_id, "u": actor.id, "kind": task.kind,
             "labels": dumps(canonical), "note": note, "false": False, "started": leased_at,
             "now": now, "ms": time_on_task, "correct": correct}).scalar_one()
        conn.execute(sql("UPDATE tasks SET state = 'done', done_at = :now, "
                          "lease_expires_at = NULL WHERE id = :t"), {"now": now, "t": task_id})
        _audit(conn, actor.username, "label.submit", "annotation", annotation_id, project.id,
               after={"item_id": task.item_id, "task_id": task_id, "labels": canonical},
               actor_id=actor.id)
        result = SubmitResult(annotation_id=annotation_id, item_state="queued")
        if task.kind == TaskKind.GOLD.value:
            if project.settings.get("gold_feedback", True):
                result.gold_correct = correct
                result.gold_feedback = None if correct else project.settings.get(
                    "gold_feedback_note", "정답과 다릅니다 · Does not match the gold answer: "
                    + ", ".join(gold_labels or []))
            return result
        votes = [(row[0], "|".join(loads(row[1]))) for row in conn.execute(sql(
            "SELECT labeler_id, labels FROM annotations WHERE item_id = :i AND kind = 'label' "
            "ORDER BY id"), {"i": task.item_id})]
        done = len(votes)
        if done >= project.overlap_k and item_state == "queued":
            consensus = consensus_for_item(conn, project, task.item_id, votes)
            if consensus.label is not None and not consensus.tie and \
                    consensus.share >= project.escalation_threshold:
                final = consensus.label.split("|")
                record_decision(
                    conn, pending, project, task.item_id, final, item=item,
                    source=DecisionSource.LABELERS, now=now,
                    basis={"aggregator": project.settings.get("aggregator", "majority"),
                           "share": round(consensus.share, 4), "votes": consensus.n_votes})
                result.item_state, result.decided_labels = "decided", final
            else:
                escalate(conn, project, task.item_id, now,
                         reason=f"agreement {consensus.share:.2f} below "
                                f"{project.escalation_threshold:.2f}" if not consensus.tie
                         else "tie")
                result.item_state, result.escalated = "escalated", True
    return result


def skip(engine: Engine, task_id: int, user: UserRef, *, reason: str | None = None,
         now: datetime | None = None) -> None:
    """Pass on an item: the slot goes back to the queue and this labeler never sees the item
    again."""
    now = now or utcnow()
    with write_tx(engine) as (conn, _):
        actor = load_actor(conn, user)
        task = _held_task(conn, task_id, actor.id, now)
        if task.kind == TaskKind.GOLD.value:
            conn.execute(sql("UPDATE tasks SET state = 'cancelled', done_at = :now "
                              "WHERE id = :t"), {"now": now, "t": task_id})
        elif task.kind == TaskKind.LABEL.value:
            release(conn, task_id)
        else:
            raise IllegalTransition(f"a {task.kind} task cannot be skipped; hand it back instead")
        conn.execute(sql(
            "INSERT INTO skips (project_id, item_id, user_id, reason, at) VALUES "
            "(:p, :i, :u, :r, :now)"),
            {"p": task.project_id, "i": task.item_id, "u": actor.id, "r": reason, "now": now})


def flag(engine: Engine, task_id: int, user: UserRef, *, note: str | None = None,
         now: datetime | None = None) -> SubmitResult:
    """Send an item straight to a reviewer (unclear policy, urgent harm, broken media)."""
    now = now or utcnow()
    with write_tx(engine) as (conn, _):
        actor = load_actor(conn, user)
        task = _held_task(conn, task_id, actor.id, now)
        if task.kind not in (TaskKind.LABEL.value, TaskKind.GOLD.value):
            raise IllegalTransition(f"a {task.kind} task cannot be flagged")
        project = load_project(conn, task.project_id)
        annotation_id = conn.execute(sql(
            "INSERT INTO annotations (project_id, item_id, task_id, labeler_id, kind, labels, "
            "note, flagged, started_at, submitted_at, handle_ms) VALUES (:p, :i, :t, :u, "
            ":kind, '[]', :note, :true, :started, :now, :ms) RETURNING id"),
            {"p": project.id, "i": task.item_id, "t": task_id, "u": actor.id,
             "kind": task.kind, "note": note, "true": True, "started": _dt(task.leased_at),
             "now": now, "ms": None}).scalar_one()
        conn.execute(sql("UPDATE tasks SET state = 'done', done_at = :now WHERE id = :t"),
                     {"now": now, "t": task_id})
        _audit(conn, actor.username, "label.flag", "annotation", annotation_id, project.id,
               after={"item_id": task.item_id, "note": note}, actor_id=actor.id)
        state = "queued"
        if task.kind == TaskKind.LABEL.value:
            escalate(conn, project, task.item_id, now, reason="flagged by a labeler")
            state = "escalated"
        return SubmitResult(annotation_id=annotation_id, item_state=state, escalated=True)
