"""Reviewers decide escalations, audits and appeals. A reviewer's decision is final."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from modops.domain import (
    DecisionSource,
    IllegalTransition,
    ItemState,
    NotFound,
    PermissionDenied,
    Role,
    TaskKind,
    TaskState,
    ValidationError,
    events,
)
from modops.domain.states import check_item, expect_one, set_state
from modops.queue import runtime
from modops.queue.config import ProjectConfig
from modops.queue.core import (
    Actor,
    UserRef,
    dumps,
    load_actor,
    load_project,
    loads,
    sql,
    write_tx,
)
from modops.queue.decisions import _audit, create_task, record_decision
from modops.queue.labeling import _held_task, handle_ms
from modops.queue.views import DecisionResult

Pending = list[tuple[str, dict[str, Any]]]  # events published once the transaction commits
_CLOSE_TASK = set_state("tasks", TaskState.DONE, also="done_at = :now", where="id = :t")
# an upheld appeal puts the item back as it was decided (only an appealed item may)
_UPHOLD = set_state("items", ItemState.DECIDED, where="id = :i", among=(ItemState.APPEALED,))
_APPEAL = set_state("items", ItemState.APPEALED, where="id = :i")


def decide(engine: Engine, task_id: int, reviewer: UserRef, labels: list[str], *,
           note: str | None = None, now: datetime | None = None) -> DecisionResult:
    """Resolve a review, audit or appeal task.

    * review: the decision is final; labelers whose answer differs are marked overturned.
    * audit: QA's answer is recorded beside the decision (it measures, it does not change it).
    * appeal: the same labels uphold the decision; different labels overturn it.
    """
    now = now or runtime.current().clock()
    with write_tx(engine) as (conn, pending):
        actor = load_actor(conn, reviewer)
        if not actor.role.at_least(Role.REVIEWER):
            raise PermissionDenied("only reviewers, managers and admins decide")
        task = _held_task(conn, task_id, actor.id, now)
        project = load_project(conn, task.project_id)
        final = project.rules.validate(labels)
        kind = TaskKind(task.kind)
        if kind not in (TaskKind.REVIEW, TaskKind.AUDIT, TaskKind.APPEAL):
            raise IllegalTransition(f"task {task_id} is a {task.kind} task: use submit()")
        conn.execute(sql(
            "INSERT INTO annotations (project_id, item_id, task_id, labeler_id, kind, labels, "
            "note, flagged, started_at, submitted_at, handle_ms) VALUES (:p, :i, :t, :u, :k, "
            ":labels, :note, :false, :started, :now, :ms)"),
            {"p": project.id, "i": task.item_id, "t": task_id, "u": actor.id, "k": kind.value,
             "labels": dumps(final), "note": note, "false": False, "started": task.leased_at,
             "now": now, "ms": handle_ms(task.leased_at, now)})
        expect_one(conn.execute(sql(_CLOSE_TASK), {"now": now, "t": task_id}).rowcount,
                   f"task {task_id}", TaskState.DONE)
        current = conn.execute(sql(
            "SELECT id, labels, action, source FROM decisions WHERE item_id = :i AND "
            "current = :true ORDER BY id DESC LIMIT 1"), {"i": task.item_id, "true": True}).first()
        if kind is TaskKind.AUDIT:
            return _record_audit(conn, task, actor, project, final, current)
        if kind is TaskKind.REVIEW:
            return _decide_review(conn, pending, task, actor, project, final, note, now)
        return _resolve_appeal(conn, pending, task, actor, project, final, current, note, now)


def _record_audit(conn: Connection, task: Any, actor: Actor, project: ProjectConfig,
                  final: list[str], current: Any) -> DecisionResult:
    """QA's answer is recorded beside the decision: it measures, it does not change it."""
    if current is None:
        raise IllegalTransition(f"item {task.item_id} has no decision to audit")
    agrees = loads(current.labels) == final
    _audit(conn, actor.username, "audit.record", "decision", current.id, project.id,
           after={"labels": final, "agrees": agrees}, actor_id=actor.id)
    return DecisionResult(decision_id=current.id, labels=loads(current.labels),
                          action=current.action, source=current.source)


def _decide_review(conn: Connection, pending: Pending, task: Any, actor: Actor,
                   project: ProjectConfig, final: list[str], note: str | None,
                   now: datetime) -> DecisionResult:
    """The reviewer's decision is final; labelers whose answer differs are overturned."""
    rows = conn.execute(sql(
        "SELECT a.id, u.username, a.labels, a.flagged FROM annotations a JOIN users u "
        "ON u.id = a.labeler_id WHERE a.item_id = :i AND a.kind = 'label'"),
        {"i": task.item_id}).all()
    overturned = sorted({r.username for r in rows if loads(r.labels) != final
                         and not r.flagged})
    for r in rows:
        if not r.flagged:
            conn.execute(sql("UPDATE annotations SET overturned = :o WHERE id = :a"),
                         {"o": loads(r.labels) != final, "a": r.id})
    decision_id, action = record_decision(
        conn, pending, project, task.item_id, final, source=DecisionSource.REVIEWER,
        basis={"overturned": overturned, "review_task": task.id, "note": note},
        now=now, decided_by=actor.id, actor=actor.username)
    return DecisionResult(decision_id=decision_id, labels=final, action=action,
                          source=DecisionSource.REVIEWER.value, overturned=overturned)


