"""Engine and session: the SQLite file is the embedded default, PostgreSQL the production store.

The URL comes from ``MODOPS_DATABASE_URL``; without it ModOps uses ``modops.db`` in the
working directory, in WAL mode so readers (dashboards) never block the writers (labelers).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import CursorResult, Result, make_url
from sqlalchemy.orm import Session, sessionmaker

from modops.domain.times import sqlite_time
from modops.settings import settings


def utcnow() -> datetime:
    """Naive UTC now: every stored time is naive UTC, identical on SQLite and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


def database_url(url: str | None = None) -> str:
    url = url or settings().store_url
    # Accept the plain libpq form and use psycopg 3 for it.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _register_sqlite_time() -> None:
    import sqlite3

    sqlite3.register_adapter(datetime, sqlite_time)


_register_sqlite_time()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # isolation_level=None hands transaction control to us (BEGIN IMMEDIATE in the queue);
    # see the "begin" listener below for ordinary ORM transactions.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # SQLAlchemy's pysqlite driver defers BEGIN; emit it ourselves so transactions are real.
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


_url_keys: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def store_key(engine: Engine) -> str:
    """The engine's URL as a cache key, rendered once (rendering costs ~0.1 ms per call)."""
    key = _url_keys.get(engine)
    if key is None:
        key = _url_keys.setdefault(engine, engine.url.render_as_string(hide_password=False))
    return key


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    url = database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", settings().db_pool_size)
        kwargs.setdefault("max_overflow", settings().db_max_overflow)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkin", _stamp_checkin)
        event.listen(engine, "checkout", _ping_if_idle)
    return engine


PING_AFTER_IDLE_S = 10.0


def _stamp_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Pessimistic disconnect check for pooled PostgreSQL connections, paid only when needed.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: BEGIN, SELECT 1 and ROLLBACK, three
    round trips that cost labelers more than their own work. A connection back from the pool
    within ``PING_AFTER_IDLE_S`` was just used successfully; an older one, or one psycopg
    knows is broken, is checked and replaced (the pool retries on ``DisconnectionError``).
    A server restart under steady traffic fails at most the statement in flight on each
    connection, after which SQLAlchemy recycles the whole pool.
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        raise exc.DisconnectionError("connection closed")
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
        return
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception as error:  # any failure here means: do not hand this connection out
        raise exc.DisconnectionError(str(error)) from error


def driver(conn: Connection) -> Any:
    """The driver's own connection (sqlite3 or psycopg) under ``conn``, for the measured fast
    paths that bypass SQLAlchemy's per-statement overhead. Typed ``Any``: each caller knows
    which driver it branched on."""
    raw = conn.connection.driver_connection
    if raw is None:  # only after the connection was invalidated
        raise exc.InvalidRequestError("connection has no live driver connection")
    return raw


def affected(result: Result[*tuple[Any, ...]]) -> int:
    """Rows an UPDATE/DELETE run through ``Session.execute`` matched (a ``CursorResult``
    at run time; typed as a plain ``Result``)."""
    return cast(CursorResult[*tuple[Any, ...]], result).rowcount


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@lru_cache(maxsize=8)
def _sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


# SQLite has one writer at a time. A transaction that starts DEFERRED, reads, and then writes
# cannot wait for the lock: if another writer committed since its read, SQLite answers
# SQLITE_BUSY at once, whatever the busy timeout (issue 23, finding 4: with 4 labelers
# submitting, half the sign-ins got an instant 503). So writers take the lock at BEGIN
# (``BEGIN IMMEDIATE``) and, within a process, queue on a Python lock first: SQLite's own
# busy handler sleeps in growing steps and starves a waiter while others keep the lock busy.
WRITER_WAIT_S = 30.0  # as long as the busy timeout: interactive requests wait, not fail
_writer_locks: dict[str, threading.RLock] = {}
_writer_locks_guard = threading.Lock()
# Set while serving a request that may write (POST, PUT, PATCH, DELETE): its units of work
# take the write lock at BEGIN (see ``session_scope``).
_write_intent: ContextVar[bool] = ContextVar("modops_write_intent", default=False)


def writer_lock(engine: Engine) -> threading.RLock | None:
    """The process's SQLite writer lock for ``engine`` (None on PostgreSQL, whose row locks
    do the same job)."""
    if not is_sqlite(engine):
        return None
    key = store_key(engine)
    with _writer_locks_guard:
        return _writer_locks.setdefault(key, threading.RLock())


def acquire_writer(lock: threading.RLock) -> None:
    """Wait up to ``WRITER_WAIT_S`` for the writer lock; then fail like a busy database."""
    if not lock.acquire(timeout=WRITER_WAIT_S):
        raise exc.OperationalError("BEGIN IMMEDIATE", {},
                                   sqlite3.OperationalError("database is locked"))


@contextmanager
def writes_expected(expected: bool = True) -> Iterator[None]:
    """Mark the units of work opened inside as writers (the API does this per unsafe
    request)."""
    token = _write_intent.set(expected)
    try:
        yield
    finally:
        _write_intent.reset(token)


@contextmanager
def writer_turn(engine: Engine) -> Iterator[bool]:
    """Hold the process's SQLite writer lock for the block (yields True), or do nothing on
    PostgreSQL (yields False). Units of work opened inside only read (see ``session_scope``)."""
    lock = writer_lock(engine)
    if lock is None:
        yield False
        return
    acquire_writer(lock)
    try:
        yield True
    finally:
        lock.release()


def _holds_writer(engine: Engine) -> bool:
    lock = writer_lock(engine)
    return lock is not None and lock._is_owned()  # type: ignore[attr-defined]


@contextmanager
def session_scope(engine: Engine, *, immediate: bool | None = None) -> Iterator[Session]:
    """A unit of work: commits on success, rolls back on any error.

    ``immediate=True`` takes SQLite's write lock at BEGIN (``BEGIN IMMEDIATE``, after the
    process's writer lock), so a read-then-write sequence can neither be interleaved by another
    writer nor fail on a stale read. Left unset it follows ``writes_expected``, except inside
    a block that already holds the lock (a nested unit of work only reads: taking the lock
    again from a second connection would wait for itself).
    """
    if immediate is None:
        immediate = _write_intent.get() and not _holds_writer(engine)
    with writer_turn(engine) if immediate else nullcontext(False) as held:
        session = _sessionmaker(engine)()
        try:
            if held:
                session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
