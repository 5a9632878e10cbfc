"""Import pipeline: reader → validator → bulk writer, one transaction per file.

A file is all-or-nothing: rows are validated as they stream in and written in batches inside
one transaction; at the first bad row writing stops, the rest of the file is still checked
(up to ``max_errors`` messages), and the transaction is rolled back, so the database is
exactly as it was. Re-importing a file adds nothing: items are keyed by (project, external id).
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypedDict

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.orm import Session

from modops.domain import DecisionSource, ModOpsError, Role, ValidationError
from modops.domain.fields import CONTENT_FIELDS
from modops.io.authors import AuthorCollector
from modops.io.parsing import (
    RowPlan,
    RowPlanner,
    _Batch,
    _dumps,
    _fmt_time,
    _Parser,
    _RowBuilder,
)
from modops.io.readers import FORMATS, READERS, guess_format
from modops.io.records import ItemRecord, RowValidator
from modops.projects.service import get_project, rules_for
from modops.projects.taxonomy import TaxonomyRules
from modops.store.audit import record
from modops.store.db import driver, utcnow
from modops.store.models import User

# The items row the store takes (``parsing._RowBuilder`` builds it in this order): the
# content fields of the spec (the product as its id), then what the import adds.
ITEM_COLUMNS = (
    "project_id",
    *("product_id" if name == "product" else name for name in CONTENT_FIELDS),
    "ingested_at",
    "state",
    "priority",
    "is_gold",
    "gold_labels",
    "in_prevalence_sample",
    "final_labels",
    "final_action",
    "decided_at",
    "import_batch",
    "route",
    "due_at",
)
ANNOTATION_COLUMNS = (
    "project_id",
    "item_id",
    "labeler_id",
    "kind",
    "labels",
    "note",
    "flagged",
    "started_at",
    "submitted_at",
    "handle_ms",
)
DECISION_COLUMNS = (
    "project_id",
    "item_id",
    "labels",
    "action",
    "source",
    "basis",
    "decided_at",
    "current",
)
# What a row routed before it is stored adds (RowPlanner below).
TASK_COLUMNS = ("project_id", "item_id", "kind", "state", "slot", "priority", "required_skill",
                "created_at")
ROUTING_COLUMNS = ("project_id", "item_id", "score", "auto_action_threshold",
                   "auto_clear_threshold", "route", "model_version", "audit_sampled", "reason",
                   "decided_at")
MACHINE_DECISION_COLUMNS = (*DECISION_COLUMNS, "views_at_decision")


class ImportFailed(ModOpsError):
    """The file was refused; nothing was written. ``errors`` are ``FILE:LINE: message``."""

    def __init__(self, errors: list[str], more: int = 0) -> None:
        self.errors = errors
        self.more = more
        tail = f"\n… and {more} more" if more else ""
        super().__init__("\n".join(errors) + tail)


@dataclass(slots=True)
class ImportReport:
    file: str
    format: str
    project: str
    batch_id: str
    rows: int = 0
    inserted: int = 0
    skipped_existing: int = 0
    annotations: int = 0
    decisions: int = 0
    authors: int = 0  # distinct authors upserted
    seconds: float = 0.0
    new_labelers: list[str] = field(default_factory=list)

    @property
    def items_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass(slots=True)
class ImportContext:
    """What a post-insert hook (e.g. the queue's machine routing) needs about the batch."""

    project_id: int
    batch_id: str
    inserted: int
    #: every item of the batch has a larger id (ids only grow), so a hook can read the batch
    #: by id range through the primary key instead of searching the table for it
    id_floor: int = 0
    #: the planner that routed rows before they were stored (its counts), if any
    planner: Any = None
    #: stored items it did not route (they have no score yet): the hook's to route
    unrouted: int | None = None


class PostInsertHook(Protocol):
    """What an import does with the rows it stores: the queue's routing
    (``modops.queue.routing.route_after_import``, through ``modops.queue.ingest_file``)."""

    def planner(self, conn: Connection, project_id: int, now: datetime) -> RowPlanner | None:
        """Routes rows before they are stored (one insert per row instead of an insert, then
        an update), in the parse process; None leaves every row to ``__call__``."""
        ...

    def __call__(self, conn: Connection, ctx: ImportContext) -> None:
        """Runs in the import's transaction once every row is stored."""
        ...


@dataclass(frozen=True, slots=True)
class AfterInsert:
    """A hook that only acts once the rows are stored (it routes nothing before)."""

    fn: Callable[[Connection, ImportContext], None]

    def planner(self, conn: Connection, project_id: int, now: datetime) -> None:
        return None

    def __call__(self, conn: Connection, ctx: ImportContext) -> None:
        self.fn(conn, ctx)


Progress = Callable[[int, int], None]


class ImportOptions(TypedDict, total=False):
    """How a file is imported (``import_file``'s keyword options, also ``ingest_file``'s)."""

    actor: User | str | None  # who the audit log names (default "cli")
    max_errors: int  # bad rows listed before the import stops (default 20)
    batch_size: int  # rows written per batch (default 5,000)
    progress: Progress | None  # called with (bytes read, file size)
    parallel: bool | None  # parse in a thread (default: large files, > 1 core)


def _keep(rows: list[tuple[Any, ...]], plans: list[RowPlan | None],
          keep: Callable[[tuple[Any, ...]], bool]) -> tuple[list[tuple[Any, ...]],
                                                           list[RowPlan | None]]:
    """The rows ``keep`` accepts, each still beside its plan."""
    kept = [(row, plan) for row, plan in zip(rows, plans, strict=True) if keep(row)]
    return [row for row, _ in kept], [plan for _, plan in kept]


class _BulkWriter:
    """Writes validated records in batches. SQLite: executemany; PostgreSQL: COPY + upsert."""

    def __init__(
        self,
        conn: Connection,
        project_id: int,
        rules: TaxonomyRules,
        batch_id: str,
        now: datetime,
        report: ImportReport,
        planner: RowPlanner | None = None,
    ) -> None:
        self.conn = conn
        self.planner = planner
        self.unrouted = 0  # stored rows the planner left for the post-insert hook
        self.sqlite = conn.dialect.name == "sqlite"
        self.raw = driver(conn)
        self.project_id = project_id
        self.rules = rules
        self.batch_id = batch_id
        self.report = report
        self.now = now
        self.labelers: dict[str, int] = {}
        self.authors = AuthorCollector(ITEM_COLUMNS)
        self.session = Session(bind=conn)
        # PostgreSQL: one open COPY across the batches of a project's first load (below).
        self.stream: ExitStack | None = None
        self.stream_copy: Any = None
        if not self.sqlite:
            # Imports into one project take turns, as they do on SQLite (one writer at a
            # time): the check below then sees every committed item, so a first load can
            # stream without racing another import for the same ids.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('modops.import'), :p)"),
                         {"p": project_id})
            cols = ", ".join(ITEM_COLUMNS)
            conn.exec_driver_sql(
                f"CREATE TEMP TABLE IF NOT EXISTS modops_import_stage AS "
                f"SELECT {cols} FROM items WITH NO DATA"
            )
            conn.exec_driver_sql("TRUNCATE modops_import_stage")
        # A project's first load has nothing to be idempotent against: skip the lookup of
        # already-stored ids (a concurrent import that stores one first still ends in the
        # ON CONFLICT path below, through the unique index).
        self.project_had_items = conn.execute(
            text("SELECT 1 FROM items WHERE project_id = :p LIMIT 1"),
            {"p": project_id}).first() is not None

    def write(self, batch: _Batch) -> None:
        self.authors.add(batch.rows)
        if batch.plans is not None and any(p is not None for p in batch.plans):
            self._write_routed(batch.rows, batch.plans, batch.labelled)
            return
        rows = batch.rows
        cols = ", ".join(ITEM_COLUMNS)
        needs_ids = bool(batch.labelled)
        if self.sqlite:
            marks = ", ".join("?" * len(ITEM_COLUMNS))
            cur = self.raw.cursor()
            before = self.raw.total_changes
            cur.executemany(
                f"INSERT INTO items ({cols}) VALUES ({marks}) "
                f"ON CONFLICT (project_id, external_id) DO NOTHING",
                rows,
            )
            inserted = self.raw.total_changes - before
            ids: dict[str, int] = {}
            if needs_ids and inserted:
                ids = self._new_ids_sqlite(cur, [r.external_id for r in batch.labelled])
            cur.close()
        elif not self.project_had_items and not needs_ids:
            self._stream_pg(rows, cols)
            inserted, ids = len(rows), {}
        else:
            self.finish()
            inserted, ids = self._write_pg(rows, cols, batch.labelled)
        self.report.inserted += inserted
        self.unrouted += inserted
        self.report.skipped_existing += len(rows) - inserted
        if ids:
            self._write_labels([r for r in batch.labelled if r.external_id in ids], ids)

    def _write_routed(self, rows: list[tuple[Any, ...]], plans: list[RowPlan | None],
                      labelled: list[ItemRecord]) -> None:
        """Rows routed before they are stored: each gets its id up front, so its routing
        decision, machine decision and task slots are written beside it, never as an update
        of rows just inserted. Rows already stored (a re-import) are left out with their
        plans."""
        total = len(rows)
        self.finish()  # a streamed COPY of earlier batches holds the connection
        rows, plans = self._insert_with_ids(rows, plans)
        self.report.inserted += len(rows)
        self.report.skipped_existing += total - len(rows)
        routing, machine, slots = self._plan_rows(rows, plans)
        self._insert("routing_decisions", ROUTING_COLUMNS, routing)
        self._insert("decisions", MACHINE_DECISION_COLUMNS, machine)
        self._insert("tasks", TASK_COLUMNS, slots)
        if labelled:
            ids_by_external = {row[1]: row[-1] for row in rows}
            self._write_labels([r for r in labelled if r.external_id in ids_by_external],
                               ids_by_external)

    def _insert_with_ids(self, rows: list[tuple[Any, ...]], plans: list[RowPlan | None]) \
            -> tuple[list[tuple[Any, ...]], list[RowPlan | None]]:
        """Store the rows not stored yet, each with a reserved id as its last field; returns
        those rows and their plans."""
        if not self.sqlite and self.project_had_items:
            existing = self._stored_external_ids([r[1] for r in rows])
            if existing:
                rows, plans = _keep(rows, plans, lambda row: row[1] not in existing)
        ids = self._reserve_ids(len(rows))
        rows = [(*row, item_id) for row, item_id in zip(rows, ids, strict=True)]
        if not self.sqlite:
            import psycopg

            try:
                self._insert("items", (*ITEM_COLUMNS, "id"), rows)
            except psycopg.errors.UniqueViolation:
                raise ModOpsError(
                    "another writer stored some of these external ids while this import ran; "
                    "nothing was imported, run the import again") from None
            return rows, plans
        cols = ", ".join((*ITEM_COLUMNS, "id"))
        marks = ", ".join("?" * (len(ITEM_COLUMNS) + 1))
        before = self.raw.total_changes
        self.raw.executemany(f"INSERT INTO items ({cols}) VALUES ({marks}) "
                             "ON CONFLICT (project_id, external_id) DO NOTHING", rows)
        if self.raw.total_changes - before < len(rows) and ids:  # some were stored already
            stored = {i for i, in self.raw.execute(
                "SELECT id FROM items WHERE id BETWEEN ? AND ?", (ids[0], ids[-1]))}
            rows, plans = _keep(rows, plans, lambda row: row[-1] in stored)
        return rows, plans

    def _plan_rows(self, rows: list[tuple[Any, ...]], plans: list[RowPlan | None]) \
            -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The routing decisions, machine decisions and task slots of stored rows' plans
        (rows without a plan are left to the post-insert hook)."""
        sqlite, pid, now = self.sqlite, self.project_id, _fmt_time(self.now, self.sqlite)
        yes, no = (1, 0) if sqlite else (True, False)
        planner = self.planner
        assert planner is not None
        plain_slots: list[tuple[Any, ...]] = []
        other_slots: list[tuple[Any, ...]] = []
        routing: list[tuple[Any, ...]] = []
        machine: list[tuple[Any, ...]] = []
        stored_plans: list[RowPlan] = []
        for row, plan in zip(rows, plans, strict=True):
            if plan is None:
                self.unrouted += 1
                continue
            item_id = row[-1]
            stored_plans.append(plan)
            (route, _state, _due, priority, _sampled, labels, action, recorded, score,
             version, audit, reason, basis, views, kind, nslots, skill) = plan
            if recorded:
                routing.append((pid, item_id, score, planner.hi, planner.lo, route, version,
                                yes if audit else no, reason, now))
            if action is not None:
                machine.append((pid, item_id, labels, action, "machine", basis, now, yes,
                                views))
            if nslots:
                # plain label slots first, then those needing a skill and the audit slots: the
                # order the set-based pass creates them in (ties go to the lower task id)
                slots = plain_slots if kind == "label" and skill is None else other_slots
                slots.extend((pid, item_id, kind, "open", n, priority, skill, now)
                             for n in range(nslots))
        planner.count(stored_plans)
        return routing, machine, plain_slots + other_slots

    def _reserve_ids(self, n: int) -> list[int]:
        """Ids for n new items. SQLite: the import holds the write lock, so the next ids are
        simply the next numbers; PostgreSQL: drawn from the items sequence."""
        if not n:
            return []
        if self.sqlite:  # read each time: batches not routed here get SQLite's own ids
            first = (self.raw.execute("SELECT max(id) FROM items").fetchone()[0] or 0) + 1
            return list(range(first, first + n))
        with self.raw.cursor() as cur:
            cur.execute("SELECT nextval(pg_get_serial_sequence('items', 'id')) "
                        "FROM generate_series(1, %s)", (n,))
            return [r[0] for r in cur.fetchall()]

    def _stored_external_ids(self, external_ids: list[str]) -> set[str]:
        with self.raw.cursor() as cur:
            cur.execute("SELECT external_id FROM items WHERE project_id = %s "
                        "AND external_id = ANY(%s)", (self.project_id, external_ids))
            return {r[0] for r in cur.fetchall()}

    def _stream_pg(self, rows: list[tuple[Any, ...]], cols: str) -> None:
        """A project's first load: every batch goes into one open COPY, so PostgreSQL keeps
        loading while this process reads the next batch (a COPY per batch left the server idle
        for a third of the import, waiting at each batch's end). A batch with labels ends the
        stream: its annotations need the new items' ids."""
        if self.stream is None:
            self.stream = ExitStack()
            cur = self.stream.enter_context(self.raw.cursor())
            self.stream_copy = self.stream.enter_context(
                cur.copy(f"COPY items ({cols}) FROM STDIN"))
        write_row = self.stream_copy.write_row
        for row in rows:
            write_row(row)

    def finish(self) -> None:
        """End the open COPY, if any: PostgreSQL checks and stores what it was sent."""
        if self.stream is not None:
            stream, self.stream = self.stream, None
            stream.close()

    def store_authors(self) -> None:
        """Upsert the authors the file named (after the items: a COPY may hold the link)."""
        self.finish()
        self.report.authors += self.authors.store(self.raw, self.sqlite,
                                                  _fmt_time(self.now, self.sqlite))

    def abort(self, exc: BaseException) -> None:
        """End the open COPY with an error, so the transaction can roll back."""
        if self.stream is not None:
            stream, self.stream = self.stream, None
            stream.__exit__(type(exc), exc, exc.__traceback__)

    def _write_pg(self, rows: list[tuple[Any, ...]], cols: str,
                  labelled: list[ItemRecord]) -> tuple[int, dict[str, int]]:
        """COPY straight into items after filtering out ids already stored (one indexed
        lookup); if a concurrent import wins a race on an id, redo the batch through a staging
        table with ON CONFLICT DO NOTHING."""
        import psycopg

        with self.raw.cursor() as cur:
            existing: set[str] = set()
            if self.project_had_items:
                cur.execute("SELECT external_id FROM items WHERE project_id = %s "
                            "AND external_id = ANY(%s)", (self.project_id, [r[1] for r in rows]))
                existing = {r[0] for r in cur.fetchall()}
            fresh = [row for row in rows if row[1] not in existing] if existing else rows
            try:
                with self.raw.transaction(), \
                        cur.copy(f"COPY items ({cols}) FROM STDIN") as copy:
                    for row in fresh:
                        copy.write_row(row)
                inserted = len(fresh)
            except psycopg.errors.UniqueViolation:
                with cur.copy(f"COPY modops_import_stage ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cur.execute(f"INSERT INTO items ({cols}) SELECT {cols} FROM modops_import_stage "
                            "ON CONFLICT (project_id, external_id) DO NOTHING")
                inserted = cur.rowcount
                cur.execute("TRUNCATE modops_import_stage")
            ids: dict[str, int] = {}
            if labelled and inserted:
                cur.execute("SELECT external_id, id FROM items WHERE project_id = %s AND "
                            "import_batch = %s AND external_id = ANY(%s)",
                            (self.project_id, self.batch_id,
                             [r.external_id for r in labelled]))
                ids = dict(cur.fetchall())
        return inserted, ids

    def _new_ids_sqlite(self, cur: Any, external_ids: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for i in range(0, len(external_ids), 500):
            chunk = external_ids[i : i + 500]
            marks = ", ".join("?" * len(chunk))
            cur.execute(
                f"SELECT external_id, id FROM items WHERE project_id = ? AND import_batch = ? "
                f"AND external_id IN ({marks})",
                (self.project_id, self.batch_id, *chunk),
            )
            out.update(cur.fetchall())
        return out

    def _labeler_id(self, username: str) -> int:
        if username not in self.labelers:
            user = self.session.scalar(select(User).where(User.username == username))
            if user is None:
                # Historical labels from another tool: keep who made them, as a sign-in-less
                # labeler account an admin can activate later.
                user = User(
                    username=username,
                    display_name=username,
                    role=Role.LABELER.value,
                    skills=[],
                    active=False,
                    created_at=self.now,
                    locale="ko",
                )
                self.session.add(user)
                self.session.flush()
                self.report.new_labelers.append(username)
            self.labelers[username] = user.id
        return self.labelers[username]

    def _write_labels(self, records: list[ItemRecord], ids: dict[str, int]) -> None:
        sqlite = self.sqlite
        ann_rows: list[tuple[Any, ...]] = []
        dec_rows: list[tuple[Any, ...]] = []
        for r in records:
            item_id = ids[r.external_id]
            for a in r.annotations:
                handle = (
                    None
                    if a.started_at is None
                    else int((a.submitted_at - a.started_at).total_seconds() * 1000)
                )
                ann_rows.append(
                    (
                        self.project_id,
                        item_id,
                        self._labeler_id(a.labeler),
                        a.kind,
                        _dumps(a.labels),
                        a.note,
                        0 if sqlite else False,
                        _fmt_time(a.started_at, sqlite),
                        _fmt_time(a.submitted_at, sqlite),
                        handle,
                    )
                )
            if r.final_labels is not None:
                dec_rows.append(
                    (
                        self.project_id,
                        item_id,
                        _dumps(r.final_labels),
                        self.rules.action_for(r.final_labels).value,
                        DecisionSource.IMPORT.value,
                        _dumps({"import_batch": self.batch_id}),
                        _fmt_time(self.now, sqlite),
                        1 if sqlite else True,
                    )
                )
        self._insert("annotations", ANNOTATION_COLUMNS, ann_rows)
        self._insert("decisions", DECISION_COLUMNS, dec_rows)
        self.report.annotations += len(ann_rows)
        self.report.decisions += len(dec_rows)

    def _insert(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        cols = ", ".join(columns)
        if self.sqlite:
            marks = ", ".join("?" * len(columns))
            self.raw.cursor().executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
        else:
            with self.raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


# A file at least this large is parsed in a thread while this one writes: the writes spend
# most of their time in the database driver, which lets go of the GIL (sqlite3 while a
# statement runs, psycopg while it sends), so the parse goes on meanwhile.
PARALLEL_MIN_BYTES = 4 << 20
#: batches parsed ahead of the writer; a slow writer blocks the parser at this depth, so an
#: import holds at most this many batches (plus one being parsed and one being written)
QUEUE_BATCHES = 2


class _ThreadedParser:
    """The same interface as ``_Parser``, with the parsing done in a thread of this process
    and a bounded queue between it and the writer (back-pressure: the parser blocks on a full
    queue). A thread rather than a second process: no start-up, no copies of each batch
    through a pipe, and no second interpreter's ~60 MB in the server's process tree.

    ``full_waits`` counts the times the parser found the queue full and waited, under the
    condition ``full`` (what the bound looks like from outside: tests wait on it). Progress
    is the writer's to report, a batch at a time."""

    def __init__(self, parser: _Parser, depth: int = QUEUE_BATCHES) -> None:
        self.parser = parser
        self.queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
        self.full = threading.Condition()
        self.full_waits = 0
        self.cancelled = threading.Event()
        self.thread = threading.Thread(target=self._run, name="modops-import-parse",
                                       daemon=True)

    @property
    def position(self) -> int:
        return self.parser.position

    @property
    def total(self) -> int:
        return self.parser.total

    @property
    def rows(self) -> int:
        return self.parser.rows

    @property
    def errors(self) -> list[str]:
        return self.parser.errors

    @property
    def more(self) -> int:
        return self.parser.more

    def start(self) -> None:
        self.thread.start()

    def _put(self, message: tuple[str, Any]) -> None:
        if self.queue.full():
            with self.full:
                self.full_waits += 1
                self.full.notify_all()
        self.queue.put(message)

    def _run(self) -> None:
        try:
            for batch in self.parser.batches():
                if self.cancelled.is_set():
                    return
                self._put(("batch", batch))
            self._put(("done", None))
        except BaseException as exc:  # handed to the writer, which raises it
            self._put(("crash", exc))

    def batches(self, tick: Callable[[int], None] | None = None) -> Iterator[_Batch]:
        if not self.thread.is_alive() and self.thread.ident is None:
            self.start()
        try:
            while True:
                kind, value = self.queue.get()
                if kind == "batch":
                    yield value
                elif kind == "done":
                    return
                else:
                    raise value
        finally:
            self.close()

    def close(self) -> None:
        """Stop the parser (it may be blocked on the full queue: drain it until it ends)."""
        self.cancelled.set()
        while self.thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self.queue.get(timeout=0.05)


@contextmanager
def _closing(parser: _Parser | _ThreadedParser) -> Iterator[None]:
    """Whatever happens in the writer, a parse thread is not left behind."""
    try:
        yield
    finally:
        if isinstance(parser, _ThreadedParser):
            parser.close()


def import_file(
    engine: Engine,
    project_key: str,
    path: str | Path,
    fmt: str | None = None,
    *,
    actor: User | str | None = "cli",
    max_errors: int = 20,
    batch_size: int = 5_000,
    progress: Progress | None = None,
    after_insert: PostInsertHook | None,
    parallel: bool | None = None,
) -> ImportReport:
    """Import one file into a project, all-or-nothing. Raises ``ImportFailed`` on bad input.

    The ingest entry point is ``modops.queue.ingest_file``: this with the queue's routing
    as ``after_insert``. The hook has no default so that no caller forgets it by accident:
    ``None`` is a raw load (the importer's own tests and benchmark), whose items stay in
    state ``new`` until ``modops.queue.route_pending`` routes them.

    ``parallel`` parses in a thread while this one writes; by default it does so for
    files of ``PARALLEL_MIN_BYTES`` or more on a machine with more than one core.
    """
    path = Path(path)
    report, project_id, rules, products = _open(engine, project_key, path, fmt)
    name, fmt = report.file, report.format
    if parallel is None:
        parallel = (os.cpu_count() or 1) > 1 and path.stat().st_size >= PARALLEL_MIN_BYTES
    now = utcnow()
    planner: RowPlanner | None = None
    if after_insert is not None:
        with engine.connect() as conn:
            planner = after_insert.planner(conn, project_id, now)
    build = _RowBuilder(project_id, products, rules, report.batch_id, now,
                        engine.dialect.name == "sqlite", planner)
    validate = RowValidator(frozenset(products), rules, lenient=READERS[fmt].lenient)
    plain = _Parser(path, name, fmt, validate, build, batch_size, max_errors)
    parser = _ThreadedParser(plain) if parallel else plain
    started = time.perf_counter()
    if isinstance(parser, _ThreadedParser):
        parser.start()
    # SQLite: take the write lock up front (BEGIN IMMEDIATE), so a second import waits for
    # this one instead of failing with "database is locked" when both try to upgrade a read
    with _closing(parser), engine.execution_options(sqlite_begin="IMMEDIATE").begin() as conn, \
            _import_cache(conn):
        writer = _BulkWriter(conn, project_id, rules, report.batch_id, now, report, planner)
        id_floor = conn.exec_driver_sql("SELECT max(id) FROM items").scalar() or 0
        _write_batches(parser, writer, report, progress)
        if after_insert is not None and report.inserted:
            after_insert(conn, ImportContext(project_id, report.batch_id, report.inserted,
                                             id_floor, planner, writer.unrouted))
        _record_import(writer, actor, project_id, path.name, report)
    if report.inserted >= ANALYZE_MIN_ROWS and engine.dialect.name == "postgresql":
        refresh_statistics(engine, annotations=report.annotations > 0)
    if progress is not None:
        progress(parser.total, parser.total)
    report.seconds = time.perf_counter() - started
    return report


#: SQLite's page cache while an import writes (KiB): the store's connections keep 64 MB
#: (``store.db``), which a large import filled, in the server worker that ran it, for good
IMPORT_CACHE_KIB = 16 << 10


@contextmanager
def _import_cache(conn: Connection) -> Iterator[None]:
    """SQLite: a bounded page cache for the import's writes, the connection's own after."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = driver(conn)
    before = int(raw.execute("PRAGMA cache_size").fetchone()[0])
    raw.execute(f"PRAGMA cache_size=-{IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size={before}")


def _open(engine: Engine, project_key: str, path: Path, fmt: str | None) \
        -> tuple[ImportReport, int, TaxonomyRules, dict[str, int]]:
    """The import's report, and the project's id, label rules and product ids."""
    name = str(path)
    if not path.is_file():
        raise ImportFailed([f"{name}:0: no such file"])
    fmt = fmt or guess_format(path)
    if fmt not in FORMATS:
        raise ValidationError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    with Session(engine) as s:
        project = get_project(s, project_key)
        report = ImportReport(file=name, format=fmt, project=project.key,
                              batch_id=uuid.uuid4().hex[:16])
        return report, project.id, rules_for(project), {p.key: p.id for p in project.products}


def _write_batches(parser: _Parser | _ThreadedParser, writer: _BulkWriter, report: ImportReport,
                   progress: Progress | None) -> None:
    """Write the parsed batches as they come; refuse the file if any row was bad."""

    def tick(position: int) -> None:
        if progress is not None:
            progress(position, parser.total)

    last_tick = 0.0
    try:
        for batch in parser.batches(tick):
            writer.write(batch)
            if progress is not None and (t := time.perf_counter()) - last_tick > 0.1:
                last_tick = t
                progress(batch.position, parser.total)
        report.rows = parser.rows
        if parser.errors:
            raise ImportFailed(parser.errors, parser.more)
        writer.finish()
        writer.store_authors()
    except BaseException as exc:
        writer.abort(exc)
        raise


def _record_import(writer: _BulkWriter, actor: User | str | None, project_id: int,
                   file_name: str, report: ImportReport) -> None:
    """The import's audit entry, in its transaction."""
    record(
        writer.session,
        actor=actor,
        action="items.import",
        entity="project",
        entity_id=project_id,
        project_id=project_id,
        after={
            "file": file_name,
            "format": report.format,
            "batch": report.batch_id,
            "rows": report.rows,
            "inserted": report.inserted,
            "annotations": report.annotations,
            "decisions": report.decisions,
        },
    )
    writer.session.flush()
    writer.session.close()


ANALYZE_MIN_ROWS = 10_000


def refresh_statistics(engine: Engine, *, annotations: bool = False) -> None:
    """Give PostgreSQL's planner the new row counts right after a bulk load, as pg_restore
    advises, instead of when autovacuum next gets to it (up to a minute or so later).

    With stale counts (a few hundred rows where there are a million) an ordered keyset read of
    the new rows (``ORDER BY id LIMIT n``) was planned as a full scan and sort of the project:
    2.5 s per 200,000-item page instead of 0.2 s.
    """
    tables = "items, tasks, annotations, decisions" if annotations else "items, tasks"
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            f"ANALYZE {tables}")
