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
from modops.domain.states import check_task, expect_one, set_state
from modops.queue import runtime
from modops.queue.core import (
    Actor,
    UserRef,
    cached_project,
    dumps,
    fetch,
    is_pg,
    load_actor,
    load_project,
    loads,
    read_actor,
    sql,
    write_tx,
)
from modops.queue.decisions import (
    AUDIT_INSERT,
    LockedItem,
    audit_params,
    consensus_for_item,
    escalate,
    record_decision,
)
from modops.queue.dispense import _dt, next_task, release
from modops.queue.views import SubmitResult, TaskView

MAX_NOTE_CHARS = 5_000


_TASK_COLUMNS = ("t.id, t.project_id, t.item_id, t.kind, t.state, t.assignee_id, t.leased_at, "
                 "t.lease_expires_at")


def _held_task(conn: Connection, task_id: int, user_id: int, now: datetime, *,
               with_item: bool = False) -> Any:
    """Load and lock the task, and check this user holds its lease.

    ``with_item`` also reads and locks the item (``item_state``, ``view_count``,
    ``external_id``, ``final_labels``, ``gold_labels``) in the same statement, before any
    insert that references it: of two labelers submitting an item's last slots at the same
    moment exactly one then sees all k answers and runs consensus. NO KEY UPDATE does not
    conflict with the key-share locks that foreign keys take.
    """
    pg = is_pg(conn)
    if with_item:
        statement = (
            f"SELECT {_TASK_COLUMNS}, i.state AS item_state, i.view_count, i.external_id, "
            "i.final_labels, i.gold_labels FROM tasks t JOIN items i ON i.id = t.item_id "
            "WHERE t.id = :t" + (" FOR UPDATE OF t FOR NO KEY UPDATE OF i" if pg else ""))
    else:
        statement = f"SELECT {_TASK_COLUMNS} FROM tasks t WHERE t.id = :t" + (
            " FOR UPDATE" if pg else "")
    rows = fetch(conn, statement, {"t": task_id})
    task = rows[0] if rows else None
    if task is None:
        raise NotFound(f"no task {task_id}")
    if task.assignee_id != user_id:
        raise PermissionDenied(
            f"task {task_id} is not leased to you (the lease may have expired and the task "
            "gone to someone else)")
    if task.state != TaskState.LEASED.value:
        check_task(task.state, TaskState.DONE, task_id)  # raises the clear error
    return task


_INSERT_ANSWER = (
    "INSERT INTO annotations (project_id, item_id, task_id, labeler_id, kind, labels, note, "
    "flagged, started_at, submitted_at, handle_ms, correct) VALUES (:p, :i, :t, :u, :kind, "
    ":labels, :note, :flagged, :started, :now, :ms, :correct) RETURNING id")
_CLOSE_TASK = set_state("tasks", TaskState.DONE, also="done_at = :now, lease_expires_at = NULL",
                        where="id = :t")
_CANCEL_GOLD = set_state("tasks", TaskState.CANCELLED, also="done_at = :now", where="id = :t")
_LABEL_VOTES = ("SELECT labeler_id, labels FROM annotations WHERE item_id = :i "
                "AND kind = 'label' ORDER BY id")


