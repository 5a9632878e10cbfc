"""Peer benchmark (issue 9): ModOps against Label Studio on the same machine, the same work.

    make bench-peer          # installs Label Studio into a throwaway venv, then runs this
    .venv/bin/python bench/peer.py --run [--ls-venv /tmp/modops-ls-venv] [--items 100000]
        [--tasks 2000] [--labelers 8 32] [--stores sqlite postgresql]
        [--systems modops label-studio] [--dispense-cap-s 60] [--budget-s 1500]

Without ``--run`` it only says how to run it: ``make bench`` runs every ``bench/*.py`` and the
peer benchmark downloads Label Studio and takes ~20-25 minutes on a busy 2-core box, so it is
``make bench-peer`` only.

Both systems run as servers on 127.0.0.1 and are driven over HTTP by the same client code:

- **import**: one multipart upload of 100,000 Korean text items (ModOps: JSONL to
  ``POST /api/v1/projects/{key}/import``; Label Studio: the same items as a JSON task list to
  ``POST /api/projects/{id}/import``), timed until the server answers.
- **dispense**: 8, then 32 concurrent labelers (one user and token each) doing next-task +
  submit until 2,000 tasks are submitted (or a time cap). ModOps: ``POST .../tasks/next`` and
  ``POST /api/v1/tasks/{id}/submit``; Label Studio: ``GET /api/projects/{id}/next`` and
  ``POST /api/tasks/{id}/annotations``. One answer per item on both (ModOps ``overlap: 1``,
  Label Studio's default ``maximum_annotations: 1``). ``duplicates`` counts extra hand-outs: an
  item handed out more than once, to anyone.
- **export**: all 100,000 items as JSON (ModOps ``?format=labelstudio``, the Label Studio JSON
  shape; Label Studio ``?exportType=JSON&download_all_tasks=true``), timed until the last byte,
  then parsed and counted. ModOps JSONL export is reported as an extra row.
- **peak_rss_mb**: the server's whole process tree (psutil, sampled every 0.25 s).

The machine is shared with other sessions: the 1-minute load average is sampled through the
run and written next to the numbers, as is the server's CPU time per phase.
Writes bench/results/peer.json, then re-renders docs/benchmarks.md (bench/report_md.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, print_table, row, write_results

REPO = Path(__file__).resolve().parents[1]
MODOPS = REPO / ".venv" / "bin" / "modops"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
PG_ADMIN_URL = os.environ.get("PEER_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
LABELS = ("none", "profanity", "harassment")
LS_CONFIG = ('<View><Text name="text" value="$text"/><Choices name="label" toName="text">'
             + "".join(f'<Choice value="{c}"/>' for c in LABELS) + "</Choices></View>")
LS_ENV = {"LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false", "SENTRY_DSN": "",
          "FRONTEND_SENTRY_DSN": "", "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true"}
PASSWORD = "peer-bench-pass-1"
SNIPPETS = ("진짜 별로다 ㅋㅋ", "이 영상 너무 좋아요", "댓글 수준 무엇", "라이브 언제 해요?",
            "광고 그만 좀", "오늘도 잘 보고 갑니다", "이건 좀 아닌 듯", "와 대박 ㄷㄷ")

# Users for Label Studio, made with its own ORM (it has no "add user with a token" CLI), run
# with the Label Studio venv's python and the same environment as the server.
LS_USERS_SCRIPT = r"""
import json, os, pathlib, sys
import label_studio
sys.path.insert(0, str(pathlib.Path(label_studio.__file__).parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label_studio.core.settings.label_studio")
import django
django.setup()
from organizations.models import Organization
from rest_framework.authtoken.models import Token
from users.models import User
org = Organization.objects.first()
tokens = []
for i in range(int(sys.argv[1])):
    email = f"labeler{i:02d}@peer.bench"
    u = User.objects.filter(email=email).first() or User.objects.create_user(
        email=email, password=sys.argv[2])
    org.add_user(u)
    u.active_organization = org
    u.save(update_fields=["active_organization"])
    tokens.append(Token.objects.get_or_create(user=u)[0].key)
print("TOKENS " + json.dumps(tokens))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in tree(pid):
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


class Monitor(threading.Thread):
    """Samples the server tree's RSS and the machine's load average until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_rss, self.loads = pid, 0, []
        self.stop_event = threading.Event()

    def run(self) -> None:
        last_load = 0.0
        while not self.stop_event.is_set():
            rss = 0
            for p in tree(self.pid):
                with contextlib.suppress(psutil.NoSuchProcess):
                    rss += p.memory_info().rss
            self.peak_rss = max(self.peak_rss, rss)
            if time.monotonic() - last_load >= 1.0:
                self.loads.append(os.getloadavg()[0])
                last_load = time.monotonic()
            self.stop_event.wait(0.25)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(5)


def make_data(tmp: Path, n: int) -> tuple[Path, Path]:
    """The same n items twice: JSONL for ModOps, a JSON task list for Label Studio."""
    rng = random.Random(9)
    items = [{"external_id": f"peer-{i:07d}", "product": "comment",
              "text": f"{rng.choice(SNIPPETS)} #{i} {rng.choice(SNIPPETS)}"} for i in range(n)]
    jsonl, js = tmp / "items.jsonl", tmp / "items.json"
    jsonl.write_bytes(b"".join(orjson.dumps(it) + b"\n" for it in items))
    js.write_bytes(orjson.dumps(items))
    return jsonl, js


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"no answer from {url} within {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    """Stop a server we started: its own process group (start_new_session), TERM then KILL."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def log_tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


async def send(c: httpx.AsyncClient, method: str, url: str, h: dict[str, str],
               log: dict[str, list], **kw: Any) -> httpx.Response:
    """One request, retried (jittered backoff, at most 8 times) on 503 and 429: ModOps answers
    503 when the database rolled back a deadlock and asks clients to retry (as
    bench/http_dispense.py does). The same rule applies to both systems; retries are counted."""
    for attempt in range(8):
        r = await c.request(method, url, headers=h, **kw)
        if r.status_code not in (429, 503):
            return r
        log["retries"].append(r.status_code)
        await asyncio.sleep(random.uniform(0, 0.01 * 2 ** attempt))
    return r


# --- the two systems -------------------------------------------------------------------------

class System:
    name = ""
    next_path: str
    proc: subprocess.Popen[bytes] | None = None
    admin_token = ""
    tokens: list[str]

    def __init__(self, store: str, tmp: Path, labelers: int) -> None:
        self.store, self.tmp, self.labelers = store, tmp, labelers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"{self.name}-{store}.log"
        self.startup_s = 0.0

    def auth(self, token: str) -> dict[str, str]:
        raise NotImplementedError

    async def next(self, c: httpx.AsyncClient, h: dict[str, str],
                   log: dict[str, list]) -> tuple[int, Any] | None:
        raise NotImplementedError

    async def submit(self, c: httpx.AsyncClient, h: dict[str, str], task_id: int, label: str,
                     log: dict[str, list]) -> None:
        raise NotImplementedError


class ModOps(System):
    name = "modops"
    key = "peer"

    def __init__(self, store: str, tmp: Path, labelers: int, workers: int) -> None:
        super().__init__(store, tmp, labelers)
        self.workers = workers
        self.db_name = f"peer_modops_{os.getpid()}"
        if store == "sqlite":
            self.url = f"sqlite:///{tmp / 'modops-peer.db'}"
        else:
            self.url = (f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{self.db_name}")

    def setup(self) -> None:
        """Schema, a project (overlap 1, no gold/audit, no model scoring), users with tokens."""
        from sqlalchemy.pool import NullPool

        from modops.accounts import add_user, create_token
        from modops.projects import create_project, load_spec
        from modops.store import make_engine, session_scope, upgrade

        if self.store == "postgresql":
            pg_admin(f'CREATE DATABASE "{self.db_name}"')
        engine = make_engine(self.url, poolclass=NullPool)
        upgrade(engine)
        spec = load_spec(REPO / "examples" / "kr-comments.yaml")
        spec.update({"key": self.key, "overlap": 1, "gold_rate": 0.0, "audit_rate": 0.0,
                     "routing": {}, "teams": [], "required_skills": []})
        with session_scope(engine) as s:
            p = create_project(s, spec, actor="peer-bench")
            p.settings = {"score_on_ingest": False}
            admin = add_user(s, "peer-admin", "admin", actor="peer-bench")
            self.admin_token = create_token(s, admin, "peer").token
            self.tokens = []
            for i in range(self.labelers):
                u = add_user(s, f"labeler{i:02d}", "labeler", skills=["ko"], actor="peer-bench")
                self.tokens.append(create_token(s, u, "peer").token)
        engine.dispose()

    def start(self) -> None:
        env = {**os.environ, "MODOPS_DATABASE_URL": self.url, "MODOPS_WEBHOOKS": "0",
               "MODOPS_SECRET_KEY": secrets.token_urlsafe(16)}
        t0 = time.perf_counter()
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(MODOPS), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", str(self.workers)], env=env, cwd=self.tmp, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        wait_http(f"{self.base}/healthz", self.proc, 180)
        self.startup_s = time.perf_counter() - t0

    def cleanup(self) -> None:
        if self.store == "postgresql":
            try:
                pg_admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            except Exception as exc:  # report, never mask the run's own error
                print(f"  could not drop {self.db_name}: {exc}")

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def import_items(self, c: httpx.Client, jsonl: Path, _js: Path) -> int:
        with jsonl.open("rb") as f:
            r = c.post(f"/api/v1/projects/{self.key}/import", params={"format": "jsonl"},
                       headers=self.auth(self.admin_token),
                       files={"file": ("items.jsonl", f, "application/x-ndjson")})
        r.raise_for_status()
        return int(r.json()["inserted"])

    def export_url(self, fmt: str = "labelstudio") -> str:
        return f"/api/v1/projects/{self.key}/export?format={fmt}"

    async def next(self, c: httpx.AsyncClient, h: dict[str, str],
                   log: dict[str, list]) -> tuple[int, Any] | None:
        r = await send(c, "POST", f"/api/v1/projects/{self.key}/tasks/next", h, log)
        if r.status_code == 204:
            return None
        r.raise_for_status()
        task = r.json()
        return task["task_id"], task["item"]["id"]

    async def submit(self, c: httpx.AsyncClient, h: dict[str, str], task_id: int, label: str,
                     log: dict[str, list]) -> None:
        r = await send(c, "POST", f"/api/v1/tasks/{task_id}/submit", h, log,
                       json={"labels": [label]})
        r.raise_for_status()


class LabelStudio(System):
    name = "label-studio"

    def __init__(self, store: str, tmp: Path, labelers: int, venv: Path) -> None:
        super().__init__(store, tmp, labelers)
        self.venv = venv
        self.data_dir = tmp / f"ls-data-{store}"
        self.db_name = f"peer_ls_{os.getpid()}"
        self.admin_token = secrets.token_hex(20)
        self.project_id = 0
        self.env = {**os.environ, **LS_ENV, "LABEL_STUDIO_BASE_DATA_DIR": str(self.data_dir)}
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        if store == "postgresql":
            self.env.update({"DJANGO_DB": "default", "POSTGRE_NAME": self.db_name,
                             "POSTGRE_USER": PG["user"], "POSTGRE_PASSWORD": "",
                             "POSTGRE_HOST": PG["host"], "POSTGRE_PORT": str(PG["port"])})
        else:
            self.env["DJANGO_DB"] = "sqlite"

    def start(self) -> None:
        if self.store == "postgresql":
            pg_admin(f'CREATE DATABASE "{self.db_name}"')
        self.data_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(self.venv / "bin" / "label-studio"), "start", "--no-browser",
                 "--internal-host", "127.0.0.1", "-p", str(self.port),
                 "--username", "admin@peer.bench", "--password", PASSWORD,
                 "--user-token", self.admin_token, "--enable-legacy-api-token"],
                env=self.env, cwd=self.data_dir, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        wait_http(f"{self.base}/health", self.proc, 300)  # first start runs the migrations
        self.startup_s = time.perf_counter() - t0

    def setup(self) -> None:
        """One Label Studio user (and token) per labeler, then the project, over the API."""
        out = subprocess.run([str(self.venv / "bin" / "python"), "-c", LS_USERS_SCRIPT,
                              str(self.labelers), PASSWORD], env=self.env, cwd=self.data_dir,
                             capture_output=True, text=True, timeout=180)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("TOKENS ")]
        if out.returncode != 0 or not lines:
            raise RuntimeError(f"creating Label Studio users failed: {out.stderr[-800:]}")
        self.tokens = json.loads(lines[-1][7:])
        r = httpx.post(f"{self.base}/api/projects", headers=self.auth(self.admin_token),
                       json={"title": "peer", "label_config": LS_CONFIG}, timeout=60)
        r.raise_for_status()
        self.project_id = r.json()["id"]

    def cleanup(self) -> None:
        if self.store == "postgresql":
            try:
                pg_admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            except Exception as exc:
                print(f"  could not drop {self.db_name}: {exc}")

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Token {token}"}

    def import_items(self, c: httpx.Client, _jsonl: Path, js: Path) -> int:
        with js.open("rb") as f:
            r = c.post(f"/api/projects/{self.project_id}/import",
                       headers=self.auth(self.admin_token),
                       files={"file": ("items.json", f, "application/json")})
        r.raise_for_status()
        return int(r.json()["task_count"])

    def export_url(self, fmt: str = "JSON") -> str:
        return f"/api/projects/{self.project_id}/export?exportType={fmt}&download_all_tasks=true"

    async def next(self, c: httpx.AsyncClient, h: dict[str, str],
                   log: dict[str, list]) -> tuple[int, Any] | None:
        r = await send(c, "GET", f"/api/projects/{self.project_id}/next", h, log)
        if r.status_code == 404:
            return None
        r.raise_for_status()
        task = r.json()
        return task["id"], task["id"]

    async def submit(self, c: httpx.AsyncClient, h: dict[str, str], task_id: int, label: str,
                     log: dict[str, list]) -> None:
        r = await send(c, "POST", f"/api/tasks/{task_id}/annotations", h, log, json={"result": [
            {"from_name": "label", "to_name": "text", "type": "choices",
             "value": {"choices": [label]}}]})
        r.raise_for_status()


# --- the work ------------------------------------------------------------------------------

async def _labeler(sysm: System, c: httpx.AsyncClient, idx: int, token: str,
                   st: dict[str, Any], log: dict[str, list]) -> None:
    h = sysm.auth(token)
    n = 0
    while st["claimed"] < st["target"] and time.perf_counter() < st["deadline"]:
        st["claimed"] += 1
        t0 = time.perf_counter()
        try:
            got = await sysm.next(c, h, log)
            if got is None:
                log["empty"].append(idx)
                return
            task_id, item_key = got
            log["served"].append((item_key, idx))
            await sysm.submit(c, h, task_id, LABELS[(idx + n) % len(LABELS)], log)
        except httpx.HTTPError as exc:
            st["claimed"] -= 1
            detail = ""
            if isinstance(exc, httpx.HTTPStatusError):
                detail = f" {exc.response.text[:160]}"
            log["errors"].append(f"{type(exc).__name__}: {str(exc)[:160]}{detail}")
            if len(log["errors"]) > 200:
                st["deadline"] = 0.0  # give up this case: it is failing, not slow
            await asyncio.sleep(0.05)
            continue
        log["pair_ms"].append((time.perf_counter() - t0) * 1000)
        n += 1


async def _dispense(sysm: System, tokens: list[str], target: int, cap_s: float) -> dict:
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))
    log: dict[str, list] = defaultdict(list)
    async with httpx.AsyncClient(base_url=sysm.base, limits=limits, timeout=60) as c:
        start = time.perf_counter()
        st = {"claimed": 0, "target": target, "deadline": start + cap_s}
        work = asyncio.gather(*(_labeler(sysm, c, i, t, st, log) for i, t in enumerate(tokens)))
        try:  # past the cap, requests still in flight get a grace period, then are dropped
            await asyncio.wait_for(work, timeout=cap_s + 20)
        except TimeoutError:
            log["dropped_in_flight"] = [True]
        log["elapsed"] = [time.perf_counter() - start]
        log["capped"] = [st["claimed"] < target and not log["empty"]]
    return log


