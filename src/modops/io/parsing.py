"""The parse side of an import: file → validated, store-ready rows in batches.

Kept free of the database layer (a layering rule; until issue 24 it also kept a separate parse
process light). A parallel import runs ``_Parser`` in a thread behind a bounded queue
(``importer._ThreadedParser``); JSON Lines take the columnar path (``modops.io.columnar``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from modops.domain import ItemState, ValidationError
from modops.domain.fields import CONTENT_FIELDS, FIELDS_BY_NAME, FieldKind
from modops.domain.times import sqlite_time
from modops.io import columnar
from modops.io.readers import MAX_ROWS, READERS, Block, JsonlReader, RawRow, _jsonl_row
from modops.io.records import ItemRecord, RowValidator
from modops.projects.taxonomy import TaxonomyRules

# A row's routing (``modops.queue.routing.RoutePlan``), sent from the parse process as a
# plain tuple (a named tuple costs twice as much to pickle) and unpacked by the writer:
# (route, state, due_at, priority, sampled, final_labels, final_action, recorded, score,
#  model_version, audit, reason, basis, views, kind, nslots, required_skill)
RowPlan = tuple[Any, ...]


class RowPlanner(Protocol):
    """Routes a row before it is stored (the queue's ``RoutePlanner``). Runs in the parse
    process, so it must pickle."""

    hi: float | None
    lo: float | None

    def plan_import(self, product: str, score: float | None, views: int, reported: bool,
                    is_gold: bool) -> RowPlan | None: ...

    def plan_imports(self, products: list[str], scores: list[float | None], views: list[int],
                     reported: list[bool], is_gold: list[bool]) -> list[RowPlan | None]:
        """``plan_import`` for a block of rows given as columns."""
        ...

    def count(self, plans: list[RowPlan]) -> None: ...


def _fmt_time(dt: Any, sqlite: bool) -> Any:
    if dt is None or not sqlite:
        return dt
    return sqlite_time(dt)


@dataclass(slots=True)
class _RowBuilder:
    """Turns a validated record into the ``items`` row the store takes. Picklable: in a
    parallel import it runs in the parse process, so the writer only writes."""

    project_id: int
    products: dict[str, int]
    rules: TaxonomyRules
    batch_id: str
    now: datetime
    sqlite: bool
    planner: RowPlanner | None = None
    now_stored: Any = field(init=False)
    due_stored: dict[datetime, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.now_stored = _fmt_time(self.now, self.sqlite)

    def __call__(self, r: ItemRecord) -> tuple[tuple[Any, ...], RowPlan | None]:
        """The row, and its routing if the planner routed it before it is stored."""
        sqlite = self.sqlite
        now_stored = self.now_stored
        final_action = decided_at = route = due_at = final_labels = None
        state, priority, sampled = _NEW, 0.0, False
        plan = None
        if r.final_labels is not None:
            final_action = self.rules.action_for(r.final_labels).value
            final_labels = _dumps(r.final_labels)
            decided_at = now_stored
            state = _DECIDED
        elif self.planner is not None:
            routed = self.planner.plan_import(r.product, r.machine_score, r.view_count,
                                              r.user_reported, r.is_gold)
            if routed is not None:
                plan = tuple(routed)
                route, state, due, priority, sampled, labels, action = plan[:7]
                if due is not None:  # one deadline per product in an import: format it once
                    due_at = self.due_stored.get(due)
                    if due_at is None:
                        due_at = self.due_stored[due] = _fmt_time(due, sqlite)
                if action is not None:
                    final_labels, final_action, decided_at = labels, action, now_stored
        # ``importer.ITEM_COLUMNS`` in order, spelled out: the per-row hot path of every
        # import (tests/io/test_field_spec.py checks it against the field spec)
        return (
            self.project_id,
            r.external_id,
            self.products[r.product],
            r.title,
            r.caption,
            r.comment,
            r.transcript,
            r.text,
            r.media_url,
            None if r.metadata_json is None else r.metadata_json.decode(),
            r.language,
            now_stored if r.created_at is None else _fmt_time(r.created_at, sqlite),
            r.view_count,
            int(r.user_reported) if sqlite else r.user_reported,
            None if r.reported_at is None else _fmt_time(r.reported_at, sqlite),
            r.machine_score,
            r.author_id,
            _fmt_time(r.author_created_at, sqlite),  # None stays None
            r.author_region,
            r.author_followers,
            r.author_verified,  # None, or a bool (sqlite3 stores it as 0/1)
            now_stored,
            state,
            priority,
            int(r.is_gold) if sqlite else r.is_gold,
            None if r.gold_labels is None else _dumps(r.gold_labels),
            int(sampled) if sqlite else sampled,
            final_labels,
            final_action,
            decided_at,
            self.batch_id,
            route,
            due_at,
        ), plan

    def columns(self, cols: dict[str, list[Any]], n: int) \
            -> tuple[list[tuple[Any, ...]], list[RowPlan | None] | None]:
        """A columnar block's rows (``ITEM_COLUMNS`` order, as ``__call__`` builds them) and
        their routing, built a column at a time. Its rows carry no labels."""
        sqlite, now_stored = self.sqlite, self.now_stored
        content = [self._content_column(name, cols, n) for name in CONTENT_FIELDS]
        reported_at = content[_REPORTED_AT]
        if any(t is not None for t in reported_at):  # a report time means it was reported
            content[_USER_REPORTED] = [r or t is not None for r, t in
                                       zip(content[_USER_REPORTED], reported_at, strict=True)]
        plans = None
        if self.planner is not None:
            plans = self.planner.plan_imports(cols["product"], content[_SCORE],
                                              content[_VIEWS], content[_USER_REPORTED],
                                              [False] * n)
        routed = self._routed_columns(plans, n)
        if sqlite:
            content[_USER_REPORTED] = [int(v) for v in content[_USER_REPORTED]]
            for i in (_CREATED_AT, _REPORTED_AT):
                content[i] = [None if t is None else sqlite_time(t) for t in content[i]]
        content[_CREATED_AT] = [now_stored if t is None else t for t in content[_CREATED_AT]]
        no = 0 if sqlite else False
        rows = list(zip([self.project_id] * n, *content, [now_stored] * n, routed[1],
                        routed[3], [no] * n, [None] * n, routed[4], routed[5], routed[6],
                        routed[7], [self.batch_id] * n, routed[0], routed[2], strict=True))
        return rows, plans

    def _content_column(self, name: str, cols: dict[str, list[Any]], n: int) -> list[Any]:
        """One content field's stored values, by its kind in the field spec."""
        values = cols.get(name)
        if name == "product":
            products = self.products
            return [products[p] for p in values or ()]
        if name == "language":
            return ["ko"] * n if values is None else [v or "ko" for v in values]
        if name in _DEFAULT_OF:
            default = _DEFAULT_OF[name]
            return [default] * n if values is None else \
                [default if v is None else v for v in values]
        convert = _CONVERT.get(FIELDS_BY_NAME[name].kind)
        if convert is None:
            raise columnar.NotColumnar  # a kind this builder does not know: the row path
        return convert(values, name, n)

    def _routed_columns(self, plans: list[RowPlan | None] | None, n: int) -> list[list[Any]]:
        """route, state, due_at, priority, in_prevalence_sample, final_labels, final_action,
        decided_at: from each row's plan (``__call__``'s rules for a row without labels)."""
        sqlite, now_stored = self.sqlite, self.now_stored
        if plans is None:
            return [[None] * n, [_NEW] * n, [None] * n, [0.0] * n, [0 if sqlite else False] * n,
                    [None] * n, [None] * n, [None] * n]
        unrouted = (None, _NEW, None, 0.0, 0 if sqlite else False, None, None, None)
        due_stored = self.due_stored

        def routed(plan: RowPlan | None) -> tuple[Any, ...]:
            if plan is None:
                return unrouted
            due = plan[2]
            if due is not None and (stored := due_stored.get(due)) is None:
                stored = due_stored[due] = _fmt_time(due, sqlite)
            acted = plan[6] is not None
            return (plan[0], plan[1], None if due is None else stored, plan[3],
                    int(plan[4]) if sqlite else plan[4], plan[5] if acted else None, plan[6],
                    now_stored if acted else None)

        return [list(column) for column in zip(*map(routed, plans), strict=True)] if plans \
            else [[] for _ in unrouted]


def _as_is(values: list[Any] | None, _name: str, n: int) -> list[Any]:
    return [None] * n if values is None else values


def _urls(values: list[Any] | None, _name: str, n: int) -> list[Any]:
    return [None] * n if values is None else [v or None for v in values]


def _scores(values: list[Any] | None, _name: str, n: int) -> list[Any]:
    return [None] * n if values is None else [None if v is None else float(v) for v in values]


#: content fields whose absence stores a value (``records.ItemRecord``'s defaults); any
#: other absent field is stored as none
_DEFAULT_OF: dict[str, Any] = {"view_count": 0, "user_reported": False}
# A content field's stored values from its column, by its kind (``records.RowValidator``'s
# an empty media URL is none).
_CONVERT: dict[FieldKind, Callable[[list[Any] | None, str, int], list[Any]]] = {
    FieldKind.TEXT: _as_is,
    FieldKind.STR: _as_is,
    FieldKind.URL: _urls,
    FieldKind.INT: _as_is,
    FieldKind.BOOL: _as_is,
    FieldKind.SCORE: _scores,
    FieldKind.TIME: columnar.time_column,
    FieldKind.JSON: lambda values, _name, n: columnar.metadata_column(values, n),
}
_REPORTED_AT, _USER_REPORTED, _SCORE, _VIEWS, _CREATED_AT = (
    CONTENT_FIELDS.index(f) for f in ("reported_at", "user_reported", "machine_score",
                                      "view_count", "created_at"))


_NEW, _DECIDED = ItemState.NEW.value, ItemState.DECIDED.value


@dataclass(slots=True)
class _Batch:
    """Store-ready item rows, plus the records whose labels need the new items' ids."""

    rows: list[tuple[Any, ...]]
    labelled: list[ItemRecord]
    position: int
    #: each row's routing, when a planner routed any of them (else None)
    plans: list[RowPlan | None] | None = None


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class _Parser:
    """Reads and validates a file into batches of store-ready rows, collecting ``FILE:LINE``
    errors. After the first bad row no more batches are produced (nothing will be written)
    but the file is still checked, so one run lists every bad row up to ``max_errors``.

    JSON Lines go a block at a time (``batch_bytes`` of whole lines, one batch each) through
    the columnar path (``modops.io.columnar``); a block it does not pass, and every other
    format, goes row by row (``_take``), ``batch_size`` rows or ``batch_bytes`` a batch."""

    def __init__(self, path: Path, name: str, fmt: str, validate: RowValidator,
                 build: _RowBuilder, batch_size: int, max_errors: int,
                 batch_bytes: int | None = None) -> None:
        self.reader = READERS[fmt](path)
        self.name = name
        self.validate = validate
        self.build = build
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes or columnar.BLOCK_BYTES
        self.max_errors = max_errors
        self.rows = 0
        self.errors: list[str] = []
        self.more = 0
        self.seen: set[str] = set()
        self.first_line: dict[str, int] = {}  # for friendlier duplicate messages
        self.stopped = False  # enough errors, or too many rows: read no further

    @property
    def position(self) -> int:
        return self.reader.position

    @property
    def total(self) -> int:
        return self.reader.total

    def fail(self, line: int, message: str) -> None:
        if len(self.errors) < self.max_errors:
            self.errors.append(f"{self.name}:{line}: {message}")
        else:
            self.more += 1

    def batches(self, tick: Callable[[int], None] | None = None) -> Iterator[_Batch]:
        reader = self.reader
        if isinstance(reader, JsonlReader):
            yield from self._block_batches(reader, tick)
        else:
            yield from self._row_batches(tick)
        if not self.errors and self.rows == 0:
            self.fail(1, "the file has no rows")

    def _new_batch(self) -> _Batch:
        return _Batch([], [], 0, [] if self.build.planner is not None else None)

    def _row_batches(self, tick: Callable[[int], None] | None) -> Iterator[_Batch]:
        reader = self.reader
        batch, start, last_tick = self._new_batch(), reader.position, time.perf_counter()
        for raw in reader.rows():
            self._take(raw, batch)
            if len(batch.rows) >= self.batch_size or \
                    (batch.rows and reader.position - start >= self.batch_bytes):
                if not self.errors:
                    batch.position = reader.position
                    yield batch
                batch, start = self._new_batch(), reader.position
            if tick is not None and not self.rows % 1000 and \
                    (now := time.perf_counter()) - last_tick > 0.1:
                last_tick = now
                tick(reader.position)
            if self.stopped:
                break
        if batch.rows and not self.errors:
            batch.position = reader.position
            yield batch

    def _block_batches(self, reader: JsonlReader,
                       tick: Callable[[int], None] | None) -> Iterator[_Batch]:
        for block in reader.blocks(self.batch_bytes):
            batch = self._columnar(block)
            if batch is None:  # the row path names what is wrong, row by row
                batch = self._new_batch()
                for n, line in enumerate(block.lines, block.first_line):
                    raw = _jsonl_row(n, line)
                    if raw is not None and not self.stopped:
                        self._take(raw, batch)
            if block.too_big is not None and not self.stopped:
                self._take(RawRow(block.first_line + len(block.lines), None, block.too_big),
                           batch)
            if batch.rows and not self.errors:
                batch.position = reader.position
                yield batch
            if tick is not None:
                tick(reader.position)
            if self.stopped or block.too_big is not None:
                break

    def _columnar(self, block: Block) -> _Batch | None:
        """The block as one batch if every row in it is valid and new, else None."""
        if self.errors or self.rows + len(block.lines) > MAX_ROWS or not block.lines:
            return None
        try:
            parsed = columnar.parse_block(block.lines)
            cols = columnar.columns_of(parsed)
            columnar.check_columns(cols, self.validate.products)
            ids = cols["external_id"]
            if len(set(ids)) < len(ids) or not self.seen.isdisjoint(ids):
                return None  # a duplicate: the row path says where it was first
            rows, plans = self.build.columns(cols, len(ids))
        except columnar.NotColumnar:
            return None
        self.seen.update(ids)
        if len(self.first_line) < 100_000:
            self.first_line.update(zip(ids, range(block.first_line, block.first_line
                                                  + len(ids)), strict=False))
        self.rows += len(ids)
        return _Batch(rows, [], 0, plans)

    def _take(self, raw: RawRow, batch: _Batch) -> None:
        """One row of the row path: validated, checked for duplicates, built into ``batch``
        (or its error noted)."""
        self.rows += 1
        if self.rows > MAX_ROWS:
            self.fail(raw.line, f"more than {MAX_ROWS:,} rows; an import takes at most that "
                                "many (MODOPS_IMPORT_MAX_ROWS)")
            self.stopped = True
            return
        if raw.error is not None:
            self.fail(raw.line, raw.error)
        else:
            try:
                rec = self.validate(raw.data or {}, raw.line)
            except ValidationError as exc:
                self.fail(raw.line, str(exc))
            else:
                self._keep(rec, raw.line, batch)
        if self.more > 10 * self.max_errors:
            self.stopped = True  # enough to show the file is broken; stop reading it

    def _keep(self, rec: ItemRecord, line: int, batch: _Batch) -> None:
        ext = rec.external_id
        if ext in self.seen:
            first = self.first_line.get(ext)
            self.fail(line, f"duplicate external_id {ext!r} in this file"
                      + (f" (first on line {first})" if first else ""))
            return
        self.seen.add(ext)
        if len(self.first_line) < 100_000:
            self.first_line[ext] = line
        if self.errors:
            return
        row, plan = self.build(rec)
        batch.rows.append(row)
        if batch.plans is not None:
            batch.plans.append(plan)
        if rec.annotations or rec.final_labels is not None:
            batch.labelled.append(rec)