def _write_answer(conn: Connection, task: Any, actor: Actor, labels: list[str], *,
                  note: str | None, flagged: bool, now: datetime, correct: bool | None,
                  audit_action: str, audit_after: dict[str, Any]) \
        -> tuple[int, list[tuple[int, str]]]:
    """Store an answer, close its task and audit it; return the annotation id and the item's
    label votes (this answer included), read after the item lock.

    PostgreSQL does all of it in one statement (a round trip instead of four); the votes come
    from that statement's snapshot, taken after the lock, plus the answer just written.
    """
    leased_at = _dt(task.leased_at)
    params = {"p": task.project_id, "i": task.item_id, "t": task.id, "u": actor.id,
              "kind": task.kind, "labels": dumps(labels), "note": note, "flagged": flagged,
              "started": leased_at, "now": now, "ms": None if flagged else handle_ms(
                  leased_at, now), "correct": correct,
              **audit_params(actor.username, audit_action, "annotation", None,
                             task.project_id, after=audit_after, actor_id=actor.id)}
    if is_pg(conn):
        audit = AUDIT_INSERT.replace(":a_entity_id", "(SELECT CAST(id AS TEXT) FROM ann)")
        rows = fetch(conn, (
            f"WITH ann AS ({_INSERT_ANSWER}), closed AS ({_CLOSE_TASK}), logged AS ({audit}) "
            "SELECT ann.id, v.labeler_id, v.labels FROM ann LEFT JOIN annotations v "
            "ON v.item_id = :i AND v.kind = 'label' ORDER BY v.id"), params)
        annotation_id = rows[0][0]
        votes = [(r[1], "|".join(loads(r[2]))) for r in rows if r[1] is not None]
        if task.kind == TaskKind.LABEL.value and not flagged:
            votes.append((actor.id, "|".join(labels)))
        return annotation_id, votes
    annotation_id = conn.execute(sql(_INSERT_ANSWER), params).scalar_one()
    expect_one(conn.execute(sql(_CLOSE_TASK), params).rowcount, f"task {task.id}",
               TaskState.DONE)
    conn.execute(sql(AUDIT_INSERT), {**params, "a_entity_id": str(annotation_id)})
    votes = [(r[0], "|".join(loads(r[1]))) for r in conn.execute(sql(_LABEL_VOTES), params)]
    return annotation_id, votes


def handle_ms(leased_at: Any, now: datetime) -> int | None:
    """Time on task: lease start → answer, in milliseconds (never negative)."""
    if leased_at is None:
        return None
    return max(0, int((now - _dt(leased_at)).total_seconds() * 1000))


