"""How times, numbers and money read: one set of formatters for every page and report.

Stored times are naive UTC; people read them in the project's time zone (``Asia/Seoul``, KST,
unless a project or the deployment says otherwise), to the minute, never with microseconds.
Counts read as integers with separators, measures with one decimal, shares as percentages,
money with its currency. The web UI registers these as Jinja filters (``web/views.py``:
``|dt``, ``|hm``, ``|int_``, ``|num``, ``|pct``, ``|money``) and the reports call them
directly, so a time or a number reads the same everywhere.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TZ = "Asia/Seoul"
MISSING = "—"
CURRENCY_SYMBOL = {"KRW": "₩", "USD": "$", "EUR": "€", "JPY": "¥", "GBP": "£"}
CURRENCY_DIGITS = {"KRW": 0, "JPY": 0}  # no minor unit in daily use


@lru_cache(maxsize=64)
def zone(name: str | None) -> ZoneInfo:
    """The named zone; an unknown or empty name reads as the default (KST)."""
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def to_zone(value: datetime, tz: str | None = None) -> datetime:
    """A stored time (naive = UTC) in ``tz``, to the second."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(zone(tz)).replace(microsecond=0)


def local_time(value: datetime | str | None, tz: str | None = None,
               fmt: str = "%Y-%m-%d %H:%M", *, with_zone: bool = True) -> str:
    """``2026-03-02 15:04 KST``: a stored time in the project's zone, no microseconds."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.removesuffix("Z"))
        except ValueError:
            return value
    else:
        when = value
    local = to_zone(when, tz)
    text = local.strftime(fmt)
    return f"{text} {local.tzname()}" if with_zone else text


def short_time(value: datetime | str | None, tz: str | None = None) -> str:
    """``03-02 15:04``: month, day and minute in the project's zone (tables, charts)."""
    return local_time(value, tz, "%m-%d %H:%M", with_zone=False)


def zone_name(tz: str | None = None, at: datetime | None = None) -> str:
    """The zone's abbreviation people know (``KST``)."""
    return to_zone(at or datetime.now(UTC), tz).tzname() or (tz or DEFAULT_TZ)


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def integer(value: object) -> str:
    """``1,234``: a count."""
    x = _number(value)
    return MISSING if x is None else f"{x:,.0f}"


def number(value: object, digits: int = 1) -> str:
    """A measure: an integer when it is whole (``12``), else ``digits`` decimals
    (``393.5``), with separators."""
    x = _number(value)
    if x is None:
        return MISSING
    if math.isinf(x):
        return "∞"
    if x == round(x):
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def percent(value: object, digits: int = 1) -> str:
    """``12.3%``: a share (0.123)."""
    x = _number(value)
    return MISSING if x is None else f"{x * 100:.{digits}f}%"


def money(value: object, currency: str | None = "KRW", lang: str = "ko") -> str:
    """``₩24,000`` / ``$12.50``: an amount with its currency (the code when it has no
    symbol: ``CHF 12.50``)."""
    x = _number(value)
    if x is None:
        return MISSING
    code = (currency or "KRW").upper()
    digits = CURRENCY_DIGITS.get(code, 2)
    body = f"{x:,.{digits}f}"
    symbol = CURRENCY_SYMBOL.get(code)
    return f"{symbol}{body}" if symbol else f"{code} {body}"


__all__ = ["DEFAULT_TZ", "MISSING", "integer", "local_time", "money", "number", "percent",
           "short_time", "to_zone", "zone", "zone_name"]
