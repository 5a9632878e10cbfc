"""The columnar import: a block of JSON Lines rows validated, built and routed column by column.

A block (``readers.Block``, about ``BLOCK_BYTES`` of whole lines) is parsed once, turned into
one column per field, and checked a column at a time: types, the required fields, lengths,
NUL characters, enumerations (the project's products), ranges. The checks come from the item
field spec (``modops.domain.fields``), so a field added there is checked here by its kind.

The checks are Python built-ins over whole columns (``all``, ``max(map(len, …))``,
``frozenset.issuperset``), not pyarrow: measured in a server worker, importing pyarrow added
53 MB to the process (the server's whole tree is meant to stay within 300 MB) and turning the
block's Python lists into Arrow arrays cost more than the checks it would speed up.

A block passes only if *every* row passes; then its store-ready rows and their routing are
built from the columns and it is written as one batch. Anything else — a bad row, a row
with labels or fields the spec does not know, a type pyarrow cannot hold in one column —
sends the block through the row path (``parsing._Parser``), which names each bad row as
``FILE:LINE``, exactly as it always did: the columns find that a block is bad, the row
validator says why. Nothing about what is stored depends on the path a block took.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from modops.domain.fields import (
    CONTENT_FIELDS,
    FIELDS_BY_NAME,
    IMPORT_FIELDS,
    MAX_EXTERNAL_ID,
    TEXT_FIELDS,
    FieldKind,
)
from modops.io.records import _AUTHOR_FIELDS, MAX_INT, MAX_METADATA_BYTES, parse_time

#: a block of about this many bytes of input is one batch (rows vary 50× in size: bytes,
#: not rows, bound what a batch holds)
BLOCK_BYTES = 256 << 10

#: what a row may carry and still take the columnar path: the imported fields that are item
#: columns (labels need ``ItemRecord``s, other fields their own writer: the row path)
#: (the author's fields too: they have rules of their own, ``records._read_author``)
COLUMNAR_FIELDS = (frozenset(IMPORT_FIELDS) & frozenset(CONTENT_FIELDS)) - _AUTHOR_FIELDS
_STRING_KINDS = (FieldKind.TEXT, FieldKind.STR, FieldKind.URL)

Columns = dict[str, list[Any]]


class NotColumnar(Exception):
    """The block needs the row path (a bad row, or one the columns cannot judge)."""


def parse_block(lines: list[bytes]) -> list[dict[str, Any]]:
    """Every line a JSON object; else ``NotColumnar`` (blank lines, bad JSON: row path)."""
    loads = orjson.loads
    try:
        rows = [loads(line) for line in lines]
    except orjson.JSONDecodeError:
        raise NotColumnar from None
    if not all(type(r) is dict for r in rows):
        raise NotColumnar
    return rows


def columns_of(rows: list[dict[str, Any]]) -> Columns:
    """One list per field present in any row (None where a row lacks it)."""
    present: set[str] = set()
    for keys in {frozenset(r) for r in rows}:  # rows mostly share one shape
        present |= keys
    if not present <= COLUMNAR_FIELDS:
        raise NotColumnar  # labels, or unknown fields (kept in metadata by the row path)
    return {name: [r.get(name) for r in rows] for name in present}


def _require(ok: Any) -> None:
    if not ok:
        raise NotColumnar


def _present(values: list[Any]) -> list[Any]:
    return [v for v in values if v is not None]


def _check_strings(values: list[Any], max_chars: int | None) -> None:
    """Text only, at most ``max_chars`` characters, no NUL (``records._text``)."""
    present = _present(values)
    if not present:
        return
    _require(all(type(v) is str for v in present))
    if max_chars is not None:
        _require(max(map(len, present)) <= max_chars)
    _require(not any("\x00" in v for v in present))


def _check_int(values: list[Any]) -> None:
    present = _present(values)
    if present:
        _require(all(type(v) is int for v in present))  # not bool, not float
        _require(min(present) >= 0 and max(present) <= MAX_INT)


def _check_score(values: list[Any]) -> None:
    present = _present(values)
    if present:
        _require(all(type(v) is float or type(v) is int for v in present))
        _require(all(0.0 <= v <= 1.0 for v in present))  # NaN too fails: the row path


def _check_bool(values: list[Any]) -> None:
    _require(all(v is None or type(v) is bool for v in values))


_CHECKS: dict[FieldKind, Callable[[list[Any]], None]] = {
    FieldKind.INT: _check_int,
    FieldKind.SCORE: _check_score,
    FieldKind.BOOL: _check_bool,
}


def check_columns(cols: Columns, products: frozenset[str]) -> None:
    """Every row valid, judged a column at a time (``NotColumnar`` if any row is not)."""
    ext = cols.get("external_id")
    _require(ext is not None and all(type(v) is str for v in ext))
    assert ext is not None
    _require(max(map(len, ext)) <= MAX_EXTERNAL_ID and all(map(str.strip, ext)))
    product = cols.get("product")
    _require(product is not None and all(type(v) is str for v in product)
             and products.issuperset(product))
    for name, values in cols.items():
        spec = FIELDS_BY_NAME[name]
        if name in ("external_id", "product", "metadata"):
            continue
        if spec.kind in _STRING_KINDS:
            _check_strings(values, spec.max_chars)
        elif spec.kind in _CHECKS:
            _CHECKS[spec.kind](values)
        elif spec.kind is not FieldKind.TIME:  # times are parsed (and so checked) as built
            raise NotColumnar
    _check_content(cols)


def _check_content(cols: Columns) -> None:
    """An item needs text or a media URL (``records._read_content``, typed formats)."""
    present = [cols[name] for name in TEXT_FIELDS if name in cols]
    if "media_url" in cols:
        present.append([v or None for v in cols["media_url"]])
    _require(present and all(any(v is not None for v in row) for row in zip(*present,
                                                                             strict=True)))


def metadata_column(values: list[Any] | None, n: int) -> list[str | None]:
    """``metadata`` as the JSON text the store keeps (objects only, at most 64 KiB each)."""
    if values is None:
        return [None] * n
    dumps = orjson.dumps
    out: list[str | None] = []
    for meta in values:
        if meta is None:
            out.append(None)
            continue
        if type(meta) is not dict:
            raise NotColumnar
        text = dumps(meta)
        if len(text) > MAX_METADATA_BYTES:
            raise NotColumnar
        out.append(text.decode())
    return out


def time_column(values: list[Any] | None, name: str, n: int) -> list[datetime | None]:
    """ISO 8601 or epoch times, naive UTC (``records.parse_time``), each distinct value
    parsed once (an import's times repeat: a day of posts shares its minutes)."""
    if values is None:
        return [None] * n
    seen: dict[Any, datetime | None] = {}
    out = []
    for value in values:
        try:
            parsed = seen[value]
        except KeyError:
            try:
                parsed = seen[value] = parse_time(value, name)
            except Exception:  # a bad time: the row path names the row and the field
                raise NotColumnar from None
        except TypeError:  # unhashable: not a time
            raise NotColumnar from None
        out.append(parsed)
    return out
