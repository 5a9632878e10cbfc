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
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from sqlalchemy import Connection, Engine, select, text

from modops.accounts import add_user
from modops.domain import ItemState, ModOpsError, Route
from modops.domain.states import set_state
from modops.io import ImportContext, import_file
from modops.io.importer import AfterInsert
from modops.machine import get_scorer, item_text
from modops.projects import create_project, load_spec, update_project
from modops.queue import decide, flag, next_review, next_task, open_appeal, skip, submit
from modops.queue import decisions as _decisions
from modops.queue import dispense as _dispense
from modops.queue.core import ProjectConfig, load_project, write_tx
from modops.queue.routing import route_items
from modops.store import session_scope, utcnow
from modops.store.models import Project, User

REPO = Path(__file__).resolve().parents[3]
COMMENTS = "kr-comments"
LIVE = "kr-live"
WORLD_MARKER = "demo_world"  # projects.settings key on kr-live: the world was built
ATTRIBUTION = (
    "Korean comments: BEEP! Korean HateSpeech Dataset (Moon, Cho & Lee, SocialNLP 2020, "
    "https://github.com/kocohub/korean-hate-speech), CC BY-SA 4.0."
)
# Comments whose news title mentions this story are held back for the spike day.
SPIKE_TERMS = ("프로포폴", "하정우")
TICK = timedelta(minutes=30)  # content arrives in half-hourly batches

# BEEP! severity → the taxonomy's keys; the model's target heads → hate sub-labels.
BEEP_TO_TAXONOMY = {"hate": "hate", "offensive": "harassment", "none": "none"}
TARGET_TO_LABEL = {"gender": "hate.gender", "origin": "hate.region", "politics": "hate.politics",
                   "age": "hate.age", "religion": "hate.religion", "race": "hate.race",
                   "physical": "hate.disability"}
# What a labeler picks when wrong, by the true label's family (plausible confusions).
CONFUSIONS: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "none": (("harassment", "profanity", "hate"), (0.6, 0.3, 0.1)),
    "harassment": (("none", "profanity", "hate"), (0.5, 0.3, 0.2)),
    "profanity": (("harassment", "none"), (0.6, 0.4)),
    "hate": (("harassment", "none", "hate"), (0.55, 0.25, 0.2)),
}
PRODUCT_TIME = {"comment": 1.0, "short_video": 1.8, "live": 2.2}  # handle-time factor


@dataclass(frozen=True, slots=True)
class Team:
    name: str
    vendor: str | None
    shift_start_utc: int  # hour; shifts last 9 h (Seoul A = 09–18 KST)
    hourly_cost: float


TEAMS = (
    Team("Seoul A", None, 0, 24.0),      # 09:00–18:00 KST
    Team("Seoul B", None, 8, 24.0),      # 17:00–02:00 KST
    Team("Vendor C", "Vendor C Ltd.", 16, 15.0),  # 01:00–10:00 KST
)


@dataclass(frozen=True, slots=True)
class LabelerProfile:
    """A simulated labeler: who they are and how they work (the truth the scorecards find)."""

    username: str
    team: str
    accuracy: float  # chance of the true label
    median_s: float  # median handle time on a comment
    live: bool = False  # LIVE specialist: pulls kr-live first
    off_days: tuple[int, ...] = (5, 6)  # weekdays off (0 = Monday)
    flag_rate: float = 0.006
    password: str | None = None


