"""Export pipeline: items stream out in id order, each with its final label and every annotation.

Rows have the import schema (plus a few read-only fields such as ``state`` and ``route``), so
any export imports back into ModOps identically. Memory stays flat: items are read in keyset
pages and written as they come, in chunks that each get fresh read transactions.
"""

from __future__ import annotations

import csv
import queue
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from modops.domain import ValidationError
from modops.domain.cells import csv_cell
from modops.domain.fields import EXPORT_FIELDS, ITEM_FIELDS, FieldKind, select_list
from modops.io.labelstudio import row_to_task
from modops.projects.service import get_project
from modops.store.db import driver

EXPORT_FORMATS = ("jsonl", "csv", "parquet", "labelstudio")
CSV_COLUMNS = EXPORT_FIELDS
JSON_COLUMNS = tuple(f.name for f in ITEM_FIELDS if f.exported and f.kind in (
    FieldKind.JSON, FieldKind.LABELS, FieldKind.ANNOTATIONS))
PAGE = 10_000
CHUNK = 50_000  # items per read transaction (JSONL: per range built in parallel)


@dataclass(slots=True)
class ExportReport:
    file: str
    format: str
    items: int = 0
    annotations: int = 0
    seconds: float = 0.0

    @property
    def items_per_s(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _iso(value: Any) -> str | None:
    """Stored naive-UTC time → ISO 8601 with Z. SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " ":
            return value[:10] + "T" + value[11:] + "Z"
        value = datetime.fromisoformat(value)
    return value.isoformat(timespec="microseconds") + "Z"


# The stored fields of an export row, each with how its stored value becomes the exported one
# (times as ISO 8601 with Z, JSON text parsed, SQLite's 0/1 as booleans).
_ROW_FIELDS = tuple(f for f in ITEM_FIELDS if f.exported and f.column is not None)
_CONVERT: dict[FieldKind, Callable[[Any], Any]] = {
    FieldKind.TIME: _iso, FieldKind.JSON: _json, FieldKind.LABELS: _json,
    FieldKind.BOOL: lambda v: None if v is None else bool(v)}  # author_verified may be unknown
_ITEM_COLUMNS = "i.id, " + select_list(tuple(f.name for f in _ROW_FIELDS))
_ANN_COLUMNS = "item_id, labeler_id, kind, labels, note, started_at, submitted_at"


def _id_ranges(engine: Engine, project_id: int) -> list[tuple[int, int | None]]:
    """The project cut into id ranges (after, upper] of CHUNK items; the last is open-ended."""
    ends = _chunk_ends(engine, project_id)
    return list(zip([0, *ends], [*ends, None], strict=True))


def _pages(engine: Engine, project_id: int, item_sql: str, ann_sql: str,
           ranges: list[tuple[int, int | None]] | None = None) \
        -> Generator[tuple[Sequence[Any], dict[int, list[Any]]], None, None]:
    """Pages of up to PAGE item rows (id first) in id order, each with its items' annotation
    rows (item id first, oldest first). ``item_sql`` selects from ``items i``, ``ann_sql``
    from ``annotations a``; both without a WHERE clause.

    Items and annotations come through two streaming cursors merged as they arrive (the
    database produces the next rows while Python writes these), one id range (CHUNK items)
    per pair of transactions: an export never holds one snapshot for long, which on
    PostgreSQL would keep vacuum from clearing the queue's dead task rows and slow every
    labeler's next task for as long as a 1M-item export runs.
    """
    # SQLite: "+i.project_id" reads the id range straight from the table (by rowid) instead
    # of looking each row up from the project index, a fifth less time per row
    items_alias = "+i" if engine.dialect.name == "sqlite" else "i"
    for after, upper in ranges if ranges is not None else _id_ranges(engine, project_id):
        items_in = _in_chunk(items_alias, "i.id", project_id, after, upper)
        anns_in = _in_chunk("a", "a.item_id", project_id, after, upper)
        with engine.connect() as item_conn, engine.connect() as ann_conn:
            # (fetchmany with a bounded buffer: SQLAlchemy's yield_per/partitions kept every
            # row of a psycopg server-side cursor in memory, 650 MB for 300k items)
            items_stream = item_conn.execution_options(
                stream_results=True, max_row_buffer=PAGE).execute(
                text(f"{item_sql} WHERE {items_in} ORDER BY i.id"))
            anns = iter(ann_conn.execution_options(stream_results=True, max_row_buffer=PAGE)
                        .execute(text(f"{ann_sql} WHERE {anns_in} "
                                      "ORDER BY a.item_id, a.submitted_at, a.id")))
            pending = next(anns, None)
            while items := items_stream.fetchmany(PAGE):
                last = items[-1][0]
                by_item: dict[int, list[Any]] = defaultdict(list)
                while pending is not None and pending[0] <= last:
                    by_item[pending[0]].append(pending)
                    pending = next(anns, None)
                yield items, by_item


def _prefetched(pages: Generator[Any, None, None], depth: int = 2) -> Iterator[Any]:
    """Run ``pages`` in a thread, ``depth`` pages ahead of the consumer.

    The database server produces the next page while Python formats and writes this one.
    (Not for SQLite: it runs in this process and gives up the GIL for every row it steps, so
    a second thread only adds switching.) The producer stops when the consumer does; its
    errors are raised in the consumer.
    """
    ready: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(kind: str, value: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for page in pages:
                if not put("page", page):
                    return
            put("end", None)
        except BaseException as exc:  # handed to the consumer, raised there
            put("error", exc)
        finally:
            pages.close()

    worker = threading.Thread(target=produce, name="export-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = ready.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        worker.join()


def _read_ahead(engine: Engine, pages: Generator[Any, None, None]) -> Iterator[Any]:
    return pages if engine.dialect.name == "sqlite" else _prefetched(pages)


def _lookups(engine: Engine, project_key: str) -> tuple[int, dict[int, str]]:
    with Session(engine) as s:
        project_id = get_project(s, project_key).id
        users: dict[int, str] = dict(s.execute(text("SELECT id, username FROM users")).all())
    return project_id, users


def iter_export_rows(engine: Engine, project_key: str) -> Iterator[dict[str, Any]]:
    """Yield one dict per item, in id order, with annotations (oldest first) attached: the
    fields of ``EXPORT_FIELDS`` in their order."""
    project_id, users = _lookups(engine, project_key)
    item_sql = f"SELECT {_ITEM_COLUMNS} FROM items i JOIN products p ON p.id = i.product_id"
    ann_sql = f"SELECT {_ANN_COLUMNS} FROM annotations a"
    converters = [(f.name, _CONVERT.get(f.kind)) for f in _ROW_FIELDS]
    annotations_at = EXPORT_FIELDS.index("annotations")
    head, tail = converters[:annotations_at], converters[annotations_at:]
    for items, by_item in _read_ahead(engine, _pages(engine, project_id, item_sql, ann_sql)):
        for item_id, *values in items:
            row = {name: value if convert is None else convert(value)
                   for (name, convert), value in zip(head, values, strict=False)}
            row["annotations"] = [
                {"labeler": users.get(labeler_id, str(labeler_id)), "labels": _json(labels),
                 "submitted_at": _iso(submitted), "started_at": _iso(started),
                 "note": note, "kind": kind}
                for _, labeler_id, kind, labels, note, started, submitted
                in by_item.get(item_id, ())
            ]
            row.update((name, value if convert is None else convert(value))
                       for (name, convert), value in zip(tail, values[annotations_at:],
                                                         strict=True))
            yield row


# JSON Lines are assembled by the database: each item's fields (all but the machine score and
# the annotations, spliced in below) arrive as one JSON text, so Python only joins strings.
# On PostgreSQL that work runs in the server process, beside the Python that writes the file.
_JSON_RENDER = {FieldKind.JSON: "json", FieldKind.LABELS: "json", FieldKind.TIME: "time",
                FieldKind.BOOL: "bool"}
_ITEM_JSON_FIELDS = tuple(  # (key, column, kind): kind says how the database renders it in JSON
    (f.name, f.column, _JSON_RENDER.get(f.kind, "")) for f in ITEM_FIELDS
    if f.exported and f.column is not None and f.name != "machine_score")
_ANN_JSON_FIELDS = (
    ("labeler", "COALESCE(u.username, CAST(a.labeler_id AS TEXT))", ""),
    ("labels", "a.labels", "json"), ("submitted_at", "a.submitted_at", "time"),
    ("started_at", "a.started_at", "time"), ("note", "a.note", ""), ("kind", "a.kind", ""),
)
_RENDER = {  # how each kind of column becomes JSON text; times as _iso writes them
    "postgresql": {
        "": "COALESCE(to_json({0})::text, 'null')",
        "json": "COALESCE({0}::text, 'null')",
        "bool": "CASE WHEN {0} IS NULL THEN 'null' WHEN {0} THEN 'true' ELSE 'false' END",
        "time": "COALESCE('\"' || to_char({0}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || '\"', "
                "'null')",
    },
    "sqlite": {
        "": "{0}",
        "json": "json({0})",
        "bool": "json(CASE WHEN {0} IS NULL THEN 'null' WHEN {0} THEN 'true' "
                "ELSE 'false' END)",
        "time": "substr({0}, 1, 10) || 'T' || substr({0}, 12) || 'Z'",
    },
}


def _json_object_sql(fields: tuple[tuple[str, str, str], ...], dialect: str) -> str:
    """A select-list expression: the row as one JSON object text, without its closing brace
    (the caller appends the fields the database cannot render as Python does)."""
    render = _RENDER[dialect]
    if dialect == "sqlite":
        pairs = ", ".join(f"'{key}', {render[kind].format(col)}" for key, col, kind in fields)
        # the last field is text or null, so the only trailing brace is the object's own
        return f"rtrim(json_object({pairs}), '}}')"
    # Concatenated per field: a third of what row_to_json over a subquery costs the server
    # (and json_build_object writes spaces around every colon).
    return " || ".join(f"'{'{' if n == 0 else ','}\"{key}\":' || {render[kind].format(col)}"
                       for n, (key, col, kind) in enumerate(fields))


JSONL_WORKERS = 2  # chunks built at once (each on its own connection), written in order

Block = tuple[bytes, int, int]  # (JSON Lines, items in them, annotations in them)


def iter_jsonl_blocks(engine: Engine, project_key: str) -> Iterator[Block]:
    """The JSON Lines export in blocks; each line is the record :func:`iter_export_rows`
    gives, serialized.

    The project is cut into id ranges of CHUNK items, each read in its own transaction. On
    PostgreSQL, JSONL_WORKERS ranges are built at once (a server process each, on their own
    connections) and written in id order.
    """
    project_id, _ = _lookups(engine, project_key)
    build = _pg_jsonl_chunk if engine.dialect.name == "postgresql" else _sqlite_jsonl_chunk
    ranges = _id_ranges(engine, project_id)
    # SQLite gives up the GIL for every row it steps: two threads of it spend their time
    # handing the GIL back and forth (twice the CPU, slower), so it builds one range at a time
    workers = JSONL_WORKERS if engine.dialect.name == "postgresql" else 1
    if len(ranges) == 1 or workers == 1:
        for after, upper in ranges:
            yield from build(engine, project_id, after, upper)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="export") as pool:
        running: deque[Future[list[Block]]] = deque()
        for after, upper in ranges:
            running.append(pool.submit(lambda a, u: list(build(engine, project_id, a, u)),
                                       after, upper))
            if len(running) >= workers:
                yield from running.popleft().result()
        while running:
            yield from running.popleft().result()


def _chunk_ends(engine: Engine, project_id: int) -> list[int]:
    """The last item id of every full CHUNK of the project's items, in id order (the range
    after the last one is open-ended: it also takes items stored while the export runs).
    Each step skips CHUNK entries of the (project_id, id) index."""
    ends: list[int] = []
    step = text("SELECT id FROM items WHERE project_id = :p AND id > :after ORDER BY id "
                "LIMIT 1 OFFSET :skip")
    with engine.connect() as conn:
        while (end := conn.execute(step, {"p": project_id, "after": ends[-1] if ends else 0,
                                          "skip": CHUNK - 1}).scalar()) is not None:
            ends.append(int(end))
    return ends


def _sqlite_jsonl_chunk(engine: Engine, project_id: int, after: int, upper: int | None) \
        -> Iterator[Block]:
    """SQLite writes the lines, as PostgreSQL does: fields with ``json_object``, each item's
    annotations by a correlated subquery (the annotations index), returned as bytes so
    Python neither decodes nor re-encodes them. A third less time than splicing the score
    and annotations into each line in Python.
    """
    item_json = _json_object_sql(_ITEM_JSON_FIELDS, "sqlite")
    ann_json = _json_object_sql(_ANN_JSON_FIELDS, "sqlite")
    annotations = (
        f"(SELECT group_concat(line, ',') FROM (SELECT {ann_json} || '}}' AS line "
        "FROM annotations a LEFT JOIN users u ON u.id = a.labeler_id "
        "WHERE a.item_id = i.id ORDER BY a.submitted_at, a.id))")
    # "+i.project_id": read the id range straight from the table (by rowid), not through
    # the project index, a fifth less time per row
    statement = (
        f"SELECT CAST({item_json} || ',\"machine_score\":' || {_SQLITE_SCORE} || "
        f"',\"annotations\":[' || COALESCE({annotations}, '') || ']}}' AS BLOB) "
        "FROM items i JOIN products p ON p.id = i.product_id "
        f"WHERE {_in_chunk('+i', 'i.id', project_id, after, upper)} ORDER BY i.id")
    with engine.connect() as conn, conn.begin():
        cur = driver(conn).cursor()
        try:
            cur.execute(statement)
            while lines := cur.fetchmany(PAGE):
                lines.append((b"",))
                yield b"\n".join([line for line, in lines]), len(lines) - 1, 0
            cur.execute("SELECT count(*) FROM annotations a WHERE "
                        + _in_chunk("a", "a.item_id", project_id, after, upper))
            yield b"", 0, int(cur.fetchone()[0])
        finally:
            cur.close()


# A score as Python writes floats, the shortest text that reads back the same: SQLite's
# json() writes 15 significant digits, which loses the last bits of some doubles.
_SQLITE_SCORE = " ".join(
    ["CASE WHEN i.machine_score IS NULL THEN 'null'"]
    + [f"WHEN CAST(printf('%!.{d}g', i.machine_score) AS REAL) = i.machine_score "
       f"THEN printf('%!.{d}g', i.machine_score)" for d in (15, 16)]
    + ["ELSE printf('%!.17g', i.machine_score) END"])


def _pg_jsonl_chunk(engine: Engine, project_id: int, after: int, upper: int | None) \
        -> Iterator[Block]:
    """PostgreSQL writes the lines: the range's items, annotations merged in by a grouped
    join, stream out of ``COPY … TO STDOUT`` finished, so the server's process does the work
    and Python only moves bytes.

    CSV format with a quote and a delimiter that JSON text never holds raw (control characters
    inside JSON strings are escaped) passes each line through unchanged. REPEATABLE READ: the
    annotation count is read from the snapshot the lines were.
    """
    import psycopg

    item_json = _json_object_sql(_ITEM_JSON_FIELDS, "postgresql")
    ann_json = _json_object_sql(_ANN_JSON_FIELDS, "postgresql")
    items_in = _in_chunk("i", "i.id", project_id, after, upper)
    annotations_in = _in_chunk("a", "a.item_id", project_id, after, upper)
    statement = (
        f"COPY (SELECT {item_json} || ',\"machine_score\":' || "
        "COALESCE(to_json(i.machine_score)::text, 'null') || "
        "',\"annotations\":[' || COALESCE(an.list, '') || ']}' "
        "FROM items i JOIN products p ON p.id = i.product_id "
        f"LEFT JOIN (SELECT a.item_id, string_agg({ann_json} || '}}', ',' "
        "ORDER BY a.submitted_at, a.id) AS list FROM annotations a "
        f"LEFT JOIN users u ON u.id = a.labeler_id WHERE {annotations_in} "
        "GROUP BY a.item_id) an ON an.item_id = i.id "
        f"WHERE {items_in} ORDER BY i.id) "
        "TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')")
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        raw = driver(conn)
        assert isinstance(raw, psycopg.Connection)
        with conn.begin(), raw.cursor() as cur:
            buf: list[bytes] = []
            with cur.copy(statement) as copy:
                while data := copy.read():
                    buf.append(bytes(data))
                    if len(buf) >= PAGE:
                        yield b"".join(buf), len(buf), 0
                        buf = []
            if buf:
                yield b"".join(buf), len(buf), 0
            cur.execute(f"SELECT count(*) FROM annotations a WHERE {annotations_in}")
            counted = cur.fetchone()
            yield b"", 0, int(counted[0]) if counted else 0


def _in_chunk(alias: str, item_id: str, project_id: int, after: int, upper: int | None) -> str:
    """Rows of the project whose item id is in (after, upper] (integers, written inline: COPY
    takes no parameters)."""
    return (f"{alias}.project_id = {int(project_id)} AND {item_id} > {int(after)}"
            + ("" if upper is None else f" AND {item_id} <= {int(upper)}"))


def _write_jsonl(blocks: Iterator[tuple[bytes, int, int]], f: IO[bytes],
                 report: ExportReport) -> None:
    for data, n_items, n_annotations in blocks:
        report.items += n_items
        report.annotations += n_annotations
        if data:
            f.write(data)


def _write_csv(rows: Iterator[dict[str, Any]], f: IO[bytes], report: ExportReport) -> None:
    import io

    text_f = io.TextIOWrapper(f, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text_f)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        report.items += 1
        report.annotations += len(row["annotations"])
        cells = []
        for col in CSV_COLUMNS:
            value = row[col]
            if col in JSON_COLUMNS:
                value = (
                    ""
                    if value is None or (value == [] and col == "annotations")
                    else orjson.dumps(value).decode()
                )
            elif value is None:
                value = ""
            elif isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, str):
                value = csv_cell(value)  # never a formula in a spreadsheet
            cells.append(value)
        writer.writerow(cells)
    text_f.flush()
    text_f.detach()


def _parquet_schema() -> Any:
    import pyarrow as pa

    s, ts = pa.string(), pa.timestamp("us")
    types = {FieldKind.TIME: ts, FieldKind.INT: pa.int64(), FieldKind.BOOL: pa.bool_(),
             FieldKind.SCORE: pa.float64(), FieldKind.LABELS: pa.list_(s)}
    # text, identifiers, and JSON (metadata, annotations) as JSON text: readable by any tool
    return pa.schema([(f.name, types.get(f.kind, s)) for f in ITEM_FIELDS if f.exported])


def _write_parquet(rows: Iterator[dict[str, Any]], f: IO[bytes], report: ExportReport) -> None:
    """Nested annotations and metadata are JSON text columns: readable by any Parquet tool."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _parquet_schema()
    times = tuple(f.name for f in ITEM_FIELDS if f.exported and f.kind is FieldKind.TIME)
    with pq.ParquetWriter(f, schema, compression="zstd") as writer:
        batch: dict[str, list[Any]] = {name: [] for name in schema.names}

        def flush() -> None:
            writer.write_table(pa.table(batch, schema=schema))
            for col in batch.values():
                col.clear()

        for row in rows:
            report.items += 1
            report.annotations += len(row["annotations"])
            for name in schema.names:
                value = row[name]
                if name in ("metadata", "annotations"):
                    value = None if value is None else orjson.dumps(value).decode()
                elif name in times and value is not None:
                    value = datetime.fromisoformat(value.rstrip("Z"))
                batch[name].append(value)
            if len(batch["external_id"]) >= 20_000:
                flush()
        if batch["external_id"]:
            flush()


