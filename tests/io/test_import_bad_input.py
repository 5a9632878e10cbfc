"""Bad input gets a clear ``FILE:LINE: what is wrong`` and loses nothing: the database is as
it was. One test per kind of bad file the issue names, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine

from modops.io import MAX_TEXT_CHARS, ImportFailed, import_file
from tests.conftest import snapshot


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def refused(engine: Engine, project: str, path: Path, fmt: str | None = None) -> list[str]:
    """Import, expect refusal, check nothing changed; return the error lines."""
    before = snapshot(engine)
    with pytest.raises(ImportFailed) as info:
        import_file(engine, project, path, fmt, after_insert=None)
    assert snapshot(engine) == before, "a refused import must write nothing"
    return info.value.errors


def test_malformed_json_line(engine: Engine, project: str, tmp_path: Path, rows) -> None:
    path = write_jsonl(tmp_path / "items.jsonl", rows[:2])
    path.write_bytes(path.read_bytes() + b'{"external_id": "x", "product": \n')
    errors = refused(engine, project, path)
    assert errors == [f"{path}:3: malformed JSON: unexpected end of data at column 33"]


def test_csv_missing_required_column(engine: Engine, project: str, tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("external_id,comment\nc-1,안녕하세요\n", encoding="utf-8")
    assert refused(engine, project, path) == [
        f"{path}:1: missing required column 'product' (header has: external_id, comment)"]


def test_unknown_product(engine: Engine, project: str, tmp_path: Path, rows) -> None:
    rows[3]["product"] = "podcast"
    path = write_jsonl(tmp_path / "items.jsonl", rows)
    assert refused(engine, project, path) == [
        f"{path}:4: unknown product 'podcast' (project covers: comment, live, short_video)"]


def test_label_studio_label_not_in_taxonomy(engine: Engine, project: str, tmp_path: Path) -> None:
    tasks = [
        {"id": 1, "data": {"external_id": "ls-1", "product": "comment", "text": "좋아요"},
         "annotations": [{"completed_by": 3, "created_at": "2026-11-20T10:00:00Z",
                          "result": [{"type": "choices", "value": {"choices": ["none"]}}]}]},
        {"id": 2, "data": {"external_id": "ls-2", "product": "comment", "text": "꺼져"},
         "annotations": [{"completed_by": 3, "created_at": "2026-11-20T10:01:00Z",
                          "result": [{"type": "choices", "value": {"choices": ["toxic"]}}]}]},
    ]
    path = tmp_path / "export.json"
    path.write_bytes(orjson.dumps(tasks, option=orjson.OPT_INDENT_2))
    errors = refused(engine, project, path, "labelstudio")
    assert len(errors) == 1
    starts = [n for n, text in enumerate(path.read_text().splitlines(), 1) if text == "  {"]
    line = starts[1]  # the line where task 2 starts
    assert errors[0] == (f"{path}:{line}: annotation 1: label 'toxic' is not in taxonomy "
                         f"kr-policy v1")


def test_invalid_utf8(engine: Engine, project: str, tmp_path: Path, rows) -> None:
    path = write_jsonl(tmp_path / "items.jsonl", rows[:1])
    path.write_bytes(path.read_bytes()
                     + b'{"external_id": "c-9", "product": "comment", "comment": "\xed\x95"}\n')
    errors = refused(engine, project, path)
    assert errors == [f"{path}:2: invalid UTF-8 (byte 0xed at column 58)"]


def test_invalid_utf8_in_csv(engine: Engine, project: str, tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_bytes("external_id,product,comment\nc-1,comment,좋아요\n".encode()
                     + b"c-2,comment,\xff\xfe\n")
    assert refused(engine, project, path) == [
        f"{path}:3: invalid UTF-8 (byte 0xff at column 13)"]


def test_ten_megabyte_text_field_is_refused_by_the_documented_limit(
        engine: Engine, project: str, tmp_path: Path, rows) -> None:
    rows[1]["comment"] = "가" * (10 * 1024 * 1024 // 3)  # ~10 MB of UTF-8
    path = write_jsonl(tmp_path / "items.jsonl", rows)
    assert refused(engine, project, path) == [
        f"{path}:2: comment has 3,495,253 characters; the limit is {MAX_TEXT_CHARS:,} per field"]


def test_text_at_the_limit_is_accepted(engine: Engine, project: str, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "items.jsonl", [
        {"external_id": "t-1", "product": "short_video", "transcript": "가" * MAX_TEXT_CHARS}])
    assert import_file(engine, project, path, after_insert=None).inserted == 1


def test_duplicate_external_id_inside_one_file(engine: Engine, project: str, tmp_path: Path,
                                               rows) -> None:
    rows.append({**rows[0], "comment": "다른 내용"})
    path = write_jsonl(tmp_path / "items.jsonl", rows)
    assert refused(engine, project, path) == [
        f"{path}:6: duplicate external_id 'c-1' in this file (first on line 1)"]


@pytest.mark.parametrize("fmt,suffix", [("jsonl", "jsonl"), ("csv", "csv"),
                                        ("labelstudio", "json"), ("parquet", "parquet")])
def test_empty_file(engine: Engine, project: str, tmp_path: Path, fmt: str, suffix: str) -> None:
    path = tmp_path / f"empty.{suffix}"
    path.write_bytes(b"")
    errors = refused(engine, project, path, fmt)
    expected = ("not a readable Parquet file: Parquet file size is 0 bytes" if fmt == "parquet"
                else "the file has no rows")
    assert errors == [f"{path}:1: {expected}"]


def test_parquet_with_wrong_column_types(engine: Engine, project: str, tmp_path: Path) -> None:
    table = pa.table({"external_id": ["p-1", "p-2"], "product": ["comment", "comment"],
                      "comment": ["좋아요", "별로"], "view_count": ["many", "12"]})
    path = tmp_path / "items.parquet"
    pq.write_table(table, path)
    assert refused(engine, project, path) == [
        f"{path}:1: view_count must be an integer, got str 'many'",
        f"{path}:2: view_count must be an integer, got str '12'",
    ]


def test_every_bad_row_is_listed_up_to_the_limit(engine: Engine, project: str,
                                                 tmp_path: Path) -> None:
    rows = [{"external_id": f"x-{i}", "product": "comment"} for i in range(50)]
    path = write_jsonl(tmp_path / "items.jsonl", rows)
    before = snapshot(engine)
    with pytest.raises(ImportFailed) as info:
        import_file(engine, project, path, max_errors=5, after_insert=None)
    assert snapshot(engine) == before
    assert len(info.value.errors) == 5 and info.value.more == 45
    assert info.value.errors[0] == (f"{path}:1: an item needs text (title, caption, comment, "
                                    "transcript, text) or a media_url")


def test_one_bad_row_after_many_good_batches_writes_nothing(engine: Engine, project: str,
                                                            tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [{"external_id": f"ok-{i}", "product": "comment",
                                   "comment": f"댓글 {i}"} for i in range(12_000)]
    rows.append({"external_id": "bad", "product": "comment", "comment": "x", "view_count": -1})
    path = write_jsonl(tmp_path / "items.jsonl", rows)
    assert refused(engine, project, path) == [
        f"{path}:12001: view_count must not be negative, got -1"]


def test_csv_rows_are_read_from_text_cells(engine: Engine, project: str, tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["external_id", "product", "comment", "view_count", "user_reported",
                    "metadata", "final_labels"])
        w.writerow(["c-1", "comment", "여러 줄\n댓글, 쉼표", "42", "true",
                    '{"k": "값"}', '["profanity"]'])
    report = import_file(engine, project, path, after_insert=None)
    assert (report.inserted, report.decisions) == (1, 1)
