"""Fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL is not optional: if it is unreachable the run fails loudly instead of skipping.
Each test run gets its own schema (dropped at the end), and each test starts from empty tables.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from modops.projects import create_project, load_spec
from modops.settings import reload_settings, settings
from modops.store import make_engine, session_scope, upgrade
from modops.store.models import Annotation, AuditLog, Decision, Item, User

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_SPEC = REPO / "examples" / "kr-comments.yaml"
PG_URL = os.environ.get("MODOPS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
STORES = ["sqlite", "postgresql"]


# -- the checkout stays clean ------------------------------------------------------------------
# A run may write only to git-ignored or temporary folders. The controller (not an xdist worker:
# its session ends after all of them) snapshots ``git status`` of this checkout before and after
# and fails the run on any change: a tracked file rewritten, or a new untracked, non-ignored
# file. Changes present before the run (work in progress) are tolerated as long as the run
# leaves them byte-identical; so are files under MODOPS_SCREENSHOTS_DIR, the one place a run
# is told to write (``make screenshots``).
_CHECKOUT_BEFORE = pytest.StashKey[dict[str, str] | None]()


def _checkout_state() -> dict[str, str] | None:
    """Path -> git status code and content hash of every changed or untracked, non-ignored file;
    None outside a git checkout (an sdist)."""
    try:
        out = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain=v1", "-z",
                              "--untracked-files=all"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    state = {}
    entries = iter(out.decode("utf-8", "surrogateescape").split("\0"))
    for entry in entries:
        if not entry:
            continue
        code, path = entry[:2], entry[3:]
        if code[0] in "RC":
            next(entries, None)  # a rename's source path follows it
        file = REPO / path
        digest = hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else "-"
        state[path] = f"{code} {digest}"
    return state


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    if not _is_worker(session.config):
        session.config.stash[_CHECKOUT_BEFORE] = _checkout_state()


def pytest_sessionfinish(session: pytest.Session) -> None:
    before = session.config.stash.get(_CHECKOUT_BEFORE, None)
    if _is_worker(session.config) or before is None:
        return
    after = _checkout_state() or {}
    chosen = os.environ.get("MODOPS_SCREENSHOTS_DIR")
    allowed = Path(chosen).resolve() if chosen else None
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p)
                     and not (allowed and allowed in (REPO / p).resolve().parents))
    if changed:
        sys.stderr.write("\nThe test run changed the checkout (tests must write only to "
                         "git-ignored or temporary folders):\n"
                         + "".join(f"  {after.get(p, 'gone')[:2]} {p}\n" for p in changed))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _settings_follow_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test reads the settings of its own environment: they are re-read before it, and
    whenever it sets or deletes a MODOPS_* variable through ``monkeypatch``."""
    setenv, delenv = pytest.MonkeyPatch.setenv, pytest.MonkeyPatch.delenv

    def setenv_then_reload(self: pytest.MonkeyPatch, name: str, value: str,
                           prepend: str | None = None) -> None:
        setenv(self, name, value, prepend)
        if name.startswith("MODOPS_"):
            reload_settings()

    def delenv_then_reload(self: pytest.MonkeyPatch, name: str, raising: bool = True) -> None:
        delenv(self, name, raising)
        if name.startswith("MODOPS_"):
            reload_settings()

    monkeypatch.setattr(pytest.MonkeyPatch, "setenv", setenv_then_reload)
    monkeypatch.setattr(pytest.MonkeyPatch, "delenv", delenv_then_reload)
    reload_settings()
    yield
    settings.cache_clear()  # re-read on first use, once monkeypatch restored the environment


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """``env("MODOPS_JOB_NICE", "7")``: set a variable for this test and re-read the settings."""
    def set_var(name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        reload_settings()
    return set_var


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


def pg_engine(schema: str, **kwargs) -> Engine:
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
def fresh_engine(store_name: str, tmp_path: Path, request: pytest.FixtureRequest):
    """A factory of empty databases, for tests (e.g. Hypothesis) that need many in one test."""
    made: list[Engine] = []

    def make() -> Engine:
        if store_name == "sqlite":
            path = tmp_path / f"fresh-{len(made)}.db"
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
            eng = make_engine(f"sqlite:///{path}")
        else:
            eng = pg_engine(request.getfixturevalue("pg_schema"))
            _truncate_all(eng)
        made.append(eng)
        return eng

    yield make
    for eng in made:
        eng.dispose()


@pytest.fixture
def project(engine: Engine) -> str:
    """The example Korean comment project (overlap 3, the brief's taxonomy)."""
    with session_scope(engine) as s:
        create_project(s, load_spec(EXAMPLE_SPEC), actor="test")
    return "kr-comments"


def make_project(engine: Engine, key: str, **overrides) -> str:
    spec = load_spec(EXAMPLE_SPEC)
    spec["key"] = key
    spec.update(overrides)
    with session_scope(engine) as s:
        create_project(s, spec, actor="test")
    return key


def sample_rows() -> list[dict[str, Any]]:
    """Rows that exercise every field: Korean + emoji, nested metadata, labels, gold."""
    return [
        {"external_id": "c-1", "product": "comment", "comment": "진짜 별로다 ㅋㅋ 😂",
         "title": "'사풀인풀' 설인아 경찰 파면 위기", "view_count": 120,
         "created_at": "2026-11-20T09:15:00+09:00", "language": "ko",
         "author_id": "u-77", "author_created_at": "2026-11-01T00:00:00Z",
         "author_region": "KR", "author_followers": 12, "author_verified": False,
         "metadata": {"author": {"region": "KR", "age_band": "20s"}, "tags": ["드라마"]}},
        {"external_id": "c-2", "product": "comment", "comment": "ㅅㅂ 이게 뭐냐",
         "user_reported": True, "reported_at": "2026-11-20T01:00:00Z", "machine_score": 0.91,
         "final_labels": ["profanity"],
         "annotations": [
             {"labeler": "kim", "labels": ["profanity"], "started_at": "2026-11-20T02:00:00Z",
              "submitted_at": "2026-11-20T02:00:12Z", "note": "욕설 맞음"},
             {"labeler": "lee", "labels": ["profanity"],
              "submitted_at": "2026-11-20T02:03:00Z"},
             {"labeler": "park", "labels": ["harassment"], "started_at":
              "2026-11-20T02:04:00Z", "submitted_at": "2026-11-20T02:04:30Z"}]},
        {"external_id": "v-1", "product": "short_video", "title": "먹방 라이브 다시보기",
         "caption": "오늘은 떡볶이 🌶️", "transcript": "안녕하세요 여러분",
         "media_url": "https://cdn.example.com/v/1.mp4", "view_count": 98765,
         "author_id": "creator-1", "author_followers": 50000, "author_verified": True,
         "created_at": "2026-11-19T23:00:00Z"},
        {"external_id": "g-1", "product": "comment", "comment": "정치 얘기는 그만",
         "is_gold": True, "gold_labels": ["none"]},
        {"external_id": "l-1", "product": "live", "text": "<script>alert(1)</script> 방송 최고",
         "final_labels": ["none"],
         "annotations": [{"labeler": "kim", "labels": ["none"],
                          "submitted_at": "2026-11-21T10:00:00Z", "kind": "label"}]},
    ]


def snapshot(engine: Engine) -> dict[str, int]:
    """Row counts of everything an import may touch: 'unchanged' means all equal."""
    with session_scope(engine) as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                for m in (Item, Annotation, Decision, User, AuditLog)}


@pytest.fixture
def rows() -> list[dict[str, Any]]:
    return sample_rows()
