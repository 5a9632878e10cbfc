"""Persistence: models, engine/session, migrations. One schema for SQLite and PostgreSQL."""

from modops.store.db import database_url, is_sqlite, make_engine, session_scope, utcnow
from modops.store.migrate import ensure_schema, upgrade

__all__ = [
    "database_url",
    "ensure_schema",
    "is_sqlite",
    "make_engine",
    "session_scope",
    "upgrade",
    "utcnow",
]
