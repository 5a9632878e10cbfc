"""Server-rendered SVG charts: no chart library, no script, text escaped, Hangul via CSS fonts."""

from __future__ import annotations

from datetime import datetime, timedelta

from markupsafe import Markup, escape

KST = timedelta(hours=9)


def throughput_svg(points: list[tuple[datetime, int]], *, title: str, x_label: str,
                   y_label: str, width: int = 720, height: int = 240) -> Markup:
    """A bar chart of decisions per hour; each bar carries its value for screen readers/tests."""
    left, right, top, bottom = 48, 12, 28, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((n for _, n in points), default=0)
    scale_max = max(1, peak)
    bar_w = plot_w / max(1, len(points))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text class="chart-title" x="{left}" y="18">{escape(title)}</text>',
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" '
        f'y2="{top + plot_h}"/>',
        f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}"/>',
        f'<text class="tick" x="{left - 6}" y="{top + 4}" text-anchor="end">{scale_max}</text>',
        f'<text class="tick" x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    for i, (hour, n) in enumerate(points):
        h = plot_h * n / scale_max
        x = left + i * bar_w + 1
        y = top + plot_h - h
        local = hour + KST
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{max(1.0, bar_w - 2):.1f}" '
            f'height="{h:.1f}" data-hour="{local:%H}" data-value="{n}">'
            f"<title>{local:%m-%d %H}:00 — {n}</title></rect>")
        if i % 3 == 0:
            parts.append(f'<text class="tick" x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" '
                         f'text-anchor="middle">{local:%H}</text>')
    parts.append(f'<text class="axis-label" x="{left + plot_w / 2:.0f}" y="{height - 6}" '
                 f'text-anchor="middle">{escape(x_label)}</text>')
    parts.append(f'<text class="axis-label" x="12" y="{top + plot_h / 2:.0f}" '
                 f'transform="rotate(-90 12 {top + plot_h / 2:.0f})" text-anchor="middle">'
                 f"{escape(y_label)}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


# --------------------------------------------------------------------------- dashboards
# SVG text names a Korean font itself: an SVG saved or opened on its own (outside the page's
# stylesheet) still renders Hangul. A presentation attribute, not a style: the CSP allows it.
KOREAN_FONT = "NanumGothic, 'Nanum Gothic', 'Noto Sans KR', 'Malgun Gothic', sans-serif"
# Colour-blind-safe series palette (Okabe & Ito 2008), then greys.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000", "#7f7f7f", "#bcbcbc")


def _open(cls: str, width: int, height: int, title: str) -> list[str]:
    return [f'<svg class="{cls}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(title)}" font-family="{KOREAN_FONT}" '
            f'xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]


def sparkline_svg(values: list[float | None], *, title: str, width: int = 120,
                  height: int = 32) -> Markup:
    """A tiny trend line over the last periods (missing values break the line); the last
    point is marked. Scales to its own min/max: it shows direction, the KPI shows the number."""
    parts = _open("spark", width, height, title)
    known = [v for v in values if v is not None]
    if len(known) >= 1 and len(values) >= 1:
        lo, hi = min(known), max(known)
        span = (hi - lo) or 1.0
        step = (width - 6) / max(1, len(values) - 1)
        pts: list[list[str]] = [[]]
        last: tuple[float, float] | None = None
        for i, v in enumerate(values):
            if v is None:
                pts.append([])
                continue
            x = 3 + i * step
            y = height - 4 - (height - 8) * ((v - lo) / span if hi > lo else 0.5)
            pts[-1].append(f"{x:.1f},{y:.1f}")
            last = (x, y)
        for seg in pts:
            if len(seg) > 1:
                parts.append(f'<polyline class="spark-line" fill="none" stroke="{PALETTE[0]}" '
                             f'stroke-width="1.5" points="{" ".join(seg)}"/>')
        if last is not None:
            parts.append(f'<circle class="spark-dot" cx="{last[0]:.1f}" cy="{last[1]:.1f}" '
                         f'r="2.5" fill="{PALETTE[0]}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def lines_svg(days: list[str], series: dict[str, list[int]], names: dict[str, str], *,
              title: str, x_label: str, y_label: str, width: int = 880,
              height: int = 300) -> Markup:
    """Daily volume per policy label: one line per label, legend with the (Korean) names.
    Every point carries ``data-label``/``data-day``/``data-value`` for tests."""
    legend_h = 18 * ((len(series) + 3) // 4)
    left, right, top, bottom = 48, 28, 28, 44 + legend_h  # room for the last day label
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((max(v) for v in series.values() if v), default=0)
    scale_max = max(1, peak)
    step = plot_w / max(1, len(days) - 1)
    parts = _open("chart lines", width, height, title)
    parts += [
        f'<text class="chart-title" x="{left}" y="18">{escape(title)}</text>',
        f'<line class="axis" stroke="#98a6b5" x1="{left}" y1="{top + plot_h}" '
        f'x2="{left + plot_w}" y2="{top + plot_h}"/>',
        f'<line class="axis" stroke="#98a6b5" x1="{left}" y1="{top}" x2="{left}" '
        f'y2="{top + plot_h}"/>',
        f'<text class="tick" x="{left - 6}" y="{top + 4}" text-anchor="end">{scale_max}</text>',
        f'<text class="tick" x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    every = max(1, len(days) // 10)
    for i, day in enumerate(days):
        if i % every == 0:
            parts.append(f'<text class="tick" x="{left + i * step:.1f}" '
                         f'y="{top + plot_h + 14}" text-anchor="middle">{escape(day[5:])}</text>')
    for n, (label, counts) in enumerate(series.items()):
        color = PALETTE[n % len(PALETTE)]
        pts = [(left + i * step, top + plot_h - plot_h * c / scale_max)
               for i, c in enumerate(counts)]
        name = names.get(label, label)
        parts.append(f'<g class="series" data-label="{escape(label)}">'
                     f"<title>{escape(name)}</title>")
        if len(pts) > 1:
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="'
                         + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
        for (x, y), day, c in zip(pts, days, counts, strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}" '
                         f'data-day="{escape(day)}" data-value="{c}">'
                         f"<title>{escape(name)} · {escape(day)}: {c}</title></circle>")
        parts.append("</g>")
        lx = left + (n % 4) * (plot_w / 4)
        ly = top + plot_h + 34 + 18 * (n // 4)
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 9}" width="10" height="10" fill="{color}"/>'
                     f'<text class="legend" x="{lx + 14:.1f}" y="{ly}">{escape(name)}</text>')
    parts.append(f'<text class="axis-label" x="12" y="{top + plot_h / 2:.0f}" '
                 f'transform="rotate(-90 12 {top + plot_h / 2:.0f})" text-anchor="middle">'
                 f"{escape(y_label)}</text>")
    parts.append(f'<text class="axis-label" x="{width - right}" y="{top + plot_h + 28}" '
                 f'text-anchor="end">{escape(x_label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def hbars_svg(rows: list[tuple[str, float | None, tuple[float, float] | None, str]], *,
              title: str, scale_max: float = 1.0, width: int = 640,
              row_h: int = 26) -> Markup:
    """Horizontal bars with an optional 95% interval whisker: ``(name, value, interval,
    shown text)``. Used for shares (gold accuracy by labeler, precision/recall)."""
    left, right, top = 150, 90, 28
    height = top + row_h * max(1, len(rows)) + 8
    plot_w = width - left - right
    parts = _open("chart hbars", width, height, title)
    parts.append(f'<text class="chart-title" x="8" y="18">{escape(title)}</text>')
    for i, (name, value, interval, shown) in enumerate(rows):
        y = top + i * row_h
        parts.append(f'<text class="tick" x="{left - 8}" y="{y + row_h / 2 + 4:.1f}" '
                     f'text-anchor="end">{escape(name)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 4}" width="{plot_w}" height="{row_h - 8}" '
                     f'fill="#eef2f7"/>')
        if value is not None:
            w = plot_w * max(0.0, min(1.0, value / scale_max))
            parts.append(f'<rect class="bar" x="{left}" y="{y + 4}" width="{w:.1f}" '
                         f'height="{row_h - 8}" fill="{PALETTE[0]}" data-name="{escape(name)}" '
                         f'data-value="{value}"><title>{escape(name)}: {escape(shown)}</title>'
                         "</rect>")
        if interval is not None:
            x1 = left + plot_w * max(0.0, min(1.0, interval[0] / scale_max))
            x2 = left + plot_w * max(0.0, min(1.0, interval[1] / scale_max))
            ym = y + row_h / 2
            parts.append(f'<line x1="{x1:.1f}" y1="{ym:.1f}" x2="{x2:.1f}" y2="{ym:.1f}" '
                         f'stroke="#14202e" stroke-width="1.5"/>')
        parts.append(f'<text class="tick" x="{left + plot_w + 8}" y="{y + row_h / 2 + 4:.1f}">'
                     f"{escape(shown)}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
