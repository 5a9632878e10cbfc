"""The security tests reuse the API's seeded world and signed-in clients. Each module
reproduces a red-team finding (issue 23) and asserts it fails now, on both stores."""

import pytest

from tests.api.conftest import app_client, token_for, world  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def job_dir(tmp_path, monkeypatch):
    """Files written by jobs land in this test's tmp directory."""
    path = tmp_path / "jobs"
    monkeypatch.setenv("MODOPS_JOB_DIR", str(path))
    return path