def _write_labelstudio(rows: Iterator[dict[str, Any]], f: IO[bytes], report: ExportReport) -> None:
    f.write(b"[")
    for n, row in enumerate(rows, 1):
        report.items += 1
        report.annotations += len(row["annotations"])
        f.write((b"\n" if n == 1 else b",\n") + orjson.dumps(row_to_task(row, n)))
    f.write(b"\n]\n")


# (Iterator[Any]: the jsonl writer takes pre-encoded blocks, the others row dicts)
WRITERS: dict[str, Callable[[Iterator[Any], IO[bytes], ExportReport], None]] = {
    "jsonl": _write_jsonl,
    "csv": _write_csv,
    "parquet": _write_parquet,
    "labelstudio": _write_labelstudio,
}


def export_project(
    engine: Engine,
    project_key: str,
    fmt: str,
    out: str | Path | IO[bytes],
    *,
    progress: Callable[[int], None] | None = None,
) -> ExportReport:
    """Write a project's items to ``out`` (a path, written via a temp file, or a binary stream)."""
    if fmt not in EXPORT_FORMATS:
        raise ValidationError(f"unknown format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    started = time.perf_counter()
    report = ExportReport(file=str(out) if isinstance(out, str | Path) else "<stream>", format=fmt)
    rows: Iterator[Any]
    if fmt == "jsonl":
        rows = iter_jsonl_blocks(engine, project_key)
        if progress is not None:
            rows = _counting_blocks(rows, progress)
    else:
        rows = iter_export_rows(engine, project_key)
        if progress is not None:
            rows = _counting(rows, progress)
    if isinstance(out, str | Path):
        path = Path(out)
        tmp = path.with_name(path.name + ".partial")
        with tmp.open("wb") as f:
            WRITERS[fmt](rows, f, report)
        tmp.replace(path)  # a reader never sees half a file
    else:
        WRITERS[fmt](rows, out, report)
    report.seconds = time.perf_counter() - started
    return report


def _counting(
    rows: Iterator[dict[str, Any]], progress: Callable[[int], None]
) -> Iterator[dict[str, Any]]:
    for n, row in enumerate(rows, 1):
        if n % 5000 == 0:
            progress(n)
        yield row


def _counting_blocks(blocks: Iterator[tuple[bytes, int, int]],
                     progress: Callable[[int], None]) -> Iterator[tuple[bytes, int, int]]:
    done = 0
    for block in blocks:
        done += block[1]
        if block[1]:
            progress(done)
        yield block