# labeler1–4 keep the passwords the web tests and README use (see demo.DEMO_USERS).
LABELERS: tuple[LabelerProfile, ...] = (
    LabelerProfile("labeler1", "Seoul A", 0.93, 22, live=True, off_days=(5, 6),
                   password="labeler-pass-1"),
    LabelerProfile("labeler2", "Seoul A", 0.90, 26, password="labeler-pass-2"),
    LabelerProfile("seoul.a.jiwoo", "Seoul A", 0.92, 30, live=True, off_days=(2, 3)),
    LabelerProfile("seoul.a.minjun", "Seoul A", 0.88, 18, off_days=(0, 1)),
    LabelerProfile("seoul.a.seoyeon", "Seoul A", 0.94, 34, off_days=(3, 4)),
    LabelerProfile("seoul.a.hyunwoo", "Seoul A", 0.86, 24, off_days=(4, 5)),
    LabelerProfile("seoul.a.yuna", "Seoul A", 0.91, 28, off_days=(6, 0)),
    LabelerProfile("labeler3", "Seoul B", 0.89, 25, live=True, off_days=(5, 6),
                   password="labeler-pass-3"),
    LabelerProfile("seoul.b.doyun", "Seoul B", 0.90, 21, live=True, off_days=(2, 3)),
    LabelerProfile("seoul.b.haeun", "Seoul B", 0.87, 27, off_days=(0, 1)),
    # weak #1: fast and careless — the scorecards should find them
    LabelerProfile("seoul.b.junho", "Seoul B", 0.62, 11, off_days=(3, 4), flag_rate=0.002),
    LabelerProfile("seoul.b.sua", "Seoul B", 0.92, 31, off_days=(4, 5)),
    LabelerProfile("seoul.b.eunwoo", "Seoul B", 0.88, 23, off_days=(6, 0)),
    LabelerProfile("labeler4", "Vendor C", 0.85, 24, live=True, off_days=(5, 6),
                   password="labeler-pass-4"),
    LabelerProfile("vendor.c.taeyang", "Vendor C", 0.86, 20, live=True, off_days=(2, 3)),
    LabelerProfile("vendor.c.nari", "Vendor C", 0.84, 26, off_days=(0, 1)),
    # weak #2: slow and unsure (flags a lot), still often wrong
    LabelerProfile("vendor.c.somin", "Vendor C", 0.65, 44, off_days=(3, 4), flag_rate=0.03),
    LabelerProfile("vendor.c.gunwoo", "Vendor C", 0.87, 22, off_days=(4, 5)),
    LabelerProfile("vendor.c.hana", "Vendor C", 0.83, 29, off_days=(6, 0)),
    LabelerProfile("vendor.c.jisoo", "Vendor C", 0.88, 25, off_days=(1, 2)),
)
WEAK_LABELERS = ("seoul.b.junho", "vendor.c.somin")
# On the final day the LIVE team is at an offsite: one on-call labeler works kr-live.
ON_CALL = "vendor.c.taeyang"


@dataclass(frozen=True, slots=True)
class ReviewerProfile:
    username: str
    team: str | None
    shift_start_utc: int
    accuracy: float = 0.97
    median_s: float = 75.0
    password: str | None = None


REVIEWERS: tuple[ReviewerProfile, ...] = (
    ReviewerProfile("reviewer", None, 0, password="reviewer-pass-1"),
    ReviewerProfile("qa.kim", "Seoul B", 8),
    ReviewerProfile("qa.park", "Vendor C", 16),
)


