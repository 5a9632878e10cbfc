"""Reporting periods and filters: the two arguments every analytics function takes.

Periods are half-open ``[start, end)`` intervals in naive UTC, like every stored time, so an
event belongs to exactly one hour, day, ISO week and month.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

PeriodKind = Literal["hour", "day", "week", "month", "custom"]

_HOUR = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2})(?::00)?$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    """A reporting window ``[start, end)``; ``label`` is how reports print it."""

    kind: PeriodKind
    start: datetime
    end: datetime
    label: str

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026-11-20T09`` (hour), ``2026-11-20`` (day), ``2026-W47`` (ISO week), ``2026-11``."""
        s = text.strip()
        if m := _HOUR.match(s):
            y, mo, d, h = map(int, m.groups())
            return cls.hour(datetime(y, mo, d, h))
        if m := _DAY.match(s):
            return cls.day(date(*map(int, m.groups())))
        if m := _WEEK.match(s):
            y, w = map(int, m.groups())
            return cls.week(y, w)
        if m := _MONTH.match(s):
            return cls.month(*map(int, m.groups()))
        raise ValueError(f"cannot parse period {text!r}: use 2026-11-20T09, 2026-11-20, "
                         "2026-W47 or 2026-11")

    @classmethod
    def hour(cls, at: datetime) -> Period:
        start = at.replace(minute=0, second=0, microsecond=0)
        return cls("hour", start, start + timedelta(hours=1), start.strftime("%Y-%m-%dT%H"))

    @classmethod
    def day(cls, d: date | datetime) -> Period:
        start = datetime(d.year, d.month, d.day)
        return cls("day", start, start + timedelta(days=1), start.strftime("%Y-%m-%d"))

    @classmethod
    def week(cls, iso_year: int, iso_week: int) -> Period:
        start = datetime.combine(date.fromisocalendar(iso_year, iso_week, 1), datetime.min.time())
        return cls("week", start, start + timedelta(days=7), f"{iso_year}-W{iso_week:02d}")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        start = datetime(year, month, 1)
        end = datetime(year + (month == 12), month % 12 + 1, 1)
        return cls("month", start, end, f"{year}-{month:02d}")

    @classmethod
    def between(cls, start: datetime, end: datetime, label: str | None = None) -> Period:
        if end <= start:
            raise ValueError("period end must be after its start")
        return cls("custom", start, end, label or f"{start:%Y-%m-%dT%H:%M}/{end:%Y-%m-%dT%H:%M}")

    @classmethod
    def containing(cls, kind: PeriodKind, at: datetime) -> Period:
        if kind == "hour":
            return cls.hour(at)
        if kind == "day":
            return cls.day(at)
        if kind == "week":
            y, w, _ = at.isocalendar()
            return cls.week(y, w)
        if kind == "month":
            return cls.month(at.year, at.month)
        raise ValueError(f"no calendar period of kind {kind!r}")

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0

    def previous(self) -> Period:
        """The period just before (same kind); a custom window shifts by its own length."""
        if self.kind == "custom":
            return Period.between(self.start - (self.end - self.start), self.start)
        return Period.containing(self.kind, self.start - timedelta(microseconds=1))

    def is_partial(self, as_of: datetime) -> bool:
        """Whether the period is still running at ``as_of``."""
        return self.start < as_of < self.end

    def same_elapsed(self, other: Period, as_of: datetime) -> Period:
        """The first ``as_of − self.start`` of ``other``: what a partial period is compared
        with (2.5 days of this week against the first 2.5 days of the last, not all 7)."""
        elapsed = min(as_of, self.end) - self.start
        hours = elapsed.total_seconds() / 3600.0
        return Period.between(other.start, other.start + elapsed,
                              f"{other.label} (first {hours:g} h)")

    def days(self) -> list[Period]:
        """The calendar days the period covers (for daily series)."""
        out: list[Period] = []
        d = datetime(self.start.year, self.start.month, self.start.day)
        while d < self.end:
            out.append(Period.day(d))
            d += timedelta(days=1)
        return out

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Filters:
    """Slice the metrics. Keys are the human ones (project key, product key, team name,
    username, taxonomy label key); ``label`` also matches its children (``hate`` ⊇ ``hate.age``).

    ``team`` and ``labeler`` restrict work metrics (tasks, annotations, cost); item-level
    metrics (prevalence, time to action, …) are about content, not people, and ignore them.
    For prevalence the label narrows what counts as violating, never the sample.
    """

    project: str | None = None
    product: str | None = None
    team: str | None = None
    labeler: str | None = None
    label: str | None = None
