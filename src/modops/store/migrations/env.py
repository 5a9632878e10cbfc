"""Alembic environment: uses the engine handed in by ``modops.store.migrate``."""

from __future__ import annotations

from alembic import context

import modops.store.models_alerts  # alert episodes
import modops.store.models_authors  # authors, strikes, enforcement, campaigns
import modops.store.models_media  # media, hash banks, matches, clusters
import modops.store.models_ops  # operations tables: jobs
import modops.store.models_rules  # rules, backtests, rule hits
import modops.store.models_web  # noqa: F401  (web tables: sessions, tokens, webhooks)
from modops.store.db import driver, make_engine
from modops.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        raw = driver(connection)
        if sqlite:
            # SQLite alters a table by building a new one and dropping the old: with foreign
            # keys enforced, that DROP would cascade to every referencing row (an item table
            # rebuild deleted all tasks, answers and decisions). The pragma only takes effect
            # outside a transaction; integrity is checked before enforcement comes back.
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                transaction_per_migration=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
            if sqlite:
                broken = raw.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows with dangling references: "
                                       f"{broken[:5]}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


run_migrations_online()
