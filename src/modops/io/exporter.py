"""Export pipeline: items stream out in id order, each with its final label and every annotation.

Rows have the import schema (plus a few read-only fields such as ``state`` and ``route``), so
any export imports back into ModOps identically. Memory stays flat: items are read in keyset
pages and written as they come, in chunks that each get fresh read transactions.
"""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from modops.domain import ValidationError
from modops.io.labelstudio import row_to_task
from modops.io.records import IMPORT_FIELDS, TEXT_FIELDS
from modops.projects.service import get_project

EXPORT_FORMATS = ("jsonl", "csv", "parquet", "labelstudio")
CSV_COLUMNS = (*IMPORT_FIELDS, "state", "route", "final_action", "decided_at",
               "model_version")
JSON_COLUMNS = ("metadata", "gold_labels", "final_labels", "annotations")
PAGE = 10_000
CHUNK = 200_000  # items per pair of read transactions


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


def _json_fragment(value: Any) -> Any:
    """Pass stored JSON text straight through to the JSONL writer without a parse/dump."""
    if value is None:
        return None
    if isinstance(value, str | bytes):
        return orjson.Fragment(value)
    return value


def _iso(value: Any) -> str | None:
    """Stored naive-UTC time → ISO 8601 with Z. SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " ":
            return value[:10] + "T" + value[11:] + "Z"
        value = datetime.fromisoformat(value)
    return value.isoformat(timespec="microseconds") + "Z"


def iter_export_rows(
    engine: Engine, project_key: str, *, json_fragments: bool = False
) -> Iterator[dict[str, Any]]:
    """Yield one dict per item, in id order, with annotations (oldest first) attached.

    ``json_fragments`` leaves JSON columns as ``orjson.Fragment`` (for the JSONL writer only).
    """
    js = _json_fragment if json_fragments else _json
    with Session(engine) as s:
        project = get_project(s, project_key)
        project_id = project.id
        products = {p.id: p.key for p in s.execute(text("SELECT id, key FROM products"))}
        users = dict(s.execute(text("SELECT id, username FROM users")).all())
    cast = "" if engine.dialect.name == "sqlite" else "::text"
    meta_col = "metadata" + cast if json_fragments else "metadata"
    item_sql = text(
        "SELECT id, external_id, product_id, title, caption, comment, transcript, text, "
        f"media_url, {meta_col}, language, created_at, view_count, user_reported, reported_at, "
        "machine_score, is_gold, gold_labels, final_labels, state, route, final_action, "
        "decided_at, model_version FROM items WHERE project_id = :p AND id > :after "
        "ORDER BY id LIMIT :n"
    )
    ann_sql = text(
        "SELECT item_id, labeler_id, kind, labels, note, started_at, submitted_at "
        "FROM annotations WHERE project_id = :p AND item_id > :after "
        "ORDER BY item_id, submitted_at, id"
    )
    after = 0
    while True:
        # Chunks of CHUNK items, each read through two streaming cursors merged as they arrive
        # (the database produces the next rows while Python writes these), and each chunk in
        # its own transactions: an export never holds one snapshot for long, which on
        # PostgreSQL would keep vacuum from clearing the queue's dead task rows and slow every
        # labeler's next task for as long as a 1M-item export runs.
        read = 0
        with engine.connect() as item_conn, engine.connect() as ann_conn:
            # (fetchmany with a bounded buffer: SQLAlchemy's yield_per/partitions kept every
            # row of a psycopg server-side cursor in memory, 650 MB for 300k items)
            items_stream = item_conn.execution_options(
                stream_results=True, max_row_buffer=PAGE).execute(
                item_sql, {"p": project_id, "after": after, "n": CHUNK})
            anns = iter(ann_conn.execution_options(stream_results=True, max_row_buffer=PAGE)
                        .execute(ann_sql, {"p": project_id, "after": after}))
            pending_ann = next(anns, None)
            while items := items_stream.fetchmany(PAGE):
                read += len(items)
                after = items[-1][0]
                by_item: dict[int, list[dict[str, Any]]] = defaultdict(list)
                while pending_ann is not None and pending_ann[0] <= after:
                    item_id, labeler_id, kind, labels, note, started, submitted = pending_ann
                    by_item[item_id].append(
                        {
                            "labeler": users.get(labeler_id, str(labeler_id)),
                            "labels": _json(labels),
                            "submitted_at": _iso(submitted),
                            "started_at": _iso(started),
                            "note": note,
                            "kind": kind,
                        }
                    )
                    pending_ann = next(anns, None)
                for (
                    item_id,
                    ext,
                    product_id,
                    title,
                    caption,
                    comment,
                    transcript,
                    body,
                    media,
                    meta,
                    lang,
                    created,
                    views,
                    reported,
                    reported_at,
                    score,
                    is_gold,
                    gold,
                    final,
                    state,
                    route,
                    action,
                    decided,
                    model_version,
                ) in items:
                    yield {
                        "external_id": ext,
                        "product": products[product_id],
                        "title": title,
                        "caption": caption,
                        "comment": comment,
                        "transcript": transcript,
                        "text": body,
                        "media_url": media,
                        "metadata": js(meta),
                        "language": lang,
                        "created_at": _iso(created),
                        "view_count": views,
                        "user_reported": bool(reported),
                        "reported_at": _iso(reported_at),
                        "machine_score": score,
                        "is_gold": bool(is_gold),
                        "gold_labels": js(gold),
                        "final_labels": js(final),
                        "annotations": by_item.get(item_id, []),
                        "state": state,
                        "route": route,
                        "final_action": action,
                        "decided_at": _iso(decided),
                        "model_version": model_version,
                    }
        if read < CHUNK:
            return


def _write_jsonl(rows: Iterator[dict[str, Any]], f: IO[bytes], report: ExportReport) -> None:
    dumps = orjson.dumps
    buf: list[bytes] = []
    for row in rows:
        report.items += 1
        report.annotations += len(row["annotations"])
        buf.append(dumps(row))
        if len(buf) >= 2000:
            f.write(b"\n".join(buf) + b"\n")
            buf = []
    if buf:
        f.write(b"\n".join(buf) + b"\n")


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
            cells.append(value)
        writer.writerow(cells)
    text_f.flush()
    text_f.detach()


def _parquet_schema() -> Any:
    import pyarrow as pa

    s, ts = pa.string(), pa.timestamp("us")
    return pa.schema(
        [
            ("external_id", s),
            ("product", s),
            *[(f, s) for f in TEXT_FIELDS],
            ("media_url", s),
            ("metadata", s),
            ("language", s),
            ("created_at", ts),
            ("view_count", pa.int64()),
            ("user_reported", pa.bool_()),
            ("reported_at", ts),
            ("machine_score", pa.float64()),
            ("is_gold", pa.bool_()),
            ("gold_labels", pa.list_(s)),
            ("final_labels", pa.list_(s)),
            ("annotations", s),
            ("state", s),
            ("route", s),
            ("final_action", s),
            ("decided_at", ts),
            ("model_version", s),
        ]
    )


def _write_parquet(rows: Iterator[dict[str, Any]], f: IO[bytes], report: ExportReport) -> None:
    """Nested annotations and metadata are JSON text columns: readable by any Parquet tool."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _parquet_schema()
    times = ("created_at", "reported_at", "decided_at")
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


WRITERS: dict[str, Callable[[Iterator[dict[str, Any]], IO[bytes], ExportReport], None]] = {
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
    rows = iter_export_rows(engine, project_key, json_fragments=fmt == "jsonl")
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
