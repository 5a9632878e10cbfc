"""Render every bench/results/*.json into docs/benchmarks.md (the peer table first).

    .venv/bin/python bench/report_md.py

Reads only the results files, so it can be re-run at any time; ``make bench-peer`` runs it
after the peer benchmark, and ``make bench`` (which runs every bench script) runs it last.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR

BENCH = Path(__file__).resolve().parent
DOC = BENCH.parent / "docs" / "benchmarks.md"
SYSTEMS = ("modops", "label-studio")
# (metric, label, higher is better, counts toward the ≥10× goal)
HEADLINE = (
    ("import_items_per_s", "import", True, True),
    ("pairs_per_s", "dispense (next + submit)", True, True),
    ("duplicates", "duplicates handed out", False, False),
    ("server_cpu_ms_per_pair", "server CPU per pair (ms)", False, False),
    ("server_cpu_s", "server CPU time (s)", False, False),
    ("export_items_per_s", "export", True, True),
    ("peak_rss_mb", "peak server RSS", False, False),
)
GOAL = 10.0


def fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()
                                  and abs(value) >= 1000):
        return f"{int(value):,}"
    v = float(value)
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}" if v else "0"


def load(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return {"machine": "?", "rows": [], "error": str(exc)}


def summary(name: str) -> str:
    """The first line of the bench script's docstring, if there is one."""
    script = BENCH / f"{name}.py"
    try:
        doc = ast.get_docstring(ast.parse(script.read_text())) or ""
    except (OSError, SyntaxError):
        return ""
    return " ".join(doc.split("\n\n")[0].split())


def table(header: list[str], body: list[list[str]], right: set[int]) -> list[str]:
    align = ["---:" if i in right else "---" for i in range(len(header))]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in body]
    return out


