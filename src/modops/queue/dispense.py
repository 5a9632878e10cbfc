"""Handing out work: ``next_task`` for labelers, ``next_review`` for reviewers.

The order of precedence is written down in ``next_task.md`` beside this file.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from modops.domain import PermissionDenied, ProjectStatus, Role, TaskKind, TaskState
from modops.domain.fields import SHOWN_FIELDS, select_list
from modops.domain.states import expect_one, set_state
from modops.privacy import mask_item_fields, mask_pii, project_kinds
from modops.queue import runtime
from modops.queue.config import ProjectConfig
from modops.queue.core import (
    Actor,
    UserRef,
    cached_project,
    fetch,
    is_pg,
    loads,
    read_actor,
    sql,
    write_tx,
)
from modops.queue.views import AnnotationView, ItemView, ReviewView, TaskView

REVIEW_KINDS = (TaskKind.REVIEW.value, TaskKind.APPEAL.value, TaskKind.AUDIT.value)


def expire_leases(conn: Connection, now: datetime) -> int:
    """Return abandoned slots to the queue (gold tasks, made per labeler, are cancelled)."""
    reopened = conn.execute(sql(_REOPEN_EXPIRED), {"now": now}).rowcount
    cancelled = conn.execute(sql(_CANCEL_EXPIRED_GOLD), {"now": now}).rowcount
    return reopened + cancelled


_UNLEASE = "assignee_id = NULL, leased_at = NULL, lease_expires_at = NULL"
_REOPEN_EXPIRED = set_state("tasks", TaskState.OPEN, also=_UNLEASE,
                            where=f"lease_expires_at < :now AND kind <> '{TaskKind.GOLD}'")
_CANCEL_EXPIRED_GOLD = set_state("tasks", TaskState.CANCELLED, also="done_at = :now",
                                 where=f"lease_expires_at < :now AND kind = '{TaskKind.GOLD}'",
                                 among=(TaskState.LEASED,))
_RELEASE = set_state("tasks", TaskState.OPEN, also=_UNLEASE, where="id = :t")


def _maybe_sweep(engine: Engine, now: datetime) -> None:
    """Expire leases at most once a second per process: cheap, and never on the hot path twice."""
    key = id(engine)
    stamp = now.timestamp() if now.tzinfo else (now - datetime(1970, 1, 1)).total_seconds()
    rt = runtime.current()
    with rt.sweep_lock:
        last = rt.last_sweep.get(key)
        if last is not None and 0 <= stamp - last < rt.sweep_interval_s:
            return
        rt.last_sweep[key] = stamp
    with write_tx(engine) as (conn, _):
        expire_leases(conn, now)


def _eligible(project: ProjectConfig, actor: Actor) -> None:
    if project.status != ProjectStatus.ACTIVE.value:
        raise PermissionDenied(f"project {project.key} is {project.status}: no work is served")
    if project.team_ids and actor.team_id not in project.team_ids and \
            not actor.role.at_least(Role.MANAGER) and not actor.role.org_wide(actor.team_id):
        raise PermissionDenied(f"project {project.key} is restricted to its teams")
    missing = [s for s in project.required_skills if s not in actor.skills]
    if missing and not actor.role.at_least(Role.MANAGER):
        raise PermissionDenied(f"project {project.key} needs the skill {missing[0]!r}")


# What a person is shown (the field spec's shown fields) and the machine's suggestion.
_ITEM_COLUMNS = (f"i.id AS item_id, {select_list(SHOWN_FIELDS)}, "
                 "i.machine_scores, i.machine_score, i.model_version")


_TASK_VIEW_SQL = (
    f"SELECT t.id AS task_id, t.kind, t.leased_at, t.lease_expires_at, {_ITEM_COLUMNS} "
    "FROM tasks t JOIN items i ON i.id = t.item_id JOIN products p ON p.id = i.product_id "
    "WHERE t.id = :t")


def _task_view(conn: Connection, task_id: int, project: ProjectConfig,
               cls: type[TaskView] = TaskView) -> TaskView:
    return _view_from_row(conn.execute(sql(_TASK_VIEW_SQL), {"t": task_id}).one(), project, cls)


def _view_from_row(row: Any, project: ProjectConfig, cls: type[TaskView] = TaskView) \
        -> TaskView:
    """Build what a person is shown from a task row joined with its item (``_ITEM_COLUMNS``).
    The fields are spelled out: this runs for every task handed out (bench/dispense.py)."""
    item = ItemView(
        id=row.item_id, external_id=row.external_id, product=row.product, title=row.title,
        caption=row.caption, comment=row.comment, transcript=row.transcript, text=row.text,
        media_url=row.media_url, metadata=loads(row.metadata), language=row.language,
        created_at=_dt(row.created_at), view_count=row.view_count,
        user_reported=bool(row.user_reported),
    )
    # Personal data is masked where work is handed out, so every interface shows the same
    # masked text; reviewers unmask through an audited call (POST /api/v1/items/{id}/unmask).
    mask_item_fields(item, project_kinds(project.settings))
    suggestion = None
    if project.show_machine_suggestion and row.machine_score is not None:
        suggestion = {"score": row.machine_score, "scores": loads(row.machine_scores),
                      "model_version": row.model_version}
    kind = TaskKind.LABEL.value if row.kind == TaskKind.GOLD.value else row.kind
    why: list[dict[str, Any]] = []
    # Reviewers always see why the machine scored an item so; labelers only where the project
    # shows them the machine's suggestion (it anchors first-pass labels otherwise).
    if row.machine_scores is not None and (kind != TaskKind.LABEL.value or suggestion):
        from modops.machine.banks import explain

        why = explain(loads(row.machine_scores))
    return cls(task_id=row.task_id, kind=kind, project_key=project.key, item=item,
               leased_at=_dt(row.leased_at), lease_expires_at=_dt(row.lease_expires_at),
               machine_suggestion=suggestion, machine_why=why)


def _dt(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _held_sql(kinds: tuple[str, ...], columns: str = "id") -> str:
    """The lease this user already holds (a reload or a second tab gets the same task back)."""
    kind_list = ", ".join(f"'{k}'" for k in kinds)
    return (f"SELECT {columns} FROM tasks WHERE project_id = :p AND assignee_id = :u "
            f"AND state = '{TaskState.LEASED}' AND kind IN ({kind_list}) "
            "AND lease_expires_at >= :now "
            "ORDER BY id LIMIT 1")


def _current_lease(conn: Connection, project_id: int, user_id: int, kinds: tuple[str, ...],
                   now: datetime) -> int | None:
    return conn.execute(sql(_held_sql(kinds)),
                        {"p": project_id, "u": user_id, "now": now}).scalar()


_LEASE_ALSO = "assignee_id = :u, leased_at = :now, lease_expires_at = :exp"
_LEASE = set_state("tasks", TaskState.LEASED, also=_LEASE_ALSO, where="id = :t")
_LEASE_PICKED = set_state("tasks", TaskState.LEASED, also=_LEASE_ALSO, source="picked",
                          where="tasks.id = picked.id")


def _lease_params(actor: Actor, now: datetime, seconds: int) -> dict[str, Any]:
    return {"u": actor.id, "now": now, "exp": now + timedelta(seconds=seconds)}


def _lease(conn: Connection, task_id: int, actor: Actor, now: datetime, seconds: int) -> None:
    expect_one(conn.execute(sql(_LEASE), {**_lease_params(actor, now, seconds),
                                          "t": task_id}).rowcount,
               f"task {task_id}", TaskState.LEASED)


def _restriction_sql(actor: Actor) -> tuple[str, dict[str, Any]]:
    """Per-task restrictions: a team, or a skill (e.g. minor_safety) the labeler must have."""
    params: dict[str, Any] = {"team": actor.team_id if actor.team_id is not None else -1}
    if actor.skills:
        names = [f"sk{i}" for i in range(len(actor.skills))]
        params.update(zip(names, actor.skills, strict=True))
        marks = ", ".join(":" + n for n in names)
        skill = f"(t.required_skill IS NULL OR t.required_skill IN ({marks}))"
    else:
        skill = "t.required_skill IS NULL"
    return f"{skill} AND (t.team_id IS NULL OR t.team_id = :team)", params


def _label_slot_sql(actor: Actor, *, lock: bool, also: str = "") -> tuple[str, dict[str, Any]]:
    """The most urgent open label slot this labeler may take: never an item they already had
    or skipped, within their team and skills (next_task.md)."""
    restrict, params = _restriction_sql(actor)
    fence = _PROBE_EACH if lock else ""
    return (f"SELECT t.id FROM tasks t WHERE t.project_id = :p AND t.state = '{TaskState.OPEN}' "
            f"AND t.kind = 'label' AND {restrict} {also}"
            "AND NOT EXISTS (SELECT 1 FROM tasks o WHERE o.item_id = t.item_id "
            f"AND o.assignee_id = :u{fence}) "
            "AND NOT EXISTS (SELECT 1 FROM skips s WHERE s.item_id = t.item_id "
            f"AND s.user_id = :u{fence}) "
            "ORDER BY t.priority DESC, t.id LIMIT 1"
            + (" FOR UPDATE OF t SKIP LOCKED" if lock else "")), params


# PostgreSQL: "never an item they already had" stays a probe of (item, labeler) for each
# candidate slot. Without the fence (OFFSET 0 keeps the planner from turning NOT EXISTS into
# an anti-join) the plan chosen with statistics from before anyone labeled read the
# labeler's whole history for every next task: 2 ms → 6 ms per pair over 12,000 pairs.
_PROBE_EACH = " OFFSET 0"


def _pick_label_slot(conn: Connection, project: ProjectConfig, actor: Actor) -> int | None:
    statement, params = _label_slot_sql(actor, lock=is_pg(conn))
    return conn.execute(sql(statement), {"p": project.id, "u": actor.id, **params}).scalar()


_LEASED_COLUMNS = "id, kind, item_id, leased_at, lease_expires_at"


def _lease_label_slot_pg(conn: Connection, project: ProjectConfig, actor: Actor,
                         now: datetime) -> Any:
    """PostgreSQL, one autocommitted statement: the held lease if there is one, else the most
    urgent slot, locked with SKIP LOCKED, leased and returned with its item.

    The labelers' hottest path: one round trip and one commit instead of six, which is what
    lets 32 labelers share two cores. Same precedence as the step-by-step path (gold aside).

    The lease commits without waiting for its WAL flush (``synchronous_commit`` off for this
    statement only): a lease lost to a database crash is a lease that expired early, the slot
    is simply open again and the holder's submit is refused, never double-counted. Submits
    keep synchronous commit: a submit is acknowledged only once it is durable.
    """
    pick, params = _label_slot_sql(actor, lock=True, also="AND NOT EXISTS (SELECT 1 FROM held) ")
    labeled = (TaskKind.LABEL.value, TaskKind.GOLD.value)
    rows = fetch(conn, (
        f"WITH held AS ({_held_sql(labeled, _LEASED_COLUMNS)}), picked AS ({pick}), "
        f"leased AS ({_LEASE_PICKED} "
        f"RETURNING tasks.id, tasks.kind, tasks.item_id, tasks.leased_at, "
        "tasks.lease_expires_at), "
        f"mine AS (SELECT {_LEASED_COLUMNS} FROM held UNION ALL "
        f"SELECT {_LEASED_COLUMNS} FROM leased) "
        f"SELECT t.id AS task_id, t.kind, t.leased_at, t.lease_expires_at, {_ITEM_COLUMNS} "
        "FROM mine t JOIN items i ON i.id = t.item_id JOIN products p ON p.id = i.product_id "
        "CROSS JOIN (SELECT set_config('synchronous_commit', 'off', true)) AS lease_commit"),
        {"p": project.id, **_lease_params(actor, now, project.lease_seconds), **params})
    return rows[0] if rows else None


def _lease_step_by_step(conn: Connection, project: ProjectConfig, actor: Actor,
                        now: datetime, *, gold: bool) -> int | None:
    """Held lease, else a gold item if ``gold`` (drawn at the gold rate), else the most urgent
    slot; leased."""
    task_id = _current_lease(conn, project.id, actor.id,
                             (TaskKind.LABEL.value, TaskKind.GOLD.value), now)
    if task_id is not None:
        return task_id
    if gold:
        task_id = _pick_gold(conn, project, actor, now)
    if task_id is None:
        task_id = _pick_label_slot(conn, project, actor)
    if task_id is not None:
        _lease(conn, task_id, actor, now, project.lease_seconds)
    return task_id


def _pick_gold(conn: Connection, project: ProjectConfig, actor: Actor, now: datetime) \
        -> int | None:
    """Create a gold task on an item this labeler has not answered yet, if any is left."""
    fence = _PROBE_EACH if is_pg(conn) else ""
    candidates = conn.execute(sql(
        "SELECT i.id FROM items i WHERE i.project_id = :p AND i.is_gold = :true "
        "AND NOT EXISTS (SELECT 1 FROM tasks o WHERE o.item_id = i.id AND o.assignee_id = :u"
        f"{fence}) AND NOT EXISTS (SELECT 1 FROM skips s WHERE s.item_id = i.id "
        f"AND s.user_id = :u{fence}) "
        "ORDER BY i.id LIMIT 200"), {"p": project.id, "u": actor.id, "true": True}).scalars().all()
    if not candidates:
        return None
    item_id = runtime.current().rng.choice(candidates)
    task_id: int = conn.execute(sql(
        "INSERT INTO tasks (project_id, item_id, kind, state, slot, priority, assignee_id, "
        f"created_at) VALUES (:p, :i, '{TaskKind.GOLD}', '{TaskState.OPEN}', 0, 0, NULL, :now) "
        "RETURNING id"),
        {"p": project.id, "i": item_id, "now": now}).scalar_one()
    return task_id


def next_task(engine: Engine, project_key: str, user: UserRef, *,
              now: datetime | None = None) -> TaskView | None:
    """Lease the most urgent label slot this labeler may take (see next_task.md), or None.

    Atomic: on PostgreSQL the slot row is locked with ``FOR UPDATE SKIP LOCKED`` so concurrent
    labelers never wait on or receive the same slot; on SQLite the whole pick-and-lease runs
    under ``BEGIN IMMEDIATE``. A unique index on (item, assignee) for label slots makes a second
    slot of the same item for the same labeler impossible even from two browser tabs.
    """
    now = now or runtime.current().clock()
    _maybe_sweep(engine, now)
    project = cached_project(engine, project_key)
    actor = read_actor(engine, user)
    _eligible(project, actor)
    gold = project.gold_rate > 0 and runtime.current().rng.random() < project.gold_rate
    one_statement = engine.dialect.name == "postgresql" and not gold
    for _attempt in range(5):
        try:
            if one_statement:
                with engine.connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT")
                    row = _lease_label_slot_pg(conn, project, actor, now)
                return None if row is None else _view_from_row(row, project)
            with write_tx(engine) as (conn, _):
                task_id = _lease_step_by_step(conn, project, actor, now, gold=gold)
            if task_id is None:
                return None
            with engine.connect() as conn:  # the lease is ours: build the view outside the lock
                return _task_view(conn, task_id, project)
        except IntegrityError:
            time.sleep(0.001)  # the same labeler raced itself (two tabs): pick again
    return None


def held_task(engine: Engine, project_key: str, user: UserRef, *,
              now: datetime | None = None) -> TaskView | None:
    """The label task this labeler already holds here, or None. Leases nothing: opening the
    labeling page shows work in hand; new work is leased only when the labeler starts
    (``next_task``)."""
    now = now or runtime.current().clock()
    project = cached_project(engine, project_key)
    actor = read_actor(engine, user)
    _eligible(project, actor)
    with engine.connect() as conn:
        task_id = _current_lease(conn, project.id, actor.id,
                                 (TaskKind.LABEL.value, TaskKind.GOLD.value), now)
        return None if task_id is None else _task_view(conn, task_id, project)


def next_review(engine: Engine, project_key: str, reviewer: UserRef, *,
                now: datetime | None = None, kinds: tuple[str, ...] = REVIEW_KINDS,
                task_id: int | None = None) -> ReviewView | None:
    """Lease the next escalation, appeal or audit for a reviewer, with every label side by side.

    Escalations come first (they hold an item's SLA), then appeals, then audits. A reviewer is
    never served an appeal against a decision they made themselves. With ``task_id`` that one
    task (a row the reviewer clicked), if it is still open or already theirs; any other task in
    their hands goes back to the queue.
    """
    now = now or runtime.current().clock()
    _maybe_sweep(engine, now)
    project = cached_project(engine, project_key)
    actor = read_actor(engine, reviewer)
    if not actor.role.at_least(Role.REVIEWER):
        raise PermissionDenied("only reviewers, managers and admins review")
    with write_tx(engine) as (conn, _):
        held = _current_lease(conn, project.id, actor.id, kinds, now)
        if task_id is not None and held not in (None, task_id):
            release(conn, held)
            held = None
        if task_id is not None and held is None:
            held = conn.execute(sql(
                f"SELECT id FROM tasks WHERE id = :t AND assignee_id = :u AND state = "
                f"'{TaskState.LEASED}' AND project_id = :p"),
                {"t": task_id, "u": actor.id, "p": project.id}).scalar()
        chosen = held if held is not None else _pick_review(conn, project, actor, kinds, task_id)
        if chosen is None:
            return None
        if held is None:
            _lease(conn, chosen, actor, now, project.lease_seconds)
    with engine.connect() as conn:
        return review_view(conn, chosen, project)


def _pick_review(conn: Connection, project: ProjectConfig, actor: Actor,
                 kinds: tuple[str, ...], task_id: int | None) -> int | None:
    """The next open review task (escalations, appeals, audits), or the chosen one if open."""
    kind_list = ", ".join(f"'{k}'" for k in kinds)
    lock = " FOR UPDATE OF t SKIP LOCKED" if is_pg(conn) else ""
    only = "AND t.id = :chosen " if task_id is not None else ""
    return conn.execute(sql(
        "SELECT t.id FROM tasks t WHERE t.project_id = :p "
        f"AND t.state = '{TaskState.OPEN}' AND t.kind IN ({kind_list}) {only}"
        "AND NOT (t.kind = 'appeal' AND EXISTS (SELECT 1 FROM decisions d "
        "WHERE d.item_id = t.item_id AND d.current = :true AND d.decided_by_id = :u)) "
        "ORDER BY CASE t.kind WHEN 'review' THEN 0 WHEN 'appeal' THEN 1 ELSE 2 END, "
        f"t.priority DESC, t.id LIMIT 1{lock}"),
        {"p": project.id, "u": actor.id, "true": True, "chosen": task_id}).scalar()


def review_view(conn: Connection, task_id: int, project: ProjectConfig) -> ReviewView:
    view = _task_view(conn, task_id, project, cls=ReviewView)
    assert isinstance(view, ReviewView)
    kinds = project_kinds(project.settings)  # notes and appeal texts quote the item, too
    for row in conn.execute(sql(
        "SELECT a.id, u.username, a.labels, a.note, a.flagged, a.submitted_at, a.handle_ms "
        "FROM annotations a JOIN users u ON u.id = a.labeler_id "
        "WHERE a.item_id = :i AND a.kind IN ('label', 'review', 'appeal') "
        "ORDER BY a.submitted_at, a.id"), {"i": view.item.id}):
        view.annotations.append(AnnotationView(
            annotation_id=row[0], labeler=row[1], labels=loads(row[2]),
            note=mask_pii(row[3], kinds),
            flagged=bool(row[4]), submitted_at=_dt(row[5]), handle_ms=row[6]))
    _decision_context(conn, view)
    if view.kind == TaskKind.APPEAL.value:
        view.reason = mask_pii(conn.execute(sql(
            "SELECT reason FROM appeals WHERE item_id = :i AND state = 'open' "
            "ORDER BY id DESC LIMIT 1"), {"i": view.item.id}).scalar(), kinds)
    elif view.kind == TaskKind.AUDIT.value:
        view.reason = "audit sample"
    else:
        flagged = any(a.flagged for a in view.annotations)
        view.reason = "flagged by a labeler" if flagged else "labelers disagree"
    return view


def _decision_context(conn: Connection, view: ReviewView) -> None:
    """The decision under review and the machine's part in it: score, model version, route."""
    current = conn.execute(sql(
        "SELECT d.labels, d.source, d.decided_at, d.basis, u.username FROM decisions d "
        "LEFT JOIN users u ON u.id = d.decided_by_id WHERE d.item_id = :i "
        "AND d.current = :true ORDER BY d.id DESC LIMIT 1"),
        {"i": view.item.id, "true": True}).first()
    view.current_labels = loads(current.labels) if current is not None else None
    if current is not None:
        view.decision = {"source": current.source, "decided_at": _dt(current.decided_at),
                         "by": current.username, "basis": loads(current.basis) or {}}
    machine = conn.execute(sql(
        "SELECT i.machine_score, i.model_version, r.route, r.reason, r.score, "
        "r.model_version AS routed_version, r.auto_action_threshold, r.auto_clear_threshold "
        "FROM items i LEFT JOIN routing_decisions r ON r.item_id = i.id WHERE i.id = :i "
        "ORDER BY r.id DESC LIMIT 1"), {"i": view.item.id}).first()
    if machine is not None and (machine.route is not None or machine.machine_score is not None):
        view.routing = {
            "score": machine.score if machine.score is not None else machine.machine_score,
            "model_version": machine.routed_version or machine.model_version,
            "route": machine.route, "reason": machine.reason,
            "auto_action_threshold": machine.auto_action_threshold,
            "auto_clear_threshold": machine.auto_clear_threshold}


def release(conn: Connection, task_id: int) -> None:
    """Put a leased slot back in the queue (skip, or a reviewer handing it back)."""
    expect_one(conn.execute(sql(_RELEASE), {"t": task_id}).rowcount, f"task {task_id}",
               TaskState.OPEN)
