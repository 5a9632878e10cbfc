"""The admin's console: users (role, deactivate, password), API tokens, the audit log, teams.

Pages only: every change goes through the same use cases as the API (``modops.accounts``), so
it is audited the same way, and every page asks ``api.policies`` first. Tokens are shown once,
in the answer to the POST that created them, and never again (only their digest is stored).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from modops.accounts import (
    activate_user,
    change_role,
    create_token,
    deactivate_user,
    end_user_sessions,
    get_user,
    list_tokens,
    revoke_token,
    set_password,
    update_team,
)
from modops.api import policies
from modops.api.auth import Principal, current, forget_tokens
from modops.api.deps import engine_of
from modops.domain import NotFound, Role, ValidationError
from modops.i18n.formats import local_time
from modops.store import session_scope
from modops.store.audit import (
    AuditFilter,
    audit_actions,
    audit_csv,
    count_audit,
    project_id_of,
    search_audit,
)
from modops.store.models import Project, Team, User
from modops.store.models_web import ApiToken
from modops.web.views import env, render

router = APIRouter(include_in_schema=False)

KST = timedelta(hours=9)
PAGE = 50
NOTICES = {"role", "deactivated", "activated", "password", "sessions", "revoked", "team"}


def kst(value: datetime | None) -> str:
    """A stored (naive UTC) time as Korean time to the minute: what people compare (the one
    formatter, ``modops.i18n.formats``)."""
    return "" if value is None else local_time(value, fmt="%Y-%m-%d %H:%M", with_zone=False)


ZERO_DECIMAL = frozenset({"KRW", "JPY", "VND", "IDR", "CLP", "ISK", "HUF", "TWD"})


def amount(value: float | None, currency: str) -> str:
    """An amount of money as people write it in that currency (₩ has no minor unit)."""
    if value is None:
        return "—"
    return f"{value:,.0f}" if currency.upper() in ZERO_DECIMAL else f"{value:,.2f}"


env.globals["amount"] = amount


def _notice(request: Request) -> str | None:
    m = request.query_params.get("m")
    return m if m in NOTICES else None


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _actor(s: Session, p: Principal) -> User:
    actor = s.get(User, p.id)
    if actor is None:  # deleted under us: nobody to act as
        raise NotFound("no such user")
    return actor


# --- users -----------------------------------------------------------------------------------

def _user_view(s: Session, user: User) -> dict[str, Any]:
    team = s.get(Team, user.team_id) if user.team_id else None
    tokens = [t for t in list_tokens(s, user) if t.revoked_at is None]
    return {"id": user.id, "username": user.username, "name": user.display_name, "role": user.role,
            "team": team.name if team else None, "active": user.active,
            "created_at": kst(user.created_at), "tokens": len(tokens),
            "has_password": bool(user.password_hash)}


def _user_page(request: Request, p: Principal, username: str, *, error: str | None = None,
               status_code: int = 200) -> Response:
    policies.require(p, "user.manage")
    with session_scope(engine_of(request)) as s:
        view = _user_view(s, get_user(s, username))
    return render(request, "console/admin_user.html", p, user=view, error=error,
                  notice=_notice(request), roles=[r.value for r in Role],
                  is_self=username == p.username, status_code=status_code)


@router.get("/admin/users/{username}")
def user_page(username: str, request: Request, p: Principal = Depends(current)) -> Response:
    """One account: its role, whether it may sign in, a new password, its sessions."""
    return _user_page(request, p, username)


@router.post("/admin/users/{username}/role")
def user_role(username: str, request: Request, p: Principal = Depends(current),
              role: str = Form(...)) -> Response:
    policies.require(p, "user.manage")
    if username == p.username:
        return _user_page(request, p, username, error="admin.error.self_role", status_code=422)
    with session_scope(engine_of(request)) as s:
        change_role(s, get_user(s, username), role, _actor(s, p))
    forget_tokens()
    return _see_other(f"/admin/users/{username}?m=role")


@router.post("/admin/users/{username}/active")
def user_active(username: str, request: Request, p: Principal = Depends(current),
                active: str = Form(...)) -> Response:
    """Deactivate (sessions end, tokens revoked) or activate again."""
    policies.require(p, "user.manage")
    if username == p.username:
        return _user_page(request, p, username, error="admin.error.self_deactivate",
                          status_code=422)
    with session_scope(engine_of(request)) as s:
        user, actor = get_user(s, username), _actor(s, p)
        if active == "1":
            activate_user(s, user, actor)
        else:
            deactivate_user(s, user, actor)
    forget_tokens()
    done = "activated" if active == "1" else "deactivated"
    return _see_other(f"/admin/users/{username}?m={done}")


@router.post("/admin/users/{username}/password")
def user_password(username: str, request: Request, p: Principal = Depends(current),
                  password: str = Form(...)) -> Response:
    """A new password under the password policy; the user's browser sessions end."""
    policies.require(p, "user.manage")
    try:
        with session_scope(engine_of(request)) as s:
            set_password(s, get_user(s, username), password, actor=_actor(s, p),
                         end_sessions=username != p.username)
    except ValidationError:
        return _user_page(request, p, username, error="admin.error.password", status_code=422)
    return _see_other(f"/admin/users/{username}?m=password")


