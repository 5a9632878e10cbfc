"""Fixtures for media tests: a media directory in tmp, a project with items to attach to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from modops.queue import ingest_file
from tests.conftest import make_project


@pytest.fixture(autouse=True)
def media_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "media"
    monkeypatch.setenv("MODOPS_MEDIA_DIR", str(path))
    monkeypatch.setenv("MODOPS_JOBS", "off")
    return path


def add_items(engine: Engine, project: str, rows: list[dict], tmp_path: Path,
              name: str = "items.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps({"product": "short_video", **r}, ensure_ascii=False)
                            + "\n" for r in rows), encoding="utf-8")
    ingest_file(engine, project, path, "jsonl", actor="test")
    return path


@pytest.fixture
def vproject(engine: Engine) -> str:
    return make_project(engine, "kr-video")
