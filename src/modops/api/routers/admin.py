"""Users, teams and webhooks (with their delivery log)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from modops.accounts import (
    activate_user,
    add_user,
    deactivate_user,
    end_user_sessions,
    get_user,
    list_users,
    set_password,
    update_team,
)
from modops.api import policies, schemas
from modops.api.auth import Principal, current, forget_tokens
from modops.api.deps import engine_of, settings_of
from modops.domain import NotFound, ValidationError
from modops.net.outbound import OutboundPolicy
from modops.notify.webhooks import create_webhook, retire_webhook
from modops.store import outbox, session_scope
from modops.store.models import Team, User
from modops.store.models_web import Webhook, WebhookDelivery

router = APIRouter(prefix="/api/v1", tags=["admin"])


@router.get("/users", response_model=list[schemas.UserOut])
def users(request: Request, p: Principal = Depends(current)) -> list[User]:
    policies.require(p, "user.read")
    with session_scope(engine_of(request)) as s:
        return list_users(s)


@router.post("/users", response_model=schemas.UserOut, status_code=201)
def new_user(body: schemas.UserIn, request: Request, p: Principal = Depends(current)) -> User:
    policies.require(p, "user.manage")
    with session_scope(engine_of(request)) as s:
        return add_user(s, body.username, body.role, password=body.password, team=body.team,
                        skills=body.skills, display_name=body.display_name,
                        actor=s.get(User, p.id))


def _managed_user(s: Session, p: Principal, username: str) -> tuple[User, User]:
    policies.require(p, "user.manage")
    actor = s.get(User, p.id)
    assert actor is not None
    return get_user(s, username), actor


@router.post("/users/{username}/deactivate", response_model=schemas.UserOut)
def deactivate(username: str, request: Request, p: Principal = Depends(current)) -> User:
    """Offboarding: no more sign-ins; every session ends and every API token is revoked."""
    with session_scope(engine_of(request)) as s:
        user, actor = _managed_user(s, p, username)
        if user.id == p.id:
            raise ValidationError("admins cannot deactivate themselves")
        deactivate_user(s, user, actor)
    forget_tokens()
    with session_scope(engine_of(request)) as s:
        return get_user(s, username)


@router.post("/users/{username}/activate", response_model=schemas.UserOut)
def activate(username: str, request: Request, p: Principal = Depends(current)) -> User:
    with session_scope(engine_of(request)) as s:
        user, actor = _managed_user(s, p, username)
        activate_user(s, user, actor)
        return user


@router.put("/users/{username}/password", status_code=204)
def reset_password(username: str, body: schemas.PasswordIn, request: Request,
                   p: Principal = Depends(current)) -> None:
    """Set a new password (the policy applies); the user's sessions end."""
    with session_scope(engine_of(request)) as s:
        user, actor = _managed_user(s, p, username)
        set_password(s, user, body.password, actor=actor)


@router.delete("/users/{username}/sessions", status_code=204)
def end_sessions(username: str, request: Request, p: Principal = Depends(current)) -> None:
    """Sign the user out of every browser (API tokens are revoked separately)."""
    with session_scope(engine_of(request)) as s:
        user, actor = _managed_user(s, p, username)
        end_user_sessions(s, user, actor=actor)


@router.get("/teams", response_model=list[schemas.TeamOut])
def teams(request: Request, p: Principal = Depends(current)) -> list[Team]:
    policies.require(p, "user.read")
    with session_scope(engine_of(request)) as s:
        return list(s.scalars(select(Team).order_by(Team.name)))


@router.put("/teams/{name}", response_model=schemas.TeamOut)
def put_team(name: str, body: schemas.TeamIn, request: Request,
             p: Principal = Depends(current)) -> Team:
    """Create or change a team's vendor, hourly cost and currency (KRW unless given) and its
    daily shift (staffing roster). Audited."""
    policies.require(p, "user.manage")
    with session_scope(engine_of(request)) as s:
        return update_team(s, name, body.model_dump(exclude_unset=True),
                           actor=s.get(User, p.id))


def _visible_hook(s: Session, p: Principal, hook_id: int) -> Webhook:
    hook = s.get(Webhook, hook_id)
    if hook is None:
        raise NotFound(f"no webhook {hook_id}")
    try:
        policies.webhook_scope(s, p, hook.project_id)
    except NotFound:
        raise NotFound(f"no webhook {hook_id}") from None
    return hook


@router.get("/webhooks", response_model=list[schemas.WebhookOut], tags=["webhooks"])
def webhooks(request: Request, p: Principal = Depends(current)) -> list[Webhook]:
    policies.require(p, "project.manage")
    with session_scope(engine_of(request)) as s:
        hooks = list(s.scalars(select(Webhook).order_by(Webhook.id)))
        if policies.org_wide(p):
            return hooks
        return [h for h in hooks
                if h.project_id is not None and policies.is_member(s, p, h.project_id)]


@router.post("/webhooks", response_model=schemas.NewWebhookOut, status_code=201,
             tags=["webhooks"])
def new_webhook(body: schemas.WebhookIn, request: Request,
                p: Principal = Depends(current)) -> schemas.NewWebhookOut:
    """Register a URL for decision/appeal events; the signing secret is returned once."""
    with session_scope(engine_of(request)) as s:
        project_id = None
        if body.project:
            project_id = policies.project(s, p, body.project, "project.manage").id
        policies.webhook_scope(s, p, project_id)
        hook = create_webhook(
            s, url=body.url, project_id=project_id, events=body.events, created_by_id=p.id,
            policy=OutboundPolicy.parse(settings_of(request).outbound_allow))
        out = schemas.NewWebhookOut.model_validate(hook)
    outbox.forget_webhooks()
    return out


@router.delete("/webhooks/{hook_id}", status_code=204, tags=["webhooks"])
def delete_webhook(hook_id: int, request: Request, p: Principal = Depends(current)) -> None:
    with session_scope(engine_of(request)) as s:
        retire_webhook(s, _visible_hook(s, p, hook_id))
    outbox.forget_webhooks()  # this process at once; other workers within outbox.HOOKS_TTL_S


@router.get("/webhooks/{hook_id}/deliveries", response_model=list[schemas.DeliveryOut],
            tags=["webhooks"])
def deliveries(hook_id: int, request: Request, p: Principal = Depends(current),
               state: str | None = None, limit: int = 100) -> list[WebhookDelivery]:
    """The delivery log: pending, delivered and failed attempts with the last error."""
    with session_scope(engine_of(request)) as s:
        _visible_hook(s, p, hook_id)
        qy = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook_id)
        if state:
            qy = qy.where(WebhookDelivery.state == state)
        return list(s.scalars(qy.order_by(WebhookDelivery.id.desc()).limit(min(limit, 1000))))