@router.post("/admin/users/{username}/sessions")
def user_sessions(username: str, request: Request, p: Principal = Depends(current)) -> Response:
    policies.require(p, "user.manage")
    with session_scope(engine_of(request)) as s:
        end_user_sessions(s, get_user(s, username), actor=_actor(s, p))
    return _see_other(f"/admin/users/{username}?m=sessions")


# --- API tokens ------------------------------------------------------------------------------

def _token_rows(s: Session, p: Principal) -> list[dict[str, Any]]:
    owner = None if p.role == Role.ADMIN else _actor(s, p)
    names = {k: v for k, v in s.execute(select(User.id, User.username))}
    return [{"id": t.id, "name": t.name, "prefix": t.prefix, "owner": names.get(t.user_id, ""),
             "created_at": kst(t.created_at), "expires_at": kst(t.expires_at),
             "last_used_at": kst(t.last_used_at), "revoked": t.revoked_at is not None}
            for t in reversed(list_tokens(s, owner))]


def _tokens_page(request: Request, p: Principal, *, new: dict[str, str] | None = None,
                 error: str | None = None, status_code: int = 200) -> Response:
    policies.require(p, "token.own")
    with session_scope(engine_of(request)) as s:
        rows = _token_rows(s, p)
    return render(request, "console/tokens.html", p, tokens=rows, new_token=new, error=error,
                  notice=_notice(request), is_admin=p.role == Role.ADMIN,
                  status_code=status_code)


@router.get("/tokens")
def tokens_page(request: Request, p: Principal = Depends(current)) -> Response:
    """Own API tokens (admins: everyone's): create, see when each was last used, revoke."""
    return _tokens_page(request, p)


@router.post("/tokens")
def tokens_create(request: Request, p: Principal = Depends(current), name: str = Form(""),
                  days: str = Form(""), username: str = Form("")) -> Response:
    """Create a token and show it in this answer only (no redirect: the secret is never put
    in a URL, a log or a later page)."""
    policies.require(p, "token.own")
    try:
        lifetime = int(days) if days.strip() else None
    except ValueError:
        return _tokens_page(request, p, error="tokens.error.days", status_code=422)
    try:
        with session_scope(engine_of(request)) as s:
            actor = _actor(s, p)
            owner = actor
            if username.strip() and username.strip() != p.username:
                policies.require(p, "user.manage")
                owner = get_user(s, username.strip())
            new = create_token(s, owner, name, days=lifetime, actor=actor)
    except ValidationError:
        return _tokens_page(request, p, error="tokens.error.invalid", status_code=422)
    return _tokens_page(request, p, new={"token": new.token, "name": new.name,
                                         "prefix": new.prefix})


@router.post("/tokens/{token_id}/revoke")
def tokens_revoke(token_id: int, request: Request, p: Principal = Depends(current)) -> Response:
    policies.require(p, "token.own")
    with session_scope(engine_of(request)) as s:
        tok = s.get(ApiToken, token_id)
        if tok is None or (tok.user_id != p.id and p.role != Role.ADMIN):
            raise NotFound(f"no token {token_id}")
        revoke_token(s, token_id, _actor(s, p))
    forget_tokens()
    return _see_other("/tokens?m=revoked")


# --- the audit log ---------------------------------------------------------------------------