def submit(engine: Engine, task_id: int, user: UserRef, labels: list[str], *,
           note: str | None = None, now: datetime | None = None,
           project_id: int | None = None) -> SubmitResult:
    """Record a labeler's answer. Acknowledged only after commit: a returned result is durable.

    A lease that ran out is still honoured while nobody else has taken the slot. With
    ``project_id`` a task of another project is refused as not found.
    """
    # Measured (issue 22): one answer takes 3.6 ms (277 pairs/s, bench/results/dispense.json,
    # PostgreSQL, 1 labeler); a helper call costs 55 ns (timeit, 1M calls): splitting would cost
    # < 0.01 %. Speed is no reason to keep this in one piece: it should be split (left to the
    # queue's owner this session; issue 22).
    now = now or runtime.current().clock()
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise ValidationError(f"a note may have at most {MAX_NOTE_CHARS} characters")
    actor = read_actor(engine, user)
    with write_tx(engine) as (conn, pending):
        task = _held_task(conn, task_id, actor.id, now, with_item=True)
        if project_id is not None and task.project_id != project_id:
            raise NotFound(f"no task {task_id} in this project")
        if task.kind not in (TaskKind.LABEL.value, TaskKind.GOLD.value):
            raise IllegalTransition(f"task {task_id} is a {task.kind} task: use decide()")
        project = cached_project(engine, task.project_id, conn)
        canonical = project.rules.validate(labels)
        gold_labels = loads(task.gold_labels) if task.kind == TaskKind.GOLD.value else None
        correct = None if gold_labels is None else gold_labels == canonical
        annotation_id, votes = _write_answer(
            conn, task, actor, canonical, note=note, flagged=False, now=now, correct=correct,
            audit_action="label.submit",
            audit_after={"item_id": task.item_id, "task_id": task_id, "labels": canonical})
        result = SubmitResult(annotation_id=annotation_id, item_state="queued")
        if task.kind == TaskKind.GOLD.value:
            # Answered like any other task: a result that said "right" or "wrong" (or named
            # the gold answer) would tell the labeler which tasks are gold. Accuracy reaches
            # them only as a total over earlier days (modops.api.readmodels.labeler_stats).
            return result
        done = len(votes)
        if done >= project.overlap_k and task.item_state == "queued":
            consensus = consensus_for_item(conn, project, task.item_id, votes)
            if consensus.label is not None and not consensus.tie and \
                    consensus.share >= project.escalation_threshold:
                final = consensus.label.split("|")
                record_decision(
                    conn, pending, project, task.item_id, final,
                    item=LockedItem(task.item_state, task.view_count, task.external_id,
                                    task.final_labels),
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


def submit_and_next(engine: Engine, project_key: str, task_id: int, user: UserRef,
                    labels: list[str], *, note: str | None = None,
                    now: datetime | None = None) -> tuple[SubmitResult, TaskView | None]:
    """Submit an answer, then lease this labeler's next task of the same project.

    A labeler's working loop is answer → next; as one call it is one request instead of two
    (the API's ``submit-and-next``). The answer is committed first, exactly as ``submit``
    does, so a failure to lease the next task never loses it.
    """
    now = now or runtime.current().clock()
    project = cached_project(engine, project_key)
    result = submit(engine, task_id, user, labels, note=note, now=now, project_id=project.id)
    return result, next_task(engine, project_key, user, now=now)


def skip(engine: Engine, task_id: int, user: UserRef, *, reason: str | None = None,
         now: datetime | None = None) -> None:
    """Pass on an item: the slot goes back to the queue and this labeler never sees the item
    again."""
    now = now or runtime.current().clock()
    with write_tx(engine) as (conn, _):
        actor = load_actor(conn, user)
        task = _held_task(conn, task_id, actor.id, now)
        if task.kind == TaskKind.GOLD.value:
            expect_one(conn.execute(sql(_CANCEL_GOLD), {"now": now, "t": task_id}).rowcount,
                       f"task {task_id}", TaskState.CANCELLED)
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
    now = now or runtime.current().clock()
    with write_tx(engine) as (conn, _):
        actor = load_actor(conn, user)
        task = _held_task(conn, task_id, actor.id, now)
        if task.kind not in (TaskKind.LABEL.value, TaskKind.GOLD.value):
            raise IllegalTransition(f"a {task.kind} task cannot be flagged")
        project = load_project(conn, task.project_id)
        annotation_id, _ = _write_answer(
            conn, task, actor, [], note=note, flagged=True, now=now, correct=None,
            audit_action="label.flag", audit_after={"item_id": task.item_id, "note": note})
        state = "queued"
        if task.kind == TaskKind.LABEL.value:
            escalate(conn, project, task.item_id, now, reason="flagged by a labeler")
            state = "escalated"
        return SubmitResult(annotation_id=annotation_id, item_state=state, escalated=True)


def leave(engine: Engine, task_id: int, user: UserRef, *, now: datetime | None = None) -> bool:
    """The labeler left the page without answering: the slot goes back to the queue at once
    (a gold task, made for this labeler, is cancelled), instead of waiting for the lease to run
    out. Nothing is recorded against the labeler (unlike ``skip``, the item may come back).

    Idempotent: a task that is no longer leased to this user (answered, expired and taken by
    someone else, already left) is left alone and ``False`` returned.
    """
    now = now or runtime.current().clock()
    with write_tx(engine) as (conn, _):
        actor = load_actor(conn, user)
        rows = fetch(conn, f"SELECT {_TASK_COLUMNS} FROM tasks t WHERE t.id = :t"
                     + (" FOR UPDATE" if is_pg(conn) else ""), {"t": task_id})
        task = rows[0] if rows else None
        if task is None or task.assignee_id != actor.id or \
                task.state != TaskState.LEASED.value:
            return False
        if task.kind == TaskKind.GOLD.value:
            expect_one(conn.execute(sql(_CANCEL_GOLD), {"now": now, "t": task_id}).rowcount,
                       f"task {task_id}", TaskState.CANCELLED)
        elif task.kind == TaskKind.LABEL.value:
            release(conn, task_id)
        else:
            return False
    return True
