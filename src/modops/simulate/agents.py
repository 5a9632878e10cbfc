"""The people of the demo world: teams and their shifts, labelers and reviewers with their
own speed and accuracy (the truth the scorecards should find), and how a labeler errs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

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
    shift_start_utc: int  # hour; shifts last SHIFT_HOURS (Seoul A = 09–18 KST)
    hourly_cost: float  # KRW per labeler-hour, loaded (wage, benefits, vendor margin)


TEAMS = (
    Team("Seoul A", None, 0, 24_000.0),      # 09:00–18:00 KST
    Team("Seoul B", None, 8, 24_000.0),      # 17:00–02:00 KST
    Team("Vendor C", "Vendor C Ltd.", 16, 15_000.0),  # 01:00–10:00 KST
)
SHIFT_HOURS = 9


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



@dataclass(slots=True)
class Agent:
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


def shifts(start_hour: int, off_days: tuple[int, ...], start: datetime, end: datetime,
            hours: int = SHIFT_HOURS) -> list[tuple[datetime, datetime]]:
    out = []
    day = datetime(start.year, start.month, start.day) - timedelta(days=1)
    while day < end:
        a = day + timedelta(hours=start_hour)
        b = a + timedelta(hours=hours)
        if a.weekday() not in off_days and b > start and a < end:
            out.append((max(a, start), min(b, end)))
        day += timedelta(days=1)
    return out



def answer(rng: random.Random, truth: list[str], accuracy: float) -> list[str]:
    """A person's answer: the truth with probability ``accuracy``, else a plausible confusion
    of the true label's family."""
    if rng.random() < accuracy:
        return list(truth)
    family = truth[0].split(".")[0]
    options, weights = CONFUSIONS.get(family, CONFUSIONS["harassment"])
    wrong = rng.choices(options, weights)[0]
    if wrong == "hate" and family == "hate":  # right family, wrong target
        wrong = "hate" if truth[0] != "hate" else "hate.politics"
    return [wrong]
