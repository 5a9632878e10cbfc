"""The demo world: 30 days of a Korean moderation operation, simulated through the real queue.

Why a simulation and not a fixture: dashboards, scorecards, alerts and reports are only
believable if every number comes out of the same code paths production uses. So the world is
built by *driving the real queue* (``next_task`` / ``submit`` / ``skip`` / ``flag`` /
``next_review`` / ``decide`` / ``open_appeal``) with a simulated clock (every queue call takes
``now=``), over real Korean comments (BEEP!, CC BY-SA 4.0) scored by the built-in model.

What is in it (see ``docs/demo.md`` for the story and the numbers):

* two projects over three products — ``kr-comments`` (comment + short_video, k = 3, 24 h SLA,
  12 h for short video) and ``kr-live`` (LIVE chat, k = 1, 1 h SLA);
* 20 labelers in three shift teams (Seoul A days, Seoul B evenings, Vendor C nights) with
  their own speed and accuracy — two of them weak — plus three reviewers;
* gold items from BEEP!'s labelled train split, audits, escalations, flags, skips, appeals;
* a **trending-news spike** (a celebrity scandal: harassment decisions triple and the name
  surges in the comments) ``spike_days_before_end`` days before the end;
* an **SLA breach** on the final day: a LIVE chat raid handled by a single on-call labeler,
  then the LIVE team offline for the last hours, so the world ends with LIVE items past SLA.

Deterministic: the same ``WorldConfig`` (seed, size and ``end``) gives the same world. The
event loop is a discrete-event simulation ordered by simulated time, so causality holds (a
task is leased before it is submitted, an item decided before it is appealed).

Reusable: tests build a small world on SQLite; benchmarks and the CLI build the default one.
"""


from __future__ import annotations

import heapq
import math
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from sqlalchemy import Connection, Engine, select, text

from modops.domain import Action, ItemState, ModOpsError, Route
from modops.domain.states import set_state
from modops.io import ImportContext, import_file
from modops.io.importer import AfterInsert
from modops.projects import update_project
from modops.queue import decide, flag, next_review, next_task, open_appeal, skip, submit
from modops.queue.config import ProjectConfig
from modops.queue.core import load_project, write_tx
from modops.queue.routing import route_items
from modops.queue.runtime import QueueRuntime, using
from modops.simulate.agents import (
    LABELERS,
    ON_CALL,
    PRODUCT_TIME,
    REVIEWERS,
    TEAMS,
    WEAK_LABELERS,
    Agent,
    answer,
    shifts,
)
from modops.simulate.opening import Opening, open_the_floor
from modops.simulate.progress import Phases, phases
from modops.simulate.scenario import (
    ATTRIBUTION,
    COMMENTS,
    LIVE,
    WORLD_MARKER,
    WorldConfig,
    WorldSummary,
    create_world_projects,
    world_exists,
)
from modops.simulate.stream import Stream, StreamItem, beep_gold
from modops.store import session_scope, utcnow
from modops.store.models import Project

__all__ = ["ATTRIBUTION", "COMMENTS", "LABELERS", "LIVE", "REVIEWERS", "WEAK_LABELERS",
           "WorldConfig", "WorldSummary", "build_world", "headline_numbers", "print_world",
           "world_exists"]


