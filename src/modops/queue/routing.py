"""Machine routing at ingest: every new item gets a score, a route and (if humans are needed)
its k label slots, in one set-based pass per import batch.

    score ≥ auto_action threshold  → auto-action  (decided by the machine; audit-sampled)
    score ≤ auto_clear threshold   → auto-clear   (decided by the machine; audit-sampled)
    otherwise                      → human queue  (k label slots, ordered by priority)
    no score (no model, model down)→ human queue  (never lost, never auto-decided)

A uniform random sample of *all* items (``prevalence_rate``) goes to humans whatever the
machine said: it is what prevalence is estimated from. Every routing decision is recorded
with the score, both thresholds and the model version.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from modops.domain import DecisionSource, ItemState, TaskState, events
from modops.domain.fields import SCORED_TEXT_FIELDS
from modops.domain.states import set_state
from modops.io.importer import ImportContext
from modops.queue import runtime
from modops.queue.config import ProjectConfig
from modops.queue.core import dumps, is_pg, load_project, loads, sql, write_tx
from modops.queue.decisions import _audit
from modops.queue.planning import RoutePlanner, RoutingSummary, count_plan
from modops.rules import repo as rules_repo
from modops.rules.engine import Evaluation
from modops.rules.signals import load_facts
from modops.store.db import driver

log = logging.getLogger(__name__)


class _RouteAfterImport:
    """The import pipeline's routing. Rows that come with a score (or into a project that
    does not score on ingest) are routed by ``planner`` before they are stored, in the
    parse process; the hook then routes the rest, once the model has scored them, and
    records one routing audit entry for the whole import."""

    def planner(self, conn: Connection, project_id: int, now: datetime) -> RoutePlanner:
        planner = RoutePlanner(load_project(conn, project_id), now, random.Random())
        planner.has_rules = rules_repo.has_rules(conn, project_id)
        return planner

    def __call__(self, conn: Connection, ctx: ImportContext) -> None:
        project = load_project(conn, ctx.project_id)
        summary = ctx.planner.summary if isinstance(ctx.planner, RoutePlanner) else None
        chunks = () if ctx.unrouted == 0 else \
            _batch_chunks(conn, project.id, ctx.batch_id, ctx.id_floor)
        _route(conn, project, chunks, pending=None, summary=summary)


route_after_import = _RouteAfterImport()


def route_pending(engine: Engine, project_key: str) -> RoutingSummary:
    """Route every item of a project still in state ``new`` (e.g. after a scorer outage)."""
    with write_tx(engine) as (conn, pending):
        project = load_project(conn, project_key)
        return _route(conn, project, _keyset_chunks(conn, project.id), pending=pending)


# Text is fetched only for the items the scorer has to read (``_score_missing``).
_ITEM_COLUMNS = (
    "i.id, i.external_id, i.machine_score, i.machine_scores, i.model_version, i.view_count, "
    "i.user_reported, i.ingested_at, i.is_gold, p.key AS product")
CHUNK = 10_000


def _batch_chunks(conn: Connection, project_id: int, batch_id: str, id_floor: int) \
        -> Iterator[Sequence[Any]]:
    """An import batch's items in state ``new``, in id order, one id range at a time.

    Bounded ranges keep every read to one chunk of the primary key. (Keyset paging with
    ``LIMIT`` looked the same but, with the planner's statistics predating the rows just
    loaded, PostgreSQL bitmap-scanned and sorted *all* remaining rows for every chunk.)
    """
    top = conn.execute(sql("SELECT max(id) FROM items WHERE project_id = :p"),
                       {"p": project_id}).scalar() or 0
    statement = sql(
        f"SELECT {_ITEM_COLUMNS} FROM items i JOIN products p ON p.id = i.product_id "
        "WHERE i.project_id = :p AND i.id > :lo AND i.id <= :hi AND i.import_batch = :b "
        f"AND i.state = '{ItemState.NEW}' ORDER BY i.id")
    for lo in range(id_floor, top, CHUNK):
        rows = conn.execute(statement, {"p": project_id, "b": batch_id, "lo": lo,
                                        "hi": lo + CHUNK}).all()
        if rows:
            yield rows


def _keyset_chunks(conn: Connection, project_id: int) -> Iterator[Sequence[Any]]:
    """The project's items in state ``new``, in id order, a chunk at a time: keyset paging
    on (project_id, id) keeps memory flat on a large backlog."""
    statement = sql(
        f"SELECT {_ITEM_COLUMNS} FROM items i JOIN products p ON p.id = i.product_id "
        f"WHERE i.project_id = :p AND i.state = '{ItemState.NEW}' AND i.id > :after "
        "ORDER BY i.id LIMIT :n")
    after = 0
    while True:
        rows = conn.execute(statement, {"p": project_id, "after": after,
                                        "n": CHUNK}).all()
        if not rows:
            return
        yield rows
        if len(rows) < CHUNK:
            return
        after = rows[-1].id


def _id_chunks(conn: Connection, item_ids: Sequence[int]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(item_ids), CHUNK):
        marks = ", ".join(str(int(i)) for i in item_ids[start:start + CHUNK])
        yield conn.execute(text(  # id lists vary: not memoized
            f"SELECT {_ITEM_COLUMNS} FROM items i JOIN products p ON p.id = i.product_id "
            f"WHERE i.id IN ({marks}) AND i.state = '{ItemState.NEW}' ORDER BY i.id")).all()


def _score_missing(conn: Connection, project: ProjectConfig, rows: Sequence[Any],
                   summary: RoutingSummary) -> dict[int, tuple[float, dict[str, Any], str]]:
    """Score items that arrived without a score, with the project's scorer (built-in default).
    The scores are written with the routing outcome, in the same set-based update."""
    missing = [r for r in rows if r.machine_score is None]
    if not missing or not project.settings.get("score_on_ingest", True):
        return {}
    # (imported here: scikit-learn and kiwipiepy load only when something needs a score; an
    # install without them is broken and fails here, loudly, instead of routing unscored)
    from modops.machine import ScorerUnavailable, get_scorer, item_text

    try:
        scorer = get_scorer(project.scorer)
        marks = ", ".join(str(int(r.id)) for r in missing)
        text_by_id = {t.id: item_text(t._mapping) for t in conn.execute(text(
            f"SELECT id, {', '.join(SCORED_TEXT_FIELDS)} FROM items WHERE id IN ({marks})"))}
        scores = scorer.score([text_by_id[r.id] for r in missing])
    except ScorerUnavailable as exc:
        summary.scorer_error = str(exc)
        log.warning("scorer unavailable, routing %d items to humans: %s", len(missing), exc)
        return {}
    out: dict[int, tuple[float, dict[str, Any], str]] = {}
    for r, s in zip(missing, scores, strict=True):
        detail: dict[str, Any] = {"severity": s.severity, "targets": s.targets,
                                  "profanity": s.profanity}
        if s.policies:  # per-policy scores and what fired: routing and the reviewer's "why"
            detail.update(policies=s.policies, evidence=s.evidence)
        if s.extra.get("trivial"):
            detail["trivial"] = True
        out[r.id] = (s.harm, detail, s.model_version)
    summary.scored_now += len(out)
    return out


def route_items(conn: Connection, project: ProjectConfig, item_ids: Sequence[int], *,
                pending: list[tuple[str, dict[str, Any]]] | None,
                now: datetime | None = None, rng: random.Random | None = None) \
        -> RoutingSummary:
    """Route the given items (those still in state ``new``), in id order."""
    return _route(conn, project, _id_chunks(conn, item_ids), pending=pending, now=now, rng=rng)


# The routing outcome of one chunk is staged in a temporary table (PostgreSQL: COPY; SQLite:
# executemany), then applied with one statement per table. Per-row statements cost a server
# round trip and a parse/plan each: 100,000 items took ~25 s of PostgreSQL time that way.
# Column types are borrowed from the real tables so both stores convert nothing on the way.
_STAGE = "modops_route_stage"
_STAGE_COLUMNS = (
    "id", "route", "state", "due_at", "priority", "prev", "final_labels", "final_action",
    "new_score", "new_scores", "new_version", "recorded", "score", "model_version", "audit",
    "reason", "basis", "views", "kind", "nslots", "required_skill")
_CREATE_STAGE = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} AS SELECT i.id, i.route, i.state, i.due_at, "
    "i.priority, i.in_prevalence_sample AS prev, i.final_labels, i.final_action, "
    "i.machine_score AS new_score, i.machine_scores AS new_scores, "
    "i.model_version AS new_version, r.audit_sampled AS recorded, r.score, r.model_version, "
    "r.audit_sampled AS audit, r.reason, d.basis, d.views_at_decision AS views, t.kind, "
    "t.slot AS nslots, t.required_skill "
    "FROM items i, routing_decisions r, decisions d, tasks t LIMIT 0")
# Routing moves a new item to queued (people label it) or decided (the machine did).
_APPLY_ITEMS = set_state(
    "items", (ItemState.QUEUED, ItemState.DECIDED), value="s.state", source=f"{_STAGE} s",
    also="route = s.route, due_at = s.due_at, "
    "priority = s.priority, in_prevalence_sample = s.prev, "
    "final_labels = CASE WHEN s.final_action IS NULL THEN items.final_labels "
    "ELSE s.final_labels END, "
    "final_action = COALESCE(s.final_action, items.final_action), "
    "decided_at = CASE WHEN s.final_action IS NULL THEN items.decided_at ELSE :now END, "
    "machine_score = COALESCE(s.new_score, items.machine_score), "
    "machine_scores = CASE WHEN s.new_score IS NULL THEN items.machine_scores "
    "ELSE s.new_scores END, "
    "model_version = CASE WHEN s.new_score IS NULL THEN items.model_version "
    "ELSE s.new_version END",
    # The id range lets the planner read just this chunk's items through the primary key
    # (without it, it hash-joins against a scan of the whole table, once per chunk).
    where="items.id = s.id AND items.id BETWEEN :first AND :last")
_APPLY_ROUTING = (
    "INSERT INTO routing_decisions (project_id, item_id, score, auto_action_threshold, "
    "auto_clear_threshold, route, model_version, audit_sampled, reason, decided_at) "
    f"SELECT :p, s.id, s.score, :hi, :lo, s.route, s.model_version, s.audit, s.reason, :now "
    f"FROM {_STAGE} s WHERE s.recorded ORDER BY s.id")
_APPLY_DECISIONS = (
    "INSERT INTO decisions (project_id, item_id, labels, action, source, basis, decided_at, "
    "current, views_at_decision) SELECT :p, s.id, s.final_labels, s.final_action, "
    f"'{DecisionSource.MACHINE.value}', s.basis, :now, TRUE, s.views FROM {_STAGE} s "
    "WHERE s.final_action IS NOT NULL ORDER BY s.id")


def _apply_tasks(k: int, skilled: bool) -> str:
    """Slots in item then slot order, plain label slots first, then those needing a skill and
    the audit slots, the order they have always been created in (ties go to the lower id)."""
    slots = " UNION ALL ".join(f"SELECT {n} AS n" for n in range(max(k, 1)))
    which = ("s.kind = 'audit' OR s.required_skill IS NOT NULL" if skilled
             else "s.kind = 'label' AND s.required_skill IS NULL")
    return ("INSERT INTO tasks (project_id, item_id, kind, state, slot, priority, "
            "required_skill, created_at) "
            f"SELECT :p, s.id, s.kind, '{TaskState.OPEN}', n.n, s.priority, "
            f"s.required_skill, :now FROM {_STAGE} s JOIN ({slots}) n ON n.n < s.nslots "
            f"WHERE {which} ORDER BY s.id, n.n")


def _stage(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    conn.exec_driver_sql(_CREATE_STAGE)
    if is_pg(conn):
        with driver(conn).cursor() as cur, \
                cur.copy(f"COPY {_STAGE} ({', '.join(_STAGE_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" * len(_STAGE_COLUMNS))
        driver(conn).executemany(
            f"INSERT INTO {_STAGE} ({', '.join(_STAGE_COLUMNS)}) VALUES ({marks})", rows)


def _apply(conn: Connection, project: ProjectConfig, now: datetime, first: int,
           last: int) -> None:
    params = {"p": project.id, "hi": project.auto_action_threshold,
              "lo": project.auto_clear_threshold, "now": now, "first": first, "last": last}
    conn.execute(sql(_APPLY_ITEMS), params)
    conn.execute(sql(_APPLY_ROUTING), params)
    conn.execute(sql(_APPLY_DECISIONS), params)
    conn.execute(sql(_apply_tasks(project.overlap_k, skilled=False)), params)
    conn.execute(sql(_apply_tasks(project.overlap_k, skilled=True)), params)
    # PostgreSQL: TRUNCATE, so the next chunk does not scan this one's dead rows.
    conn.exec_driver_sql(f"TRUNCATE {_STAGE}" if is_pg(conn) else f"DELETE FROM {_STAGE}")


def _scores(r: Any, scored: tuple[float, dict[str, Any], str] | None) -> tuple[Any, ...]:
    """(score, detail, version, and the new score columns if the model scored it now)."""
    if scored is None:
        return r.machine_score, loads(r.machine_scores), r.model_version, None, None, None
    score, detail, version = scored
    return score, detail, version, score, dumps(detail), version


_RULE_FACT_COLUMNS = "id, metadata, reported_at, created_at, language"


class _RulePass:
    """The project's live and shadow rules over each routed chunk (``modops.rules``): the
    facts they read, their evaluation after machine scoring, and the match log."""

    def __init__(self, conn: Connection, project_id: int, planner: RoutePlanner,
                 now: datetime) -> None:
        self.conn, self.project_id, self.planner, self.now = conn, project_id, planner, now
        self.rules = rules_repo.ruleset(conn, project_id, now)
        self.facts = self.rules.facts_needed() if self.rules else []

    def evaluate(self, rows: Sequence[Any], scored: list[tuple[Any, ...]]) \
            -> Evaluation | None:
        if not self.rules:
            return None
        ids = [r.id for r in rows]
        marks = ", ".join(str(int(i)) for i in ids)
        extra = {e.id: e for e in self.conn.execute(text(  # id lists vary: not memoized
            f"SELECT {_RULE_FACT_COLUMNS} FROM items WHERE id IN ({marks})"))}
        loaded = load_facts(self.conn, self.facts, ids)
        facts = []
        for r, (score, detail, *_rest) in zip(rows, scored, strict=True):
            e = extra[r.id]
            f = {"id": r.id, "product": r.product, "score": score, "detail": detail,
                 "views": r.view_count, "reported": bool(r.user_reported),
                 "reported_at": _as_time(e.reported_at), "created_at": _as_time(e.created_at),
                 "ingested_at": _as_time(r.ingested_at), "metadata": loads(e.metadata),
                 "language": e.language, "now": self.now,
                 "route": self.planner.machine_route(score, detail)[0].value}
            for name in self.facts:
                f[name] = loaded[name].get(r.id)
            facts.append(f)
        return self.rules.evaluate_facts(facts)

    def log(self, rows: Sequence[Any], ev: Evaluation | None) -> None:
        if ev is None or not ev.any_hits():
            return
        rule_idx, item_idx = ev.hit_pairs()
        hits = []
        for ri, ii in zip(rule_idx.tolist(), item_idx.tolist(), strict=True):
            ref = ev.rules[ri].ref
            if ref.id is not None and not rows[ii].is_gold:
                hits.append((int(rows[ii].id), ref.id, ref.mode, int(ev.winner[ii]) == ri))
        rules_repo.record_hits(self.conn, self.project_id, hits, self.now)


def _as_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _route(conn: Connection, project: ProjectConfig, chunks: Iterable[Sequence[Any]], *,
           pending: list[tuple[str, dict[str, Any]]] | None,
           now: datetime | None = None, rng: random.Random | None = None,
           summary: RoutingSummary | None = None) -> RoutingSummary:
    summary = summary or RoutingSummary()
    now = now or runtime.current().clock()
    planner = RoutePlanner(project, now, rng or random.Random())
    pg = is_pg(conn)

    def stored_time(dt: datetime | None) -> Any:
        # SQLite keeps times as text in the form the driver's datetime adapter writes.
        return dt if pg or dt is None else dt.isoformat(" ")

    now_iso = now.isoformat() + "Z"
    last_ingested: tuple[Any, datetime] = (None, now)
    rules = _RulePass(conn, project.id, planner, now)
    for rows in chunks:
        if not rows:
            continue
        fresh = _score_missing(conn, project, rows, summary)
        scored = [_scores(r, fresh.get(r.id)) for r in rows]
        outcomes = rules.evaluate(rows, scored)
        staged: list[tuple[Any, ...]] = []
        for n, r in enumerate(rows):
            score, detail, version, new_score, new_scores, new_version = scored[n]
            if r.ingested_at != last_ingested[0]:  # one import batch shares one time
                ingested = r.ingested_at if isinstance(r.ingested_at, datetime) else \
                    datetime.fromisoformat(r.ingested_at)
                last_ingested = (r.ingested_at, ingested)
            plan = planner.plan(product=r.product, score=score, detail=detail,
                                version=version, views=r.view_count,
                                reported=bool(r.user_reported), ingested_at=last_ingested[1],
                                is_gold=bool(r.is_gold),
                                rule=outcomes.outcome(n, hits=False) if outcomes else None)
            count_plan(summary, plan)
            staged.append((r.id, plan.route, plan.state, stored_time(plan.due_at),
                           plan.priority, plan.sampled, plan.final_labels, plan.final_action,
                           new_score, new_scores, new_version, *plan[7:]))
            if pending is not None and plan.final_action is not None:
                pending.append((events.DECISION, {
                    "project": project.key, "item_id": r.id, "external_id": r.external_id,
                    "labels": loads(plan.final_labels), "action": plan.final_action,
                    "source": "machine", "decided_at": now_iso}))
        _stage(conn, staged)
        ids = [r.id for r in rows]
        _apply(conn, project, now, min(ids), max(ids))
        rules.log(rows, outcomes)
    if not summary.items:
        return summary
    _audit(conn, "system", "items.route", "project", project.id, project.id,
           after={"items": summary.items, "auto_action": summary.auto_action,
                  "auto_clear": summary.auto_clear, "human": summary.human,
                  "unscored": summary.unscored, "prevalence_sample": summary.prevalence_sample,
                  "audit_sampled": summary.audit_sampled,
                  "thresholds": {"auto_action": project.auto_action_threshold,
                                 "auto_clear": project.auto_clear_threshold}})
    return summary
