"""The parse side of an import: file → validated, store-ready rows in batches.

Kept free of the database layer so that the parse process of a parallel import
(``modops.io.parse_worker``) starts in a fraction of the time the whole app takes to import:
on a 100,000-row upload that start-up was a fifth of the import.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any, Protocol

import orjson

from modops.domain import ItemState, ValidationError
from modops.domain.times import sqlite_time
from modops.io.readers import MAX_ROWS, READERS
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
    but the file is still checked, so one run lists every bad row up to ``max_errors``."""

    def __init__(self, path: Path, name: str, fmt: str, validate: RowValidator,
                 build: _RowBuilder, batch_size: int, max_errors: int) -> None:
        self.reader = READERS[fmt](path)
        self.name = name
        self.validate = validate
        self.build = build
        self.batch_size = batch_size
        self.max_errors = max_errors
        self.rows = 0
        self.errors: list[str] = []
        self.more = 0

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
        # Hot path (issue 22): one row per iteration. A split adds a Python call per row: 55 ns
        # (timeit, 6 arguments, 1M calls, quiet host) against 15.9 us a row at the import's
        # 62,953 items/s (bench/results/ingest.json, SQLite): +0.35 % per helper called per row.
        validate, build, fail, errors = self.validate, self.build, self.fail, self.errors
        seen: set[str] = set()
        first_line: dict[str, int] = {}  # for friendlier duplicate messages
        rows: list[tuple[Any, ...]] = []
        plans: list[RowPlan | None] = []
        labelled: list[ItemRecord] = []
        routing = build.planner is not None
        last_tick = time.perf_counter()
        n = 0
        for raw in self.reader.rows():
            n += 1
            if n > MAX_ROWS:
                fail(raw.line, f"more than {MAX_ROWS:,} rows; an import takes at most that "
                               "many (MODOPS_IMPORT_MAX_ROWS)")
                break
            if raw.error is not None:
                fail(raw.line, raw.error)
            else:
                try:
                    rec = validate(raw.data or {}, raw.line)
                except ValidationError as exc:
                    fail(raw.line, str(exc))
                else:
                    ext = rec.external_id
                    if ext in seen:
                        first = first_line.get(ext)
                        fail(raw.line, f"duplicate external_id {ext!r} in this file"
                             + (f" (first on line {first})" if first else ""))
                    else:
                        seen.add(ext)
                        if len(first_line) < 100_000:
                            first_line[ext] = raw.line
                        if not errors:
                            row, plan = build(rec)
                            rows.append(row)
                            plans.append(plan)
                            if rec.annotations or rec.final_labels is not None:
                                labelled.append(rec)
                            if len(rows) >= self.batch_size:
                                self.rows = n
                                yield _Batch(rows, labelled, self.reader.position,
                                             plans if routing else None)
                                rows, labelled, plans = [], [], []
            if tick is not None and not n % 1000 and \
                    (now := time.perf_counter()) - last_tick > 0.1:
                last_tick = now
                tick(self.reader.position)
            if self.more > 10 * self.max_errors:
                break  # enough to show the file is broken; stop reading it
        self.rows = n
        if not errors and n == 0:
            fail(1, "the file has no rows")
        if rows and not errors:
            yield _Batch(rows, labelled, self.reader.position, plans if routing else None)


def _parse_in_child(pipe: Pipe, path: Path, name: str, fmt: str, validate: RowValidator,
                    build: _RowBuilder, batch_size: int, max_errors: int) -> None:
    """The parse process: send batches, progress ticks, then the outcome, to the writer."""
    try:
        parser = _Parser(path, name, fmt, validate, build, batch_size, max_errors)
        for batch in parser.batches(tick=lambda pos: pipe.send(("tick", pos))):
            pipe.send(("batch", batch))
        pipe.send(("done", parser.rows, parser.errors, parser.more))
    except BrokenPipeError:
        pass  # the writer is gone (it failed or was stopped): nobody is left to tell
    except BaseException:
        pipe.send(("crash", traceback.format_exc()))
    finally:
        pipe.close()
