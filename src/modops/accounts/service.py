"""User accounts. Passwords are argon2id hashes; nothing else about a password is stored."""

from __future__ import annotations

import re
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from modops.domain import NotFound, Role, ValidationError, events
from modops.projects.service import ensure_team
from modops.store import notices
from modops.store.audit import record
from modops.store.db import utcnow
from modops.store.models import Team, User

_hasher = PasswordHasher()
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,99}$")


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValidationError("a password needs at least 8 characters")
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    if not user.password_hash or not user.active:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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
    session: Session, user: User, password: str, actor: User | str | None = None
) -> None:
    user.password_hash = hash_password(password)
    record(session, actor=actor, action="user.password", entity="user", entity_id=user.id)


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
