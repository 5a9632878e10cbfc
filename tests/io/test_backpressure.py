"""A slow writer bounds what the import's parser holds: the bounded queue between them."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine

from modops.io import columnar, import_file, importer
from modops.io.importer import QUEUE_BATCHES, ImportReport
from modops.io.parsing import _Batch

BLOCK = 8 << 10  # a small batch (by bytes), so the file is many batches


def test_a_slow_writer_blocks_the_parser_after_a_bounded_read(
        engine: Engine, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the writer held on its first batch, the parser fills the queue and then waits on
    it: it has read at most the batches the queue holds, plus the one being written and the
    one it cannot hand over, of a file fifty times that size. Let go, the writer stores every
    row. Waits on the parser's own signal (``full``), never on a clock."""
    rows = [{"external_id": f"bp-{i:05d}", "product": "comment",
             "comment": f"천천히 쓰는 댓글 {i} " * 4} for i in range(10_000)]
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    assert path.stat().st_size > 50 * (QUEUE_BATCHES + 2) * BLOCK, "make the file larger"
    monkeypatch.setattr(columnar, "BLOCK_BYTES", BLOCK)

    parsers: list[importer._ThreadedParser] = []

    class Recorded(importer._ThreadedParser):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            parsers.append(self)

    monkeypatch.setattr(importer, "_ThreadedParser", Recorded)
    writing, go = threading.Event(), threading.Event()
    waits_before: list[int] = []
    write = importer._BulkWriter.write

    def slow_write(self: importer._BulkWriter, batch: _Batch) -> None:
        if not writing.is_set():  # the parser's waits from here on are on a stuck writer
            waits_before.append(parsers[0].full_waits)
            writing.set()
        assert go.wait(300), "the test never let the writer go"
        write(self, batch)

    monkeypatch.setattr(importer._BulkWriter, "write", slow_write)
    reports: list[ImportReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(import_file(engine, project, path, after_insert=None,
                                       parallel=True))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        assert writing.wait(300), "no batch reached the writer"
        parser = parsers[0]
        with parser.full:
            assert parser.full.wait_for(lambda: parser.full_waits > waits_before[0], 300), \
                "the parser never waited on the full queue"
        assert parser.queue.qsize() == QUEUE_BATCHES
        longest_line = max(len(orjson.dumps(r)) + 1 for r in rows)
        assert parser.position <= (QUEUE_BATCHES + 2) * (BLOCK + longest_line)
        assert parser.position < path.stat().st_size / 20
    finally:
        go.set()
        worker.join(600)
    assert errors == []
    assert reports[0].inserted == 10_000
