"""One settings object for every MODOPS_* variable (issue 22, item 4)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from modops import jobs
from modops.api.settings import Settings
from modops.settings import DOC, ModOpsSettings, env_name, render_doc, settings

SRC = Path(__file__).resolve().parents[1] / "src" / "modops"
Env = Callable[[str, str], None]


def test_the_deploy_guide_table_is_generated_from_the_settings() -> None:
    text = DOC.read_text()
    assert render_doc(text) == text, "run: python -m modops.settings --write"
    for name in ModOpsSettings.model_fields:
        assert f"| `{env_name(name)}` |" in text
    assert "MODOPS_COOKIE_SECURE" in text


def test_no_module_reads_a_modops_variable_itself() -> None:
    """Every reader goes through ``modops.settings`` (``modops serve`` only *sets* two, for
    the worker processes it starts)."""
    readers = []
    for path in SRC.rglob("*.py"):
        if path.name == "settings.py" and path.parent == SRC:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"environ(\.get)?\(\s*[\"']MODOPS_|getenv\(\s*[\"']MODOPS_", line):
                readers.append(f"{path.relative_to(SRC)}:{n}")
    assert readers == []


def test_every_variable_the_code_names_is_a_setting() -> None:
    named = set()
    for path in SRC.rglob("*.py"):
        named |= set(re.findall(r"\bMODOPS_([A-Z_]+[A-Z])\b", path.read_text()))
    fields = {f.upper() for f in ModOpsSettings.model_fields}
    assert named - fields == set()
    assert len(fields) == 35


def test_modops_jobs_is_one_mode(env: Env) -> None:
    assert settings().jobs_mode == "thread"
    assert Settings(secret_key="k").jobs is True
    env("MODOPS_REDIS_URL", "redis://127.0.0.1:6379/9")
    assert jobs.backend() == "dramatiq"  # unset mode: Redis given → Dramatiq
    env("MODOPS_JOBS", "OFF")
    assert jobs.backend() == "off"
    assert Settings(secret_key="k").jobs is False  # the app starts no runner for "off"


def test_a_malformed_value_names_the_variable(env: Env) -> None:
    with pytest.raises(ValidationError, match="db_pool_size"):
        env("MODOPS_DB_POOL_SIZE", "ten")


def test_empty_means_unset_and_values_are_typed(env: Env) -> None:
    env("MODOPS_DATABASE_URL", "")
    env("MODOPS_WEBHOOKS", "0")
    env("MODOPS_JOB_NICE", "40")
    s = settings()
    assert s.store_url == "sqlite:///modops.db"
    assert s.webhooks is False and Settings(secret_key="k").webhook_dispatch is False
    assert s.nice == 19


def test_modops_config_masks_secrets(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(SRC.parent), "COLUMNS": "200",
           "MODOPS_SECRET_KEY": "very-secret-key",
           "MODOPS_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
           "MODOPS_REDIS_URL": "redis://user:hunter2@redis.internal:6379/0"}
    out = subprocess.run([sys.executable, "-m", "modops.cli.main", "config"], env=env,
                         capture_output=True, text=True, check=True, timeout=120,
                         cwd=tmp_path).stdout
    assert "very-secret-key" not in out and "hunter2" not in out
    assert "redis://user:***@redis.internal:6379/0" in out
    assert re.search(r"MODOPS_SECRET_KEY\s+│ \*+\s+│ environment", out)
    assert re.search(r"MODOPS_JOBS\s+│ dramatiq\s+│ default", out)
