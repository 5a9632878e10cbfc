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
