"""Fixtures for the operations tests: the API world (tests.api) reused, plus job files in tmp."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from modops.jobs import core as jobs_core
from tests.api.conftest import app_client, token_for, world  # noqa: F401  (shared fixtures)


@pytest.fixture(autouse=True)
def job_dir(tmp_path, env):
    """Files written by jobs land in this test's tmp directory."""
    path = tmp_path / "jobs"
    env("MODOPS_JOB_DIR", str(path))
    return path


@pytest.fixture
def job_handler() -> Iterator[Callable[[str], Callable[[jobs_core.Handler], jobs_core.Handler]]]:
    """``@job_handler("kind")`` registers a handler for this test only: the registry
    (``jobs.HANDLERS``) is process-wide, and a kind left behind would be run by later tests'
    workers."""
    saved = dict(jobs_core.HANDLERS)
    yield jobs_core.handler
    jobs_core.HANDLERS.clear()
    jobs_core.HANDLERS.update(saved)
