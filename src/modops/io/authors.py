"""The ``authors`` table, upserted in bulk as items are imported.

Each imported row that names an author (``author_id``, the platform's account id) updates
that account's latest known facts: one upsert per distinct author per file, after the items
are written (a streamed PostgreSQL COPY holds the connection until then). A fact the file
does not give keeps its stored value. Rows without an author cost one tuple lookup.
"""

from __future__ import annotations

from typing import Any

#: the author columns of the items row, in ``importer.ITEM_COLUMNS`` order
AUTHOR_COLUMNS = ("author_id", "author_created_at", "author_region", "author_followers",
                  "author_verified")

_UPSERT = (
    "INSERT INTO authors (platform_id, created_at, region, follower_count, verified, "
    "first_seen_at, last_seen_at, status) VALUES ({marks}) "
    "ON CONFLICT (platform_id) DO UPDATE SET "
    "created_at = COALESCE(excluded.created_at, authors.created_at), "
    "region = COALESCE(excluded.region, authors.region), "
    "follower_count = COALESCE(excluded.follower_count, authors.follower_count), "
    "verified = COALESCE(excluded.verified, authors.verified), "
    "last_seen_at = excluded.last_seen_at"
)


class AuthorCollector:
    """Collects the latest facts of each author named in a file's rows (the last row wins)."""

    def __init__(self, item_columns: tuple[str, ...]) -> None:
        self.first = item_columns.index(AUTHOR_COLUMNS[0])
        assert item_columns[self.first:self.first + len(AUTHOR_COLUMNS)] == AUTHOR_COLUMNS
        self.seen: dict[str, tuple[Any, ...]] = {}

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        i = self.first
        seen = self.seen
        for row in rows:
            author = row[i]
            if author is not None:
                seen[author] = row[i + 1:i + len(AUTHOR_COLUMNS)]

    def store(self, raw: Any, sqlite: bool, now: Any) -> int:
        """Upsert every collected author through the driver connection; returns how many."""
        if not self.seen:
            return 0
        marks = ", ".join(["?" if sqlite else "%s"] * 8)
        rows = [(author, *facts, now, now, "active") for author, facts in self.seen.items()]
        cur = raw.cursor()
        try:
            cur.executemany(_UPSERT.format(marks=marks), rows)
        finally:
            cur.close()
        n = len(rows)
        self.seen = {}
        return n
