"""Excel workbook (XlsxWriter): a summary sheet and one sheet per section.

Each table is a real Excel table (``add_table``: header row, filter buttons, banded rows) whose
cells hold numbers with number formats (percentages stay fractions, so formulas over them
work), never preformatted text. Charts are native Excel charts over those cells
(``workbook.add_chart``), headers are frozen, and conditional formatting colours the RAG
status, team gold accuracy (colour scale) and volumes (data bars).
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Format, Workbook
from xlsxwriter.worksheet import Worksheet

from .fonts import OFFICE_FONT_KO, OFFICE_FONT_LATIN
from .i18n import Lang, excel_format, is_missing, t
from .model import Chart, Document, Para, Section, Table

STATUS_FILL = {"green": "#C6EFCE", "amber": "#FFEB9C", "red": "#FFC7CE"}
STATUS_FONT = {"green": "#006100", "amber": "#9C5700", "red": "#9C0006"}
TONE_FONT = {"good": "#006100", "bad": "#9C0006"}
CHART_W, CHART_H = 520, 300
CHART_ROWS = 16  # rows a chart covers at the default row height
CHART_TYPES = {"column": {"type": "column"}, "bar": {"type": "bar"},
               "line": {"type": "line"}, "stacked": {"type": "column", "subtype": "stacked"}}


class _Formats:
    """One cached Format per (kind, bold, font colour, fill)."""

    def __init__(self, wb: Workbook, font: str, lang: Lang) -> None:
        self.wb, self.font, self.lang = wb, font, lang
        self.cache: dict[tuple[Any, ...], Format] = {}

    def get(self, kind: str = "text", **props: Any) -> Format:
        key = (kind, *sorted(props.items()))
        if key not in self.cache:
            spec: dict[str, Any] = {"font_name": self.font, "font_size": 10, **props}
            if kind != "text":
                spec["num_format"] = excel_format(kind, self.lang)
            self.cache[key] = self.wb.add_format(spec)
        return self.cache[key]


def _cell(ws: Worksheet, r: int, c: int, v: Any, f: Format) -> None:
    if is_missing(v) or (isinstance(v, float) and math.isinf(v)):
        ws.write_blank(r, c, None, f)
    elif isinstance(v, bool):
        ws.write_boolean(r, c, v, f)
    elif isinstance(v, int | float):
        ws.write_number(r, c, float(v), f)
    else:
        ws.write_string(r, c, str(v), f)


def _unique(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in headers:
        n = seen.get(h, 0)
        seen[h] = n + 1
        out.append(h if n == 0 else f"{h} ({n + 1})")
    return out


class _SheetWriter:
    def __init__(self, wb: Workbook, fm: _Formats, doc: Document, section: Section) -> None:
        self.wb, self.fm, self.doc, self.section = wb, fm, doc, section
        self.ws = wb.add_worksheet(section.sheet)
        self.row = 0
        self.frozen = False
        self.positions: dict[str, tuple[int, int]] = {}  # table key -> (header row, n rows)
        tables = section.tables()
        self.ncols = max((len(tb.columns) for tb in tables), default=6)
        self.chart_col = self.ncols + 1
        self.chart_row = 0
        widths: dict[int, float] = {}
        for tb in tables:
            for c, col in enumerate(tb.columns):
                widths[c] = max(widths.get(c, 0), col.width)
        for c, w in sorted(widths.items()):
            self.ws.set_column(c, c, w)

    def title(self) -> None:
        self.ws.write_string(0, 0, self.section.title, self.fm.get(bold=True, font_size=14))
        self.row = 2

    def para(self, p: Para) -> None:
        if p.style == "h3":
            self.row += 1 if self.row > 2 else 0
            self.ws.write_string(self.row, 0, p.text, self.fm.get(bold=True, font_size=12))
            self.row += 1
            return
        text = f"• {p.text}" if p.style == "bullet" else p.text
        f = self.fm.get(text_wrap=True, valign="top", italic=p.style == "note",
                        font_color="#595959" if p.style == "note" else "#000000")
        last = max(self.ncols - 1, 5)
        chars = sum(col.width for col in (self.section.tables()[0].columns
                                          if self.section.tables() else [])) or 80
        lines = max(1, math.ceil(len(text) * 1.3 / max(chars, 40)))
        self.ws.merge_range(self.row, 0, self.row, last, text, f)
        self.ws.set_row(self.row, 15 * lines)
        self.row += 1

    def table(self, tb: Table) -> None:
        ws, fm = self.ws, self.fm
        ws.write_string(self.row, 0, tb.title, fm.get(bold=True, font_size=11))
        self.row += 1
        head = self.row
        if not tb.rows:
            ws.write_string(head, 0, t("no_data", self.doc.lang), fm.get(italic=True))
            self.row += 2
            return
        last_row, last_col = head + len(tb.rows), len(tb.columns) - 1
        ws.add_table(head, 0, last_row, last_col, {
            "name": f"T_{tb.key}", "style": "Table Style Light 9", "autofilter": False,
            # explicit header fill: LibreOffice ignores table styles, and white-on-white
            # headers would vanish there
            "columns": [{"header": h, "header_format": fm.get(
                bold=True, font_color="#FFFFFF", bg_color="#2F5597", text_wrap=True,
                valign="vcenter", border=1, border_color="#D0D7E2")}
                        for h in _unique([c.header for c in tb.columns])]})
        for r, row in enumerate(tb.rows):
            for c, v in enumerate(row):
                props: dict[str, Any] = {}
                if (tone := tb.tones.get((r, c))) is not None:
                    props["font_color"] = TONE_FONT[tone]
                _cell(ws, head + 1 + r, c, v, fm.get(tb.kind(r, c), **props))
        if tb.status_col is not None:
            rng = (head + 1, tb.status_col, last_row, tb.status_col)
            for status in ("green", "amber", "red"):
                ws.conditional_format(*rng, {
                    "type": "cell", "criteria": "==", "value": f'"{t(status, self.doc.lang)}"',
                    "format": self.wb.add_format({"bg_color": STATUS_FILL[status],
                                                  "font_color": STATUS_FONT[status]})})
        for c in tb.scale_cols:
            ws.conditional_format(head + 1, c, last_row, c, {
                "type": "3_color_scale", "min_color": "#F8696B", "mid_color": "#FFEB84",
                "max_color": "#63BE7B"})
        for c in tb.bar_cols:
            ws.conditional_format(head + 1, c, last_row, c, {
                "type": "data_bar", "bar_color": "#9DC3E6", "bar_solid": True})
        if not self.frozen:
            ws.freeze_panes(head + 1, 1)
            self.frozen = True
        self.positions[tb.key] = (head, len(tb.rows))
        if self.chart_row == 0:
            self.chart_row = head - 1
        self.row = last_row + 2

    def chart(self, ch: Chart) -> None:
        pos = self.positions.get(ch.table.key)
        if pos is None:  # its table had no rows
            return
        head, n = pos
        sheet = self.section.sheet
        font = {"name": self.fm.font, "size": 9}
        chart = self.wb.add_chart(CHART_TYPES[ch.kind])
        assert chart is not None
        for i, c in enumerate(ch.val_cols):
            chart.add_series(_series(ch, sheet, head, n, i, c))
        chart.set_title({"name": ch.title, "name_font": {**font, "size": 11, "bold": True}})
        num = "0%" if ch.y_kind.startswith("pct") else "#,##0"
        value_axis = {"num_format": num, "num_font": font, "major_gridlines": {
            "visible": True, "line": {"color": "#D9D9D9"}}}
        cat_axis = {"num_font": font}
        if ch.kind == "bar":
            chart.set_x_axis(value_axis)
            chart.set_y_axis({**cat_axis, "reverse": True})
        else:
            chart.set_y_axis(value_axis)
            chart.set_x_axis(cat_axis)
        chart.set_legend({"position": "bottom", "font": font} if len(ch.val_cols) > 1
                         else {"none": True})
        chart.set_size({"width": CHART_W, "height": CHART_H})
        row = self.chart_row  # charts stack down the right-hand column from the first table
        self.ws.insert_chart(row, self.chart_col, chart, {"x_offset": 8, "y_offset": 4})
        self.chart_row = row + CHART_ROWS + 1


def _series(ch: Chart, sheet: str, head: int, n: int, i: int, c: int) -> dict[str, Any]:
    """Series ``i`` (column ``c``) of a native chart over its table's ``n`` rows below
    ``head``; the first series carries the interval as custom error bars."""
    s: dict[str, Any] = {
        "name": [sheet, head, c],
        "categories": [sheet, head + 1, ch.cat_col, head + n, ch.cat_col],
        "values": [sheet, head + 1, c, head + n, c],
    }
    if ch.kind == "line":
        s["marker"] = {"type": "circle", "size": 4}
    if ch.err_cols is not None and i == 0:
        vals = [r[c] for r in ch.table.rows]
        lo = [r[ch.err_cols[0]] for r in ch.table.rows]
        hi = [r[ch.err_cols[1]] for r in ch.table.rows]
        s["x_error_bars" if ch.kind == "bar" else "y_error_bars"] = {
            "type": "custom", "end_style": 1,
            "plus_values": [0 if is_missing(v) or is_missing(b) else b - v
                            for v, b in zip(vals, hi, strict=True)],
            "minus_values": [0 if is_missing(v) or is_missing(a) else v - a
                             for v, a in zip(vals, lo, strict=True)]}
    return s


def _summary_header(w: _SheetWriter, doc: Document) -> None:
    ws, fm = w.ws, w.fm
    ws.write_string(0, 0, doc.title, fm.get(bold=True, font_size=16))
    r = 1
    for label, value in doc.meta:
        ws.write_string(r, 0, label, fm.get(bold=True, font_color="#595959"))
        ws.write_string(r, 1, value)
        r += 1
    ws.write_string(r, 0, doc.generated, fm.get(italic=True, font_color="#595959"))
    w.row = r + 2


def write_xlsx(doc: Document, path: Path, generated_at: datetime) -> Path:
    font = OFFICE_FONT_KO if doc.lang == "ko" else OFFICE_FONT_LATIN
    wb = xlsxwriter.Workbook(str(path), {
        "default_format_properties": {"font_name": font, "font_size": 10},
        "nan_inf_to_errors": True})
    wb.set_properties({"title": doc.title, "subject": doc.subtitle, "author": "ModOps",
                       "comments": doc.generated, "created": generated_at})
    fm = _Formats(wb, font, doc.lang)
    for i, section in enumerate(doc.sections):
        w = _SheetWriter(wb, fm, doc, section)
        if i == 0:
            _summary_header(w, doc)
        else:
            w.title()
        for block in section.blocks:
            if isinstance(block, Para):
                w.para(block)
            elif isinstance(block, Table):
                w.table(block)
            else:
                w.chart(block)
        if i == 0:
            w.ws.write_string(w.row + 1, 0, doc.footer, fm.get(italic=True,
                                                                font_color="#595959"))
            w.ws.set_landscape()
            w.ws.fit_to_pages(1, 1)  # the executive summary prints on one page
        w.ws.set_paper(9)  # A4
    wb.close()
    return path
