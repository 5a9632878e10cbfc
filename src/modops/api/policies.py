"""The one authorization layer: every route asks here before it touches data.

Rules (the brief's): labelers see only tasks leased to them and never other labelers'
answers; reviewers their queues; managers their projects; admins everything. A project
"belongs" to a user when it has no teams (open to all) or lists the user's team. Reviewers and
managers without a team are central staff: every project is theirs (a labeler without a team
only sees projects open to all).

Object-level misses answer 404, not 403, so guessing ids tells a caller nothing about what
exists. Role-level misses (a labeler calling a manager route) answer 403.
"""

from __future__ import annotations

import time

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from modops.api.auth import Principal
from modops.domain import NotFound, PermissionDenied, Role, TaskKind, TaskState
from modops.i18n import msg
from modops.projects import access, get_project
from modops.store.models import Annotation, Item, Project, ProjectTeam, Task

REVIEW_KINDS = frozenset({TaskKind.REVIEW.value, TaskKind.APPEAL.value})
# What each action needs at least (project membership is checked on top, except for admins).
ACTION_ROLE: dict[str, Role] = {
    "project.read": Role.LABELER,  # taxonomy, name: what a labeler needs to label
    "task.work": Role.LABELER,  # next / submit / skip / flag
    "review.work": Role.REVIEWER,  # escalations, decide, appeal queue
    "appeal.open": Role.REVIEWER,  # open an appeal from the reviewer's screen
    "item.read": Role.REVIEWER,
    "project.stats": Role.REVIEWER,
    "project.analytics": Role.MANAGER,  # dashboards, metrics API, alerts, transparency export
    "project.manage": Role.MANAGER,  # settings, import, export, webhooks, open appeals
    # Deleting data ahead of the schedule: the retention setting says when, an admin runs it.
    "project.purge": Role.ADMIN,
    "project.create": Role.MANAGER,
    "user.read": Role.MANAGER,
    "user.manage": Role.ADMIN,
    "webhook.global": Role.ADMIN,
    "bank.manage": Role.MANAGER,  # hash banks: create, import and export hash lists
    # The console (issue 20): own API tokens (admins: everyone's); the audit log.
    "token.own": Role.LABELER,
    "audit.read": Role.ADMIN,
    # Rules over signals (issue 19): author, backtest, enable; thresholds and re-routing.
    "rules.manage": Role.MANAGER,
}


def require(principal: Principal, action: str) -> None:
    if not principal.at_least(ACTION_ROLE[action]):
        raise PermissionDenied(f"{principal.role.value} may not {action.replace('.', ' ')}") \
            .localized("error.forbidden.role", role=msg(f"role.{principal.role.value}"))


def org_wide(principal: Principal) -> bool:
    return principal.role.org_wide(principal.team_id)


def is_member(session: Session, principal: Principal, project_id: int) -> bool:
    return access.may_see(session, principal.role, principal.team_id, project_id)


def project(session: Session, principal: Principal, key: str, action: str) -> Project:
    """The project if the caller may do ``action`` on it; 404 if it is not theirs to know."""
    require(principal, action)
    proj = get_project(session, key)
    if not is_member(session, principal, proj.id):
        raise NotFound(f"no project {key!r}")
    return proj


# Project id and teams by key, for the hot path; team changes reach it within this many seconds.
MEMBERSHIP_TTL_S = 5.0
_membership: dict[tuple[Engine, str], tuple[int | None, frozenset[int], float]] = {}


def project_id(engine: Engine, principal: Principal, key: str, action: str) -> int:
    """Like ``project`` but answered from a short cache: next / submit need only the id."""
    require(principal, action)
    now = time.monotonic()
    cache_key = (engine, key)
    hit = _membership.get(cache_key)
    if hit is None or hit[2] <= now:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Project.id, ProjectTeam.team_id)
                .outerjoin(ProjectTeam, ProjectTeam.project_id == Project.id)
                .where(Project.key == key)).all()
        pid = int(rows[0][0]) if rows else None
        hit = (pid, frozenset(t for _, t in rows if t is not None), now + MEMBERSHIP_TTL_S)
        if len(_membership) > 10_000:
            _membership.clear()
        _membership[cache_key] = hit
    pid, teams, _ = hit
    if pid is None:
        raise NotFound(f"no project {key!r}")
    if not org_wide(principal) and teams and principal.team_id not in teams:
        raise NotFound(f"no project {key!r}")
    return pid


# Label leases this process handed out (next_task), so the submit that follows needs no query
# of its own: (engine, task id) -> (assignee, when the lease runs out). The queue re-checks the
# lease under the row lock before writing anything, so a stale entry (a lease that expired and
# went to someone else) cannot let a wrong answer in; it only means the queue says no instead
# of this check.
_leases: dict[tuple[Engine, int], tuple[int, float]] = {}
MAX_REMEMBERED_LEASES = 100_000


