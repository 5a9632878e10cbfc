"""Fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL is not optional: if it is unreachable the run fails loudly instead of skipping.
Each test run gets its own schema (dropped at the end), and each test starts from empty tables.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from modops.projects import create_project, load_spec
from modops.store import make_engine, session_scope, upgrade

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_SPEC = REPO / "examples" / "kr-comments.yaml"
PG_URL = os.environ.get("MODOPS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
STORES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}", poolclass=NullPool)
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    admin = make_engine(PG_URL, poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:  # never skip the PostgreSQL half silently
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL}: {exc}. Start it with "
                    "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`",
                    pytrace=False)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"modops_test_{worker}_{os.getpid()}_{secrets.token_hex(3)}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    engine = pg_engine(name)
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    admin.dispose()


def pg_engine(schema: str, **kwargs) -> Engine:  # noqa: ANN003
    return make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, **kwargs)


def pg_url_for(schema: str) -> str:
    """A URL other processes can use to reach this test schema."""
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _truncate_all(engine: Engine) -> None:
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename <> 'alembic_version'"))]
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=STORES)
def store_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def engine(store_name: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty database on each store."""
    if store_name == "sqlite":
        path = tmp_path / "modops.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        eng = make_engine(f"sqlite:///{path}")
        eng.info_url = f"sqlite:///{path}"  # type: ignore[attr-defined]
    else:
        schema = request.getfixturevalue("pg_schema")
        eng = pg_engine(schema)
        _truncate_all(eng)
        eng.info_url = pg_url_for(schema)  # type: ignore[attr-defined]
    yield eng
    eng.dispose()


@pytest.fixture
def project(engine: Engine) -> str:
    """The example Korean comment project (overlap 3, the brief's taxonomy)."""
    with session_scope(engine) as s:
        create_project(s, load_spec(EXAMPLE_SPEC), actor="test")
    return "kr-comments"


def make_project(engine: Engine, key: str, **overrides) -> str:  # noqa: ANN003
    spec = load_spec(EXAMPLE_SPEC)
    spec["key"] = key
    spec.update(overrides)
    with session_scope(engine) as s:
        create_project(s, spec, actor="test")
    return key
