"""A small world for report tests: the analytics engineer's hand-computed day (I1–I14 on
2026-11-20, one item decided on 11-19) plus a second project for the global-sync pack.

Rendering every format in both languages takes a few seconds, so one module-scoped SQLite
world and one set of files serve the content checks; ``test_both_stores`` repeats the core
Excel check on PostgreSQL with the shared per-test ``engine`` fixture.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.pool import NullPool

from modops.projects import create_project, load_spec
from modops.store import make_engine, session_scope
from tests.analytics.conftest import build_day
from tests.conftest import EXAMPLE_SPEC

PERIOD = "2026-11-20"  # compared with 2026-11-19 ("전일")
NOW = datetime(2026, 11, 22, 9, 30)


def make_world(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        create_project(s, load_spec(EXAMPLE_SPEC), actor="test")
    return build_day(engine, "kr-comments")


@pytest.fixture(scope="session")
def world_engine(tmp_path_factory: pytest.TempPathFactory,
                 sqlite_template: Path) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("reports") / "world.db"
    shutil.copy(sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}", poolclass=NullPool)
    make_world(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def reports(world_engine: Engine, tmp_path_factory: pytest.TempPathFactory
            ) -> dict[tuple[str, str], Path]:
    """Every format in both languages, one pass over the data."""
    from modops.reports import build_reports

    out = tmp_path_factory.mktemp("out")
    return build_reports(world_engine, ["kr-comments"], PERIOD, out_dir=out, now=NOW)


def approx_equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))
