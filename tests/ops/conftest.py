"""Fixtures for the operations tests: the API world (tests.api) reused, plus job files in tmp."""

from __future__ import annotations

import pytest

from tests.api.conftest import app_client, token_for, world  # noqa: F401  (shared fixtures)


@pytest.fixture(autouse=True)
def job_dir(tmp_path, env):
    """Files written by jobs land in this test's tmp directory."""
    path = tmp_path / "jobs"
    env("MODOPS_JOB_DIR", str(path))
    return path