def remember_lease(engine: Engine, task_id: int, assignee_id: int, seconds: float) -> None:
    if len(_leases) >= MAX_REMEMBERED_LEASES:
        _leases.clear()
    _leases[(engine, task_id)] = (assignee_id, time.monotonic() + seconds)


def forget_lease(engine: Engine, task_id: int) -> None:
    _leases.pop((engine, task_id), None)


def own_leased_task(engine: Engine, principal: Principal, task_id: int) -> None:
    """The submit check: the task must be a label task leased to the caller.

    Answered from the leases this process handed out when it can (it saves a connection and a
    round trip on every submit, ~0.6 ms of CPU per next + submit pair), else in one Core query.
    """
    require(principal, "task.work")
    hit = _leases.get((engine, task_id))
    if hit is not None and hit[0] == principal.id and hit[1] > time.monotonic():
        return
    with engine.connect() as conn:
        row = conn.execute(select(Task.assignee_id, Task.state, Task.kind)
                           .where(Task.id == task_id)).first()
    if row is None or row.assignee_id != principal.id or row.state != TaskState.LEASED.value \
            or row.kind in REVIEW_KINDS:
        raise NotFound(f"no task {task_id}")


def visible_projects(session: Session, principal: Principal) -> list[Project]:
    ids = access.visible_ids(session, principal.role, principal.team_id)
    return [p for p in session.scalars(select(Project).order_by(Project.id)) if p.id in ids]


def projects(session: Session, principal: Principal, keys: list[str], action: str) -> None:
    """Every project in ``keys`` must be one the caller may do ``action`` on (404 otherwise):
    for requests that name more projects than the one in their path (a report's
    ``params.projects``)."""
    for key in dict.fromkeys(keys):
        project(session, principal, key, action)


def task(session: Session, principal: Principal, task_id: int, *, act: bool = False) -> Task:
    """A task the caller may see (or act on, with ``act``).

    Labelers: only label/gold/audit tasks currently leased to them. Reviewers and up: review and
    appeal tasks leased to them when acting; any task of their projects when reading.
    """
    require(principal, "task.work")
    t = session.get(Task, task_id)
    missing = NotFound(f"no task {task_id}")
    if t is None:
        raise missing
    own_lease = t.assignee_id == principal.id and t.state == TaskState.LEASED.value
    if t.kind in REVIEW_KINDS:
        if not principal.at_least(Role.REVIEWER):
            raise missing
        if not is_member(session, principal, t.project_id):
            raise missing
        if act and not own_lease:
            raise missing
        return t
    if act or principal.role == Role.LABELER:
        if not own_lease:
            raise missing
        return t
    if not is_member(session, principal, t.project_id):
        raise missing
    return t


def shown_kind(principal: Principal, kind: str, answerer_id: int | None) -> str:
    """The task kind as the caller may see it: whoever answers (or answered) a gold task sees
    a label task, or gold would be told apart and answered with extra care."""
    if kind == TaskKind.GOLD.value and (answerer_id == principal.id
                                        or not principal.at_least(Role.REVIEWER)):
        return TaskKind.LABEL.value
    return kind


def annotation(session: Session, principal: Principal, annotation_id: int) -> Annotation:
    """Own annotations always; others' only for reviewers and up in their projects."""
    a = session.get(Annotation, annotation_id)
    if a is None:
        raise NotFound(f"no annotation {annotation_id}")
    if a.labeler_id == principal.id:
        return a
    if principal.at_least(Role.REVIEWER) and is_member(session, principal, a.project_id):
        return a
    raise NotFound(f"no annotation {annotation_id}")


def item(session: Session, principal: Principal, item_id: int) -> Item:
    require(principal, "item.read")
    it = session.get(Item, item_id)
    if it is None or not is_member(session, principal, it.project_id):
        raise NotFound(f"no item {item_id}")
    return it


def item_media(session: Session, principal: Principal, item_id: int) -> None:
    """May the caller see item ``item_id``'s media? Reviewers and up of its project; a labeler
    only while a task on that item is leased to them. NotFound otherwise."""
    if principal.at_least(Role.REVIEWER):
        item(session, principal, item_id)
        return
    held = session.scalar(select(Task.id).where(
        Task.item_id == item_id, Task.assignee_id == principal.id,
        Task.state == TaskState.LEASED.value))
    if held is None:
        raise NotFound(f"no item {item_id}")


def webhook_scope(session: Session, principal: Principal, project_id: int | None) -> None:
    if project_id is None:
        require(principal, "webhook.global")
        return
    require(principal, "project.manage")
    if not is_member(session, principal, project_id):
        raise NotFound(f"no project {project_id}")
