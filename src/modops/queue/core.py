"""Shared plumbing for the queue: short write transactions, project config, user lookup."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, Dialect, Engine, TextClause, text

from modops.domain import Action, NotFound, Role, events
from modops.projects.taxonomy import LabelInfo, TaxonomyRules
from modops.queue import runtime
from modops.queue.config import ProjectConfig
from modops.queue.config import dumps as dumps
from modops.queue.config import loads as loads
from modops.store import notices, outbox
from modops.store.db import driver, store_key, writer_turn
from modops.store.models import User


@lru_cache(maxsize=1024)
def sql(statement: str) -> TextClause:
    """``text()`` memoized: the queue's statements are parsed once, not on every call."""
    return text(statement)


def is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


@lru_cache(maxsize=256)
def _driver_sql(statement: str, dialect: Dialect) -> str:
    """``:name`` binds in the driver's own paramstyle (psycopg: ``%(name)s``), compiled once."""
    return str(text(statement).compile(dialect=dialect))


def fetch(conn: Connection, statement: str, params: dict[str, Any]) -> list[Any]:
    """Run one statement of the labelers' hot path; rows allow attribute access.

    On PostgreSQL the statement goes straight to the psycopg cursor (named-tuple rows) inside
    the connection's transaction: SQLAlchemy's per-call result metadata would cost as much
    CPU as the database work itself. Elsewhere it is an ordinary ``execute``.
    """
    if not is_pg(conn):
        return list(conn.execute(sql(statement), params).all())
    with driver(conn).cursor(row_factory=namedtuple_row) as cursor:
        cursor.execute(_driver_sql(statement, conn.dialect), params)
        rows: list[Any] = cursor.fetchall()
        return rows


@dataclass(slots=True, frozen=True)
class Actor:
    """Who is acting: what the queue needs of a user, loaded once per request."""

    id: int
    username: str
    role: Role
    team_id: int | None
    skills: tuple[str, ...]


UserRef = User | Actor | int


def load_actor(conn: Connection | None, user: UserRef) -> Actor:
    if isinstance(user, Actor):
        return user
    if isinstance(user, User) and user.id is not None:
        if not user.active:
            raise NotFound(f"no active user {user.id}")
        return Actor(user.id, user.username, Role(user.role), user.team_id,
                     tuple(user.skills or ()))
    user_id = user.id if isinstance(user, User) else int(user)
    if conn is None:
        raise ValueError("loading a user by id needs a connection")
    row = conn.execute(
        sql("SELECT id, username, role, team_id, skills, active FROM users WHERE id = :u"),
        {"u": user_id},
    ).first()
    if row is None or not row.active:
        raise NotFound(f"no active user {user_id}")
    return Actor(row.id, row.username, Role(row.role), row.team_id,
                 tuple(loads(row.skills) or ()))


def load_project(conn: Connection, key_or_id: str | int) -> ProjectConfig:
    column = "id" if isinstance(key_or_id, int) else "key"
    row = conn.execute(sql(
        "SELECT id, key, status, overlap_k, gold_rate, audit_rate, sla_minutes, lease_seconds, "
        "auto_action_threshold, auto_clear_threshold, escalation_threshold, priority_weights, "
        "required_skills, show_machine_suggestion, model_version, scorer, settings, taxonomy_id "
        f"FROM projects WHERE {column} = :k"), {"k": key_or_id}).first()
    if row is None:
        raise NotFound(f"no project {key_or_id!r}")
    taxonomy = conn.execute(sql("SELECT key, version, multi_label FROM taxonomies WHERE id = :t"),
                            {"t": row.taxonomy_id}).one()
    labels = {
        r.key: LabelInfo(r.key, r.parent_key, r.name_ko, r.name_en, Action(r.action),
                         r.shortcut)
        for r in conn.execute(sql(
            "SELECT key, parent_key, name_ko, name_en, action, shortcut FROM taxonomy_labels "
            "WHERE taxonomy_id = :t ORDER BY position"), {"t": row.taxonomy_id})
    }
    teams = tuple(r[0] for r in conn.execute(
        sql("SELECT team_id FROM project_teams WHERE project_id = :p"), {"p": row.id}))
    return ProjectConfig(
        id=row.id, key=row.key, status=row.status, overlap_k=row.overlap_k,
        gold_rate=row.gold_rate, audit_rate=row.audit_rate, sla_minutes=row.sla_minutes,
        lease_seconds=row.lease_seconds, auto_action_threshold=row.auto_action_threshold,
        auto_clear_threshold=row.auto_clear_threshold,
        escalation_threshold=row.escalation_threshold,
        priority_weights=loads(row.priority_weights) or {},
        required_skills=tuple(loads(row.required_skills) or ()), team_ids=teams,
        show_machine_suggestion=bool(row.show_machine_suggestion),
        model_version=row.model_version, scorer=row.scorer,
        settings=loads(row.settings) or {},
        rules=TaxonomyRules(taxonomy.key, taxonomy.version, bool(taxonomy.multi_label), labels),
    )