def _resolve_appeal(conn: Connection, pending: Pending, task: Any, actor: Actor,
                    project: ProjectConfig, final: list[str], current: Any, note: str | None,
                    now: datetime) -> DecisionResult:
    """The same labels uphold the decision; different labels overturn it."""
    appeal = conn.execute(sql(
        "SELECT id FROM appeals WHERE item_id = :i AND state = 'open' ORDER BY id DESC "
        "LIMIT 1"), {"i": task.item_id}).first()
    if appeal is None or current is None:
        raise IllegalTransition(f"item {task.item_id} has no open appeal")
    upheld = loads(current.labels) == final
    outcome = "upheld" if upheld else "overturned"
    conn.execute(sql(
        "UPDATE appeals SET state = :s, resolved_by_id = :u, resolved_at = :now, "
        "outcome_labels = :labels WHERE id = :a"),
        {"s": outcome, "u": actor.id, "now": now, "labels": dumps(final), "a": appeal.id})
    if upheld:
        expect_one(conn.execute(sql(_UPHOLD), {"i": task.item_id}).rowcount,
                   f"item {task.item_id}", ItemState.DECIDED)
        decision_id, action = current.id, current.action
    else:
        decision_id, action = record_decision(
            conn, pending, project, task.item_id, final, source=DecisionSource.APPEAL,
            basis={"appeal": appeal.id, "previous": loads(current.labels), "note": note},
            now=now, decided_by=actor.id, actor=actor.username)
    _audit(conn, actor.username, "appeal.resolve", "appeal", appeal.id, project.id,
           before={"labels": loads(current.labels)},
           after={"labels": final, "outcome": outcome}, actor_id=actor.id)
    pending.append((events.APPEAL_RESOLVED, {
        "project": project.key, "item_id": task.item_id, "appeal_id": appeal.id,
        "outcome": outcome, "labels": final, "resolved_at": now.isoformat() + "Z"}))
    return DecisionResult(decision_id=decision_id, labels=final, action=action,
                          source=DecisionSource.APPEAL.value, appeal_outcome=outcome)


def open_appeal(engine: Engine, project_key: str, external_id: str, *, opened_by: str,
                reason: str | None = None, now: datetime | None = None) -> int:
    """Re-open a decided item for senior review (e.g. the creator disputes a removal)."""
    now = now or runtime.current().clock()
    if not opened_by:
        raise ValidationError("an appeal needs to say who opened it")
    with write_tx(engine) as (conn, pending):
        project = load_project(conn, project_key)
        item = conn.execute(sql(
            "SELECT id, state, priority FROM items WHERE project_id = :p AND external_id = :e"),
            {"p": project.id, "e": external_id}).first()
        if item is None:
            raise NotFound(f"no item {external_id!r} in project {project.key}")
        check_item(item.state, ItemState.APPEALED, item.id)
        decision_id = conn.execute(sql(
            "SELECT id FROM decisions WHERE item_id = :i AND current = :true "
            "ORDER BY id DESC LIMIT 1"), {"i": item.id, "true": True}).scalar()
        if decision_id is None:
            raise IllegalTransition(f"item {external_id!r} has no decision to appeal")
        appeal_id: int = conn.execute(sql(
            "INSERT INTO appeals (project_id, item_id, decision_id, opened_by, reason, "
            "opened_at, state) VALUES (:p, :i, :d, :by, :r, :now, 'open') RETURNING id"),
            {"p": project.id, "i": item.id, "d": decision_id, "by": opened_by, "r": reason,
             "now": now}).scalar_one()
        expect_one(conn.execute(sql(_APPEAL), {"i": item.id}).rowcount, f"item {item.id}",
                   ItemState.APPEALED)
        create_task(conn, project.id, item.id, TaskKind.APPEAL, now, priority=item.priority)
        _audit(conn, opened_by, "appeal.open", "appeal", appeal_id, project.id,
               after={"item": external_id, "reason": reason})
        pending.append((events.APPEAL_OPENED, {
            "project": project.key, "item_id": item.id, "external_id": external_id,
            "appeal_id": appeal_id, "opened_at": now.isoformat() + "Z"}))
        return appeal_id


def hand_back(engine: Engine, task_id: int, reviewer: UserRef) -> None:
    """A reviewer returns a task unanswered (e.g. needs another language)."""
    from modops.queue.dispense import release

    with write_tx(engine) as (conn, _):
        actor = load_actor(conn, reviewer)
        task = _held_task(conn, task_id, actor.id, runtime.current().clock())
        if task.kind not in (TaskKind.REVIEW.value, TaskKind.AUDIT.value,
                             TaskKind.APPEAL.value):
            raise IllegalTransition("labelers skip; reviewers hand back")
        release(conn, task_id)
