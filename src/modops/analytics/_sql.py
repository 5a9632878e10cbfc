"""Dialect glue: the few expressions SQLite and PostgreSQL spell differently, and the scope
(filters resolved to ids) every query shares. Everything else is plain SQL run in the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import numpy as np
from sqlalchemy import Connection, DateTime, bindparam, text
from sqlalchemy.engine import CursorResult

from modops.domain import NotFound

from .period import Filters

HUMAN_SOURCES = ("labelers", "reviewer", "appeal", "import")
ACTIONED = "('remove', 'restrict')"


def run(conn: Connection, sql: str, params: dict[str, Any]) -> CursorResult[*tuple[Any, ...]]:
    """Execute with datetimes bound through SQLAlchemy's DateTime (SQLite stores them as text
    in its own format, so a raw sqlite3 binding would compare differently)."""
    stmt = text(sql)
    used = {k: v for k, v in params.items() if f":{k}" in sql}
    dts = [bindparam(k, type_=DateTime()) for k, v in used.items() if isinstance(v, datetime)]
    if dts:
        stmt = stmt.bindparams(*dts)
    return conn.execute(stmt, used)


@dataclass
class Dialect:
    name: str

    @property
    def pg(self) -> bool:
        return self.name == "postgresql"

    def secs(self, a: str, b: str) -> str:
        """Seconds from ``b`` to ``a`` as a float."""
        if self.pg:  # date_part is float8; EXTRACT is numeric since PG 14, ~5× slower per row
            return f"date_part('epoch', ({a}) - ({b}))"
        return f"((julianday({a}) - julianday({b})) * 86400.0)"

    def hour_index(self, x: str) -> str:
        """The clock hour of ``x`` (only ever a GROUP BY key for counting distinct
        labeler-hours, so the cheapest expression that tells hours apart)."""
        if self.pg:
            return f"date_trunc('hour', {x})"
        # SQLite stores SQLAlchemy's fixed 'YYYY-MM-DD HH:MM:SS.ffffff' text (the period
        # bounds compare against the same text): its first 13 characters are the hour,
        # without parsing a date per row
        return f"substr({x}, 1, 13)"

    def hour_of_day(self, x: str) -> str:
        """The UTC hour of day (0–23) of a stored timestamp, as an integer."""
        if self.pg:
            return f"CAST(EXTRACT(HOUR FROM {x}) AS INTEGER)"
        return f"CAST(strftime('%H', {x}) AS INTEGER)"

    def floor_int(self, x: str) -> str:
        """Floor of a non-negative float as an integer (PostgreSQL's CAST rounds)."""
        return f"CAST(FLOOR({x}) AS INTEGER)" if self.pg else f"CAST({x} AS INTEGER)"

    def day_key(self, x: str) -> str:
        if self.pg:
            return f"to_char({x}, 'YYYY-MM-DD')"
        return f"strftime('%Y-%m-%d', {x})"

    def labels_text(self, col: str) -> str:
        """A label list as canonical text: the nominal category for agreement."""
        return f"CAST({col} AS TEXT)" if self.pg else f"json({col})"

    def labels_equal(self, a: str, b: str) -> str:
        return f"({a} = {b})" if self.pg else f"(json({a}) = json({b}))"

    def has_label(self, col: str) -> str:
        """The JSON label list holds :label or one of its children (:label_prefix)."""
        if self.pg:
            return (f"jsonb_path_exists({col}, '$[*] ? (@ == $l || @ starts with $p)', "
                    "jsonb_build_object('l', CAST(:label AS TEXT), 'p', CAST(:label_dot AS TEXT)))")
        return (f"EXISTS (SELECT 1 FROM json_each({col}) je WHERE je.value = :label "
                "OR substr(je.value, 1, length(:label_dot)) = :label_dot)")

    def unnest_labels(self, col: str, alias: str) -> tuple[str, str]:
        """A FROM-clause fragment yielding one row per label, and the label expression."""
        if self.pg:
            return (f"CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN "
                    f"jsonb_typeof({col}) = 'array' THEN {col} ELSE '[]'::jsonb END) "
                    f"AS {alias}(v)", f"{alias}.v")
        return f"JOIN json_each({col}) {alias}", f"{alias}.value"


@dataclass
class Scope:
    """Filters resolved to ids, with the WHERE fragments for each table."""

    d: Dialect
    project_id: int | None = None
    product_id: int | None = None
    team_id: int | None = None
    labeler_id: int | None = None
    label: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def resolve(cls, conn: Connection, filters: Filters) -> Scope:
        s = cls(Dialect(conn.dialect.name))

        def one(sql: str, value: str, what: str) -> int:
            got = conn.execute(text(sql), {"v": value}).scalar()
            if got is None:
                raise NotFound(f"no {what} {value!r}")
            return int(got)

        if filters.project:
            s.project_id = one("SELECT id FROM projects WHERE key = :v", filters.project,
                               "project")
        if filters.product:
            s.product_id = one("SELECT id FROM products WHERE key = :v", filters.product,
                               "product")
        if filters.team:
            s.team_id = one("SELECT id FROM teams WHERE name = :v", filters.team, "team")
        if filters.labeler:
            s.labeler_id = one("SELECT id FROM users WHERE username = :v", filters.labeler,
                               "labeler")
        s.label = filters.label
        s.params = {"project_id": s.project_id, "product_id": s.product_id,
                    "team_id": s.team_id, "labeler_id": s.labeler_id,
                    "label": s.label, "label_dot": f"{s.label}." if s.label else None}
        return s

    # ----------------------------------------------------------------- WHERE fragments
    def items(self, i: str = "i", label: bool = True, project: bool = True) -> str:
        """Content filters on an items alias (project, product, policy label)."""
        c = ["1=1"]
        if project and self.project_id is not None:
            c.append(f"{i}.project_id = :project_id")
        if self.product_id is not None:
            c.append(f"{i}.product_id = :product_id")
        if label and self.label:
            c.append(self.d.has_label(f"{i}.final_labels"))
        return " AND ".join(c)

    def _item_exists(self, item_col: str) -> str | None:
        if self.product_id is None and not self.label:
            return None
        inner = self.items("fi", project=False)
        return f"EXISTS (SELECT 1 FROM items fi WHERE fi.id = {item_col} AND {inner})"

    def annotations(self, a: str = "a") -> str:
        c = ["1=1"]
        if self.project_id is not None:
            c.append(f"{a}.project_id = :project_id")
        if self.labeler_id is not None:
            c.append(f"{a}.labeler_id = :labeler_id")
        if self.team_id is not None:
            c.append(f"{a}.labeler_id IN (SELECT tu.id FROM users tu "
                     "WHERE tu.team_id = :team_id)")
        if e := self._item_exists(f"{a}.item_id"):
            c.append(e)
        return " AND ".join(c)

    def tasks(self, t: str = "t") -> str:
        c = ["1=1"]
        if self.project_id is not None:
            c.append(f"{t}.project_id = :project_id")
        if self.labeler_id is not None:
            c.append(f"{t}.assignee_id = :labeler_id")
        if self.team_id is not None:
            c.append(f"({t}.team_id = :team_id OR {t}.assignee_id IN "
                     "(SELECT tu.id FROM users tu WHERE tu.team_id = :team_id))")
        if e := self._item_exists(f"{t}.item_id"):
            c.append(e)
        return " AND ".join(c)

    def appeals(self, ap: str = "ap") -> str:
        c = ["1=1"]
        if self.project_id is not None:
            c.append(f"{ap}.project_id = :project_id")
        if e := self._item_exists(f"{ap}.item_id"):
            c.append(e)
        return " AND ".join(c)


def quantiles(conn: Connection, d: Dialect, expr: str, from_where: str,
              params: dict[str, Any], qs: Sequence[float] = (0.5, 0.9)) -> tuple[int, list[float]]:
    """Linear-interpolated quantiles (numpy's default = PostgreSQL ``percentile_cont``) of
    ``expr`` over ``FROM … WHERE …``; computed in the database on PostgreSQL."""
    if d.pg:
        arr = ", ".join(str(float(q)) for q in qs)
        row = run(conn, f"SELECT COUNT({expr}), percentile_cont(ARRAY[{arr}]) WITHIN GROUP "
                        f"(ORDER BY {expr}) {from_where}", params).one()
        n = int(row[0] or 0)
        return n, [float(v) for v in row[1]] if n else [float("nan")] * len(qs)
    # SQLite: the values straight off the DBAPI cursor (no SQLAlchemy Row per value: that
    # was most of the cost at millions of rows; ranking in SQLite with a window is slower)
    res = run(conn, f"SELECT v FROM (SELECT {expr} AS v {from_where}) vals "
                    "WHERE v IS NOT NULL", params)
    rows = cast("Iterable[Any]", res.cursor)  # sqlite3 cursors iterate (the DBAPI type: no)
    vals = np.fromiter((r[0] for r in rows), dtype=np.float64)
    res.close()
    if len(vals) == 0:
        return 0, [float("nan")] * len(qs)
    return len(vals), [float(v) for v in np.quantile(vals, qs)]
