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
from modops.store.models import User

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
