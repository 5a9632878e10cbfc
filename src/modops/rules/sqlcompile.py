"""Rule conditions as SQL, for the set-wise backtest: a condition whose signals all have an
SQL form (``Signal.sql``) and whose operators SQL can state becomes one boolean expression,
so the backtest is one aggregate query. Anything else returns None and the backtest reads
columns and evaluates the rule with the engine instead (same results, slower).

Every test is wrapped in ``COALESCE(…, FALSE)``: an unknown value fails the test and ``not``
then succeeds, exactly as in the engine.
"""

from __future__ import annotations

import re
from typing import Any

from modops.rules.signals import JsonPath, SignalType, SqlSpec, get_signal
from modops.rules.spec import Cond

_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")
_CMP = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def render(spec: SqlSpec, pg: bool) -> str | None:
    """A signal's SQL form in this dialect, or None (read it from facts)."""
    if isinstance(spec, str):
        return spec
    if not isinstance(spec, JsonPath) or not all(_SAFE_KEY.match(k) for k in spec.path):
        return None
    if pg:
        path = "{" + ",".join(spec.path) + "}"
        cast = {"number": "::float8", "bool": "::boolean"}.get(spec.cast, "")
        return f"({spec.column} #>> '{path}'){cast}"
    path = "$" + "".join(f'."{k}"' for k in spec.path)
    return f"json_extract({spec.column}, '{path}')"


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(float(value))
    return "'" + str(value).replace("'", "''") + "'"


def _test(c: Cond, pg: bool) -> str | None:
    sig = get_signal(c.signal)
    expr = render(sig.sql, pg)
    if expr is None or sig.type in (SignalType.STRS, SignalType.TEXT):
        return None
    value = c.value
    if sig.type is SignalType.BOOL:
        if c.op not in ("eq", "ne", "exists") or (c.op != "exists" and not pg
                                                  and not expr.startswith("i.")):
            return None
        value = bool(value)
    if c.op == "exists":
        return f"({expr} IS {'NOT ' if value else ''}NULL)"
    if c.op in _CMP:
        return f"COALESCE({expr} {_CMP[c.op]} {literal(value)}, FALSE)"
    if c.op == "between":
        return f"COALESCE({expr} BETWEEN {literal(value[0])} AND {literal(value[1])}, FALSE)"
    if c.op in ("in", "not_in"):
        values = ", ".join(literal(v) for v in value)
        neg = "NOT " if c.op == "not_in" else ""
        return f"COALESCE({expr} {neg}IN ({values}), FALSE)"
    return None  # pattern, contains …: the engine evaluates them


def to_sql(c: Cond, pg: bool) -> str | None:
    """The condition as one SQL boolean expression, or None."""
    if c.kind == "test":
        return _test(c, pg)
    parts = [to_sql(x, pg) for x in c.children]
    if any(p is None for p in parts):
        return None
    if c.kind == "not":
        return f"(NOT {parts[0]})"
    if not parts:
        return "TRUE" if c.kind == "all" else "FALSE"
    joiner = " AND " if c.kind == "all" else " OR "
    return "(" + joiner.join(p for p in parts if p) + ")"
