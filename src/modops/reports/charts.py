"""Chart pictures for Word, PDF and HTML (Excel draws its own native charts).

matplotlib's object API (``Figure`` + Agg canvas, no pyplot state) with NanumGothic registered
through ``font_manager.fontManager.addfont`` and applied in an ``rc_context`` (``font.family``,
``axes.unicode_minus=False`` so the minus sign is not a missing glyph), so the web process that
may also draw charts keeps its own settings. PNG metadata carries no timestamp.
"""

from __future__ import annotations

import io
import threading
from typing import Any

from .fonts import korean_font
from .i18n import Lang, is_missing
from .model import Chart

PALETTE = ["#2F5597", "#ED7D31", "#70AD47", "#7F7F7F", "#FFC000", "#5B9BD5", "#C00000",
           "#264478"]
_lock = threading.Lock()
_family: str | None = None


def _font_family() -> str:
    """Register the Korean font with matplotlib once; returns its family name."""
    global _family
    with _lock:
        if _family is None:
            from matplotlib import font_manager

            reg, bold = korean_font()
            for path in {reg, bold}:
                font_manager.fontManager.addfont(str(path))
            _family = font_manager.FontProperties(fname=str(reg)).get_name()
    return _family


def _values(chart: Chart, col: int) -> list[float]:
    out = []
    for row in chart.table.rows:
        v = row[col]
        out.append(float("nan") if is_missing(v) or isinstance(v, str) else float(v))
    return out


def _ylabel_fmt(kind: str) -> Any:
    from matplotlib.ticker import FuncFormatter

    if kind.startswith("pct"):
        return FuncFormatter(lambda v, _: f"{v * 100:.0f}%")
    return FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 10 else f"{v:,.1f}")


def _error_bars(chart: Chart, ys: list[float]) -> list[list[float]]:
    """Distances from each value down to its lower and up to its upper bound (0 if unknown)."""
    assert chart.err_cols is not None
    lo, hi = (_values(chart, c) for c in chart.err_cols)
    return [[max(v - a, 0.0) if a == a and v == v else 0.0 for v, a in zip(ys, lo, strict=True)],
            [max(b - v, 0.0) if b == b and v == v else 0.0 for v, b in zip(ys, hi, strict=True)]]


def _draw_bars(ax: Any, chart: Chart, cats: list[str], names: list[str],
               series: list[list[float]]) -> None:
    """Columns (vertical), bars (horizontal) or stacked: one group per category."""
    x = list(range(len(cats)))
    horizontal = chart.kind == "bar"
    width = 0.8 / max(len(series), 1)
    for i, (name, ys) in enumerate(zip(names, series, strict=True)):
        pos = [p - 0.4 + width * (i + 0.5) for p in x]
        ys0 = [0.0 if v != v else v for v in ys]
        kw: dict[str, Any] = {"color": PALETTE[i % len(PALETTE)], "label": name}
        if chart.err_cols is not None and i == 0:
            kw["xerr" if horizontal else "yerr"] = _error_bars(chart, ys)
            kw["capsize"] = 3
        if horizontal:
            ax.barh(pos, ys0, height=width, **kw)
        else:
            ax.bar(pos, ys0, width=width, **kw)
    if horizontal:
        ax.set_yticks(x, cats)
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(_ylabel_fmt(chart.y_kind))
    else:
        rotated = _rotated(chart, cats)
        ax.set_xticks(x, cats, rotation=20 if rotated else 0,
                      ha="right" if rotated else "center")
        ax.yaxis.set_major_formatter(_ylabel_fmt(chart.y_kind))


def _draw_lines(ax: Any, chart: Chart, cats: list[str], names: list[str],
                series: list[list[float]]) -> None:
    x = list(range(len(cats)))
    for i, (name, ys) in enumerate(zip(names, series, strict=True)):
        ax.plot(x, ys, marker="o", markersize=3, color=PALETTE[i % len(PALETTE)], label=name)
    ax.set_xticks(x, [c[5:] if len(c) == 10 else c for c in cats])  # dates as MM-DD
    ax.yaxis.set_major_formatter(_ylabel_fmt(chart.y_kind))


def _rotated(chart: Chart, cats: list[str]) -> bool:
    """Long category names under columns are written at a slant."""
    return chart.kind != "bar" and max(map(len, cats), default=0) > 8


def _margins(chart: Chart, cats: list[str], n: int) -> dict[str, float]:
    """Fixed margins instead of tight_layout: one draw per chart instead of two."""
    bar = chart.kind == "bar"
    return {"left": 0.26 if bar else 0.09, "right": 0.98, "top": 0.80 if n > 2 else 0.86,
            "bottom": 0.28 if _rotated(chart, cats) else 0.12}


def render_png(chart: Chart, lang: Lang, dpi: int = 100) -> bytes:
    """One chart as PNG bytes."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    family = _font_family()
    cats = [str(r[chart.cat_col]) for r in chart.table.rows]
    names = [chart.table.columns[c].header for c in chart.val_cols]
    series = [_values(chart, c) for c in chart.val_cols]
    with matplotlib.rc_context({
            "font.family": family, "font.sans-serif": [family], "axes.unicode_minus": False,
            "font.size": 8, "axes.titlesize": 10, "axes.spines.top": False,
            "axes.spines.right": False}):
        height = 3.0 if chart.kind != "bar" else max(2.4, 0.32 * len(cats) + 1.0)
        fig = Figure(figsize=(6.4, height), dpi=dpi)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        n = max(len(series), 1)
        draw = _draw_bars if chart.kind in ("column", "bar", "stacked") else _draw_lines
        draw(ax, chart, cats, names, series)
        ax.set_title(chart.title, loc="left", pad=14 if n > 2 else 6)
        ax.grid(axis="x" if chart.kind == "bar" else "y", alpha=0.3)
        if n > 1:
            # above the plot, right-aligned (the title is left-aligned): never on the labels
            ax.legend(fontsize=7, frameon=False, ncols=min(n, 3), loc="lower right",
                      bbox_to_anchor=(1.0, 1.0), borderaxespad=0.2)
        fig.subplots_adjust(**_margins(chart, cats, n))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def render_all(charts: list[Chart], lang: Lang) -> dict[str, bytes]:
    """PNG bytes per chart key (rendered once, shared by Word, PDF and HTML)."""
    return {c.key: render_png(c, lang) for c in charts}
