"""Who may see a project: the one membership rule, for the API's policies and for jobs.

A project belongs to a user when it has no teams (open to all) or lists the user's team;
admins, and reviewers or managers without a team (central staff), see every project
(``Role.org_wide``). Jobs run long after the request that started them and read projects the
request only named (a report's ``params.projects``), so they ask the same question again with
the job's creator before they read anything.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from modops.domain import NotFound, Role
from modops.store.models import Project, ProjectTeam, User


def may_see(session: Session, role: Role, team_id: int | None, project_id: int) -> bool:
    if role.org_wide(team_id):
        return True
    teams = set(session.scalars(select(ProjectTeam.team_id).where(
        ProjectTeam.project_id == project_id)))
    return not teams or team_id in teams


def visible_ids(session: Session, role: Role, team_id: int | None) -> set[int]:
    """Ids of every project a user with ``role`` and ``team_id`` may see (one query)."""
    ids = set(session.scalars(select(Project.id)))
    if role.org_wide(team_id):
        return ids
    by_project: dict[int, set[int]] = {}
    for pid, tid in session.execute(select(ProjectTeam.project_id, ProjectTeam.team_id)):
        by_project.setdefault(pid, set()).add(tid)
    return {pid for pid in ids if not by_project.get(pid) or team_id in by_project[pid]}


def check_user_sees(session: Session, user_id: int | None, keys: Iterable[str]) -> None:
    """Raise NotFound for the first project in ``keys`` the user may not see (or that does not
    exist); ``user_id`` None is the system itself (scheduled jobs, the CLI), which sees all."""
    keys = list(dict.fromkeys(keys))
    rows = {k: pid for k, pid in session.execute(
        select(Project.key, Project.id).where(Project.key.in_(keys)))}
    missing = [k for k in keys if k not in rows]
    if missing:
        raise NotFound(f"no project {missing[0]!r}")
    if user_id is None:
        return
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise NotFound(f"no project {keys[0]!r}")
    role = Role(user.role)
    for key in keys:
        if not may_see(session, role, user.team_id, rows[key]):
            raise NotFound(f"no project {key!r}")
