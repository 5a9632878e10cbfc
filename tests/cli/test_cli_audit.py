"""``modops audit``: the audit log from the command line (table and CSV)."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from modops.cli import common
from modops.cli.main import app
from tests.conftest import EXAMPLE_SPEC


@pytest.fixture
def cli(engine: Engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(common, "_engine", engine)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    return run


def test_audit_command_filters_and_csv(cli) -> None:
    cli("project", "create", str(EXAMPLE_SPEC))
    cli("--actor", "jisoo", "project", "set", "kr-comments", "overlap_k=2")
    cli("users", "add", "minji", "--role", "labeler", "--password", "correct-horse")
    code, out, _ = cli("audit", "--action", "project.update")
    assert code == 0 and "project.update" in out and "jisoo" in out and "user.create" not in out
    code, out, _ = cli("audit", "--csv", "--project", "kr-comments")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][0] == "id" and any(r[3] == "project.update" for r in rows[1:])
    code, out, _ = cli("audit", "--project", "no-such-project")
    assert code == 0 and "project.update" not in out
    code, _, err = cli("audit", "--since", "yesterday")
    assert code == 2 and "not an ISO date" in err