def export_items(sysm: System, c: httpx.Client, url: str, fmt: str, dest: Path) -> dict:
    t0 = time.perf_counter()
    with c.stream("GET", url, headers=sysm.auth(sysm.admin_token)) as r:
        r.raise_for_status()
        with dest.open("wb") as f:
            for chunk in r.iter_bytes(1 << 20):
                f.write(chunk)
    seconds = time.perf_counter() - t0
    raw = dest.read_bytes()
    if fmt == "jsonl":
        tasks = [orjson.loads(ln) for ln in raw.splitlines() if ln.strip()]
    else:
        tasks = orjson.loads(raw)
    annotated = [len(t.get("annotations") or []) for t in tasks]
    dest.unlink()
    return {"seconds": seconds, "items": len(tasks), "bytes": len(raw),
            "annotations": sum(annotated), "over_annotated": sum(1 for a in annotated if a > 1)}


def run_system(sysm: System, args: argparse.Namespace, jsonl: Path, js: Path,
               rows: list[dict], notes: dict[str, Any]) -> None:
    system, store = sysm.name, sysm.store
    tag = f"{system}/{store}"
    monitor: Monitor | None = None
    phase = "start"
    try:
        if isinstance(sysm, ModOps):
            phase = "setup"
            sysm.setup()
            phase = "start"
            sysm.start()
        else:
            sysm.start()
            phase = "setup"
            sysm.setup()
        assert sysm.proc is not None
        print(f"[{tag}] up in {sysm.startup_s:.1f} s (pid {sysm.proc.pid}), "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
        monitor = Monitor(sysm.proc.pid)
        monitor.start()
        pid = sysm.proc.pid
        loads: dict[str, float] = {}
        with httpx.Client(base_url=sysm.base, timeout=args.phase_timeout_s) as c:
            phase = "import"
            cpu0, t0 = cpu_seconds(pid), time.perf_counter()
            inserted = sysm.import_items(c, jsonl, js)
            secs = time.perf_counter() - t0
            case = f"import {args.items:,} items"
            rows += [row(case, system, store, "import_items_per_s", inserted / secs, "items/s"),
                     row(case, system, store, "import_s", secs, "s"),
                     row(case, system, store, "imported", inserted, "count"),
                     row(case, system, store, "server_cpu_s", cpu_seconds(pid) - cpu0, "s")]
            loads["import"] = os.getloadavg()[0]
            print(f"[{tag}] import: {inserted:,} in {secs:.1f} s = {inserted / secs:,.0f}/s",
                  flush=True)

            for n in args.labelers:
                phase = f"dispense {n}"
                cpu0 = cpu_seconds(pid)
                log = asyncio.run(_dispense(sysm, sysm.tokens[:n], args.tasks,
                                            args.dispense_cap_s))
                cpu = cpu_seconds(pid) - cpu0
                pairs, elapsed = len(log["pair_ms"]), log["elapsed"][0]
                # an item handed to more than one labeler (one answer per item is wanted) ...
                who: dict[Any, set[int]] = defaultdict(set)
                for k, idx in log["served"]:
                    who[k].add(idx)
                dup = sum(len(v) - 1 for v in who.values())
                # ... and, apart, one handed again to the same labeler after a failed submit
                # (both systems give a labeler back the task it holds, which is right)
                again = sum(v - 1 for v in Counter(log["served"]).values() if v > 1)
                case = f"{n} labelers, {args.tasks:,} tasks"
                rows += [
                    row(case, system, store, "pairs_per_s", pairs / elapsed, "pairs/s"),
                    row(case, system, store, "duplicates", dup, "count"),
                    row(case, system, store, "pairs", pairs, "count"),
                    row(case, system, store, "seconds", elapsed, "s"),
                    row(case, system, store, "p50_ms", statistics.median(log["pair_ms"] or [0]),
                        "ms"),
                    row(case, system, store, "p99_ms", pct(log["pair_ms"], 0.99), "ms"),
                    row(case, system, store, "served_again_same_labeler", again, "count"),
                    row(case, system, store, "errors", len(log["errors"]), "count"),
                    row(case, system, store, "retries_503_429", len(log["retries"]), "count"),
                    row(case, system, store, "server_cpu_ms_per_pair",
                        1000 * cpu / max(1, pairs), "ms"),
                ]
                loads[f"dispense {n}"] = os.getloadavg()[0]
                if log["capped"][0]:
                    notes.setdefault("capped", []).append(
                        f"{tag} {case}: stopped at the {args.dispense_cap_s:.0f} s cap "
                        f"after {pairs:,} pairs")
                if log["errors"]:
                    first = list(dict.fromkeys(log["errors"]))[:3]
                    notes.setdefault("errors", []).append(
                        f"{tag} {case}: {len(log['errors'])} errors (retried 503/429 did not "
                        f"count), first: {' | '.join(first)}")
                print(f"[{tag}] {n} labelers: {pairs:,} pairs in {elapsed:.1f} s = "
                      f"{pairs / elapsed:,.1f}/s, duplicates {dup}, errors "
                      f"{len(log['errors'])}, load {os.getloadavg()[0]:.2f}", flush=True)

            exports = [("labelstudio", "JSON")] if isinstance(sysm, ModOps) else [("JSON", "JSON")]
            if isinstance(sysm, ModOps):
                exports.append(("jsonl", "JSONL"))
            for fmt, shown in exports:
                phase = f"export {shown}"
                cpu0 = cpu_seconds(pid)
                ex = export_items(sysm, c, sysm.export_url(fmt), fmt if fmt == "jsonl" else "json",
                                  sysm.tmp / f"export-{system}-{store}.{fmt}")
                case = f"export {args.items:,} items ({shown})"
                rows += [row(case, system, store, "export_items_per_s",
                             ex["items"] / ex["seconds"], "items/s"),
                         row(case, system, store, "export_s", ex["seconds"], "s"),
                         row(case, system, store, "exported", ex["items"], "count"),
                         row(case, system, store, "export_mb", ex["bytes"] / 1e6, "MB"),
                         row(case, system, store, "over_annotated", ex["over_annotated"], "count"),
                         row(case, system, store, "server_cpu_s", cpu_seconds(pid) - cpu0, "s")]
                loads[f"export {shown}"] = os.getloadavg()[0]
                print(f"[{tag}] export {shown}: {ex['items']:,} items ({ex['bytes'] / 1e6:.1f} MB,"
                      f" {ex['annotations']:,} annotations) in {ex['seconds']:.1f} s = "
                      f"{ex['items'] / ex['seconds']:,.0f}/s", flush=True)
        monitor.stop()
        case = "whole run"
        rows += [row(case, system, store, "peak_rss_mb", monitor.peak_rss / 2**20, "MB"),
                 row(case, system, store, "startup_s", sysm.startup_s, "s"),
                 row(case, system, store, "load_avg_1m_mean", statistics.fmean(monitor.loads or
                                                                               [0.0]), "load"),
                 row(case, system, store, "load_avg_1m_max", max(monitor.loads or [0.0]), "load")]
        notes.setdefault("load_by_phase", {})[tag] = {k: round(v, 2) for k, v in loads.items()}
    except Exception as exc:  # one failing system must not lose the other's numbers
        msg = f"{tag} failed during {phase}: {type(exc).__name__}: {str(exc)[:600]}"
        tail = log_tail(sysm.log)
        print(f"[{tag}] FAILED during {phase}: {exc}\n{tail}", flush=True)
        notes.setdefault("failures", []).append({"system": system, "store": store,
                                                 "phase": phase, "error": msg,
                                                 "server_log_tail": tail[-1500:]})
        if monitor is not None:
            rows.append(row("whole run", system, store, "peak_rss_mb",
                            monitor.peak_rss / 2**20, "MB"))
    finally:
        if monitor is not None:
            monitor.stop()
        stop(sysm.proc)
        sysm.cleanup()


def ls_version(venv: Path) -> str:
    out = subprocess.run([str(venv / "bin" / "python"), "-c",
                          "import importlib.metadata as m; print(m.version('label-studio'))"],
                         capture_output=True, text=True, timeout=60)
    return out.stdout.strip() or f"unknown ({out.stderr.strip()[-200:]})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", action="store_true", help="run it (otherwise: print how)")
    ap.add_argument("--ls-venv", type=Path,
                    default=Path(os.environ.get("LS_VENV", "/tmp/modops-ls-venv")))
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--tasks", type=int, default=2_000)
    ap.add_argument("--labelers", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--stores", nargs="+", default=["sqlite", "postgresql"],
                    choices=["sqlite", "postgresql"])
    ap.add_argument("--systems", nargs="+", default=["modops", "label-studio"],
                    choices=["modops", "label-studio"])
    ap.add_argument("--workers", type=int, default=2, help="modops serve --workers")
    ap.add_argument("--dispense-cap-s", type=float, default=60.0,
                    help="stop a dispense case after this long even if short of --tasks")
    ap.add_argument("--phase-timeout-s", type=float, default=600.0,
                    help="HTTP timeout for one import or export request")
    ap.add_argument("--budget-s", type=float, default=1500.0,
                    help="skip a system/store run that would likely end after this many seconds")
    ap.add_argument("--merge", action="store_true",
                    help="keep the existing peer.json rows of the system/store pairs not run now")
    ap.add_argument("--no-docs", action="store_true", help="do not re-render docs/benchmarks.md")
    args = ap.parse_args()
    if not args.run:
        print("The peer benchmark installs Label Studio and takes ~20-25 minutes: run it with "
              "`make bench-peer` (or `bench/peer.py --run`). Skipped.")
        return

    started = time.perf_counter()
    rows: list[dict] = []
    notes: dict[str, Any] = {"run_at": time.strftime("%Y-%m-%d %H:%M %Z"),
                             "load_avg_at_start": list(os.getloadavg()),
                             "cpu_count": os.cpu_count(), "items": args.items,
                             "tasks": args.tasks, "modops_workers": args.workers,
                             "dispense_cap_s": args.dispense_cap_s}
    if "label-studio" in args.systems:
        if not (args.ls_venv / "bin" / "label-studio").exists():
            notes.setdefault("failures", []).append({
                "system": "label-studio", "store": "-", "phase": "install",
                "error": f"{args.ls_venv}/bin/label-studio missing: run bench/peer_setup.sh"})
            args.systems = [s for s in args.systems if s != "label-studio"]
        else:
            notes["label_studio_version"] = ls_version(args.ls_venv)
    if args.merge:
        rows, notes = merged(args, rows, notes)
    tmp = Path(tempfile.mkdtemp(prefix="modops-peer-"))
    try:
        jsonl, js = make_data(tmp, args.items)
        notes["data_mb"] = {"jsonl": jsonl.stat().st_size / 1e6, "json": js.stat().st_size / 1e6}
        max_labelers = max(args.labelers)
        for store in args.stores:
            for system in args.systems:
                # rough duration of one run on this 2-core box (Label Studio's export alone
                # takes ~340 s for 100,000 items), so the whole benchmark stays bounded
                guess = (150 if system == "modops" else 150 + 2.5 * args.dispense_cap_s
                         + 0.0035 * args.items)
                if time.perf_counter() - started + guess > args.budget_s:
                    notes.setdefault("skipped", []).append(
                        f"{system}/{store}: would end after the {args.budget_s:.0f} s budget "
                        f"(~{guess:.0f} s more); rerun it alone with --stores {store} "
                        f"--systems {system} --merge")
                    continue
                sysm: System
                if system == "modops":
                    sysm = ModOps(store, tmp, max_labelers, args.workers)
                else:
                    sysm = LabelStudio(store, tmp, max_labelers, args.ls_venv)
                run_system(sysm, args, jsonl, js, rows, notes)
                # keep what we have after every system: a later crash must not lose it
                notes["load_avg_at_end"] = list(os.getloadavg())
                notes["total_s"] = time.perf_counter() - started
                save(rows, notes)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    path = save(rows, notes)
    print_table([r for r in rows if r["metric"] in {
        "import_items_per_s", "pairs_per_s", "duplicates", "export_items_per_s", "peak_rss_mb",
        "load_avg_1m_mean"}], "Peer benchmark: ModOps vs Label Studio")
    print(f"wrote {path} in {time.perf_counter() - started:.0f} s")
    for f in notes.get("failures", []):
        print(f"FAILED: {f['error']}")
    if not args.no_docs:
        from report_md import render

        print(f"wrote {render()}")


