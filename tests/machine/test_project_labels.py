"""The model learns from, and sets thresholds on, a project's own final human labels."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from modops.cli import common
from modops.cli.model import app as model_app
from modops.machine.project_labels import human_labels
from modops.queue import next_task, submit
from modops.store import session_scope
from modops.store.models import AuditLog, Project
from tests.queue.helpers import add_items, human_project, make_users, simple_items


def test_human_decisions_become_severity_labels(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=1)
    imported = {"external_id": "imported", "product": "comment", "comment": "x",
                "final_labels": ["hate"]}  # imported decisions are not human work done here
    add_items(engine, project, tmp_path, [*simple_items(3), imported])
    (a,) = make_users(engine, 1)
    for labels in (["hate.gender"], ["profanity"], ["none"]):
        submit(engine, next_task(engine, project, a).task_id, a, labels)
    got = human_labels(engine, project)
    assert [(x.text, x.severity, x.harmful) for x in got] == [
        ("댓글 0", "hate", True), ("댓글 1", "offensive", True), ("댓글 2", "none", False)]


@pytest.mark.slow
def test_thresholds_are_stored_on_the_project_and_audited(
        engine: Engine, project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "_engine", engine)
    result = CliRunner().invoke(model_app, ["thresholds", project,
                                            "--auto-action-precision", "0.9"])
    assert result.exit_code == 0, result.output
    # too few project labels yet: auto-clear only, from BEEP! dev, and no policy automated
    assert "validation: BEEP! dev (out of domain" in result.output
    with session_scope(engine) as s:
        p = s.scalars(select(Project).where(Project.key == project)).one()
        assert p.model_version and p.model_version.startswith("ko-harm-")
        assert p.auto_action_threshold is None and 0 <= p.auto_clear_threshold <= 1
        table = p.settings["policy_thresholds"]
        assert {"hate", "harassment", "profanity"} <= set(table)
        assert all(v["threshold"] is None and v["n"] == 0 for v in table.values())
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "project.update")).one()
        assert entry.after["model_version"] == p.model_version
