"""Sign-in, sign-out, who am I, and API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from modops.accounts import create_token, end_session, list_tokens, revoke_token, rotate_token
from modops.accounts import get_user as _get_user
from modops.api import policies, schemas
from modops.api.auth import SESSION_COOKIE, Principal, current, forget_tokens, password_sign_in
from modops.api.deps import engine_of
from modops.api.readmodels import labeler_stats
from modops.domain import NotFound, Role
from modops.store import session_scope
from modops.store.models import User
from modops.store.models_web import ApiToken

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/login", response_model=schemas.MeOut)
def login(body: schemas.LoginIn, request: Request, response: Response) -> schemas.MeOut:
    """Password sign-in: sets an HttpOnly session cookie; the CSRF token comes back in a header."""
    csrf = password_sign_in(request, response, body.username, body.password)
    response.headers["X-CSRF-Token"] = csrf
    with session_scope(engine_of(request)) as s:
        user = _get_user(s, body.username)
        return schemas.MeOut(id=user.id, username=user.username,
                             display_name=user.display_name or user.username, role=user.role,
                             team_id=user.team_id, locale=user.locale)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, response: Response, p: Principal = Depends(current)) -> None:
    if p.session_token:
        with session_scope(engine_of(request)) as s:
            end_session(s, p.session_token)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", response_model=schemas.MeOut)
def me(p: Principal = Depends(current)) -> schemas.MeOut:
    return schemas.MeOut(id=p.id, username=p.username, display_name=p.display_name,
                         role=p.role.value, team_id=p.team_id, locale=p.locale)


@router.get("/me/stats", response_model=schemas.StatsOut)
def my_stats(request: Request, p: Principal = Depends(current)) -> schemas.StatsOut:
    """The caller's own answers today (KST) and gold accuracy (30 days)."""
    with session_scope(engine_of(request)) as s:
        st = labeler_stats(s, p.id)
    return schemas.StatsOut(today=st.today, gold_answered=st.gold_answered,
                            gold_correct=st.gold_correct, gold_accuracy=st.gold_accuracy)


@router.get("/tokens", response_model=list[schemas.TokenOut], tags=["tokens"])
def tokens(request: Request, p: Principal = Depends(current)) -> list[ApiToken]:
    """Own tokens; admins see every token."""
    with session_scope(engine_of(request)) as s:
        owner = None if p.role == Role.ADMIN else s.get(User, p.id)
        return list_tokens(s, owner)


@router.post("/tokens", response_model=schemas.NewTokenOut, status_code=201, tags=["tokens"])
def new_token(body: schemas.TokenIn, request: Request,
              p: Principal = Depends(current)) -> schemas.NewTokenOut:
    """Create a token (shown once). Admins may create one for another user.

    Signed in with a cookie (the first token), this unsafe request needs the session's CSRF
    token: the ``X-CSRF-Token`` header that ``POST /auth/login`` answered, sent back as the
    ``X-CSRF-Token`` request header. With ``Authorization: Bearer`` no CSRF header is needed.
    """
    with session_scope(engine_of(request)) as s:
        actor = s.get(User, p.id)
        owner = actor
        if body.username and body.username != p.username:
            policies.require(p, "user.manage")
            owner = _get_user(s, body.username)
        assert owner is not None
        new = create_token(s, owner, body.name, days=body.days, actor=actor)
    return schemas.NewTokenOut(id=new.id, name=new.name, prefix=new.prefix, token=new.token)


def _token_actor(s: Session, p: Principal, token_id: int) -> User:
    """The caller, if the token is theirs (admins: any token); 404 otherwise."""
    tok = s.get(ApiToken, token_id)
    if tok is None or (tok.user_id != p.id and p.role != Role.ADMIN):
        raise NotFound(f"no token {token_id}")
    actor = s.get(User, p.id)
    assert actor is not None
    return actor


@router.post("/tokens/{token_id}/rotate", response_model=schemas.NewTokenOut, status_code=201,
             tags=["tokens"])
def rotate(token_id: int, request: Request,
           p: Principal = Depends(current)) -> schemas.NewTokenOut:
    """Replace a token (own, or any for admins): a new secret, shown once, with a fresh
    lifetime; the old one stops working at once."""
    with session_scope(engine_of(request)) as s:
        new = rotate_token(s, token_id, _token_actor(s, p, token_id))
    forget_tokens()
    return schemas.NewTokenOut(id=new.id, name=new.name, prefix=new.prefix, token=new.token)


@router.delete("/tokens/{token_id}", status_code=204, tags=["tokens"])
def delete_token(token_id: int, request: Request, p: Principal = Depends(current)) -> None:
    with session_scope(engine_of(request)) as s:
        revoke_token(s, token_id, _token_actor(s, p, token_id))
    forget_tokens()