def merged(args: argparse.Namespace, rows: list[dict],
           notes: dict[str, Any]) -> tuple[list[dict], dict[str, Any]]:
    """Start from the previous peer.json's rows for every system/store this run leaves out."""
    path = RESULTS_DIR / "peer.json"
    if not path.exists():
        return rows, notes
    old = json.loads(path.read_text())
    now = {(sy, st) for sy in args.systems for st in args.stores}
    kept = [r for r in old["rows"] if (r["system"], r["store"]) not in now]
    tags = sorted({f"{r['system']}/{r['store']}" for r in kept})
    on = old.get("notes", {})
    notes["earlier_run"] = {"kept": tags, "run_at": on.get("run_at", "?"),
                            "load_avg_at_start": on.get("load_avg_at_start"),
                            "load_avg_at_end": on.get("load_avg_at_end"),
                            "total_s": on.get("total_s")}
    for key in ("label_studio_version",):
        if key in on:
            notes.setdefault(key, on[key])
    if on.get("load_by_phase"):
        notes["load_by_phase"] = {t: v for t, v in on["load_by_phase"].items() if t in tags}
    for key in ("failures", "capped", "errors", "skipped"):
        keep = [it for it in on.get(key, [])
                if any((it.get("error", "") if isinstance(it, dict) else it).startswith(t)
                       for t in tags)]
        if keep:
            notes[key] = keep
    return rows + kept, notes


def save(rows: list[dict], notes: dict[str, Any]) -> Path:
    path = write_results("peer", rows)
    data = json.loads(path.read_text())
    data["notes"] = notes
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    return path


if __name__ == "__main__":
    main()
