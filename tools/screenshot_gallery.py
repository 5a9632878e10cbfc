"""Write the README's screenshot gallery from ``docs/screenshots/*.png``.

    python tools/screenshot_gallery.py          # rewrite the block in README.md
    python tools/screenshot_gallery.py --check  # exit 1 if the block is out of date

The block between ``<!-- gallery:start -->`` and ``<!-- gallery:end -->`` lists every
screenshot by flow (labeler, reviewer, manager, admin, dashboards, reports, media, hostile
input), three to a row, each with its file name as caption. The browser tests write the PNGs
(``make screenshots``); run this after adding one.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "docs" / "screenshots"
README = ROOT / "README.md"
START, END = "<!-- gallery:start -->", "<!-- gallery:end -->"
# flow title -> file name prefixes, in the order people meet them
FLOWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Labeler", ("labeling", "label-", "labeler-")),
    ("Reviewer and appeals", ("review", "appeal")),
    ("Manager", ("manager-",)),
    ("Admin", ("admin-", "audit", "tokens", "users")),
    ("Dashboards and alerts", ("dashboard", "alerts", "scorecard", "quality")),
    ("Reports", ("report-",)),
    ("Media", ("media-",)),
    ("Hostile content", ("hostile-",)),
)
PER_ROW = 3


def flow_of(name: str) -> str:
    for title, prefixes in FLOWS:
        if name.startswith(prefixes):
            return title
    return "Other"


def gallery(names: list[str]) -> str:
    by_flow: dict[str, list[str]] = {}
    for name in sorted(names):
        by_flow.setdefault(flow_of(name), []).append(name)
    order = [t for t, _ in FLOWS] + ["Other"]
    lines = [START, ""]
    for title in order:
        shots = by_flow.get(title)
        if not shots:
            continue
        lines += [f"**{title}**", ""]
        for i in range(0, len(shots), PER_ROW):
            row = shots[i:i + PER_ROW]
            lines.append("| " + " | ".join(Path(n).stem for n in row) + " |")
            lines.append("|" + "---|" * len(row))
            lines.append("| " + " | ".join(
                f"![{Path(n).stem}](docs/screenshots/{n})" for n in row) + " |")
            lines.append("")
    lines.append(END)
    return "\n".join(lines)


def render(readme: str, names: list[str]) -> str:
    a, b = readme.index(START), readme.index(END) + len(END)
    return readme[:a] + gallery(names) + readme[b:]


def main() -> int:
    names = [p.name for p in SHOTS.glob("*.png")]
    text = README.read_text(encoding="utf-8")
    new = render(text, names)
    if "--check" in sys.argv:
        return 0 if new == text else 1
    README.write_text(new, encoding="utf-8")
    print(f"README gallery: {len(names)} screenshots")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
