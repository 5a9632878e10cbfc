"""The command line as an operations specialist uses it, against a real SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from modops.cli import common
from modops.cli.main import app
from tests.conftest import EXAMPLE_SPEC, snapshot


@pytest.fixture
def cli(engine: Engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(common, "_engine", engine)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    return run


def test_create_project_import_and_export(cli, tmp_path: Path, rows) -> None:
    code, out, _ = cli("project", "create", str(EXAMPLE_SPEC))
    assert code == 0 and "Created project kr-comments with 28 taxonomy labels" in out
    path = tmp_path / "items.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    code, out, _ = cli("import", "kr-comments", str(path))
    assert code == 0 and "Imported 5 new items" in out
    code, out, _ = cli("import", "kr-comments", str(path))
    assert code == 0 and "Imported 0 new items (5 already present" in out
    out_file = tmp_path / "out.csv"
    code, out, _ = cli("export", "kr-comments", "--format", "csv", "-o", str(out_file))
    assert code == 0 and "Exported 5 items and 4 annotations" in out
    assert out_file.read_text(encoding="utf-8").count("\n") >= 6
    code, out, _ = cli("status", "kr-comments")
    assert code == 0 and "kr-comments" in out


def test_bad_file_exits_2_names_file_and_line_and_writes_nothing(
        cli, engine: Engine, tmp_path: Path) -> None:
    cli("project", "create", str(EXAMPLE_SPEC))
    path = tmp_path / "bad.jsonl"
    path.write_text('{"external_id": "a", "product": "comment", "comment": "좋아요"}\n'
                    '{"external_id": "b", "product": "tv", "comment": "별로"}\n'
                    'not json\n', encoding="utf-8")
    before = snapshot(engine)
    code, _, err = cli("import", "kr-comments", str(path))
    assert code == 2
    assert f"{path}:2: unknown product 'tv'" in err
    assert f"{path}:3: malformed JSON" in err
    assert "nothing was written" in err
    assert snapshot(engine) == before


def test_settings_and_users(cli) -> None:
    cli("project", "create", str(EXAMPLE_SPEC))
    code, out, _ = cli("project", "set", "kr-comments", "overlap_k=2", "sla_minutes=60")
    assert code == 0 and "'overlap_k': 2" in out
    code, _, err = cli("project", "set", "kr-comments", "gold_rate=7")
    assert code == 2 and "gold_rate must be between 0 and 1" in err
    code, out, _ = cli("users", "add", "minji", "--role", "labeler", "--team", "Seoul A",
                       "--skill", "ko", "--password", "correct-horse")
    assert code == 0
    code, _, err = cli("users", "add", "minji")
    assert code == 2 and "already exists" in err
    code, _, err = cli("users", "add", "boss", "--role", "emperor")
    assert code == 2 and "role must be one of" in err
    code, _, err = cli("status", "no-such-project")
    assert code == 2 and "no project 'no-such-project'" in err


def test_import_with_media_attaches_files_next_to_the_import_file(
        cli, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import select

    from modops.store import session_scope
    from modops.store.models_media import ItemMedia
    from tests.media.media_files import encode, picture

    monkeypatch.setenv("MODOPS_MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setenv("MODOPS_JOBS", "off")
    cli("project", "create", str(EXAMPLE_SPEC))
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "a.png").write_bytes(encode(picture(1)))
    path = tmp_path / "items.jsonl"
    path.write_bytes(orjson.dumps({"external_id": "m1", "product": "short_video",
                                   "caption": "짤", "media_url": "clips/a.png"}) + b"\n")
    code, out, _ = cli("import", "kr-comments", str(path), "--media")
    assert code == 0 and "Attached 1 media files" in out, out
    with session_scope(engine) as s:
        assert s.scalar(select(ItemMedia.state)) == "pending"


def test_actor_metrics_and_alerts(cli, engine: Engine) -> None:
    import getpass

    from sqlalchemy import select

    from modops.store import session_scope
    from modops.store.models import AuditLog

    cli("project", "create", str(EXAMPLE_SPEC))
    assert cli("project", "set", "kr-comments", "overlap_k=2")[0] == 0
    assert cli("--actor", "minji", "project", "set", "kr-comments", "sla_minutes=60")[0] == 0
    with session_scope(engine) as s:
        actors = [a.actor for a in s.scalars(select(AuditLog).where(
            AuditLog.action.like("project.%")).order_by(AuditLog.id))]
    assert actors[-2:] == [f"cli:{getpass.getuser()}", "minji"]
    code, out, _ = cli("metrics", "kr-comments", "--period", "2026-11-20", "--json")
    assert code == 0
    doc = orjson.loads(out)
    assert doc["metrics"]["items_finalized"]["value"] == 0
    assert doc["metrics"]["sla_attainment"]["denominator"] == 0
    code, out, _ = cli("metrics", "kr-comments", "--period", "2026-11-20")
    assert code == 0 and "proactive_rate" in out
    code, out, _ = cli("alerts", "replay", "kr-comments", "--from", "2026-11-20T00:00",
                       "--to", "2026-11-20T06:00", "--step-hours", "3")
    assert code == 0 and "replayed 3 evaluations" in out
    code, out, _ = cli("alerts", "list", "kr-comments")
    assert code == 0
    code, _, err = cli("alerts", "ack", "kr-comments", "999")
    assert code == 2 and "alert 999 not found" in err


def test_team_costs_and_shifts(cli) -> None:
    code, out, _ = cli("users", "team", "Seoul A", "--hourly-cost", "24000", "--currency",
                       "krw", "--shift-start-utc", "0", "--shift-hours", "9")
    assert code == 0 and "24,000 KRW/h" in out and "00:00 UTC + 9 h" in out
    code, _, err = cli("users", "team", "Seoul A", "--currency", "₩")
    assert code == 2 and "ISO 4217" in err
    code, _, err = cli("users", "team", "Seoul A", "--shift-start-utc", "24")
    assert code == 2 and "between 0 and 23" in err


def test_transparency_command(cli, tmp_path: Path) -> None:
    cli("project", "create", str(EXAMPLE_SPEC))
    out_file = tmp_path / "sor.csv"
    code, out, _ = cli("transparency", "kr-comments", "--period", "2026-11", "--sor",
                       str(out_file))
    assert code == 0 and "notices_received" in out and "KCSC" in out
    assert out_file.read_text(encoding="utf-8").startswith("puid,content_type,")


def test_project_taxonomy_v2(cli, tmp_path: Path) -> None:
    import yaml

    cli("project", "create", str(EXAMPLE_SPEC))
    tax = yaml.safe_load(EXAMPLE_SPEC.read_text(encoding="utf-8"))["taxonomy"]
    tax["version"] = 2
    dropped = tax["labels"].pop()["key"]  # v2 retires the last top-level label
    spec = tmp_path / "v2.yaml"
    spec.write_text(yaml.safe_dump({"taxonomy": tax}, allow_unicode=True), encoding="utf-8")
    code, _, err = cli("project", "taxonomy", "kr-comments", str(spec))
    assert code == 2 and f"drops {dropped}" in err
    code, out, _ = cli("--actor", "minji", "project", "taxonomy", "kr-comments", str(spec),
                       "--map", f"{dropped}=none", "--note", "가이드라인 개정")
    assert code == 0 and "v2 in force" in out
    code, out, _ = cli("project", "taxonomy", "kr-comments")
    assert code == 0 and "kr-policy v1 → kr-policy v2 by minji" in out
