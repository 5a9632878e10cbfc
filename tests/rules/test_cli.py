"""``modops rules``: validate (FILE:LINE, exit 2), load, backtest, enable, list, thresholds."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from modops.cli import common
from modops.cli.main import app
from tests.conftest import EXAMPLE_SPEC

RULE = """rules:
  - id: reported-high
    owner: minji
    when: {all: [{reported: true}, {score: {gte: 0.5}}]}
    then: {auto_action: {label: profanity}}
"""


@pytest.fixture
def cli(engine: Engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(common, "_engine", engine)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    return run


def test_rules_cli(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULE.replace("score:", "scroe:"), encoding="utf-8")
    code, _out, err = cli("rules", "validate", str(bad))
    assert code == 2 and f"{bad}:4: unknown signal 'scroe'" in err
    good = tmp_path / "rules.yaml"
    good.write_text(RULE, encoding="utf-8")
    assert cli("rules", "validate", str(good))[0] == 0
    assert cli("project", "create", str(EXAMPLE_SPEC))[0] == 0
    code, _out, err = cli("rules", "load", "kr-comments", str(bad))
    assert code == 2 and "nothing changed" in err
    code, out, _ = cli("rules", "load", "kr-comments", str(good))
    assert code == 0 and "reported-high: v1 shadow (created)" in out
    items = tmp_path / "items.jsonl"
    items.write_bytes(b"".join(orjson.dumps(
        {"external_id": f"c-{i}", "product": "comment", "comment": f"댓글 {i}",
         "machine_score": i / 10, "user_reported": i % 2 == 0,
         "final_labels": ["profanity"] if i >= 5 else ["none"]}) + b"\n" for i in range(10)))
    assert cli("import", "kr-comments", str(items))[0] == 0
    code, _out, err = cli("rules", "enable", "kr-comments", "reported-high")
    assert code == 2 and "run a backtest" in err
    code, out, _ = cli("rules", "backtest", "kr-comments", "reported-high", "--days", "3")
    # reported (even) with score >= .5: 6, 8 -> both profanity; positives 5..9 = 5
    assert code == 0 and "matched: 2" in out and "(2/2)" in out and "(2/5)" in out
    code, out, _ = cli("rules", "enable", "kr-comments", "reported-high")
    assert code == 0 and "live (backtest" in out
    code, out, _ = cli("rules", "list", "kr-comments")
    assert code == 0 and "live" in out and "(2/2)" in out
