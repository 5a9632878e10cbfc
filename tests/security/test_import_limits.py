"""Findings 7 and 14 and the import Lows: a Parquet decompression bomb, an unclosed CSV quote
that swallowed the rows after it, ``view_count: 2**70`` (a traceback and exit 1 from the CLI;
no FILE:LINE over HTTP), JSONL with a byte order mark refused while CSV took it, and unknown
fields. Each is now a ``FILE:LINE`` error (exit 2, HTTP 422) and nothing is written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from modops.io import import_file
from modops.io.readers import MAX_ROW_BYTES
from modops.store import session_scope
from modops.store.models import Item
from tests.conftest import EXAMPLE_SPEC, REPO
from tests.io.test_import_bad_input import refused

BOM = b"\xef\xbb\xbf"


def _bomb(path: Path, inflated: int) -> Path:
    """One row whose comment is ``inflated`` bytes of 'A': a few KB on disk."""
    table = pa.table({"external_id": ["bomb"], "product": ["comment"],
                      "comment": ["A" * inflated]})
    pq.write_table(table, path, compression="zstd", compression_level=22)
    return path


def test_a_parquet_bomb_is_refused_from_its_footer(engine: Engine, project: str,
                                                   tmp_path: Path) -> None:
    path = _bomb(tmp_path / "bomb.parquet", 4 * MAX_ROW_BYTES)
    assert path.stat().st_size < 64 * 1024
    [error] = refused(engine, project, path)
    assert error.startswith(f"{path}:1: rows 1-1 inflate to ") and "decompression bomb" in error


@pytest.mark.parametrize("store_name", ["sqlite"])  # one process run is enough: same reader
def test_the_cli_refuses_the_bomb_without_inflating_it(tmp_path: Path,
                                                       store_name: str) -> None:
    """The red team's case, end to end in a process of its own: the peak memory of the
    refusing import stays far below the inflated size (before: 0.67 → 2.32 GB)."""
    bomb = _bomb(tmp_path / "bomb.parquet", 256 * 2**20)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"),
           "MODOPS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    code = ("import resource, sys\n"
            "from modops.store import make_engine, session_scope, upgrade\n"
            "from modops.projects import create_project, load_spec\n"
            "from modops.io import ImportFailed, import_file\n"
            "e = make_engine(); upgrade(e)\n"
            "with session_scope(e) as s: create_project(s, load_spec(sys.argv[2]), actor='t')\n"
            "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "try: import_file(e, 'kr-comments', sys.argv[1], after_insert=None)\n"
            "except ImportFailed as exc: print(exc.errors[0])\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)\n")
    out = subprocess.run([sys.executable, "-c", code, str(bomb), str(EXAMPLE_SPEC)], env=env,
                         capture_output=True, text=True, timeout=300, check=True).stdout
    error, grown_kb = out.strip().splitlines()
    assert "decompression bomb" in error
    assert int(grown_kb) < 64 * 1024, f"the refusal grew the process by {grown_kb} KB"


def test_an_unclosed_csv_quote_is_a_file_line_error(engine: Engine, project: str,
                                                    tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("external_id,product,comment\nq1,comment,ok\n"
                    'q2,comment,"never closed\nq3,comment,swallowed\n', encoding="utf-8")
    assert refused(engine, project, path) == [
        f"{path}:3: malformed CSV: a quoted field is not closed (its quote opens on this line)"]
    # A quote in the middle of a quoted field's text is malformed too (strict quoting)...
    path.write_text('external_id,product,comment\nq1,comment,"a"b\n', encoding="utf-8")
    assert refused(engine, project, path)[0].startswith(f"{path}:2: malformed CSV")
    # ...while a properly quoted field may still span lines.
    path.write_text('external_id,product,comment\nq1,comment,"두 줄\n댓글"\n', encoding="utf-8")
    import_file(engine, project, path, after_insert=None)
    with session_scope(engine) as s:
        assert s.scalar(select(Item.comment)) == "두 줄\n댓글"


def test_integers_beyond_64_bits_are_file_line_errors(engine: Engine, project: str,
                                                      tmp_path: Path) -> None:
    for fmt, body in (("jsonl", b'{"external_id":"a","product":"comment","comment":"x",'
                                b'"view_count":%d}\n' % 2**70),
                      ("csv", b"external_id,product,comment,view_count\na,comment,x,%d\n"
                              % 2**70)):
        path = tmp_path / f"big.{fmt}"
        path.write_bytes(body)
        [error] = refused(engine, project, path)
        assert error.startswith(f"{path}:{1 if fmt == 'jsonl' else 2}: view_count must be at "
                                "most 9,223,372,036,854,775,807"), error


def test_a_byte_order_mark_is_skipped_in_every_text_format(engine: Engine, project: str,
                                                           tmp_path: Path) -> None:
    row = {"external_id": "b1", "product": "comment", "comment": "BOM 앞에"}
    files = {
        "items.jsonl": BOM + orjson.dumps(row) + b"\n",
        "items.csv": BOM + "external_id,product,comment\nb2,comment,BOM 앞에\n".encode(),
        "items.json": BOM + orjson.dumps([{"id": 1, "data": {**row, "external_id": "b3"}}]),
    }
    for name, body in files.items():
        (tmp_path / name).write_bytes(body)
        import_file(engine, project, tmp_path / name, after_insert=None)
    with session_scope(engine) as s:
        assert sorted(s.scalars(select(Item.external_id))) == ["b1", "b2", "b3"]


def test_unknown_fields_are_kept_in_metadata_or_reported(engine: Engine, project: str,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_bytes(orjson.dumps({"external_id": "u1", "product": "comment", "comment": "x",
                                   "channel": "live-7", "metadata": {"tags": ["a"]}}) + b"\n")
    import_file(engine, project, path, after_insert=None)
    with session_scope(engine) as s:
        item = s.scalar(select(Item).where(Item.external_id == "u1"))
        assert item is not None and item.meta == {"tags": ["a"], "channel": "live-7"}
    # Never silently dropped: a clash with metadata, or an unknown key in an annotation.
    path.write_bytes(orjson.dumps({"external_id": "u2", "product": "comment", "comment": "x",
                                   "channel": "a", "metadata": {"channel": "b"}}) + b"\n")
    assert refused(engine, project, path) == [
        f"{path}:1: unknown field 'channel' is kept in metadata, which already has a "
        "different 'channel'"]
    path.write_bytes(orjson.dumps({
        "external_id": "u3", "product": "comment", "comment": "x", "annotations": [
            {"labeler": "kim", "labels": ["none"], "submitted_at": "2026-11-20T02:00:00Z",
             "confidence": 0.2}]}) + b"\n")
    [error] = refused(engine, project, path)
    assert error.startswith(f"{path}:1: annotation 1: unknown field 'confidence'")


def test_oversized_lines_and_tasks_are_refused_before_reading_them_whole(
        engine: Engine, project: str, tmp_path: Path) -> None:
    blob = "A" * (MAX_ROW_BYTES + 10)
    cases = {
        "long.jsonl": b'{"external_id":"a","product":"comment","comment":"x"}\n'
                      + b'{"external_id":"b","comment":"' + blob.encode() + b'"}\n',
        "long.csv": ("external_id,product,comment\na,comment,x\n"
                     f'b,comment,"{blob}"\n').encode(),
        "long.json": b'[{"id": 1, "data": {"external_id": "b", "comment": "'
                     + blob.encode() + b'"}}]',
    }
    for name, body in cases.items():
        path = tmp_path / name
        path.write_bytes(body)
        errors = refused(engine, project, path)
        line = 1 if name.endswith(".json") else 2 if name.endswith(".jsonl") else 3
        assert errors and errors[0].startswith(f"{path}:{line}:"), (name, errors)
        assert "16 MiB" in errors[0] or "field larger than field limit" in errors[0], errors


def test_row_count_limit(engine: Engine, project: str, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    from modops.io import parsing

    monkeypatch.setattr(parsing, "MAX_ROWS", 3)
    path = tmp_path / "items.jsonl"
    path.write_bytes(b"".join(orjson.dumps({"external_id": f"r{i}", "product": "comment",
                                            "comment": "x"}) + b"\n" for i in range(5)))
    assert refused(engine, project, path) == [
        f"{path}:4: more than 3 rows; an import takes at most that many "
        "(MODOPS_IMPORT_MAX_ROWS)"]


def test_out_of_range_integers_over_http_are_422_with_file_line(
        app_client: TestClient, token_for) -> None:
    mgr = token_for("manager")
    body = (b'[{"external_id":"h0","product":"comment","comment":"y"},'
            b'{"external_id":"h1","product":"comment","comment":"x","view_count":%d}]' % 2**70)
    r = app_client.post("/api/v1/projects/kr-web/items", content=body,
                        headers={**mgr, "content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert "request:2: view_count must be at most" in r.text
    r = app_client.post("/api/v1/projects/kr-web/import", headers=mgr, files={
        "file": ("big.jsonl", b'{"external_id":"h2","product":"comment","comment":"x",'
                              b'"view_count":%d}\n' % 2**70, "application/x-ndjson")})
    assert r.status_code == 422, r.text
    assert "big.jsonl:1: view_count must be at most" in r.text
