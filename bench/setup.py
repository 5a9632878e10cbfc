"""Set-up time: from ``git clone`` to the first 200 on the sign-in page, with ``make demo``.

    python bench/setup.py                        # the real thing: fresh clone, fresh venv
    python bench/setup.py --reuse-venv .venv     # skip the install: clone, demo build, serve
    python bench/setup.py --quick                # smoke run: reuse .venv, a 600-item world

Clones this checkout's HEAD into a temporary folder, runs ``make demo`` there on a free port
(its own ``./modops.db``; no MODOPS_* variable of the caller leaks in), and polls
``/login`` until it answers 200. Every phase of ``make demo`` prints ``demo: <phase> done in
N s`` (``install: done with uv in N s`` for the packages); the script keeps those lines.
Writes ``bench/results/setup.json``: ``fresh_clone_to_server_s``, ``demo_build_s`` (the
world's phases: stream, simulate, opening work, alert replay), each phase's seconds, the
host's load average at the start, and the machine line. Measure on a quiet host: the numbers
are wall-clock times.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, machine_description, row

REPO = Path(__file__).resolve().parents[1]
WORLD_PHASES = ("stream", "simulate", "opening", "alerts")
PHASE = re.compile(r"^(?:demo|install): (?:(\w+) done in|done with \w+ in) ([\d.]+) s"
                   r"(?: \(CPU ([\d.]+) s\))?")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(reuse: Path | None, clone: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODOPS_")}
    env.pop("VIRTUAL_ENV", None)
    if reuse is not None:  # the reused venv's editable install points elsewhere: run the clone
        env["PYTHONPATH"] = str(clone / "src")
    return env


def make_command(clone: Path, port: int, items: int, reuse: Path | None) -> list[str]:
    cmd = ["make", "-C", str(clone), "demo", f"DEMO_PORT={port}", f"DEMO_ITEMS={items}"]
    if reuse is not None:
        (clone / ".venv").symlink_to(reuse.resolve())
        cksum = subprocess.run(["cksum", "pyproject.toml"], cwd=clone, capture_output=True,
                               text=True, check=True).stdout.split()[0]
        cmd += ["-o", f".venv/.installed-run-{cksum}"]  # taken as made: no install
    return cmd


class Output:
    """The child's output, echoed, with each phase line's time kept."""

    def __init__(self, proc: subprocess.Popen[str], t0: float) -> None:
        self.phases: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.lines: list[tuple[float, str]] = []
        self._t0 = t0
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            at = time.perf_counter() - self._t0
            self.lines.append((at, line))
            print(f"[{at:7.1f} s] {line}", flush=True)
            m = PHASE.match(line)
            if m:
                self.phases[m.group(1) or "install"] = float(m.group(2))
                if m.group(3):
                    self.cpu[m.group(1)] = float(m.group(3))


def wait_for_200(url: str, proc: subprocess.Popen[str], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)  # polling a server that is not up yet: there is nothing to wait on
    return False


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # the group we started (make, modops, uvicorn)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    reuse = args.reuse_venv
    port, clone = free_port(), tmp / "modops"
    load = os.getloadavg()
    # a cache from an earlier install makes the packages far faster than on a new host
    warm = {name: _warm(Path.home() / ".cache" / name) for name in ("uv", "pip")}
    t0 = time.perf_counter()
    subprocess.run(["git", "clone", "--quiet", str(args.repo), str(clone)], check=True)
    clone_s = time.perf_counter() - t0
    proc = subprocess.Popen(make_command(clone, port, args.items, reuse), cwd=clone,
                            env=clean_env(reuse, clone), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    out = Output(proc, t0)
    try:
        ok = wait_for_200(f"http://127.0.0.1:{port}/login", proc, args.timeout)
        served_s = time.perf_counter() - t0
    finally:
        stop(proc)
    if not ok:
        raise SystemExit(f"no 200 from /login within {args.timeout:.0f} s; last lines:\n"
                         + "\n".join(line for _, line in out.lines[-20:]))
    phases = {"clone": clone_s, **out.phases}
    return {"fresh_clone_to_server_s": round(served_s, 1),
            "demo_build_s": round(sum(phases.get(p, 0.0) for p in WORLD_PHASES), 1),
            "phases_s": {k: round(v, 1) for k, v in phases.items()},
            "phases_cpu_s": {k: round(v, 1) for k, v in out.cpu.items()},
            "load_average_at_start": [round(x, 2) for x in load],
            "reused_venv": reuse is not None, "items": args.items,
            "package_cache_warm": warm}


def _warm(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", type=Path, default=REPO, help="the checkout to clone (HEAD)")
    ap.add_argument("--reuse-venv", type=Path, default=None,
                    help="use this installed venv instead of installing (skips pip/uv)")
    ap.add_argument("--items", type=int, default=5000, help="demo size (make demo's default)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: --reuse-venv .venv --items 600, result not written")
    ap.add_argument("--timeout", type=float, default=1800.0)
    args = ap.parse_args()
    if args.quick:
        args.reuse_venv = args.reuse_venv or REPO / ".venv"
        args.items = 600
    with tempfile.TemporaryDirectory(prefix="modops-setup-") as tmp:
        result = measure(args, Path(tmp))
    print(json.dumps(result, indent=2))
    if args.quick:
        return
    case = "make demo from a fresh clone" + (" (venv reused)" if args.reuse_venv else "")
    rows = [row(case, "modops", "sqlite", "fresh_clone_to_server_s",
                result["fresh_clone_to_server_s"], "s"),
            row(case, "modops", "sqlite", "demo_build_s", result["demo_build_s"], "s")]
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / "setup.json"
    path.write_text(json.dumps({"machine": machine_description(), **result, "rows": rows},
                               ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
