"""The one text form of a stored time on SQLite (PostgreSQL stores timestamps natively)."""

from __future__ import annotations

from datetime import UTC, datetime

SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's DateTime text on SQLite


def sqlite_time(dt: datetime) -> str:
    """A time as SQLite stores it here: UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``, always six
    fraction digits. sqlite3's default adapter wrote ``isoformat(" ")``, which drops the
    fraction when it is zero, so raw-SQL writes and ORM writes differed (a plain pandas
    ``parse_dates`` then read 78 of 970 finalized items)."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.strftime(SQLITE_TIME_FORMAT)
