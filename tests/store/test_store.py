"""The store: one migrated schema on SQLite and PostgreSQL, and an audit log nobody can rewrite."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from modops.domain import ValidationError
from modops.projects import get_project, update_project
from modops.store import session_scope
from modops.store.migrate import current_revision, head_revision
from modops.store.models import AuditLog

EXPECTED_TABLES = {"users", "teams", "products", "projects", "project_products", "skips",
                   "routing_decisions", "appeals",
                   "project_teams", "taxonomies", "taxonomy_labels", "items", "tasks",
                   "annotations", "decisions", "audit_log"}


def test_migrations_bring_both_stores_to_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= EXPECTED_TABLES


def test_sqlite_store_runs_in_wal_mode(engine: Engine, store_name: str) -> None:
    if store_name != "sqlite":
        pytest.skip("WAL is a SQLite setting")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_example_project_has_the_korean_taxonomy(engine: Engine, project: str) -> None:
    with session_scope(engine) as s:
        p = get_project(s, project)
        labels = {lab.key: lab for lab in p.taxonomy.labels}
        assert labels["hate.gender"].parent_key == "hate"
        assert labels["hate.gender"].action == "remove"  # inherited from its parent
        assert labels["hate"].name_ko == "혐오 발언"
        assert labels["profanity"].action == "restrict"
        assert p.overlap_k == 3 and p.sla_minutes == 24 * 60
        assert {x.key for x in p.products} == {"comment", "short_video", "live"}


def test_setting_changes_are_audited_with_before_and_after(engine: Engine, project: str) -> None:
    with session_scope(engine) as s:
        changed = update_project(s, get_project(s, project),
                                 {"overlap_k": 5, "gold_rate": 0.05}, actor="alice")
    assert changed == {"overlap_k": 5}  # gold_rate was already 0.05: not a change
    with session_scope(engine) as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "project.update")).one()
        assert (entry.actor, entry.before, entry.after) == ("alice", {"overlap_k": 3},
                                                           {"overlap_k": 5})


def test_invalid_settings_are_refused_and_nothing_changes(engine: Engine, project: str) -> None:
    with pytest.raises(ValidationError, match="auto_clear threshold"), \
            session_scope(engine) as s:
        update_project(s, get_project(s, project), {"auto_clear_threshold": 0.99}, actor="x")
    with pytest.raises(ValidationError, match="between 0 and 1"), session_scope(engine) as s:
        update_project(s, get_project(s, project), {"gold_rate": 2}, actor="x")
    with session_scope(engine) as s:
        assert get_project(s, project).auto_clear_threshold == 0.03


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'mallory'",
                                       "DELETE FROM audit_log"])
def test_audit_log_is_append_only_in_the_database(engine: Engine, project: str,
                                                  statement: str) -> None:
    with session_scope(engine) as s:
        before = s.scalar(select(func.count()).select_from(AuditLog))
    assert before >= 1
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditLog)) == before
        assert "mallory" not in s.scalars(select(AuditLog.actor)).all()


def test_models_and_migrations_agree(engine: Engine) -> None:
    """Autogenerate finds nothing to do: the migrations build exactly the models' schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import modops.store.models_alerts  # registers the alerts table
    import modops.store.models_ops  # registers the operations tables
    import modops.store.models_rules  # registers the rules tables
    import modops.store.models_web  # noqa: F401 - registers the web tables
    from modops.store.models import Base

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # Reflection cannot compare an index with a DESC expression; that one is checked by name.
    diff = [d for d in diff if not (d[0] in ("add_index", "remove_index")
                                    and d[1].name == "ix_tasks_dispense")]
    assert diff == []
    assert "ix_tasks_dispense" in {i["name"] for i in inspect(engine).get_indexes("tasks")}


def test_sqlite_indexes_after_migrations_are_the_models_indexes(tmp_path) -> None:
    """SQLite rebuilds a table to drop a constraint and recreates its indexes from
    reflection, which loses ``DESC``. Every index of a migrated database is written exactly as
    the models declare it (order, direction, partial condition)."""
    import re

    import modops.store.models_alerts  # registers the alerts table
    import modops.store.models_ops  # registers the operations tables
    import modops.store.models_rules  # registers the rules tables
    import modops.store.models_web  # noqa: F401 - registers the web tables
    from modops.store import make_engine, upgrade
    from modops.store.models import Base

    def indexes(engine: Engine) -> dict[str, str]:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
            return {name: re.sub(r"\s+", " ", sql.replace('"', "")) for name, sql in rows}

    migrated = make_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    upgrade(migrated)
    declared = make_engine(f"sqlite:///{tmp_path / 'declared.db'}")
    Base.metadata.create_all(declared)
    assert indexes(migrated) == indexes(declared)
    assert "priority DESC" in indexes(migrated)["ix_tasks_dispense"]