@dataclass(frozen=True, slots=True)
class WorldConfig:
    """Size and shape of the world. ``end=None`` ends it now (floored to the hour)."""

    seed: int = 9
    days: int = 30
    comments_per_day: int = 125  # kr-comments stream (comment 80 %, short_video 20 %)
    live_per_day: int = 42  # kr-live stream
    gold_items: int = 150
    end: datetime | None = None
    spike_days_before_end: int = 4  # the spike day ends this many days before ``end``
    spike_factor: float = 0.8  # extra celebrity comments on the spike day, × comments_per_day
    raid_items: int = 200  # LIVE chat-raid items on the final day (one on-call labeler)
    live_offline_hours: int = 6  # the LIVE team is offline for the last hours (≥ 5)
    appeal_rate: float = 0.06  # share of removals the author appeals

    @classmethod
    def for_items(cls, n_items: int, **kw: Any) -> WorldConfig:
        """A world whose 30-day stream holds about ``n_items`` comments (3:1 comments:LIVE)."""
        days = int(kw.pop("days", 30))
        per_day = max(4, n_items // days)
        return cls(days=days, comments_per_day=max(3, round(per_day * 0.75)),
                   live_per_day=max(1, round(per_day * 0.25)), **kw)


@dataclass(slots=True)
class WorldSummary:
    """The headline numbers the demo prints (and the tests check against the database)."""

    start: datetime
    end: datetime
    spike_window: tuple[datetime, datetime]
    breach_window: tuple[datetime, datetime]
    items: int = 0
    gold_items: int = 0
    annotations: int = 0
    decided: int = 0
    escalations: int = 0
    appeals: int = 0
    audits_done: int = 0
    queue_calls: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    by_project: dict[str, dict[str, int]] = field(default_factory=dict)


# ----------------------------------------------------------------------------- the stream
@dataclass(slots=True)
class _Item:
    external_id: str
    project: str
    product: str
    title: str
    body: str
    tick: datetime
    truth: list[str]
    created: datetime
    views: int
    reported: bool
    score: Any = None  # MachineScore

    def row(self) -> dict[str, Any]:
        text_field = "caption" if self.product == "short_video" else "comment"
        title = f"[LIVE] {self.title}" if self.product == "live" else self.title
        return {"external_id": self.external_id, "product": self.product, "title": title,
                text_field: self.body, "created_at": self.created.isoformat() + "Z",
                "view_count": self.views, "user_reported": self.reported,
                "metadata": {"source": "BEEP! unlabeled comments (CC BY-SA 4.0)",
                             "news_title": self.title,
                             "author_region": "KR" if self.views % 7 else "JP"}}


def _truth_from_score(score: Any, rng: random.Random) -> list[str]:
    """The item's "true" label: the model's strongest head, with noise (the model is not an
    oracle, and humans must be able to disagree with it)."""
    sev = score.severity
    if rng.random() < 0.8:
        head = max(sev, key=sev.get)
    else:
        head = rng.choices(list(sev), weights=list(sev.values()))[0]
    if head == "hate":
        target = max(score.targets, key=score.targets.get)
        if score.targets[target] >= 0.3 and target in TARGET_TO_LABEL:
            return [TARGET_TO_LABEL[target]]
        return ["hate"]
    if head == "offensive":
        return ["profanity"] if score.profanity >= 0.45 else ["harassment"]
    return ["none"]


def _diurnal_weight(t: datetime) -> float:
    """Korean evening peak: content volume by KST hour."""
    hours_from_peak = (t.hour + 9 - 21) % 24  # peak at 21:00 KST
    if hours_from_peak >= 12:
        hours_from_peak -= 24
    return 0.35 + math.exp(-hours_from_peak ** 2 / 18.0)


def beep_gold(n: int, seed: int) -> list[tuple[str, str]]:
    """(comment, taxonomy label) pairs from BEEP!'s labelled train split, class-balanced."""
    from modops.simulate.demo import data_dir

    path = data_dir() / "korean-hate-speech" / "labeled" / "train.tsv"
    by_label: dict[str, list[str]] = {}
    for line in path.read_text("utf-8").splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 4 and parts[3] in BEEP_TO_TAXONOMY:
            by_label.setdefault(BEEP_TO_TAXONOMY[parts[3]], []).append(parts[0].strip())
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for label in sorted(by_label):
        pool = by_label[label]
        out += [(c, label) for c in rng.sample(pool, min(len(pool), n // 3 + 1))]
    rng.shuffle(out)
    return out[:n]


class _Stream:
    """Every item of the world, with its arrival tick and the truth the labelers answer by."""

    def __init__(self, cfg: WorldConfig, start: datetime, end: datetime) -> None:
        from modops.simulate.demo import beep_unlabeled

        rng = random.Random(cfg.seed)
        pairs = beep_unlabeled()
        spike_pool = [p for p in pairs if any(t in p[1] for t in SPIKE_TERMS)]
        normal = [p for p in pairs if not any(t in p[1] for t in SPIKE_TERMS)]
        rng.shuffle(normal)
        self.items: list[_Item] = []
        self.spike_end = end - timedelta(days=cfg.spike_days_before_end)
        self.spike_start = self.spike_end - timedelta(days=1)
        self.raid_at = end - timedelta(hours=14)
        ticks_per_day = int(timedelta(days=1) / TICK)
        cursor = 0
        seq = Counter[str]()

        def take(n: int) -> list[tuple[str, str]]:
            nonlocal cursor
            out = [normal[(cursor + i) % len(normal)] for i in range(n)]
            cursor += n
            return out

        def add(project: str, product: str, pair: tuple[str, str], tick: datetime) -> _Item:
            seq[project] += 1
            prefix = {"comment": "c", "short_video": "v", "live": "l"}[product]
            views = int(rng.paretovariate(1.1) * (400 if product == "live" else 60))
            item = _Item(f"{prefix}-{tick:%m%d}-{seq[project]:05d}", project, product,
                         pair[1], pair[0], tick, [],
                         tick - timedelta(minutes=rng.randint(1, 25)), views, False)
            self.items.append(item)
            return item

        for day in range(cfg.days):
            day_start = start + timedelta(days=day)
            ticks = [day_start + i * TICK for i in range(ticks_per_day)]
            weights = [_diurnal_weight(t) for t in ticks]
            volume = max(1, round(cfg.comments_per_day * rng.uniform(0.85, 1.15)))
            for pair in take(volume):
                product = "short_video" if rng.random() < 0.2 else "comment"
                add(COMMENTS, product, pair, rng.choices(ticks, weights)[0])
            for pair in take(max(1, round(cfg.live_per_day * rng.uniform(0.85, 1.15)))):
                add(LIVE, "live", pair, rng.choices(ticks, weights)[0])
        self.spike_items: list[_Item] = []
        spike_ticks = [t for t in (self.spike_start + i * TICK for i in range(ticks_per_day))
                       if t >= start]
        n_spike = max(12, round(cfg.comments_per_day * cfg.spike_factor))
        self._spike_pool = spike_pool
        self._spike_n = n_spike
        self._spike_ticks = spike_ticks
        self._rng = rng
        # The raid comes in two waves: the first is worked (late) by the on-call labeler, the
        # second lands after the LIVE team went offline and is still waiting at the end.
        first = [self.raid_at, self.raid_at + TICK]
        second = [end - timedelta(hours=4), end - timedelta(hours=3, minutes=30)]
        for pair in take(cfg.raid_items):
            add(LIVE, "live", pair, rng.choice(first if rng.random() < 0.75 else second))

    def score_and_plant(self, console: Console) -> None:
        """Score everything with the built-in model, derive the truth, plant the spike."""
        scorer = get_scorer(None)
        t0 = time.perf_counter()
        scores = scorer.score([item_text(i.row()) for i in self.items])
        for item, s in zip(self.items, scores, strict=True):
            item.score = s
            item.truth = _truth_from_score(s, self._rng)
            item.reported = self._rng.random() < (0.12 if item.truth != ["none"] else 0.02)
        # The spike: the most abusive comments under the scandal's headlines, all on one day.
        if self._spike_ticks:
            pool = [{"title": t, "comment": c} for c, t in self._spike_pool]
            pscores = scorer.score([item_text(p) for p in pool])
            # insults rather than hate: the pile-on is harassment (악플), by people and model
            ranked = sorted(((p, s) for p, s in zip(self._spike_pool, pscores, strict=True)
                             if s.severity["offensive"] >= s.severity["hate"]),
                            key=lambda ps: -ps[1].severity["offensive"])
            rng = self._rng
            for n, (pair, s) in enumerate(ranked[: self._spike_n]):
                tick = rng.choice(self._spike_ticks)
                item = _Item(f"c-{tick:%m%d}-s{n:04d}", COMMENTS, "comment", pair[1], pair[0],
                             tick, ["harassment"], tick - timedelta(minutes=rng.randint(1, 25)),
                             int(rng.paretovariate(1.1) * 300), rng.random() < 0.3, s)
                if rng.random() < 0.15:  # a pile-on is mostly insults, some hate, some fine
                    item.truth = _truth_from_score(s, rng)
                self.items.append(item)
                self.spike_items.append(item)
        console.print(f"  scored {len(self.items):,} items in {time.perf_counter() - t0:.1f} s")


# ----------------------------------------------------------------------------- set-up
def _project_specs() -> tuple[dict[str, Any], dict[str, Any]]:
    comments = load_spec(REPO / "examples" / "kr-comments.yaml")
    # 2 of 3 agreeing labelers decide (share 0.667); weaker agreement goes to a reviewer
    comments.update({"gold_rate": 0.08, "audit_rate": 0.03, "escalation_threshold": 0.66,
                     "routing": {"auto_action": 0.9, "auto_clear": 0.08}})
    live = {
        **comments,
        "key": LIVE,
        "name": "LIVE 실시간 채팅 모니터링 (LIVE chat)",
        "description": "LIVE chat and LIVE titles: one labeler per item, 1 h SLA, audited.",
        "products": ["live"],
        "overlap": 1,
        "gold_rate": 0.0,
        "audit_rate": 0.08,
        "sla": "1h",
        "lease": "10m",
        "routing": {"auto_action": 0.9, "auto_clear": 0.08},
        "priority_weights": {"machine_score": 1.0, "views": 1.0, "sla": 4.0, "reports": 2.0},
    }
    return comments, live


def world_exists(engine: Engine) -> bool:
    """True if a demo world was built in this store (its marker is on the kr-live project)."""
    with session_scope(engine) as s:
        project = s.scalar(select(Project).where(Project.key == LIVE))
        return project is not None and WORLD_MARKER in (project.settings or {})


def _create_world_projects(engine: Engine, cfg: WorldConfig, start: datetime,
                           end: datetime) -> None:
    from modops.simulate.demo import DEMO_USERS

    comments, live = _project_specs()
    with session_scope(engine) as s:
        existing = s.scalar(select(Project).where(Project.key == COMMENTS))
        if existing is None:
            project = create_project(s, comments, actor="demo")
        else:
            project = existing
            update_project(s, project, {"gold_rate": 0.08, "audit_rate": 0.03,
                                        "auto_action_threshold": 0.9,
                                        "auto_clear_threshold": 0.08,
                                        "escalation_threshold": 0.66}, actor="demo")
        update_project(s, project, {"settings": {
            **(project.settings or {}), "sla_by_product": {"short_video": 12 * 60},
            "prevalence_rate": 0.02, "score_on_ingest": True}}, actor="demo")
        lp = create_project(s, live, actor="demo")
        update_project(s, lp, {"settings": {
            "sla_by_product": {"live": 60}, "prevalence_rate": 0.02, "score_on_ingest": True,
            WORLD_MARKER: {"seed": cfg.seed, "days": cfg.days, "start": start.isoformat(),
                           "end": end.isoformat(), "building": True}}}, actor="demo")
        from modops.projects.service import ensure_team

        for team in TEAMS:
            t = ensure_team(s, team.name)
            t.vendor, t.hourly_cost = team.vendor, team.hourly_cost
        have = set(s.scalars(select(User.username)))
        demo_pw = {u: pw for u, _r, _t, pw in DEMO_USERS}
        for username, role, team, password in DEMO_USERS:
            if username not in have and role != "labeler":
                add_user(s, username, role, password=password, team=team, skills=["ko"],
                         actor="demo")
                have.add(username)
        for p in LABELERS:
            if p.username not in have:
                add_user(s, p.username, "labeler", password=demo_pw.get(p.username, p.password),
                         team=p.team, skills=["ko"], actor="demo")
        for r in REVIEWERS:
            if r.username not in have:
                add_user(s, r.username, "reviewer", password=r.password, team=r.team,
                         skills=["ko"], actor="demo")


# ----------------------------------------------------------------------------- the simulator
@dataclass(slots=True)
class _Agent:
    user_id: int
    username: str
    shifts: list[tuple[datetime, datetime]]
    rng: random.Random
    profile: LabelerProfile | None = None
    reviewer: ReviewerProfile | None = None
    gen: int = 0  # only the latest scheduled wake of an agent runs (one chain per person)
    busy: bool = False  # holds a leased task (a finish event is pending)

    def next_on(self, t: datetime) -> datetime | None:
        """``t`` if on shift, else the next shift start (None: no more shifts)."""
        for a, b in self.shifts:
            if t < b:
                return max(a, t)
        return None


def _shifts(start_hour: int, off_days: tuple[int, ...], start: datetime, end: datetime,
            hours: int = 9) -> list[tuple[datetime, datetime]]:
    out = []
    day = datetime(start.year, start.month, start.day) - timedelta(days=1)
    while day < end:
        a = day + timedelta(hours=start_hour)
        b = a + timedelta(hours=hours)
        if a.weekday() not in off_days and b > start and a < end:
            out.append((max(a, start), min(b, end)))
        day += timedelta(days=1)
    return out


@contextmanager
def _sim_knobs(seed: int) -> Iterator[None]:
    """Seed the queue's own random draws (gold mix-in, audit sampling) so the world is
    reproducible, and sweep leases once a simulated hour (no simulated lease ever expires;
    sweeping on every call would only cost time). Both are restored afterwards."""
    sweep = _dispense.SWEEP_INTERVAL_S
    d_state, a_state = _dispense._rng.getstate(), _decisions._rng.getstate()
    _dispense._rng.seed(seed * 7919 + 1)
    _decisions._rng.seed(seed * 7919 + 2)
    _dispense.SWEEP_INTERVAL_S = 3600.0
    _dispense._last_sweep.clear()
    try:
        yield
    finally:
        _dispense.SWEEP_INTERVAL_S = sweep
        _dispense._last_sweep.clear()
        _dispense._rng.setstate(d_state)
        _decisions._rng.setstate(a_state)


class _Sim:
    """Discrete-event simulation: a heap of (time, seq, handler, args) run in time order."""

    def __init__(self, engine: Engine, cfg: WorldConfig, stream: _Stream, start: datetime,
                 end: datetime) -> None:
        self.engine, self.cfg, self.stream = engine, cfg, stream
        self.start, self.end = start, end
        self.rng = random.Random(cfg.seed + 1)
        self.route_rng = random.Random(cfg.seed + 2)
        self.heap: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = []
        self.seq = 0
        self.calls: Counter[str] = Counter()
        self.truth = {i.external_id: i.truth for i in stream.items}
        self.product = {i.external_id: i.product for i in stream.items}
        self.projects: dict[str, ProjectConfig] = {}
        self.by_tick: dict[tuple[str, datetime], list[int]] = {}
        self.idle: dict[str, set[int]] = {COMMENTS: set(), LIVE: set()}
        self.idle_reviewers: set[int] = set()
        self.agents: list[_Agent] = []
        self.reviewers: list[_Agent] = []
        self.actions: dict[str, str] = {}
        self.live_cutoff = end - timedelta(hours=cfg.live_offline_hours)
        self.final_day = end - timedelta(days=1)

    # -- scheduling
    def at(self, t: datetime, fn: Callable[..., None], *args: Any) -> None:
        if t <= self.end:
            self.seq += 1
            heapq.heappush(self.heap, (t, self.seq, fn, args))

    def wake_at(self, t: datetime, fn: Callable[..., None], agent: _Agent) -> None:
        """Schedule an agent's next wake, superseding any wake already pending for them."""
        agent.gen += 1
        self.at(t, self._agent_event, fn, agent, agent.gen)

    def _agent_event(self, t: datetime, fn: Callable[..., None], agent: _Agent,
                     gen: int) -> None:
        if gen == agent.gen:
            fn(t, agent)

    def run(self) -> None:
        while self.heap:
            t, _seq, fn, args = heapq.heappop(self.heap)
            fn(t, *args)

    # -- set-up
    def setup(self, gold: list[tuple[str, str]]) -> None:
        with self.engine.connect() as conn:
            users = dict(conn.execute(text("SELECT username, id FROM users")).all())
            for key in (COMMENTS, LIVE):
                self.projects[key] = load_project(conn, key)
        rules = self.projects[COMMENTS].rules
        self.actions = {k: v.action.value for k, v in rules.labels.items()}
        for i, p in enumerate(LABELERS):
            team = next(t for t in TEAMS if t.name == p.team)
            agent = _Agent(users[p.username], p.username,
                           _shifts(team.shift_start_utc, p.off_days, self.start, self.end),
                           random.Random(self.cfg.seed * 1000 + i), profile=p)
            self.agents.append(agent)
            first = agent.next_on(self.start + timedelta(minutes=1))
            if first is not None:
                self.wake_at(first, self.wake, agent)
        for i, r in enumerate(REVIEWERS):
            agent = _Agent(users[r.username], r.username,
                           _shifts(r.shift_start_utc, (), self.start, self.end),
                           random.Random(self.cfg.seed * 2000 + i), reviewer=r)
            self.reviewers.append(agent)
            first = agent.next_on(self.start + timedelta(minutes=1))
            if first is not None:
                self.wake_at(first, self.review_wake, agent)
        on_call = next(a for a in self.agents if a.username == ON_CALL)
        self.at(self.final_day, self.call_in, on_call)
        self._import_gold(gold)
        days: dict[tuple[str, datetime], list[_Item]] = {}
        for item in self.stream.items:
            day = self.start + timedelta(days=(item.tick - self.start) // timedelta(days=1))
            days.setdefault((item.project, day), []).append(item)
        for (project, day), items in sorted(days.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            self.at(day, self.import_day, project, items)

    def _import_gold(self, gold: list[tuple[str, str]]) -> None:
        rows = [{"external_id": f"gold-{n:04d}", "product": "comment", "comment": c,
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
    def import_day(self, t: datetime, project: str, items: list[_Item]) -> None:
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
                f"SELECT external_id FROM items WHERE id IN ({marks}) AND state = 'decided' "
                "AND final_action = 'remove'"))]
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
    def projects_for(self, agent: _Agent, t: datetime) -> tuple[str, ...]:
        p = agent.profile
        assert p is not None
        if t >= self.final_day:  # the breach day: LIVE has one on-call labeler, then nobody
            if p.username == ON_CALL and t < self.live_cutoff:
                return (LIVE,)
            return (COMMENTS,)
        return (LIVE, COMMENTS) if p.live else (COMMENTS,)

    def on_duty(self, agent: _Agent, t: datetime) -> datetime | None:
        if agent.profile is not None and agent.profile.username == ON_CALL and \
                self.final_day <= t < self.live_cutoff:
            return t  # on call for LIVE all through the breach day
        return agent.next_on(t)

    def call_in(self, t: datetime, agent: _Agent) -> None:
        """The breach day starts: the on-call labeler is paged (even on a day off)."""
        if not agent.busy:
            index = self.agents.index(agent)
            for key in self.idle:
                self.idle[key].discard(index)
            self.wake_at(t, self.wake, agent)

    def wake(self, t: datetime, agent: _Agent) -> None:
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

    def answer(self, rng: random.Random, truth: list[str], accuracy: float) -> list[str]:
        if rng.random() < accuracy:
            return list(truth)
        family = truth[0].split(".")[0]
        options, weights = CONFUSIONS.get(family, CONFUSIONS["harassment"])
        wrong = rng.choices(options, weights)[0]
        if wrong == "hate" and family == "hate":  # right family, wrong target
            wrong = "hate" if truth[0] != "hate" else "hate.politics"
        return [wrong]

    def finish(self, t: datetime, agent: _Agent, project: str, task_id: int, ext: str) -> None:
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
                                self.answer(rng, truth, p.accuracy), now=t)
                if result.escalated:
                    self.wake_reviewers(t)
                elif result.item_state == "decided" and result.decided_labels and \
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

    def review_wake(self, t: datetime, agent: _Agent) -> None:
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

    def review_done(self, t: datetime, agent: _Agent, task_id: int, ext: str,
                    kind: str) -> None:
        r = agent.reviewer
        assert r is not None
        labels = self.answer(agent.rng, self.truth.get(ext, ["none"]), r.accuracy)
        with suppress(ModOpsError):
            decide(self.engine, task_id, agent.user_id, labels, now=t)
        self.calls["decide"] += 1
        self.wake_at(t + timedelta(seconds=agent.rng.uniform(10, 60)), self.review_wake, agent)


# ----------------------------------------------------------------------------- public API
def build_world(engine: Engine, config: WorldConfig | None = None,
                console: Console | None = None) -> WorldSummary | None:
    """Build the demo world in ``engine`` (migrated), or return None if one is already there.

    Takes about a minute for the default size on SQLite (see docs/demo.md for measurements).
    """
    console = console or Console()
    cfg = config or WorldConfig()
    if world_exists(engine):
        console.print("A demo world is already in this store: nothing added.")
        return None
    t0 = time.perf_counter()
    end = cfg.end or utcnow().replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=cfg.days)
    console.print(f"Building the demo world: {cfg.days} days, {start:%Y-%m-%d %H:%M} → "
                  f"{end:%Y-%m-%d %H:%M} UTC, seed {cfg.seed}")
    stream = _Stream(cfg, start, end)
    stream.score_and_plant(console)
    gold = beep_gold(cfg.gold_items, cfg.seed)
    _create_world_projects(engine, cfg, start, end)
    sim = _Sim(engine, cfg, stream, start, end)
    with _sim_knobs(cfg.seed):
        sim.setup(gold)
        sim.run()
    with session_scope(engine) as s:
        lp = s.scalar(select(Project).where(Project.key == LIVE))
        assert lp is not None
        settings = dict(lp.settings or {})
        settings[WORLD_MARKER] = {**settings[WORLD_MARKER], "building": False,
                                  "items": len(stream.items) + len(gold)}
        update_project(s, lp, {"settings": settings}, actor="demo")
    summary = headline_numbers(engine, start, end, stream.spike_start, stream.spike_end)
    summary.queue_calls = dict(sim.calls)
    summary.seconds = time.perf_counter() - t0
    return summary


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
                            "AND state IN ('new', 'queued', 'escalated')", p=pid),
                "past_sla_open": one(
                    "SELECT count(*) FROM items WHERE project_id = :p AND due_at < :now "
                    "AND state IN ('new', 'queued', 'escalated')", p=pid, now=end),
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
