"""Shared helpers for benchmarks: one result format for every script in bench/.

Each benchmark writes ``bench/results/NAME.json`` as
``{"machine": "...", "rows": [{"case", "system", "store", "metric", "value", "unit"}]}``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine_description() -> str:
    """A one-line description of the machine the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"speed {cpu_speed_us():.1f} µs/op"
    )


def cpu_speed_us() -> float:
    """A calibration: µs for ``sum(range(1000))``, best of 5. Cloud machines of the same name
    differ by a third or more from one session to the next; this says which one a result
    came from, so runs can be compared."""
    import timeit

    return min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6


def row(case: str, system: str, store: str, metric: str, value: float, unit: str) -> dict[str, Any]:
    return {"case": case, "system": system, "store": store, "metric": metric,
            "value": value, "unit": unit}


def peak_rss_mb() -> float:
    """Peak resident set size of this process (and waited-for children) in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return own / 1024.0


def write_results(name: str, rows: list[dict[str, Any]]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps({"machine": machine_description(), "rows": rows},
                               ensure_ascii=False, indent=2) + "\n")
    return path


def print_table(rows: list[dict[str, Any]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in ("case", "system", "store", "metric", "value", "unit"):
        table.add_column(col, justify="right" if col == "value" else "left")
    for r in rows:
        value = r["value"]
        shown = f"{value:,.3f}" if isinstance(value, float) else f"{value:,}"
        table.add_row(r["case"], r["system"], r["store"], r["metric"], shown, r["unit"])
    Console().print(table)


def dispense_world(url: str, project: str, *, overlap: int, labelers: int, user_prefix: str,
                   rows: Any, managers: int = 0) -> tuple[list[str], list[str]]:
    """A pure-dispense project (no model, gold, audits or teams) with labelers holding API
    tokens and ``rows`` (an iterable of import rows) imported and routed.

    Returns (labeler tokens, manager tokens). Shared by the HTTP benchmarks so each measures
    the same world.
    """
    import tempfile

    import orjson
    from sqlalchemy.pool import NullPool

    from modops.accounts import add_user, create_token
    from modops.projects import create_project, load_spec
    from modops.queue import ingest_file
    from modops.store import make_engine, session_scope, upgrade

    engine = make_engine(url, poolclass=NullPool)
    upgrade(engine)
    spec = load_spec(Path(__file__).resolve().parents[1] / "examples" / "kr-comments.yaml")
    spec.update({"key": project, "overlap": overlap, "gold_rate": 0.0, "audit_rate": 0.0,
                 "routing": {}, "teams": [], "required_skills": []})
    tokens: list[str] = []
    manager_tokens: list[str] = []
    with session_scope(engine) as s:
        p = create_project(s, spec, actor="bench")
        p.settings = {"score_on_ingest": False}
        for i in range(labelers):
            u = add_user(s, f"{user_prefix}{i:02d}", "labeler", skills=["ko"], actor="bench")
            tokens.append(create_token(s, u, "bench").token)
        for i in range(managers):
            m = add_user(s, f"{user_prefix}-manager{i}", "manager", actor="bench")
            manager_tokens.append(create_token(s, m, "bench").token)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "items.jsonl"
        with path.open("wb") as f:
            for r in rows:
                f.write(orjson.dumps(r) + b"\n")
        ingest_file(engine, project, path, "jsonl", actor="bench")
    engine.dispose()
    return tokens, manager_tokens


def merge_results(name: str, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` into ``bench/results/NAME.json``, keeping the rows other scripts wrote
    there: a row replaces the stored row of the same (case, metric). Several benchmarks share
    one file this way (``rules.json``: the rule engine, the backtest, LSH clustering)."""
    path = RESULTS_DIR / f"{name}.json"
    kept: list[dict[str, Any]] = []
    if path.exists():
        new = {(r["case"], r["metric"]) for r in rows}
        kept = [r for r in json.loads(path.read_text()).get("rows", [])
                if (r.get("case"), r.get("metric")) not in new]
    return write_results(name, kept + rows)
