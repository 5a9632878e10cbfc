"""User accounts. Passwords are argon2id hashes; nothing else about a password is stored."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from modops.accounts.credentials import end_user_sessions, revoke_user_tokens
from modops.accounts.passwords import check_password
from modops.domain import NotFound, Role, ValidationError, events
from modops.projects.service import ensure_team
from modops.store import notices
from modops.store.audit import record
from modops.store.db import utcnow
from modops.store.models import Team, User

_hasher = PasswordHasher()
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,99}$")


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_password(user: User | None, password: str) -> bool:
    """True only for an active user with this password. Takes one argon2 verification whatever
    the case (unknown user, no password, deactivated), so the time taken tells a guesser
    nothing about which usernames exist (433 ms vs 10 ms before)."""
    stored = user.password_hash if user is not None and user.password_hash else None
    ok: bool
    try:
        ok = _hasher.verify(stored or _decoy_hash(), password)
    except (VerificationError, InvalidHashError):
        ok = False
    return bool(ok and stored and user is not None and user.active)


def add_user(
    session: Session,
    username: str,
    role: str | Role,
    *,
    password: str | None = None,
    team: str | None = None,
    skills: Sequence[str] = (),
    display_name: str | None = None,
    email: str | None = None,
    actor: User | str | None = None,
) -> User:
    if not USERNAME.match(username):
        raise ValidationError(
            f"username {username!r}: use 2-100 letters, digits, '.', '_', '@' or '-'"
        )
    try:
        role = Role(role)
    except ValueError:
        raise ValidationError(
            f"role must be one of {', '.join(r.value for r in Role)}, got {role!r}"
        ) from None
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValidationError(f"user {username!r} already exists")
    user = User(
        username=username,
        role=role.value,
        display_name=display_name or username,
        email=email,
        team=ensure_team(session, team) if team else None,
        skills=list(skills),
        password_hash=hash_password(password) if password else None,
        active=True,
        created_at=utcnow(),
        locale="ko",
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor=actor,
        action="user.create",
        entity="user",
        entity_id=user.id,
        after={"username": username, "role": role.value, "team": team, "skills": list(skills)},
    )
    notices.publish_change(session, events.USER_CHANGED, {"user": username})
    return user


def set_password(
    session: Session, user: User, password: str, actor: User | str | None = None,
    *, end_sessions: bool = True,
) -> None:
    """A new password (policy-checked); every browser session of the user ends with it."""
    user.password_hash = hash_password(password)
    record(session, actor=actor, action="user.password", entity="user", entity_id=user.id)
    if end_sessions:
        end_user_sessions(session, user, actor=actor)


def deactivate_user(session: Session, user: User, actor: User | str | None) -> dict[str, int]:
    """Offboarding: the account can no longer sign in, its sessions end and its API tokens are
    revoked, at once in this process and within a second everywhere (USER_CHANGED)."""
    before = user.active
    user.active = False
    ended = end_user_sessions(session, user, actor=actor)
    revoked = revoke_user_tokens(session, user, actor=actor)
    record(session, actor=actor, action="user.deactivate", entity="user", entity_id=user.id,
           before={"active": before}, after={"active": False, "sessions_ended": ended,
                                             "tokens_revoked": revoked})
    notices.publish_change(session, events.USER_CHANGED, {"user_id": user.id})
    return {"sessions_ended": ended, "tokens_revoked": revoked}


def change_role(session: Session, user: User, role: str | Role,
                actor: User | str | None) -> bool:
    """Give ``user`` another role; audited, and announced so cached tokens and sessions pick
    it up within a second everywhere. Returns False when the role is the same."""
    try:
        new = Role(role)
    except ValueError:
        raise ValidationError(
            f"role must be one of {', '.join(r.value for r in Role)}, got {role!r}") from None
    if user.role == new.value:
        return False
    before = user.role
    user.role = new.value
    record(session, actor=actor, action="user.role", entity="user", entity_id=user.id,
           before={"role": before}, after={"role": new.value})
    notices.publish_change(session, events.USER_CHANGED, {"user_id": user.id})
    return True


def activate_user(session: Session, user: User, actor: User | str | None) -> None:
    if not user.active:
        user.active = True
        record(session, actor=actor, action="user.activate", entity="user", entity_id=user.id,
               before={"active": False}, after={"active": True})
        notices.publish_change(session, events.USER_CHANGED, {"user_id": user.id})


def get_user(session: Session, username_or_id: str | int) -> User:
    if isinstance(username_or_id, int):
        user = session.get(User, username_or_id)
    else:
        user = session.scalar(select(User).where(User.username == username_or_id))
    if user is None:
        raise NotFound(f"no user {username_or_id!r}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


TEAM_FIELDS = ("vendor", "hourly_cost", "currency", "shift_start_utc", "shift_hours")


def update_team(session: Session, name: str, changes: dict[str, object],
                actor: User | str | None = None) -> Team:
    """Create or change a team: its vendor, hourly cost and the currency of that cost (ISO
    4217, KRW by default), its daily shift (UTC start hour and length, for the staffing
    roster). Audited like every setting."""
    unknown = set(changes) - set(TEAM_FIELDS)
    if unknown:
        raise ValidationError(f"unknown team field(s): {', '.join(sorted(unknown))}; "
                              f"use {', '.join(TEAM_FIELDS)}")
    out: dict[str, object] = {}
    for key, value in changes.items():
        if value is None or value == "":
            out[key] = None if key != "currency" else "KRW"
        elif key == "hourly_cost":
            try:
                cost = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise ValidationError(f"hourly_cost must be a number, got {value!r}") from None
            if not cost >= 0:
                raise ValidationError("hourly_cost must not be negative")
            out[key] = cost
        elif key == "currency":
            code = str(value).strip().upper()
            if not re.fullmatch(r"[A-Z]{3}", code):
                raise ValidationError(f"currency must be an ISO 4217 code such as KRW, "
                                      f"got {value!r}")
            out[key] = code
        elif key in ("shift_start_utc", "shift_hours"):
            try:
                hour = int(value)  # type: ignore[call-overload]
            except (TypeError, ValueError):
                raise ValidationError(f"{key} must be a whole number of hours") from None
            lo, hi = (0, 23) if key == "shift_start_utc" else (1, 24)
            if not lo <= hour <= hi:
                raise ValidationError(f"{key} must be between {lo} and {hi}, got {hour}")
            out[key] = hour
        else:
            out[key] = str(value)[:100]
    team = ensure_team(session, name)
    before = {k: getattr(team, k) for k in out}
    for key, value in out.items():
        setattr(team, key, value)
    session.flush()
    record(session, actor=actor, action="team.update", entity="team", entity_id=team.id,
           before=before, after=out)
    return team
