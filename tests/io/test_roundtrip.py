"""Import → export (every format) → import into a new project gives identical items and labels;
Label Studio's own export format imports; a re-import adds nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine

from modops.io import EXPORT_FORMATS, export_project, import_file, iter_export_rows
from tests.conftest import make_project, snapshot

# Facts that belong to the project, not the content: recomputed on import.
VOLATILE = {"decided_at"}


def comparable(engine: Engine, project: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in VOLATILE}
            for row in iter_export_rows(engine, project)]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_round_trip_through_every_format(engine: Engine, project: str, tmp_path: Path, rows,
                                         fmt: str) -> None:
    report = import_file(engine, project, write_jsonl(tmp_path / "in.jsonl", rows),
                         after_insert=None)
    assert (report.inserted, report.annotations, report.decisions) == (5, 4, 2)
    original = comparable(engine, project)

    out = tmp_path / f"out.{fmt}"
    exported = export_project(engine, project, fmt, out)
    assert (exported.items, exported.annotations) == (5, 4)

    copy = make_project(engine, "copy")
    import_file(engine, copy, out, fmt, after_insert=None)
    assert comparable(engine, copy) == original
    # spot-check the content survived byte for byte, hostile text included
    by_id = {r["external_id"]: r for r in original}
    assert by_id["c-1"]["comment"] == "진짜 별로다 ㅋㅋ 😂"
    assert by_id["c-1"]["created_at"] == "2026-11-20T00:15:00.000000Z"  # +09:00 → UTC
    assert by_id["l-1"]["text"] == "<script>alert(1)</script> 방송 최고"
    assert by_id["c-2"]["final_labels"] == ["profanity"]
    assert [a["labeler"] for a in by_id["c-2"]["annotations"]] == ["kim", "lee", "park"]
    assert by_id["g-1"]["gold_labels"] == ["none"] and by_id["g-1"]["is_gold"]
    # the author (issue 19) in every format: known facts kept, unknown ones stay unknown
    assert (by_id["c-1"]["author_id"], by_id["c-1"]["author_region"],
            by_id["c-1"]["author_followers"], by_id["c-1"]["author_verified"],
            by_id["c-1"]["author_created_at"]) == \
        ("u-77", "KR", 12, False, "2026-11-01T00:00:00.000000Z")
    assert (by_id["v-1"]["author_verified"], by_id["v-1"]["author_created_at"]) == (True, None)
    assert by_id["g-1"]["author_id"] is None and by_id["g-1"]["author_verified"] is None


def test_reimport_adds_nothing(engine: Engine, project: str, tmp_path: Path, rows) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", rows)
    import_file(engine, project, path, after_insert=None)
    before = snapshot(engine)
    again = import_file(engine, project, path, after_insert=None)
    assert (again.inserted, again.skipped_existing, again.annotations) == (0, 5, 0)
    after = snapshot(engine)
    assert after["audit_log"] == before["audit_log"] + 1  # the import itself is audited
    assert {k: v for k, v in after.items() if k != "audit_log"} == \
        {k: v for k, v in before.items() if k != "audit_log"}


def test_label_studio_native_export_imports(engine: Engine, project: str, tmp_path: Path) -> None:
    """The shape Label Studio 1.x writes: integer completed_by, lead_time, cancelled skips."""
    tasks = [
        {"id": 101, "data": {"text": "와 이건 좀 심하다", "product": "comment"},
         "annotations": [
             {"id": 1, "completed_by": 7, "created_at": "2026-11-20T10:00:05.123456Z",
              "lead_time": 5.0, "was_cancelled": False,
              "result": [{"from_name": "policy", "to_name": "text", "type": "choices",
                          "value": {"choices": ["harassment"]}}]},
             {"id": 2, "completed_by": 8, "created_at": "2026-11-20T10:01:00Z",
              "was_cancelled": True, "result": []}],
         "predictions": [], "meta": {}},
        {"id": 102, "data": {"text": "응원합니다!", "product": "comment", "author": "u123"},
         "annotations": []},
    ]
    path = tmp_path / "label-studio-export.json"
    path.write_bytes(orjson.dumps(tasks))
    report = import_file(engine, project, path, "labelstudio", after_insert=None)
    assert (report.inserted, report.annotations) == (2, 1)
    assert report.new_labelers == ["ls-user-7"]
    rows = {r["external_id"]: r for r in iter_export_rows(engine, project)}
    assert rows["ls-101"]["text"] == "와 이건 좀 심하다"
    assert rows["ls-102"]["metadata"] == {"author": "u123"}
    ann = rows["ls-101"]["annotations"][0]
    assert (ann["labeler"], ann["labels"]) == ("ls-user-7", ["harassment"])
    assert ann["started_at"] == "2026-11-20T10:00:00.123456Z"  # submitted − lead_time


@pytest.mark.parametrize(("chunk", "page"), [(2, 1), (2, 2), (3, 2), (5, 5)])
def test_export_in_small_chunks_equals_one_pass(engine: Engine, project: str, tmp_path: Path,
                                                rows, monkeypatch, chunk: int, page: int) -> None:
    """Exports read a chunk of items per transaction (so a 1M-item export never holds one
    snapshot for long); chunk and page edges must not lose, repeat or misplace anything."""
    from modops.io import exporter

    import_file(engine, project, write_jsonl(tmp_path / "in.jsonl", rows), after_insert=None)
    whole = comparable(engine, project)
    monkeypatch.setattr(exporter, "CHUNK", chunk)
    monkeypatch.setattr(exporter, "PAGE", page)
    assert comparable(engine, project) == whole
    assert sum(len(r["annotations"]) for r in whole) == 4


@pytest.mark.parametrize(("chunk", "page"), [(2, 1), (200_000, 10_000)])
def test_jsonl_export_says_what_the_export_rows_say(engine: Engine, project: str,
                                                    tmp_path: Path, rows, monkeypatch,
                                                    chunk: int, page: int) -> None:
    """JSON Lines are built by the database (faster); parsed back, each line must be the
    same record the other formats are written from: every field, value and annotation."""
    from modops.io import exporter

    import_file(engine, project, write_jsonl(tmp_path / "in.jsonl", rows), after_insert=None)
    with engine.begin() as conn:  # a score whose shortest text has 17 digits must survive
        conn.exec_driver_sql("UPDATE items SET machine_score = 0.30000000000000004 "
                             "WHERE external_id = 'c-1'")
    expected = list(iter_export_rows(engine, project))
    monkeypatch.setattr(exporter, "CHUNK", chunk)
    monkeypatch.setattr(exporter, "PAGE", page)
    out = tmp_path / "out.jsonl"
    report = export_project(engine, project, "jsonl", out)
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert (report.items, report.annotations) == (5, 4)
    assert lines == expected
    assert {r["external_id"]: r["machine_score"] for r in lines}["c-1"] == 0.30000000000000004


def test_two_imports_racing_into_an_empty_project_store_each_item_once(
        engine: Engine, project: str, tmp_path: Path) -> None:
    """Two overlapping files imported at the same moment into a new project (where the
    importer skips looking up already-stored ids): every item is stored exactly once and
    both imports succeed."""
    import threading

    def items(lo: int, hi: int) -> list[dict[str, Any]]:
        return [{"external_id": f"r-{i:04d}", "product": "comment", "comment": f"댓글 {i}"}
                for i in range(lo, hi)]

    first = write_jsonl(tmp_path / "a.jsonl", items(0, 3000))
    second = write_jsonl(tmp_path / "b.jsonl", items(1500, 4500))
    reports, errors = [], []
    start = threading.Barrier(2)

    def run(path: Path) -> None:
        start.wait()
        try:
            reports.append(import_file(engine, project, path, batch_size=500,
                                       after_insert=None))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r.inserted for r in reports) == 4500
    assert sum(r.skipped_existing for r in reports) == 1500
    exported = [r["external_id"] for r in iter_export_rows(engine, project)]
    assert sorted(exported) == [f"r-{i:04d}" for i in range(4500)]


def test_first_load_with_labelled_rows_between_plain_ones_keeps_every_row(
        engine: Engine, project: str, tmp_path: Path) -> None:
    """A project's first load streams plain batches into one COPY on PostgreSQL and breaks
    the stream for batches with labels (they need the new ids): every item and every
    annotation lands, in file order, on both stores."""
    rows: list[dict[str, Any]] = []
    for i in range(1_000):
        row: dict[str, Any] = {"external_id": f"m-{i:04d}", "product": "comment",
                               "comment": f"댓글 {i}"}
        if 300 <= i < 350 or i == 999:
            row["annotations"] = [{"labeler": "kim", "labels": ["none"],
                                   "submitted_at": "2026-11-20T00:00:00Z"}]
        rows.append(row)
    report = import_file(engine, project, write_jsonl(tmp_path / "in.jsonl", rows),
                         batch_size=100, after_insert=None)
    assert (report.inserted, report.annotations) == (1_000, 51)
    exported = list(iter_export_rows(engine, project))
    assert [r["external_id"] for r in exported] == [f"m-{i:04d}" for i in range(1_000)]
    assert sum(len(r["annotations"]) for r in exported) == 51
    assert [a["labeler"] for a in exported[999]["annotations"]] == ["kim"]


def test_the_parse_process_loads_no_database_layer() -> None:
    """The parse process of a parallel import starts in a fraction of a second because what
    it unpickles (the row builder, the validator, the routing planner) needs no database
    code: a 100,000-row upload spent a fifth of its time waiting for that start-up."""
    import subprocess
    import sys

    probe = ("import sys, modops.io.parsing, modops.queue.planning; "
             "print(sorted(m for m in ('sqlalchemy', 'psycopg', 'alembic', 'scipy', "
             "'modops.store', 'modops.io.importer') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
