"""The signal table of docs/rules.md, generated from the registry (between the markers
``<!-- signals:begin -->`` and ``<!-- signals:end -->``).

    python -m modops.rules.doc            # print the table
    python -m modops.rules.doc --write    # rewrite it in docs/rules.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from modops.rules.signals import all_families, all_signals

BEGIN, END = "<!-- signals:begin -->", "<!-- signals:end -->"
DOC = Path(__file__).resolve().parents[3] / "docs" / "rules.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def signals_markdown() -> str:
    lines = ["| signal | type | unit | source | SQL form | what it is |",
             "|---|---|---|---|---|---|"]
    for s in all_signals():
        lines.append(f"| `{s.name}` | {s.type.value} | {_cell(s.unit)} | {s.source} | "
                     f"{'yes' if s.sql else '—'} | {_cell(s.doc)} |")
    for f in all_families():
        lines.append(f"| `{f.prefix}<key>` | {f.type.value} | {_cell(f.unit)} | {f.source} | "
                     f"{'yes' if f.sql else '—'} | {_cell(f.doc)} |")
    return "\n".join(lines) + "\n"


def with_table(document: str) -> str:
    head, rest = document.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{signals_markdown()}{END}{tail}"


def main() -> None:
    if "--write" in sys.argv:
        DOC.write_text(with_table(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        sys.stdout.write(signals_markdown())


if __name__ == "__main__":
    main()