def test_upgrading_a_database_with_items_keeps_them(store_name: str, tmp_path) -> None:
    """A database at revision 0007 holding routed items upgrades to head (0008 rebuilds the
    items table on SQLite to drop its foreign keys) and back, losing nothing."""
    import secrets

    import orjson
    from sqlalchemy.pool import NullPool

    from modops.projects import create_project, load_spec
    from modops.queue import ingest_file
    from modops.store import make_engine
    from modops.store.migrate import upgrade
    from tests.conftest import EXAMPLE_SPEC, PG_URL, pg_engine

    admin = None
    if store_name == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}", poolclass=NullPool)
    else:
        schema = f"modops_upgrade_{secrets.token_hex(4)}"
        admin = make_engine(PG_URL, poolclass=NullPool)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = pg_engine(schema, poolclass=NullPool)
    try:
        upgrade(engine, "0007")
        # today's models read columns later revisions add (teams.currency, 0011): give the
        # 0007 tables those columns while the ORM writes the fixture, then take them away
        later = _columns_models_have_but(engine)
        # ... and the tables routing reads that later revisions add (rules, 0017)
        import modops.store.models_rules  # noqa: F401 - registers the rules tables
        from modops.store.models import Base

        read_by_routing = [Base.metadata.tables[t] for t in ("rule_backtests", "rules")]
        with engine.begin() as conn:
            for table, col in later:
                conn.execute(text(f'ALTER TABLE {table} ADD COLUMN "{col.name}" '
                                  f"{col.type.compile(engine.dialect)}"))
            for t in read_by_routing:
                t.create(conn)
        with session_scope(engine) as s:
            create_project(s, load_spec(EXAMPLE_SPEC), actor="test")
        rows = [{"external_id": f"u-{i}", "product": "comment", "comment": f"댓글 {i}"}
                for i in range(50)]
        path = tmp_path / "items.jsonl"
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
        ingest_file(engine, "kr-comments", path)

        def counts() -> tuple[int, int]:
            with engine.connect() as conn:
                return (conn.execute(text("SELECT count(*) FROM items")).scalar_one(),
                        conn.execute(text("SELECT count(*) FROM tasks")).scalar_one())

        with engine.begin() as conn:
            for t in reversed(read_by_routing):
                t.drop(conn)
            for table, col in later:
                conn.execute(text(f'ALTER TABLE {table} DROP COLUMN "{col.name}"'))
        before = counts()
        assert before[0] == 50 and before[1] > 0
        upgrade(engine, "head")
        assert current_revision(engine) == head_revision()
        assert counts() == before
        fks = {fk["referred_table"] for fk in inspect(engine).get_foreign_keys("items")}
        assert not fks & {"projects", "products"}
        from alembic import command

        from modops.store.migrate import alembic_config
        command.downgrade(alembic_config(engine), "0007")
        assert counts() == before
    finally:
        engine.dispose()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def _columns_models_have_but(engine) -> list[tuple[str, Any]]:
    """(table, column) of the models' columns missing from the database's existing tables."""
    from modops.store.models import Base

    insp = inspect(engine)
    have = set(insp.get_table_names())
    out = []
    for name, table in Base.metadata.tables.items():
        if name in have:
            cols = {c["name"] for c in insp.get_columns(name)}
            out += [(name, c) for c in table.columns if c.name not in cols]
    return out


def test_sqlite_times_have_one_text_form(tmp_path) -> None:
    """Raw-SQL and ORM writes store the same text; 0013 rewrites the old mixed forms."""
    from datetime import datetime

    from sqlalchemy.pool import NullPool

    from modops.store import make_engine
    from modops.store.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 't.db'}", poolclass=NullPool)
    try:
        upgrade(engine, "0011")
        with engine.begin() as conn:
            for i, raw in enumerate(["2026-11-20 09:00:00", "2026-11-20T09:00:00.5",
                                     "2026-11-20T09:00:00Z", "2026-11-20 09:00:00.123456"]):
                conn.execute(text("INSERT INTO teams (name, created_at, currency) "
                                  "VALUES (:n, :t, 'KRW')"), {"n": f"t{i}", "t": raw})
        upgrade(engine, "head")
        with engine.begin() as conn:
            got = [r[0] for r in conn.execute(text("SELECT created_at FROM teams ORDER BY id"))]
            assert got == ["2026-11-20 09:00:00.000000", "2026-11-20 09:00:00.500000",
                           "2026-11-20 09:00:00.000000", "2026-11-20 09:00:00.123456"]
            # a raw write of a whole-second time keeps its six fraction digits
            conn.execute(text("UPDATE teams SET created_at = :t WHERE name = 't0'"),
                         {"t": datetime(2026, 11, 21, 10, 0, 0)})
            assert conn.execute(text("SELECT created_at FROM teams WHERE name = 't0'")
                                ).scalar() == "2026-11-21 10:00:00.000000"
    finally:
        engine.dispose()