class _Sim:
    """Discrete-event simulation: a heap of (time, seq, handler, args) run in time order."""

    def __init__(self, engine: Engine, cfg: WorldConfig, stream: Stream, start: datetime,
                 end: datetime) -> None:
        self.engine, self.cfg, self.stream = engine, cfg, stream
        self.start, self.end = start, end
        self.rng = random.Random(cfg.seed + 1)
        self.route_rng = random.Random(cfg.seed + 2)
        self.now = start
        # The queue's own draws (gold mix-in, audit sampling) seeded, so the world is
        # reproducible; its clock is the simulation's; leases are swept once a simulated hour
        # (no simulated lease ever expires: sweeping on every call would only cost time).
        self.runtime = QueueRuntime(rng=random.Random(cfg.seed * 7919 + 1),
                                    audit_rng=random.Random(cfg.seed * 7919 + 2),
                                    clock=lambda: self.now, sweep_interval_s=3600.0)
        self.heap: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = []
        self.seq = 0
        self.calls: Counter[str] = Counter()
        self.truth = {i.external_id: i.truth for i in stream.items}
        self.product = {i.external_id: i.product for i in stream.items}
        self.projects: dict[str, ProjectConfig] = {}
        self.by_tick: dict[tuple[str, datetime], list[int]] = {}
        self.idle: dict[str, set[int]] = {COMMENTS: set(), LIVE: set()}
        self.idle_reviewers: set[int] = set()
        self.agents: list[Agent] = []
        self.reviewers: list[Agent] = []
        self.actions: dict[str, str] = {}
        self.live_cutoff = end - timedelta(hours=cfg.live_offline_hours)
        self.final_day = end - timedelta(days=1)

    # -- scheduling
    def at(self, t: datetime, fn: Callable[..., None], *args: Any) -> None:
        if t <= self.end:
            self.seq += 1
            heapq.heappush(self.heap, (t, self.seq, fn, args))

    def wake_at(self, t: datetime, fn: Callable[..., None], agent: Agent) -> None:
        """Schedule an agent's next wake, superseding any wake already pending for them."""
        agent.gen += 1
        self.at(t, self._agent_event, fn, agent, agent.gen)

    def _agent_event(self, t: datetime, fn: Callable[..., None], agent: Agent,
                     gen: int) -> None:
        if gen == agent.gen:
            fn(t, agent)

    def run(self, on_progress: Callable[[datetime], None] | None = None) -> None:
        n = 0
        while self.heap:
            t, _seq, fn, args = heapq.heappop(self.heap)
            self.now = t
            fn(t, *args)
            n += 1
            if on_progress is not None and n % 256 == 0:
                on_progress(t)

    # -- set-up
    def setup(self, gold: list[tuple[str, str]]) -> None:
        with self.engine.connect() as conn:
            users: dict[str, int] = dict(conn.execute(text("SELECT username, id FROM users")).all())
            for key in (COMMENTS, LIVE):
                self.projects[key] = load_project(conn, key)
        rules = self.projects[COMMENTS].rules
        self.actions = {k: v.action.value for k, v in rules.labels.items()}
        for i, p in enumerate(LABELERS):
            team = next(t for t in TEAMS if t.name == p.team)
            agent = Agent(users[p.username], p.username,
                           shifts(team.shift_start_utc, p.off_days, self.start, self.end),
                           random.Random(self.cfg.seed * 1000 + i), profile=p)
            self.agents.append(agent)
            first = agent.next_on(self.start + timedelta(minutes=1))
            if first is not None:
                self.wake_at(first, self.wake, agent)
        for i, r in enumerate(REVIEWERS):
            agent = Agent(users[r.username], r.username,
                           shifts(r.shift_start_utc, (), self.start, self.end),
                           random.Random(self.cfg.seed * 2000 + i), reviewer=r)
            self.reviewers.append(agent)
            first = agent.next_on(self.start + timedelta(minutes=1))
            if first is not None:
                self.wake_at(first, self.review_wake, agent)
        on_call = next(a for a in self.agents if a.username == ON_CALL)
        self.at(self.final_day, self.call_in, on_call)
        self._import_gold(gold)
        days: dict[tuple[str, datetime], list[StreamItem]] = {}
        for item in self.stream.items:
            day = self.start + timedelta(days=(item.tick - self.start) // timedelta(days=1))
            days.setdefault((item.project, day), []).append(item)
        for (project, day), items in sorted(days.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            self.at(day, self.import_day, project, items)

    def _import_gold(self, gold: list[tuple[str, str]]) -> None:
        rows: list[dict[str, Any]] = [
                {"external_id": f"gold-{n:04d}", "product": "comment", "comment": c,
                 "created_at": self.start.isoformat() + "Z", "is_gold": True,
                 "gold_labels": [label],
                 "metadata": {"source": "BEEP! labelled train split (CC BY-SA 4.0)"}}
                for n, (c, label) in enumerate(gold)]
        for row in rows:
            self.truth[row["external_id"]] = row["gold_labels"]
            self.product[row["external_id"]] = "comment"

        def hook(conn: Connection, ctx: ImportContext) -> None:
            # Gold items are known answers, not content under an SLA: they never fall due.
            conn.execute(text(set_state(
                "items", ItemState.QUEUED, where="project_id = :p AND import_batch = :b",
                also=f"ingested_at = :t, created_at = :t, route = '{Route.HUMAN}', "
                     "due_at = NULL")),
                {"t": self.start, "p": ctx.project_id, "b": ctx.batch_id})

        self._import(COMMENTS, rows, hook)

    def _import(self, project: str, rows: list[dict[str, Any]],
                hook: Callable[[Connection, ImportContext], None]) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{project}.jsonl"
            path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
            # Not ``ingest_file``: the simulated day's items are routed on their own arrival
            # ticks (``route_tick``), as a live stream would be, not when the file lands.
            import_file(self.engine, project, path, "jsonl", actor="demo",
                        after_insert=AfterInsert(hook))

    # -- arrivals and routing
    def import_day(self, t: datetime, project: str, items: list[StreamItem]) -> None:
        """A day's content lands in the store unrouted (state ``new``, no tasks) and is
        stamped with its real arrival and creation times and its machine scores; it becomes
        work only when its half-hour tick routes it."""
        by_id = {i.external_id: i for i in items}

        def hook(conn: Connection, ctx: ImportContext) -> None:
            rows = conn.execute(text(
                "SELECT id, external_id FROM items WHERE project_id = :p AND import_batch = :b"),
                {"p": ctx.project_id, "b": ctx.batch_id}).all()
            params = []
            for item_id, ext in rows:
                it = by_id[ext]
                s = it.score
                params.append({"i": item_id, "ing": it.tick, "s": s.harm, "v": s.model_version,
                               "d": orjson.dumps({"severity": s.severity, "targets": s.targets,
                                                  "profanity": s.profanity}).decode()})
                self.by_tick.setdefault((project, it.tick), []).append(item_id)
            conn.execute(text(
                "UPDATE items SET ingested_at = :ing, machine_score = :s, machine_scores = :d, "
                "model_version = :v WHERE id = :i"), params)

        self._import(project, [i.row() for i in items], hook)
        for tick in sorted({i.tick for i in items}):
            self.at(tick, self.route_tick, project)

    def route_tick(self, t: datetime, project: str) -> None:
        ids = self.by_tick.pop((project, t), None)
        if not ids:
            return
        config = self.projects[project]
        with write_tx(self.engine) as (conn, _):
            summary = route_items(conn, config, ids, pending=None, now=t, rng=self.route_rng)
            marks = ", ".join(str(i) for i in ids)
            removed = [r[0] for r in conn.execute(text(
                f"SELECT external_id FROM items WHERE id IN ({marks}) "
                f"AND state = '{ItemState.DECIDED}' AND final_action = '{Action.REMOVE}'"))]
        self.calls["route"] += 1
        for ext in removed:
            self.maybe_appeal(t, project, ext, machine=True)
        slots = (summary.human + summary.unscored + summary.prevalence_sample) * \
            config.overlap_k
        ready = []
        for idx in sorted(self.idle[project]):
            agent = self.agents[idx]
            on = self.on_duty(agent, t)
            if on != t:  # went idle at the end of a shift: off the idle list till the next
                for key in self.idle:
                    self.idle[key].discard(idx)
                if on is not None:
                    self.wake_at(on, self.wake, agent)
            else:
                ready.append(idx)
        self.rng.shuffle(ready)
        for idx in ready[:slots]:
            agent = self.agents[idx]
            for key in self.idle:
                self.idle[key].discard(idx)
            self.wake_at(t + timedelta(seconds=self.rng.uniform(5, 90)), self.wake, agent)
        if summary.audit_sampled:
            self.wake_reviewers(t)

    # -- labelers
    def projects_for(self, agent: Agent, t: datetime) -> tuple[str, ...]:
        p = agent.profile
        assert p is not None
        if t >= self.final_day:  # the breach day: LIVE has one on-call labeler, then nobody
            if p.username == ON_CALL and t < self.live_cutoff:
                return (LIVE,)
            return (COMMENTS,)
        return (LIVE, COMMENTS) if p.live else (COMMENTS,)

    def on_duty(self, agent: Agent, t: datetime) -> datetime | None:
        if agent.profile is not None and agent.profile.username == ON_CALL and \
                self.final_day <= t < self.live_cutoff:
            return t  # on call for LIVE all through the breach day
        return agent.next_on(t)

    def call_in(self, t: datetime, agent: Agent) -> None:
        """The breach day starts: the on-call labeler is paged (even on a day off)."""
        if not agent.busy:
            index = self.agents.index(agent)
            for key in self.idle:
                self.idle[key].discard(index)
            self.wake_at(t, self.wake, agent)

    def wake(self, t: datetime, agent: Agent) -> None:
        on = self.on_duty(agent, t)
        if on is None:
            return
        if on > t:
            self.wake_at(on, self.wake, agent)
            return
        index = self.agents.index(agent)
        for project in self.projects_for(agent, t):
            task = next_task(self.engine, project, agent.user_id, now=t)
            self.calls["next_task"] += 1
            if task is not None:
                ext = task.item.external_id
                p = agent.profile
                assert p is not None
                factor = PRODUCT_TIME.get(self.product.get(ext, "comment"), 1.0)
                secs = agent.rng.lognormvariate(math.log(p.median_s * factor), 0.45)
                done = t + timedelta(seconds=min(540.0, max(3.0, secs)))
                agent.busy = True
                self.at(done, self.finish, agent, project, task.task_id, ext)
                return
        for project in self.projects_for(agent, t):
            self.idle[project].add(index)

    def finish(self, t: datetime, agent: Agent, project: str, task_id: int, ext: str) -> None:
        p = agent.profile
        assert p is not None
        agent.busy = False
        rng = agent.rng
        truth = self.truth.get(ext, ["none"])
        u = rng.random()
        try:
            if u < 0.008 and not ext.startswith("gold-"):
                skip(self.engine, task_id, agent.user_id, reason="모르는 맥락 · unfamiliar context",
                     now=t)
            elif u < 0.008 + p.flag_rate and not ext.startswith("gold-"):
                flag(self.engine, task_id, agent.user_id,
                     note="정책 확인 필요 · unsure which policy applies", now=t)
                self.wake_reviewers(t)
            else:
                result = submit(self.engine, task_id, agent.user_id,
                                answer(rng, truth, p.accuracy), now=t)
                if result.escalated:
                    self.wake_reviewers(t)
                elif result.item_state == ItemState.DECIDED and result.decided_labels and \
                        self.actions.get(result.decided_labels[0]) == "remove":
                    self.maybe_appeal(t, project, ext, machine=False)
        except ModOpsError:
            pass  # e.g. the item was escalated by a flag meanwhile: the slot is gone
        self.calls["answer"] += 1
        gap = rng.uniform(3, 20) if rng.random() > 0.02 else rng.uniform(600, 1200)
        self.wake_at(t + timedelta(seconds=gap), self.wake, agent)

    # -- appeals and reviewers
    def maybe_appeal(self, t: datetime, project: str, ext: str, *, machine: bool) -> None:
        rate = self.cfg.appeal_rate * (1.5 if machine else 1.0)
        if self.rng.random() < rate:
            self.at(t + timedelta(hours=self.rng.uniform(2, 40)), self.appeal, project, ext)

    def appeal(self, t: datetime, project: str, ext: str) -> None:
        reason = self.rng.choice([
            "욕설이 아닙니다 · this is not an insult",
            "문맥상 농담입니다 · it was a joke in context",
            "뉴스에 대한 의견입니다 · it is an opinion about the news"])
        try:
            open_appeal(self.engine, project, ext, opened_by=f"author:{ext}", reason=reason,
                        now=t)
        except ModOpsError:
            return  # already appealed or re-decided meanwhile
        finally:
            self.calls["open_appeal"] += 1
        self.wake_reviewers(t)

    def wake_reviewers(self, t: datetime) -> None:
        for idx in sorted(self.idle_reviewers):
            self.wake_at(t + timedelta(seconds=self.rng.uniform(30, 300)), self.review_wake,
                         self.reviewers[idx])
        self.idle_reviewers.clear()

    def review_wake(self, t: datetime, agent: Agent) -> None:
        self.idle_reviewers.discard(self.reviewers.index(agent))
        on = agent.next_on(t)
        if on is None:
            return
        if on > t:
            self.wake_at(on, self.review_wake, agent)
            return
        r = agent.reviewer
        assert r is not None
        for project in (LIVE, COMMENTS):
            view = next_review(self.engine, project, agent.user_id, now=t)
            self.calls["next_review"] += 1
            if view is not None:
                secs = agent.rng.lognormvariate(math.log(r.median_s), 0.5)
                self.at(t + timedelta(seconds=min(540.0, max(10.0, secs))), self.review_done,
                        agent, view.task_id, view.item.external_id, view.kind)
                return
        # nothing to review: wait for an escalation or appeal, or look again in 2 h (audits)
        self.idle_reviewers.add(self.reviewers.index(agent))
        self.wake_at(t + timedelta(hours=2), self.review_wake, agent)

    def review_done(self, t: datetime, agent: Agent, task_id: int, ext: str,
                    kind: str) -> None:
        r = agent.reviewer
        assert r is not None
        labels = answer(agent.rng, self.truth.get(ext, ["none"]), r.accuracy)
        with suppress(ModOpsError):
            decide(self.engine, task_id, agent.user_id, labels, now=t)
        self.calls["decide"] += 1
        self.wake_at(t + timedelta(seconds=agent.rng.uniform(10, 60)), self.review_wake, agent)


# ----------------------------------------------------------------------------- public API
def build_world(engine: Engine, config: WorldConfig | None = None,
                console: Console | None = None, steps: Phases | None = None) \
        -> WorldSummary | None:
    """Build the demo world in ``engine`` (migrated), or return None if one is already there.

    Each phase prints a line and its time (``steps``, a bar on a terminal); see docs/demo.md
    for measured build times.
    """
    console = console or Console()
    steps = steps or phases(console)
    cfg = config or WorldConfig()
    if world_exists(engine):
        console.print("A demo world is already in this store: nothing added.")
        return None
    t0 = time.perf_counter()
    end = cfg.end or utcnow().replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=cfg.days)
    console.print(f"Building the demo world: {cfg.days} days, {start:%Y-%m-%d %H:%M} → "
                  f"{end:%Y-%m-%d %H:%M} UTC, seed {cfg.seed}")
    with steps.phase("stream", "content stream: real comments, scored by the built-in model"):
        stream = Stream(cfg, start, end)
        stream.score_and_plant(console)
        gold = beep_gold(cfg.gold_items, cfg.seed)
        create_world_projects(engine, cfg, start, end)
    sim = _Sim(engine, cfg, stream, start, end)
    with using(sim.runtime):
        with steps.phase("simulate", f"{cfg.days} simulated days through the real queue",
                         total=cfg.days) as step:
            sim.setup(gold)
            sim.run(lambda t: step.update((t - start) / timedelta(days=1)))
        if cfg.open_work:
            with steps.phase("opening", "opening work for every role (kr-comments)"):
                opened = open_the_floor(sim, Opening())
            console.print(f"  {opened.fresh_items} fresh items; open tasks "
                          f"{opened.open_counts}")
    _mark_built(engine, len(stream.items) + len(gold))
    if cfg.alert_replay_days > 0:
        with steps.phase("alerts", f"alert scheduler replayed over {cfg.alert_replay_days} "
                                   "days"):
            _replay(engine, cfg, start, end)
    summary = headline_numbers(engine, start, end, stream.spike_start, stream.spike_end)
    summary.queue_calls = dict(sim.calls)
    summary.seconds = time.perf_counter() - t0
    return summary


def _mark_built(engine: Engine, items: int) -> None:
    with session_scope(engine) as s:
        lp = s.scalar(select(Project).where(Project.key == LIVE))
        assert lp is not None
        settings = dict(lp.settings or {})
        settings[WORLD_MARKER] = {**settings[WORLD_MARKER], "building": False, "items": items}
        update_project(s, lp, {"settings": settings}, actor="demo")


def _replay(engine: Engine, cfg: WorldConfig, start: datetime, end: datetime) -> None:
    from modops.notify.alerts import replay_alerts

    since = max(start, end - timedelta(days=cfg.alert_replay_days))
    for key in (COMMENTS, LIVE):
        replay_alerts(engine, key, since, end, timedelta(hours=cfg.alert_step_hours))


# items still waiting for a decision
_OPEN_STATES = ", ".join(f"'{s}'" for s in (ItemState.NEW, ItemState.QUEUED, ItemState.ESCALATED))


def headline_numbers(engine: Engine, start: datetime, end: datetime,
                     spike_start: datetime, spike_end: datetime) -> WorldSummary:
    """The world's headline numbers, straight from the database."""
    out = WorldSummary(start=start, end=end, spike_window=(spike_start, spike_end),
                       breach_window=(end - timedelta(days=1), end))
    with engine.connect() as conn:
        def one(sql: str, **kw: Any) -> int:
            return int(conn.execute(text(sql), kw).scalar() or 0)

        for key in (COMMENTS, LIVE):
            pid = one("SELECT id FROM projects WHERE key = :k", k=key)
            out.by_project[key] = {
                "items": one("SELECT count(*) FROM items WHERE project_id = :p AND NOT is_gold",
                             p=pid),
                "decided": one("SELECT count(*) FROM items WHERE project_id = :p "
                               "AND final_labels IS NOT NULL", p=pid),
                "open": one("SELECT count(*) FROM items WHERE project_id = :p AND NOT is_gold "
                            f"AND state IN ({_OPEN_STATES})", p=pid),
                "past_sla_open": one(
                    "SELECT count(*) FROM items WHERE project_id = :p AND due_at < :now "
                    f"AND state IN ({_OPEN_STATES})", p=pid, now=end),
                "decided_late": one("SELECT count(*) FROM items WHERE project_id = :p "
                                    "AND decided_at > due_at", p=pid),
                "annotations": one("SELECT count(*) FROM annotations WHERE project_id = :p",
                                   p=pid),
            }
        out.items = one("SELECT count(*) FROM items WHERE NOT is_gold")
        out.gold_items = one("SELECT count(*) FROM items WHERE is_gold")
        out.annotations = one("SELECT count(*) FROM annotations")
        out.decided = one("SELECT count(*) FROM decisions WHERE current")
        out.escalations = one("SELECT count(*) FROM items WHERE escalated_at IS NOT NULL")
        out.appeals = one("SELECT count(*) FROM appeals")
        out.audits_done = one("SELECT count(*) FROM annotations WHERE kind = 'audit'")
    return out


def print_world(summary: WorldSummary, console: Console) -> None:
    """The headline numbers, as the CLI prints them after a build."""
    console.print(
        f"Demo world built in {summary.seconds:.0f} s "
        f"({sum(summary.queue_calls.values()):,} queue calls): "
        f"{summary.items:,} items + {summary.gold_items} gold, {summary.annotations:,} "
        f"answers, {summary.decided:,} decided, {summary.escalations:,} escalations, "
        f"{summary.appeals:,} appeals, {summary.audits_done:,} audits.")
    for key, row in summary.by_project.items():
        console.print(f"  {key:12} " + ", ".join(f"{k} {v:,}" for k, v in row.items()))
    s0, s1 = summary.spike_window
    console.print(f"  planted: trending-news spike {s0:%m-%d %H:%M}–{s1:%m-%d %H:%M} UTC "
                  f"(kr-comments); LIVE SLA breach in the last 24 h (kr-live).")
