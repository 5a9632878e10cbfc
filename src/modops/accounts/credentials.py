"""Browser sessions and API tokens: random secrets handed out once, stored only as digests.

A 256-bit random token needs no slow hash (there is nothing to brute-force), so SHA-256 keeps
the per-request lookup to one indexed query. Revoking is deleting the session row or stamping
``revoked_at`` on the token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from modops.domain import NotFound, ValidationError, events
from modops.store import notices
from modops.store.audit import record
from modops.store.db import utcnow
from modops.store.models import User
from modops.store.models_web import ApiToken, WebSession

TOKEN_PREFIX = "mo_"
SESSION_TTL = timedelta(hours=12)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str  # goes into the (signed) cookie; never stored
    csrf_token: str
    user_id: int
    expires_at: datetime


def start_session(
    session: Session, user: User, *, user_agent: str | None = None, ttl: timedelta = SESSION_TTL
) -> NewSession:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(
        token_hash=digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + ttl,
        last_seen_at=now,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(row)
    session.flush()
    record(session, actor=user, action="session.start", entity="user", entity_id=user.id)
    return NewSession(token, row.csrf_token, user.id, row.expires_at)


def session_user(session: Session, token: str) -> tuple[User, WebSession] | None:
    """The active user behind a session token, or None if unknown, expired or deactivated."""
    row = session.execute(
        select(User, WebSession)
        .join(WebSession, WebSession.user_id == User.id)
        .where(WebSession.token_hash == digest(token))
    ).first()
    if row is None:
        return None
    user, web = row
    if web.expires_at <= utcnow() or not user.active:
        return None
    return user, web


def end_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == digest(token)))


def end_user_sessions(session: Session, user: User, actor: User | str | None = None) -> int:
    """Sign the user out everywhere (offboarding, a password reset); audited. Returns how many
    sessions ended."""
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        delete(WebSession).where(WebSession.user_id == user.id))
    n = result.rowcount or 0
    record(session, actor=actor, action="session.end_all", entity="user", entity_id=user.id,
           after={"sessions": n})
    return int(n)


def revoke_user_tokens(session: Session, user: User, actor: User | str | None = None) -> int:
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()))
    n = result.rowcount or 0
    if n:
        record(session, actor=actor, action="token.revoke_all", entity="user",
               entity_id=user.id, after={"tokens": n})
        notices.publish_change(session, events.USER_CHANGED, {"user_id": user.id})
    return int(n)


@dataclass(frozen=True, slots=True)
class NewToken:
    id: int
    token: str  # shown once
    prefix: str
    name: str


def default_token_days() -> int:
    """How long an API token lives unless its creator asks for less (``token_days``)."""
    from modops.settings import settings

    return settings().token_days


def create_token(
    session: Session,
    user: User,
    name: str,
    *,
    expires_at: datetime | None = None,
    days: int | None = None,
    actor: User | str | None = None,
) -> NewToken:
    """A new API token for ``user``. It expires after ``days`` (at most the default lifetime,
    ``MODOPS_TOKEN_DAYS``, 90 unless set), or at ``expires_at`` if given."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError("a token needs a name of 1-200 characters")
    if expires_at is None:
        longest = default_token_days()
        if days is not None and (days < 1 or (longest and days > longest)):
            raise ValidationError(f"a token lives 1-{longest or 'any number of'} days")
        days = days or longest
        expires_at = utcnow() + timedelta(days=days) if days else None
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        token_hash=digest(token),
        prefix=token[:10],
        name=name,
        user_id=user.id,
        created_at=utcnow(),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor or user,
        action="token.create",
        entity="api_token",
        entity_id=row.id,
        after={"user": user.username, "name": name, "prefix": row.prefix},
    )
    return NewToken(row.id, token, row.prefix, name)


def token_user(session: Session, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.execute(
        select(User, ApiToken)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == digest(token))
    ).first()
    if row is None:
        return None
    user, tok = row
    now = utcnow()
    if tok.revoked_at is not None or not user.active:
        return None
    if tok.expires_at is not None and tok.expires_at <= now:
        return None
    return user


def touch_token(session: Session, token: str) -> None:
    session.execute(
        update(ApiToken).where(ApiToken.token_hash == digest(token)).values(last_used_at=utcnow())
    )


def rotate_token(session: Session, token_id: int, actor: User) -> NewToken:
    """Replace a token: a new secret with the same owner and name and a fresh lifetime; the
    old one is revoked in the same transaction (a client swaps it in one step)."""
    tok = session.get(ApiToken, token_id)
    if tok is None or tok.revoked_at is not None:
        raise NotFound(f"no active token {token_id}")
    owner = session.get(User, tok.user_id)
    assert owner is not None
    new = create_token(session, owner, tok.name, actor=actor)
    tok.revoked_at = utcnow()
    record(session, actor=actor, action="token.rotate", entity="api_token", entity_id=tok.id,
           after={"replaced_by": new.id})
    notices.publish_change(session, events.USER_CHANGED, {"user_id": tok.user_id})
    return new


def list_tokens(session: Session, user: User | None = None) -> list[ApiToken]:
    q = select(ApiToken).order_by(ApiToken.id)
    if user is not None:
        q = q.where(ApiToken.user_id == user.id)
    return list(session.scalars(q))


def revoke_token(session: Session, token_id: int, actor: User) -> ApiToken:
    tok = session.get(ApiToken, token_id)
    if tok is None:
        raise NotFound(f"no token {token_id}")
    if tok.revoked_at is None:
        tok.revoked_at = utcnow()
        record(session, actor=actor, action="token.revoke", entity="api_token", entity_id=tok.id)
        notices.publish_change(session, events.USER_CHANGED, {"user_id": tok.user_id})
    return tok