def _day(value: str | None, *, end: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` day in Korean time as its naive UTC start (or, with ``end``, the start
    of the next day); None if empty or not a date."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        return None
    return datetime.combine(day + timedelta(days=1 if end else 0), time()) - KST


def audit_filter(s: Session, params: dict[str, str]) -> AuditFilter:
    """The viewer's query string as a filter (a project is given by its key, days in KST)."""
    return AuditFilter(actor=params.get("actor") or None, action=params.get("action") or None,
                       entity=params.get("entity") or None,
                       entity_id=params.get("entity_id") or None,
                       project_id=project_id_of(s, params.get("project")),
                       since=_day(params.get("since")), until=_day(params.get("until"), end=True))


FILTERS = ("actor", "action", "entity", "entity_id", "project", "since", "until")


def _entry_view(e: Any, projects: dict[int, str]) -> dict[str, Any]:
    from modops.web.views import _pretty

    return {"id": e.id, "at": kst(e.at), "actor": e.actor, "action": e.action,
            "entity": e.entity, "entity_id": e.entity_id,
            "project": projects.get(e.project_id) if e.project_id else None,
            "before": _pretty(e.before), "after": _pretty(e.after)}


@router.get("/audit")
def audit_page(request: Request, p: Principal = Depends(current)) -> Response:
    """Every change, newest first: filters (actor, action, object, project, KST days), keyset
    pages of 50, and the same selection as CSV."""
    policies.require(p, "audit.read")
    params = {k: request.query_params.get(k, "").strip() for k in FILTERS}
    raw_before = request.query_params.get("before", "")
    before = int(raw_before) if raw_before.isdigit() else None
    with session_scope(engine_of(request)) as s:
        flt = audit_filter(s, params)
        entries = search_audit(s, flt, before_id=before, limit=PAGE + 1)
        total = count_audit(s, flt)
        projects = {k: v for k, v in s.execute(select(Project.id, Project.key))}
        rows = [_entry_view(e, projects) for e in entries[:PAGE]]
        actions = audit_actions(s)
    shown = {k: v for k, v in params.items() if v}
    more = len(entries) > PAGE
    return render(request, "console/audit.html", p, entries=rows, params=params, total=total,
                  actions=actions, projects=sorted(projects.values()),
                  next_url=f"/audit?{urlencode({**shown, 'before': rows[-1]['id']})}"
                  if more else None,
                  first_url=f"/audit?{urlencode(shown)}" if before else None,
                  csv_url=f"/audit.csv?{urlencode(shown)}")


@router.get("/audit.csv")
def audit_export(request: Request, p: Principal = Depends(current)) -> Response:
    """The filtered log as CSV (UTF-8 with a BOM so spreadsheet programs read Hangul), every
    cell guarded against formula injection."""
    policies.require(p, "audit.read")
    params = {k: request.query_params.get(k, "").strip() for k in FILTERS}
    engine = engine_of(request)

    def body() -> Iterator[bytes]:
        yield "\ufeff".encode()
        with session_scope(engine, immediate=False) as s:
            for chunk in audit_csv(s, audit_filter(s, params)):
                yield chunk.encode()

    return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="modops-audit.csv"'})


# --- teams and vendors -----------------------------------------------------------------------

TEAM_FORM = ("vendor", "hourly_cost", "currency", "shift_start_utc", "shift_hours")


def _team_rows(s: Session) -> list[dict[str, Any]]:
    from sqlalchemy import func

    sizes = {k: v for k, v in s.execute(select(User.team_id, func.count(User.id))
                                        .where(User.active.is_(True)).group_by(User.team_id))}
    return [{"name": t.name, "vendor": t.vendor, "hourly_cost": t.hourly_cost,
             "currency": t.currency or "KRW", "shift_start_utc": t.shift_start_utc,
             "shift_hours": t.shift_hours, "members": sizes.get(t.id, 0)}
            for t in s.scalars(select(Team).order_by(Team.name))]


def _teams_page(request: Request, p: Principal, *, error: str | None = None,
                form: dict[str, str] | None = None, status_code: int = 200) -> Response:
    policies.require(p, "user.read")
    with session_scope(engine_of(request)) as s:
        rows = _team_rows(s)
    return render(request, "console/teams.html", p, teams=rows, error=error, form=form or {},
                  notice=_notice(request), can_edit=p.at_least(Role.ADMIN),
                  status_code=status_code)


@router.get("/admin/teams")
def teams_page(request: Request, p: Principal = Depends(current)) -> Response:
    """Teams and vendors with their hourly cost (always with its currency) and shift."""
    return _teams_page(request, p)


@router.post("/admin/teams")
async def teams_save(request: Request, p: Principal = Depends(current)) -> Response:
    """Create or change a team (audited as ``team.update``); a bad value keeps the form."""
    from starlette.concurrency import run_in_threadpool

    policies.require(p, "user.manage")
    form = await request.form()
    values = {k: str(form.get(k, "")).strip() for k in ("name", *TEAM_FORM)}
    name = values.pop("name")
    if not name:
        return _teams_page(request, p, error="teams.error.name", form=values, status_code=422)
    changes: dict[str, object] = {k: v for k, v in values.items() if v != ""}

    def save() -> None:
        with session_scope(engine_of(request)) as s:
            update_team(s, name, changes, actor=_actor(s, p))

    try:
        await run_in_threadpool(save)
    except ValidationError:
        return _teams_page(request, p, error="teams.error.invalid",
                           form={"name": name, **values}, status_code=422)
    return _see_other("/admin/teams?m=team")
