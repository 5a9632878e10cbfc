"""What arrives in the demo world: 30 days of real Korean comments (BEEP!, CC BY-SA 4.0) on
a diurnal curve, their machine scores and "true" labels, the planted trending-news spike and
the final day's LIVE chat raid.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console

from modops.machine import get_scorer, item_text
from modops.simulate.scenario import COMMENTS, LIVE, SPIKE_TERMS, TICK, WorldConfig

REPORT_DELAY_MIN = 60.0  # mean minutes from posting to the first user report

# BEEP! severity → the taxonomy's keys; the model's target heads → hate sub-labels.
BEEP_TO_TAXONOMY = {"hate": "hate", "offensive": "harassment", "none": "none"}
TARGET_TO_LABEL = {"gender": "hate.gender", "origin": "hate.region", "politics": "hate.politics",
                   "age": "hate.age", "religion": "hate.religion", "race": "hate.race",
                   "physical": "hate.disability"}


@dataclass(slots=True)
class StreamItem:
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
    reported_at: datetime | None = None  # the first user report, if reported

    def row(self) -> dict[str, Any]:
        text_field = "caption" if self.product == "short_video" else "comment"
        title = f"[LIVE] {self.title}" if self.product == "live" else self.title
        return {"external_id": self.external_id, "product": self.product, "title": title,
                text_field: self.body, "created_at": self.created.isoformat() + "Z",
                "view_count": self.views, "user_reported": self.reported,
                **({"reported_at": self.reported_at.isoformat() + "Z"}
                   if self.reported_at is not None else {}),
                "metadata": {"source": "BEEP! unlabeled comments (CC BY-SA 4.0)",
                             "news_title": self.title,
                             "author_region": "KR" if self.views % 7 else "JP"}}


def truth_from_score(score: Any, rng: random.Random) -> list[str]:
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


def diurnal_weight(t: datetime) -> float:
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


class Stream:
    """Every item of the world, with its arrival tick and the truth the labelers answer by."""

    def __init__(self, cfg: WorldConfig, start: datetime, end: datetime) -> None:
        from modops.simulate.demo import beep_unlabeled

        rng = self._rng = random.Random(cfg.seed)
        self._seed = cfg.seed
        pairs = beep_unlabeled()
        self._spike_pool = [p for p in pairs if any(t in p[1] for t in SPIKE_TERMS)]
        self._normal = [p for p in pairs if not any(t in p[1] for t in SPIKE_TERMS)]
        rng.shuffle(self._normal)
        self._cursor = 0
        self._seq = Counter[str]()
        self.items: list[StreamItem] = []
        self.spike_end = end - timedelta(days=cfg.spike_days_before_end)
        self.spike_start = self.spike_end - timedelta(days=1)
        self.raid_at = end - timedelta(hours=14)
        ticks_per_day = int(timedelta(days=1) / TICK)
        for day in range(cfg.days):
            self._day(cfg, [start + timedelta(days=day) + i * TICK for i in range(ticks_per_day)])
        self.spike_items: list[StreamItem] = []
        self._spike_ticks = [t for t in (self.spike_start + i * TICK
                                         for i in range(ticks_per_day)) if t >= start]
        self._spike_n = max(12, round(cfg.comments_per_day * cfg.spike_factor))
        # The raid comes in two waves: the first is worked (late) by the on-call labeler, the
        # second lands after the LIVE team went offline and is still waiting at the end.
        first = [self.raid_at, self.raid_at + TICK]
        second = [end - timedelta(hours=4), end - timedelta(hours=3, minutes=30)]
        for pair in self._take(cfg.raid_items):
            self._add(LIVE, "live", pair,
                      rng.choice(first if rng.random() < 0.75 else second))

    def _day(self, cfg: WorldConfig, ticks: list[datetime]) -> None:
        """One day's comments and LIVE chat, spread over its ticks by the evening peak."""
        rng = self._rng
        weights = [diurnal_weight(t) for t in ticks]
        volume = max(1, round(cfg.comments_per_day * rng.uniform(0.85, 1.15)))
        for pair in self._take(volume):
            product = "short_video" if rng.random() < 0.2 else "comment"
            self._add(COMMENTS, product, pair, rng.choices(ticks, weights)[0])
        for pair in self._take(max(1, round(cfg.live_per_day * rng.uniform(0.85, 1.15)))):
            self._add(LIVE, "live", pair, rng.choices(ticks, weights)[0])

    def _take(self, n: int) -> list[tuple[str, str]]:
        """The next ``n`` comments of the shuffled pool (round and round)."""
        normal = self._normal
        out = [normal[(self._cursor + i) % len(normal)] for i in range(n)]
        self._cursor += n
        return out

    def _add(self, project: str, product: str, pair: tuple[str, str],
             tick: datetime) -> StreamItem:
        rng = self._rng
        self._seq[project] += 1
        prefix = {"comment": "c", "short_video": "v", "live": "l"}[product]
        views = int(rng.paretovariate(1.1) * (400 if product == "live" else 60))
        item = StreamItem(f"{prefix}-{tick:%m%d}-{self._seq[project]:05d}", project, product,
                          pair[1], pair[0], tick, [],
                          tick - timedelta(minutes=rng.randint(1, 25)), views, False)
        self.items.append(item)
        return item

    def score_and_plant(self, console: Console) -> None:
        """Score everything with the built-in model, derive the truth, plant the spike."""
        scorer = get_scorer(None)
        t0 = time.perf_counter()
        scores = scorer.score([item_text(i.row()) for i in self.items])
        for item, s in zip(self.items, scores, strict=True):
            item.score = s
            item.truth = truth_from_score(s, self._rng)
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
                item = StreamItem(f"c-{tick:%m%d}-s{n:04d}", COMMENTS, "comment", pair[1], pair[0],
                             tick, ["harassment"], tick - timedelta(minutes=rng.randint(1, 25)),
                             int(rng.paretovariate(1.1) * 300), rng.random() < 0.3, s)
                if rng.random() < 0.15:  # a pile-on is mostly insults, some hate, some fine
                    item.truth = truth_from_score(s, rng)
                self.items.append(item)
                self.spike_items.append(item)
        # When users report: exponential delay after posting, mean REPORT_DELAY_MIN (its own
        # random stream, so the rest of the world is the same with or without report times).
        # A report before the item reaches the machine at its tick makes it not proactive.
        report_rng = random.Random(self._seed * 7919 + 11)
        for item in self.items:
            if item.reported:
                item.reported_at = item.created + timedelta(
                    minutes=report_rng.expovariate(1.0 / REPORT_DELAY_MIN))
        console.print(f"  scored {len(self.items):,} items in {time.perf_counter() - t0:.1f} s")


    def uncertain(self, n: int, tick: datetime, *, lo: float, hi: float) -> list[StreamItem]:
        """``n`` more comments arriving at ``tick`` that the model is unsure about (its harm
        score between the auto-clear and auto-action thresholds: they go to people), scored
        and with their truth, from the pool after everything the stream already used."""
        scorer = get_scorer(None)
        rng = random.Random(self._seed * 7919 + 23)
        out: list[StreamItem] = []
        for _ in range(10):
            if len(out) >= n:
                break
            batch = []
            for pair in self._take(3 * n):
                product = "short_video" if rng.random() < 0.2 else "comment"
                batch.append(self._add(COMMENTS, product, pair, tick))
            self.items = self.items[: -len(batch)]  # not part of the simulated stream
            for item, s in zip(batch, scorer.score([item_text(i.row()) for i in batch]),
                               strict=True):
                if lo < s.harm < hi and len(out) < n:
                    item.score, item.truth = s, truth_from_score(s, rng)
                    out.append(item)
        return out