def peer_section(data: dict[str, Any]) -> list[str]:
    rows, notes = data.get("rows", []), data.get("notes", {})
    val: dict[tuple[str, str, str, str], float] = {
        (r["case"], r["store"], r["metric"], r["system"]): r["value"] for r in rows}
    out = ["## ModOps vs Label Studio (`make bench-peer`)", "",
           f"Machine: {data.get('machine', '?')}.  ",
           f"Label Studio {notes.get('label_studio_version', '?')} from PyPI, started as a new "
           "user would (`label-studio start`, Django's built-in server, one process); ModOps "
           f"`modops serve --workers {notes.get('modops_workers', '?')}`. Both on 127.0.0.1, "
           "driven over HTTP by the same client (httpx), one user and API token per labeler, "
           "fresh database per run (SQLite file, or a new PostgreSQL database).", ""]
    out += [f"Work: import {notes.get('items', 0):,} Korean text items in one upload; 8 then 32 "
            f"concurrent labelers doing next-task + submit until {notes.get('tasks', 0):,} tasks "
            "are submitted (one answer per item on both: ModOps `overlap: 1`, Label Studio's "
            "default `maximum_annotations: 1`); export all items as JSON (Label Studio: "
            "`exportType=JSON&download_all_tasks=true`; ModOps: `format=labelstudio`, the same "
            "JSON shape). ModOps scores nothing on import here (`score_on_ingest: false`), "
            "as Label Studio has no model attached.", ""]
    header = ["work", "store", "metric", "ModOps", "Label Studio", "ModOps ÷ LS", "≥ 10×?"]
    body: list[list[str]] = []
    keys = list(dict.fromkeys((r["case"], r["store"]) for r in rows))  # run order
    keys.sort(key=lambda k: k[1] != "sqlite")  # stable: SQLite first, then PostgreSQL
    for metric, label, higher, goal in HEADLINE:
        for case, store in keys:
            m = val.get((case, store, metric, "modops"))
            ls = val.get((case, store, metric, "label-studio"))
            if m is None and ls is None:
                continue
            if "JSONL" in case:
                continue  # ModOps-only extra, in the detail table below
            ratio, ok = "—", ""
            if metric == "duplicates":
                pass  # a count, not a speed: the two numbers say it
            elif m is not None and ls:
                r = m / ls
                ratio = f"{r:,.1f}×"
                if goal:
                    ok = "yes" if r >= GOAL else "**no**"
                elif not higher and m:
                    ratio = f"{ls / m:,.1f}× less" if m <= ls else f"{m / ls:,.1f}× more"
            body.append([case, store, label, fmt(m), fmt(ls), ratio, ok])
    out += table(header, body, {3, 4, 5})
    out += ["", "`duplicates`: items handed to more than one labeler (each extra labeler counts "
            "one) although one answer per item was asked for; `over_annotated` in the detail "
            "table is the same seen from the export (items that came back with more than one "
            "answer). A task handed again to the *same* labeler after a failed submit is "
            "counted apart (`served_again_same_labeler`). Both clients retry 503/429 answers "
            "(`retries_503_429`); other failed requests are `errors`. A dispense case stops "
            f"at {fmt(notes.get('dispense_cap_s', 0))} s even if short of the task count; "
            "`pairs_per_s` is then over the pairs actually done.", ""]
    if er := notes.get("earlier_run"):
        first = fmt((er.get("load_avg_at_start") or [0])[0])
        last = fmt((er.get("load_avg_at_end") or [0])[0])
        out += [f"Rows of {', '.join(er.get('kept', []))} are from an earlier run "
                f"({er.get('run_at', '?')}, 1-minute load {first} at its start, {last} at its "
                "end); the "
                f"others from the run of {notes.get('run_at', '?')} (`bench/peer.py --merge`).",
                ""]
    for remark in notes.get("remarks", []):
        out += [remark, ""]
    load_rows = [r for r in rows if r["metric"] == "load_avg_1m_mean"]
    out.append("**Load on the machine** (both servers, the client and the database share "
               f"these {notes.get('cpu_count', '?')} cores). 1-minute load average at "
               f"the start {fmt(notes.get('load_avg_at_start', [0])[0])}, at the end "
               f"{fmt(notes.get('load_avg_at_end', [0])[0])}; mean during each run: "
               + ", ".join(f"{r['system']}/{r['store']} {fmt(r['value'])}" for r in load_rows)
               + ". Server CPU time (`server_cpu_*`, the server's process tree; PostgreSQL's own "
               "CPU is not in it) depends much less on the neighbours than wall-clock "
               "throughput does.")
    out.append("")
    for key, title in (("failures", "Failures"), ("capped", "Stopped at the time cap"),
                       ("errors", "HTTP errors"), ("skipped", "Skipped")):
        items = notes.get(key) or []
        if not items:
            continue
        out.append(f"**{title}:**")
        out.append("")
        for it in items:
            if isinstance(it, dict):
                out.append(f"- {it.get('error')}")
                tail = (it.get("server_log_tail") or "").strip()
                if tail:
                    out += ["", "  ```", *("  " + ln for ln in tail.splitlines()[-8:]), "  ```"]
            else:
                out.append(f"- {it}")
        out.append("")
    out += ["<details><summary>Every peer measurement</summary>", ""]
    detail = [[r["case"], r["system"], r["store"], r["metric"], fmt(r["value"]), r["unit"]]
              for r in rows]
    out += table(["case", "system", "store", "metric", "value", "unit"], detail, {4})
    out += ["", "</details>", ""]
    return out


def other_section(name: str, data: dict[str, Any]) -> list[str]:
    out = [f"### `{name}` (bench/{name}.py)", ""]
    if s := summary(name):
        out += [s, ""]
    out += [f"Machine: {data.get('machine', '?')}.", ""]
    if data.get("error"):
        out += [f"Could not read the results: {data['error']}", ""]
    body = [[r["case"], r["system"], r["store"], r["metric"], fmt(r["value"]), r["unit"]]
            for r in data.get("rows", [])]
    out += table(["case", "system", "store", "metric", "value", "unit"], body, {4})
    out.append("")
    return out


def render(dest: Path = DOC) -> Path:
    files = sorted(RESULTS_DIR.glob("*.json"))
    out = ["# Benchmarks", "",
           "Generated by `bench/report_md.py` from `bench/results/*.json`; do not edit by hand. "
           "Re-run a benchmark (`make bench`, `make bench-peer`) and then "
           "`.venv/bin/python bench/report_md.py` to refresh this page. Every number was "
           "measured on the machine named under its table.", ""]
    peer = RESULTS_DIR / "peer.json"
    if peer.exists():
        out += peer_section(load(peer))
    else:
        out += ["## ModOps vs Label Studio", "", "Not measured yet: run `make bench-peer`.", ""]
    others = [p for p in files if p.name != "peer.json"]
    if others:
        out += ["## ModOps benchmarks (`make bench`)", ""]
        for p in others:
            out += other_section(p.stem, load(p))
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text("\n".join(out).rstrip() + "\n")
    return dest


if __name__ == "__main__":
    print(f"wrote {render()}")