@contextmanager
def write_tx(engine: Engine) -> Iterator[tuple[Connection, list[tuple[str, dict[str, Any]]]]]:
    """One short write transaction; events queued in it are published only after commit.

    SQLite: ``BEGIN IMMEDIATE`` takes the write lock up front, so a read-then-write sequence
    can never interleave with another writer (the same guarantee PostgreSQL's row locks give).
    Keep these transactions to the writes: read configuration before, build views after.
    """
    pending: list[tuple[str, dict[str, Any]]] = []
    with writer_turn(engine) as held, engine.connect() as conn:
        if held:
            conn.execution_options(sqlite_begin="IMMEDIATE")
        try:
            with conn.begin():
                yield conn, pending
                for event, payload in pending:  # the outbox: webhook rows commit with the change
                    outbox.enqueue_webhooks(conn, event, payload)
        finally:
            if held:
                conn.execution_options(sqlite_begin="DEFERRED")
    for event, payload in pending:
        events.publish(event, payload)


PROJECT_CACHE_SECONDS = 1.0


_V = TypeVar("_V")


def _fresh(cache: dict[Any, tuple[float, _V]], key: tuple[str, Any]) -> _V | None:
    """The cached value for ``key`` (its first part the store) if it is younger than
    ``PROJECT_CACHE_SECONDS``, or than ``notices.LONG_TTL_S`` while that store's changes are
    heard (``modops.store.notices``); else None."""
    hit = cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < notices.ttl(key[0], PROJECT_CACHE_SECONDS):
        return hit[1]
    return None


def cached_project(engine: Engine, key_or_id: str | int,
                   conn: Connection | None = None) -> ProjectConfig:
    """The project's config for the labelers' hot path, at most a second old.

    Changes made in this process (``update_project``) clear the cache at once through the
    ``project.changed`` event; other processes see them within a second. Inside a transaction
    pass its ``conn``: a second checkout while holding one can exhaust a small pool (every
    holder waiting for a connection only another holder could return).
    """
    store = store_key(engine)
    cache = runtime.current().projects
    config = _fresh(cache, (store, key_or_id))
    if config is None:
        if conn is not None:
            config = load_project(conn, key_or_id)
        else:
            with engine.connect() as own:
                config = load_project(own, key_or_id)
        stamped = (time.monotonic(), config)
        cache[(store, config.id)] = stamped
        cache[(store, config.key)] = stamped
    return config


def read_actor(engine: Engine, user: UserRef) -> Actor:
    """The acting user, at most a second old (changes in this process apply at once)."""
    if isinstance(user, Actor) or (isinstance(user, User) and user.id is not None):
        return load_actor(None, user)  # already loaded: no connection needed
    key = (store_key(engine), user.id if isinstance(user, User) else int(user))
    cache = runtime.current().actors
    actor = _fresh(cache, key)
    if actor is None:
        with engine.connect() as conn:
            actor = load_actor(conn, user)
        cache[key] = (time.monotonic(), actor)
    return actor
