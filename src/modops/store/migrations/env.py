"""Alembic environment: uses the engine handed in by ``modops.store.migrate``."""

from __future__ import annotations

from alembic import context

import modops.store.models_alerts  # alert episodes
import modops.store.models_ops  # operations tables: jobs
import modops.store.models_web  # noqa: F401  (web tables: sessions, tokens, webhooks)
from modops.store.db import make_engine
from modops.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
