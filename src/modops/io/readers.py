"""Streaming readers: each turns a file into ``(line, row-or-None, error-or-None)`` triples.

Readers never hold the whole file: JSONL and CSV go line by line, Parquet batch by batch, and a
Label Studio JSON array element by element (``split_json_array``). A row that cannot be parsed
is reported with its line and the reader carries on, so one pass lists every bad row.

Hostile files (issue 23, finding 7: a 1,339-byte Parquet file that inflates to 476 MiB took
the server from 0.67 to 2.32 GB) are refused before memory is committed:

- one row may take at most ``MAX_ROW_BYTES`` (a JSONL line, a CSV record or field, a Label
  Studio task, a Parquet row's share of its row group — checked from the footer *before* a
  row group is decompressed, and again on each decoded batch in case the footer lied);
- a file may hold at most ``MAX_ROWS`` rows and inflate to at most ``MAX_INFLATED_BYTES``;
- a UTF-8 byte order mark is skipped at the start of every text format (JSONL, CSV, JSON);
- CSV quoting is strict: an unclosed quote is a ``FILE:LINE`` error, never a field that
  swallows the rows after it (finding 14).
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from modops.domain.cells import csv_uncell
from modops.io.records import MAX_METADATA_BYTES, MAX_TEXT_CHARS, TEXT_FIELDS
from modops.settings import settings

FORMATS = ("jsonl", "csv", "parquet", "labelstudio")

# The largest valid row is every text field and media_url at the character limit in 4-byte
# UTF-8 plus full metadata (_VALID_ROW_BYTES, 2.5 MB). Anything beyond 16 MiB cannot be
# valid; between the two the validator names the field that is too long.
_VALID_ROW_BYTES = (len(TEXT_FIELDS) + 1) * MAX_TEXT_CHARS * 4 + MAX_METADATA_BYTES
MAX_ROW_BYTES = 16 * 2**20
assert MAX_ROW_BYTES > 4 * _VALID_ROW_BYTES
MAX_ROWS = settings().import_max_rows
MAX_INFLATED_BYTES = settings().import_max_inflated_bytes


class TooBig(Exception):
    """A line, record or element beyond ``MAX_ROW_BYTES``: reported, and the file not read on
    (its framing can no longer be trusted)."""


def _skip_bom(f: BinaryIO) -> int:
    """Skip a UTF-8 byte order mark at the start of ``f``; returns the bytes skipped."""
    if f.read(3) == codecs.BOM_UTF8:
        return 3
    f.seek(0)
    return 0


def _bounded_lines(f: BinaryIO) -> Iterator[bytes]:
    """Physical lines of ``f``, none longer than ``MAX_ROW_BYTES`` (else ``TooBig``)."""
    limit = MAX_ROW_BYTES
    while raw := f.readline(limit + 1):
        if len(raw) > limit:
            raise TooBig(f"a line longer than {limit // 2**20} MiB (the limit for one row)")
        yield raw


@dataclass(slots=True)
class RawRow:
    line: int
    data: dict[str, Any] | None
    error: str | None = None


class Reader:
    """Base: subclasses implement ``rows``; ``position``/``total`` drive the progress bar."""

    #: CSV cells are all text, so the validator parses numbers and JSON out of strings.
    lenient = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self.total = path.stat().st_size
        self.position = 0

    def rows(self) -> Iterator[RawRow]:  # pragma: no cover - abstract
        raise NotImplementedError


def _utf8_error(raw: bytes, exc: UnicodeDecodeError) -> str:
    return f"invalid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"


def _jsonl_row(n: int, raw: bytes) -> RawRow | None:
    """Line ``n`` of a JSON Lines file as a row, an error, or None for a blank line."""
    if not raw.strip():
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _malformed(n, raw + b"\n")
    if not isinstance(data, dict):
        return RawRow(n, None, f"expected a JSON object, got {type(data).__name__}")
    return RawRow(n, data)


def _malformed(n: int, raw: bytes) -> RawRow:
    """Why line ``n`` (with its newline) is not JSON."""
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as uexc:
            return RawRow(n, None, _utf8_error(raw, uexc))
        # An error at the end of the data lies past the line's newline, which
        # orjson counts as a second line: name the column where the line ends.
        col = exc.colno if exc.lineno <= 1 else len(line.rstrip("\r\n")) + 1
        return RawRow(n, None,
                      f"malformed JSON: {exc.msg}" + (f" at column {col}" if col else ""))
    raise AssertionError("orjson accepted the line with its newline")  # pragma: no cover


@dataclass(slots=True)
class Block:
    """Whole lines of a JSON Lines file, about ``block_bytes`` of them: the unit the columnar
    import parses, validates and writes (a batch sized by bytes, not rows)."""

    first_line: int
    lines: list[bytes]
    #: a line beyond ``MAX_ROW_BYTES`` ends the file here (its message)
    too_big: str | None = None


class JsonlReader(Reader):
    def rows(self) -> Iterator[RawRow]:
        for block in self.blocks(1 << 20):
            n = block.first_line
            for raw in block.lines:
                row = _jsonl_row(n, raw)
                n += 1
                if row is not None:
                    yield row
            if block.too_big is not None:
                yield RawRow(n, None, block.too_big)

    def blocks(self, block_bytes: int) -> Iterator[Block]:
        """The file in blocks of whole lines (none longer than ``MAX_ROW_BYTES``)."""
        limit = MAX_ROW_BYTES
        with self.path.open("rb") as f:
            self.position = _skip_bom(f)
            first = 1
            while chunk := f.read(block_bytes):
                if not chunk.endswith(b"\n"):
                    chunk += f.readline(limit + 1)
                lines = chunk.split(b"\n")
                if lines[-1] == b"":
                    lines.pop()
                if any(len(line) > limit for line in lines):
                    keep = next(i for i, line in enumerate(lines) if len(line) > limit)
                    yield Block(first, lines[:keep], f"a line longer than {limit // 2**20} MiB "
                                                     "(the limit for one row)")
                    return
                self.position += len(chunk)
                yield Block(first, lines)
                first += len(lines)


class _LineCountingDecoder:
    """Feeds ``csv`` decoded lines while knowing the physical line number of each one."""

    def __init__(self, f: BinaryIO, reader: Reader) -> None:
        self.f = f
        self.reader = reader
        self.line = 0
        self.error: str | None = None

    def __iter__(self) -> Iterator[str]:
        for raw in _bounded_lines(self.f):
            self.line += 1
            self.reader.position += len(raw)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.error = _utf8_error(raw, exc)
                yield raw.decode("utf-8", errors="replace")


class CsvReader(Reader):
    lenient = True
    REQUIRED = ("external_id", "product")

    def rows(self) -> Iterator[RawRow]:
        # Hot path (issue 22): one iteration per CSV row. A helper called per row costs 55 ns
        # (timeit, 6 arguments, 1M calls, quiet host) of 15.9 us a row at the import's 62,953
        # items/s (bench/results/ingest.json, SQLite): +0.35 % per helper.
        # A quoted field may span lines: bound it too (the validator's per-field limits give
        # the precise message for anything smaller).
        csv.field_size_limit(MAX_ROW_BYTES)
        with self.path.open("rb") as f:
            self.position = _skip_bom(f)
            lines = _LineCountingDecoder(f, self)
            reader = csv.reader(lines, strict=True)
            try:
                header = next(reader)
            except StopIteration:
                return
            except (csv.Error, TooBig) as exc:
                yield RawRow(1, None, f"unreadable CSV header: {exc}")
                return
            missing = [c for c in self.REQUIRED if c not in header]
            if missing:
                yield RawRow(
                    1,
                    None,
                    f"missing required column {missing[0]!r} "
                    f"(header has: {', '.join(header)[:200]})",
                )
                return
            if len(set(header)) != len(header):
                dup = next(c for c in header if header.count(c) > 1)
                yield RawRow(1, None, f"column {dup!r} appears twice in the header")
                return
            width = len(header)
            while True:
                start = lines.line + 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except TooBig as exc:
                    yield RawRow(lines.line + 1, None, str(exc))
                    return
                except csv.Error as exc:
                    if "unexpected end of data" in str(exc):  # strict: the quote never closed
                        yield RawRow(start, None, "malformed CSV: a quoted field is not closed "
                                                  "(its quote opens on this line)")
                        return
                    yield RawRow(start, None, f"malformed CSV: {exc}")
                    continue
                if lines.error:
                    yield RawRow(lines.line, None, lines.error)
                    lines.error = None
                    continue
                if not cells:
                    continue
                if len(cells) != width:
                    yield RawRow(start, None, f"expected {width} cells, got {len(cells)}")
                    continue
                if "'" in "".join(cells):  # a cell ModOps escaped (domain.cells)
                    cells = [csv_uncell(c) for c in cells]
                yield RawRow(start, dict(zip(header, cells, strict=True)))


class ParquetReader(Reader):
    """Rows are numbered from 1 in file order (Parquet has no lines)."""

    BATCH = 20_000

    def rows(self) -> Iterator[RawRow]:
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(self.path)
        except Exception as exc:
            yield RawRow(1, None, f"not a readable Parquet file: {exc}")
            return
        missing = [c for c in CsvReader.REQUIRED if c not in pf.schema_arrow.names]
        if missing:
            yield RawRow(1, None, f"missing required column {missing[0]!r}")
            return
        too_big = _parquet_too_big(pf.metadata)
        if too_big is not None:
            yield RawRow(*too_big)
            return
        n = 0
        per_row = self.total / max(1, pf.metadata.num_rows)
        for batch in pf.iter_batches(batch_size=self.BATCH):
            if batch.nbytes > max(1, batch.num_rows) * MAX_ROW_BYTES:  # the footer lied
                yield RawRow(n + 1, None, f"rows {n + 1}-{n + batch.num_rows} inflate to "
                             f"{batch.nbytes:,} bytes, more than {MAX_ROW_BYTES // 2**20} MiB "
                             "per row")
                return
            for data in batch.to_pylist():
                n += 1
                self.position = int(n * per_row)
                yield RawRow(n, data)


def _parquet_too_big(meta: Any) -> tuple[int, None, str] | None:
    """From the footer alone: (first row, None, why) if decompressing would exceed a limit."""
    if meta.num_rows > MAX_ROWS:
        return 1, None, f"{meta.num_rows:,} rows; an import takes at most {MAX_ROWS:,}"
    first, total = 1, 0
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        inflated = max(rg.total_byte_size, sum(
            rg.column(c).total_uncompressed_size for c in range(rg.num_columns)))
        total += inflated
        if inflated > max(1, rg.num_rows) * MAX_ROW_BYTES:
            return first, None, (f"rows {first}-{first + rg.num_rows - 1} inflate to "
                                 f"{inflated:,} bytes, more than {MAX_ROW_BYTES // 2**20} MiB "
                                 "per row (a decompression bomb?)")
        if total > MAX_INFLATED_BYTES:
            return first, None, (f"the file inflates to more than {MAX_INFLATED_BYTES:,} bytes "
                                 "(MODOPS_IMPORT_MAX_INFLATED_BYTES)")
        first += rg.num_rows
    return None


_TASK_TOO_BIG = f"a task larger than {MAX_ROW_BYTES // 2**20} MiB (the limit for one row)"
_JSON_TOKENS = re.compile(rb'["\\{}\[\]\n]')


def split_json_array(
    f: BinaryIO, chunk_size: int = 1 << 20, on_progress: Any = None
) -> Iterator[tuple[int, bytes | None, str | None]]:
    """Yield ``(line, element_bytes, error)`` for each element of a top-level JSON array.

    A small scanner over structural characters, so a multi-GB Label Studio export streams in
    constant memory and every element keeps the line it starts on for error messages.
    """
    # Hot path (issue 22): the loop runs per structural token (quote, bracket, newline,
    # backslash), tens of them a task; a helper call per token costs 55 ns (timeit, 1M calls,
    # quiet host), i.e. 1-3 us of a row's 15.9 us at the import's 62,953 items/s
    # (bench/results/ingest.json, SQLite): +5-15 %. Not measured on this function itself.
    line = 1
    depth = 0
    in_string = False
    skip_at = -1  # absolute offset of a byte escaped by a backslash
    started = False
    elem_line = 0
    parts: list[bytes] = []
    held = 0  # bytes of the current element kept from earlier chunks
    base = _skip_bom(f)  # absolute offset of the current chunk
    while chunk := f.read(chunk_size):
        if on_progress:
            on_progress(len(chunk))
        seg_start = 0 if depth >= 2 else -1
        for m in _JSON_TOKENS.finditer(chunk):
            pos = m.start()
            ch = chunk[pos]
            if ch == 10:
                line += 1
                continue
            if base + pos == skip_at:
                continue
            if in_string:
                if ch == 92:
                    skip_at = base + pos + 1
                elif ch == 34:
                    in_string = False
                continue
            if ch == 34:
                in_string = True
            elif ch in b"{[":
                if not started:
                    if ch != 91:
                        yield line, None, "a Label Studio export is a JSON array of tasks"
                        return
                    started = True
                    depth = 1
                    continue
                depth += 1
                if depth == 2:
                    elem_line, seg_start, parts, held = line, pos, [], 0
            elif ch in b"}]":
                depth -= 1
                if depth == 1:
                    if held + pos + 1 - seg_start > MAX_ROW_BYTES:
                        yield elem_line, None, _TASK_TOO_BIG
                        return
                    parts.append(chunk[seg_start : pos + 1])
                    yield elem_line, b"".join(parts), None
                    parts, seg_start, held = [], -1, 0
                elif depth == 0:
                    return
        if depth >= 2 and seg_start >= 0:
            parts.append(chunk[seg_start:])
            held += len(chunk) - seg_start
            if held > MAX_ROW_BYTES:
                yield elem_line, None, _TASK_TOO_BIG
                return
        base += len(chunk)
    if started and depth != 0:
        yield line, None, "the JSON array is not closed (truncated file?)"


class LabelStudioReader(Reader):
    """Reads Label Studio's JSON export (an array of tasks) into ModOps item rows."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)

    def _advance(self, n: int) -> None:
        self.position += n

    def rows(self) -> Iterator[RawRow]:
        from modops.io.labelstudio import task_to_row

        with self.path.open("rb") as f:
            for line, blob, error in split_json_array(f, on_progress=self._advance):
                if error:
                    yield RawRow(line, None, error)
                    continue
                assert blob is not None
                try:
                    task = orjson.loads(blob)
                except orjson.JSONDecodeError as exc:
                    try:
                        blob.decode("utf-8")
                    except UnicodeDecodeError as uexc:
                        yield RawRow(line, None, _utf8_error(blob, uexc))
                        continue
                    yield RawRow(line, None, f"malformed JSON in task: {exc.msg}")
                    continue
                try:
                    yield RawRow(line, task_to_row(task))
                except ValueError as exc:
                    yield RawRow(line, None, str(exc))


READERS: dict[str, type[Reader]] = {
    "jsonl": JsonlReader,
    "csv": CsvReader,
    "parquet": ParquetReader,
    "labelstudio": LabelStudioReader,
}


def guess_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".json":
        return "labelstudio"
    return "jsonl"
