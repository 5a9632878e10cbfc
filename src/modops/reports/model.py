"""A format-neutral report document: sections of paragraphs, tables and charts.

The content is decided once (``content.build_document``) and each renderer (Excel, Word, PDF,
HTML) walks the same blocks, so the four files cannot disagree. Tables keep raw numbers and a
format kind per column (or per cell); Excel writes the number with a number format, the text
formats print it through :func:`modops.reports.i18n.fmt`. A chart points at a table's columns,
which Excel turns into a native chart over those cells and matplotlib into a picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .i18n import Lang, fmt

Tone = Literal["good", "bad"]
Status = Literal["green", "amber", "red"]


@dataclass
class Col:
    header: str
    kind: str = "text"  # a key of i18n.EXCEL_FORMATS
    width: float = 14.0  # Excel column width (characters)


@dataclass
class Table:
    key: str  # unique within a document; Excel table names derive from it
    title: str
    columns: list[Col]
    rows: list[list[Any]]
    kinds: dict[tuple[int, int], str] = field(default_factory=dict)  # per-cell overrides
    tones: dict[tuple[int, int], Tone] = field(default_factory=dict)  # good/bad change
    status_col: int | None = None  # column whose cells hold a localized RAG word
    status: list[Status | None] = field(default_factory=list)  # raw status per row
    scale_cols: list[int] = field(default_factory=list)  # colour scale (Excel) on these
    bar_cols: list[int] = field(default_factory=list)  # data bars (Excel) on these
    note: str | None = None

    def kind(self, r: int, c: int) -> str:
        return self.kinds.get((r, c), self.columns[c].kind)

    def text(self, r: int, c: int, lang: Lang) -> str:
        return fmt(self.rows[r][c], self.kind(r, c), lang)


@dataclass
class Chart:
    key: str
    kind: Literal["column", "bar", "line", "stacked"]
    title: str
    table: Table
    cat_col: int
    val_cols: list[int]
    err_cols: tuple[int, int] | None = None  # interval low/high columns (first series)
    y_kind: str = "int"


@dataclass
class Para:
    text: str
    style: Literal["p", "bullet", "note", "h3"] = "p"


Block = Para | Table | Chart


@dataclass
class Section:
    key: str
    title: str
    sheet: str  # Excel sheet name (≤ 31 characters)
    blocks: list[Block] = field(default_factory=list)

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    def charts(self) -> list[Chart]:
        return [b for b in self.blocks if isinstance(b, Chart)]


@dataclass
class Document:
    lang: Lang
    title: str
    subtitle: str
    meta: list[tuple[str, str]]  # label, value (period, compared with, as of, …)
    generated: str  # the one timestamp line
    sections: list[Section]  # the first is the executive summary
    footer: str

    def all_charts(self) -> list[Chart]:
        return [c for s in self.sections for c in s.charts()]
