"""The columnar import: a block of JSON Lines rows validated, built and routed column by column.

A block (``readers.Block``, about ``BLOCK_BYTES`` of whole lines) is parsed once, turned into
one column per field, and checked with pyarrow, field by field: types, the required fields,
lengths, enumerations (the project's products), ranges. The checks come from the item field
spec (``modops.domain.fields``), so a field added there is checked here by its kind.

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
import pyarrow as pa
import pyarrow.compute as pc

from modops.domain.fields import (
    FIELDS_BY_NAME,
    IMPORT_FIELDS,
    MAX_EXTERNAL_ID,
    TEXT_FIELDS,
    FieldKind,
)
from modops.io.records import _AUTHOR_FIELDS, MAX_INT, MAX_METADATA_BYTES, parse_time

#: a block of about this many bytes of input is one batch (rows vary 50× in size: bytes,
#: not rows, bound what a batch holds)
BLOCK_BYTES = 1 << 20

_LABEL_FIELDS = frozenset({"final_labels", "is_gold", "gold_labels", "annotations"})
#: what a row may carry and still take the columnar path
COLUMNAR_FIELDS = frozenset(IMPORT_FIELDS) - _LABEL_FIELDS
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


def _array(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values, from_pandas=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        raise NotColumnar from None  # mixed types in one column: the row path names the row


def _require(ok: Any) -> None:
    if not ok:
        raise NotColumnar


def _check_strings(arr: pa.Array, max_chars: int | None) -> None:
    """Text only, at most ``max_chars`` characters, no NUL (``records._text``)."""
    if arr.null_count == len(arr):
        return
    _require(pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type))
    if max_chars is not None:
        longest = pc.max(pc.utf8_length(arr)).as_py()
        _require(longest is None or longest <= max_chars)
    _require(not pc.any(pc.match_substring(arr, "\x00")).as_py())


def _check_int(arr: pa.Array) -> None:
    if arr.null_count == len(arr):
        return
    _require(pa.types.is_integer(arr.type))
    low, high = pc.min_max(arr).values()
    _require(low.as_py() >= 0 and high.as_py() <= MAX_INT)


def _check_score(arr: pa.Array) -> None:
    if arr.null_count == len(arr):
        return
    _require(pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type))
    low, high = pc.min_max(arr).values()
    _require(low.as_py() >= 0.0 and high.as_py() <= 1.0)
    _require(not pc.any(pc.is_nan(pc.cast(arr, pa.float64()))).as_py())


def _check_bool(arr: pa.Array) -> None:
    _require(arr.null_count == len(arr) or pa.types.is_boolean(arr.type))


_CHECKS: dict[FieldKind, Callable[[pa.Array], None]] = {
    FieldKind.INT: _check_int,
    FieldKind.SCORE: _check_score,
    FieldKind.BOOL: _check_bool,
}


def check_columns(cols: Columns, products: frozenset[str]) -> None:
    """Every row valid, judged a column at a time (``NotColumnar`` if any row is not)."""
    ext = cols.get("external_id")
    _require(ext is not None)
    assert ext is not None
    ids = _array(ext)
    _require(ids.null_count == 0 and pa.types.is_string(ids.type))
    _require(pc.max(pc.utf8_length(ids)).as_py() <= MAX_EXTERNAL_ID)
    _require(all(map(str.strip, ext)))  # Python's idea of blank, as records._external_id
    product = cols.get("product")
    _require(product is not None)
    assert product is not None
    _require(pc.all(pc.is_in(_array(product), value_set=pa.array(sorted(products),
                                                                  pa.string()))).as_py())
    for name, values in cols.items():
        spec = FIELDS_BY_NAME[name]
        if name in ("external_id", "product", "metadata"):
            continue
        if spec.kind in _STRING_KINDS:
            _check_strings(_array(values), spec.max_chars)
        elif spec.kind in _CHECKS:
            _CHECKS[spec.kind](_array(values))
    _check_content(cols)
    language = cols.get("language")
    if language is not None:
        _require(pc.all(pc.is_valid(_array(language))).as_py()
                 and pc.min(pc.utf8_length(_array(language))).as_py() > 0)


def _check_content(cols: Columns) -> None:
    """An item needs text or a media URL (``records._read_content``, typed formats)."""
    has = None
    for name in TEXT_FIELDS:
        if name in cols:
            valid = pc.is_valid(_array(cols[name]))
            has = valid if has is None else pc.or_(has, valid)
    if "media_url" in cols:
        media = _array(cols["media_url"])
        if media.null_count < len(media):
            nonempty = pc.fill_null(pc.greater(pc.utf8_length(media), 0), False)
            has = nonempty if has is None else pc.or_(has, nonempty)
    _require(has is not None and pc.all(has).as_py())


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
