"""HTTP dispense benchmark: 32 concurrent labelers doing next + submit over HTTP (httpx)
against uvicorn workers on PostgreSQL (``modops.api.server``: a SO_REUSEPORT socket per worker).

    python bench/http_dispense.py [--labelers 32] [--seconds 20] [--workers 2] [--overlap 3]
                                  [--client-processes 2] [--shared-socket]
                                  [--modes separate,chained]

Each labeler loops: POST /api/v1/projects/{key}/tasks/next, then POST /api/v1/tasks/{id}/submit,
authenticated with its own API token. A pair is one next + one submit. With ``--modes`` the same
run is repeated on a fresh world with labelers that use POST .../tasks/{id}/submit-and-next
(the answer and the next task in one request; system ``modops-http-chained``).

Duplicates are checked three ways, all must be 0: a task leased to two labelers at once, a
labeler served the same item twice, and (in the database) an item with two label answers from
one labeler or more than k label answers. Writes bench/results/http_dispense.json (pairs_per_s,
p50_ms, p99_ms, duplicates, plus next/submit latencies).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import secrets
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import orjson
import uvloop
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import dispense_world, print_table, row, write_results

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("MODOPS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
PROJECT = "bench-http"


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int, workers: int, *, shared_socket: bool = False) \
        -> subprocess.Popen[str]:
    """The server, returned once every worker has started.

    ``modops.api.server`` gives each worker its own SO_REUSEPORT socket; ``shared_socket`` runs
    uvicorn's own ``--workers`` instead (one socket: keep-alive connections often pile up on one
    worker). Waiting for all workers matters too: a worker still importing when the labelers
    connect gets none of their keep-alive connections.
    """
    runner = (["uvicorn", "modops.api.app:create_app", "--factory", "--no-access-log"]
              if shared_socket else ["modops.api.server"])
    env = {**os.environ, "MODOPS_DATABASE_URL": url, "MODOPS_WEBHOOKS": "0",
           "MODOPS_SECRET_KEY": secrets.token_urlsafe(16)}
    server = subprocess.Popen(
        [sys.executable, "-m", *runner, "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--log-level", "info"],
        env=env, cwd=REPO, stderr=subprocess.PIPE, text=True)
    started = threading.Semaphore(0)

    def relay_log() -> None:
        assert server.stderr is not None
        for line in server.stderr:
            if "Application startup complete" in line:
                started.release()
            elif not line.startswith("INFO:"):
                sys.stderr.write(line)

    threading.Thread(target=relay_log, daemon=True).start()
    deadline = time.monotonic() + 120  # imports are slow on a busy 2-core box
    for _ in range(workers):
        while not started.acquire(timeout=0.5):
            if time.monotonic() > deadline or server.poll() is not None:
                server.terminate()
                raise SystemExit("server did not start")
    with httpx.Client(timeout=5, trust_env=False) as probe:
        probe.get(f"http://127.0.0.1:{port}/healthz").raise_for_status()
    return server


def setup(url: str, labelers: int, items: int, overlap: int) -> list[str]:
    """Schema, project (no model, no gold: pure dispense), labelers with API tokens, items."""
    rows = ({"external_id": f"h-{i:07d}", "product": "comment", "view_count": i % 5000,
             "comment": f"벤치마크 댓글 {i} 진짜 별로다 ㅋㅋ"} for i in range(items))
    tokens, _ = dispense_world(url, PROJECT, overlap=overlap, labelers=labelers,
                               user_prefix="bench", rows=rows)
    return tokens


async def post(client: httpx.AsyncClient, url: httpx.URL, log: dict[str, list],
               **kw: object) -> httpx.Response:
    """POST, retrying the 503 the API answers when the database rolled back a deadlock."""
    for attempt in range(12):
        r = await client.post(url, **kw)  # type: ignore[arg-type]
        if r.status_code != 503:
            return r
        log["retries_503"].append(url)
        await asyncio.sleep(random.uniform(0, 0.005 * 2 ** attempt))  # jittered backoff
    return r


async def labeler(client: httpx.AsyncClient, token: str, until: float,
                  log: dict[str, list], chained: bool) -> None:
    """One labeler's loop; ``client`` carries the labeler's token and one keep-alive connection.

    Separate: POST .../tasks/next, then POST /tasks/{id}/submit (two requests a pair).
    Chained: POST .../tasks/{id}/submit-and-next answers and brings the next task (one request
    a pair, after the first next). Absolute URLs: httpx parses a relative one and merges it
    with the base URL per request."""
    labels = ["none", "profanity", "harassment"]
    base = str(client.base_url).rstrip("/")
    next_url = httpx.URL(f"{base}/api/v1/projects/{PROJECT}/tasks/next")
    n = 0
    task = None
    while time.perf_counter() < until:
        t0 = time.perf_counter()
        if task is None:
            r = await post(client, next_url, log)
            if r.status_code == 204:
                return
            r.raise_for_status()
            task = orjson.loads(r.content)
        t1 = time.perf_counter()
        log["served"].append((task["task_id"], task["item"]["id"], token, t0, t1))
        answer = {"labels": [labels[n % 3]]}
        if chained:
            r = await post(client, httpx.URL(
                f"{base}/api/v1/projects/{PROJECT}/tasks/{task['task_id']}/submit-and-next"),
                log, json=answer)
            r.raise_for_status()
            task = orjson.loads(r.content)["next"]
        else:
            r = await post(client, httpx.URL(f"{base}/api/v1/tasks/{task['task_id']}/submit"),
                           log, json=answer)
            r.raise_for_status()
            task = None
        t2 = time.perf_counter()
        log["next_ms"].append((t1 - t0) * 1000)
        log["submit_ms"].append((t2 - t1) * 1000)
        log["pair_ms"].append((t2 - t0) * 1000)
        n += 1
        if chained and task is None:
            return


def cpu_by_process(pid: int) -> dict[int, float]:
    """User + system CPU seconds of a process and each of its children (the workers)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return {}
    seconds: dict[int, float] = {}
    for proc in procs:
        try:
            t = proc.cpu_times()
            seconds[proc.pid] = t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return seconds


def database_cpu(server_pid: int, url: str) -> dict[int, float]:
    """CPU seconds of the PostgreSQL backends serving the workers' connections (found by the
    workers' client ports in pg_stat_activity); empty when PostgreSQL is not on this machine."""
    import psutil
    from sqlalchemy.engine import make_url

    from modops.store import make_engine

    db_port = make_url(url).port or 5432
    ports: set[int] = set()
    for pid in cpu_by_process(server_pid):
        with contextlib.suppress(psutil.Error):
            ports.update(c.laddr.port for c in psutil.Process(pid).net_connections("tcp")
                         if c.raddr and c.raddr.port == db_port)
    if not ports:
        return {}
    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            backends = conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE client_port = ANY(:p)"),
                {"p": sorted(ports)}).scalars().all()
    except OperationalError:  # no connection to spare right now: skip this sample
        return {}
    finally:
        engine.dispose()
    seconds: dict[int, float] = {}
    for pid in backends:
        try:
            t = psutil.Process(pid).cpu_times()
            seconds[pid] = t.user + t.system
        except psutil.Error:
            pass
    return seconds


class DatabaseCpuWatch(threading.Thread):
    """Samples the workers' PostgreSQL backends twice a second, so backends that a connection
    pool opens and closes during the run are counted too (up to their last sample). Its own
    CPU is kept apart (``own_cpu_s``) so it is not charged to the client."""

    def __init__(self, server_pid: int, url: str) -> None:
        super().__init__(daemon=True)
        self.server_pid, self.url = server_pid, url
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.own_cpu_s = 0.0
        self.done = threading.Event()

    def sample(self) -> None:
        start = time.thread_time()
        seen = database_cpu(self.server_pid, self.url)
        for pid, seconds in seen.items():
            self.first.setdefault(pid, seconds)
        self.last.update(seen)
        self.own_cpu_s += time.thread_time() - start

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.sample()

    def stop(self) -> float | None:
        """CPU seconds the backends used while watched; None without local PostgreSQL."""
        self.done.set()
        self.join()
        self.sample()
        if not self.last:
            return None
        return sum(self.last[p] - self.first[p] for p in self.last)


def labeler_client(base: str, token: str, tls: ssl.SSLContext) -> httpx.AsyncClient:
    """A client of its own per labeler, as each labeler is a separate browser or script.

    One keep-alive connection each: httpcore's pool scans every connection for every request
    (quadratic in a 32-connection shared pool, most of the client's CPU). The TLS context is
    shared because building one reads the CA bundle (~0.1 s of CPU each); the server is plain
    HTTP anyway. ``trust_env=False``: no proxy or netrc look-ups for a loopback server.
    """
    return httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, verify=tls,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        timeout=30, trust_env=False)


def instant_sniffio_miss() -> None:
    """httpcore imports sniffio inside every request (locks, cancel shields). When it is not
    installed, each miss is a fresh search of sys.path: ~20% of the client's CPU. A None entry
    in sys.modules makes the miss instant; httpcore then assumes asyncio, as it did anyway."""
    try:
        import sniffio  # noqa: F401
    except ImportError:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


async def labelers_part(base: str, tokens: list[str], warm_until: float, start: float,
                        seconds: float, chained: bool) -> dict[str, list]:
    """One client process's labelers: warm up until ``warm_until``, then measure from ``start``
    (absolute perf_counter times, the same clock in every process) for ``seconds``."""
    instant_sniffio_miss()
    tls = ssl.create_default_context()
    clients = [labeler_client(base, t, tls) for t in tokens]
    try:
        warm: dict[str, list] = defaultdict(list)
        await asyncio.gather(*(labeler(c, t, warm_until, warm, chained)
                               for c, t in zip(clients, tokens, strict=True)))
        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        log: dict[str, list] = defaultdict(list)
        cpu = time.process_time()
        await asyncio.gather(*(labeler(c, t, start + seconds, log, chained)
                               for c, t in zip(clients, tokens, strict=True)))
        log["elapsed"] = [time.perf_counter() - start]
        log["client_cpu_s"] = [time.process_time() - cpu]
        log["retries_503"] += warm["retries_503"]
        log["warm_served"] = warm["served"]
        return dict(log)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def client_process(base: str, tokens: list[str], conn: Connection, chained: bool) -> None:
    """Entry point of a client process: report ready, get the schedule, send the log back."""
    conn.send("ready")
    warm_until, start, seconds = conn.recv()
    # uvloop: the client's event loop costs less CPU per request (as it does in uvicorn)
    conn.send(uvloop.run(labelers_part(base, tokens, warm_until, start, seconds, chained)))
    conn.close()


def drive(base: str, tokens: list[str], seconds: float, warmup: float, server_pid: int,
          url: str, processes: int, chained: bool) -> dict[str, list]:
    """The labelers split over ``processes`` client processes, so that at high rates the
    client's own event loop does not queue requests and inflate the latencies measured."""
    spawn = multiprocessing.get_context("spawn")
    links = []
    for i in range(processes):
        ours, theirs = spawn.Pipe()
        proc = spawn.Process(target=client_process, args=(base, tokens[i::processes], theirs,
                                                                 chained))
        proc.start()
        links.append((proc, ours))
    try:
        for _, conn in links:
            if conn.recv() != "ready":
                raise SystemExit("a client process failed to start")
        warm_until = time.perf_counter() + warmup
        start = warm_until + 1.0  # warm pairs in flight at warm_until finish before the clock
        for _, conn in links:
            conn.send((warm_until, start, seconds))
        time.sleep(max(0.0, start - 0.3 - time.perf_counter()))
        watch = DatabaseCpuWatch(server_pid, url)
        watch.sample()  # the backends' starting point, before the clock starts
        time.sleep(max(0.0, start - time.perf_counter()))
        server_cpu = cpu_by_process(server_pid)
        watch.start()
        parts = [conn.recv() for _, conn in links]
        used = {p: s - server_cpu.get(p, 0.0) for p, s in cpu_by_process(server_pid).items()}
        database_s = watch.stop()
    finally:
        for proc, _ in links:
            proc.join(timeout=30)
    log: dict[str, list] = defaultdict(list)
    for part in parts:
        for key, values in part.items():
            log[key] += values
    log["elapsed"] = [max(log["elapsed"])]
    log["client_cpu_s"] = [sum(log["client_cpu_s"])]
    log["server_cpu_s"] = [sum(used.values())]
    # How evenly the workers shared the work: the busiest process's share of server CPU.
    log["busiest_worker_share"] = [max(used.values()) / max(1e-9, sum(used.values()))]
    log["database_cpu_s"] = [] if database_s is None else [database_s]
    return log


def duplicates(url: str, log: dict[str, list], overlap: int) -> dict[str, int]:
    from modops.store import make_engine

    served = log["warm_served"] + log["served"]
    by_task = Counter(task_id for task_id, *_ in served)
    twice_task = sum(1 for n in by_task.values() if n > 1)
    by_pair = Counter((item_id, token) for _t, item_id, token, *_ in served)
    twice_item = sum(1 for n in by_pair.values() if n > 1)
    engine = make_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        same_labeler = conn.execute(text(
            "SELECT count(*) FROM (SELECT item_id, labeler_id FROM annotations WHERE "
            "kind = 'label' GROUP BY item_id, labeler_id HAVING count(*) > 1) x")).scalar_one()
        over_k = conn.execute(text(
            "SELECT count(*) FROM (SELECT item_id FROM annotations WHERE kind = 'label' "
            "GROUP BY item_id HAVING count(*) > :k) x"), {"k": overlap}).scalar_one()
        answers = conn.execute(text("SELECT count(*) FROM annotations")).scalar_one()
    engine.dispose()
    return {"task_served_twice": twice_task, "item_twice_to_labeler": twice_item,
            "db_same_labeler_twice": int(same_labeler), "db_over_k": int(over_k),
            "answers": int(answers)}


def settle(pg_url: str, seconds: float = 10.0) -> None:
    """Between two runs: flush the first run's writes (CHECKPOINT) and let the machine go
    quiet, so the second run does not pay for the first (measured: 20-30% slower without)."""
    from modops.store import make_engine

    engine = make_engine(pg_url, poolclass=NullPool)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("CHECKPOINT"))
    engine.dispose()
    time.sleep(seconds)


def run_mode(args: argparse.Namespace, chained: bool) -> list[dict]:
    """One measured run on a fresh schema and server: ``chained`` labelers use
    submit-and-next (one request a pair), the others next + submit (two)."""
    from modops.store import make_engine

    schema = f"bench_http_{os.getpid()}_{secrets.token_hex(2)}"
    admin = make_engine(args.pg_url, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in args.pg_url else "?"
    url = f"{args.pg_url}{sep}options=-csearch_path%3D{schema}"
    port = free_port()
    server = None
    try:
        t = time.perf_counter()
        tokens = setup(url, args.labelers, args.items, args.overlap)
        print(f"setup: {args.items:,} items, {args.labelers} labelers "
              f"in {time.perf_counter() - t:.1f}s")
        server = start_server(url, port, args.workers, shared_socket=args.shared_socket)
        base = f"http://127.0.0.1:{port}"
        log = drive(base, tokens, args.seconds, args.warmup, server.pid, url,
                    args.client_processes, chained)
        dup = duplicates(url, log, args.overlap)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    pairs = len(log["pair_ms"])
    elapsed = log["elapsed"][0]
    total_dup = (dup["task_served_twice"] + dup["item_twice_to_labeler"]
                 + dup["db_same_labeler_twice"] + dup["db_over_k"])
    case = f"{args.labelers} labelers k={args.overlap} w={args.workers}" + (
        " shared socket" if args.shared_socket else "")
    system, store = "modops-http-chained" if chained else "modops-http", "postgresql"
    print(f"{system}: duplicate checks: {dup}; load average after: {os.getloadavg()}")
    return [
        row(case, system, store, "pairs_per_s", pairs / elapsed, "pairs/s"),
        row(case, system, store, "p50_ms", statistics.median(log["pair_ms"]), "ms"),
        row(case, system, store, "p99_ms", pct(log["pair_ms"], 0.99), "ms"),
        row(case, system, store, "duplicates", total_dup, "count"),
        # Chained: "next" is only a labeler's first task, "submit" is submit-and-next.
        row(case, system, store, "next_p50_ms", statistics.median(log["next_ms"]), "ms"),
        row(case, system, store, "next_p99_ms", pct(log["next_ms"], 0.99), "ms"),
        row(case, system, store, "submit_p50_ms", statistics.median(log["submit_ms"]), "ms"),
        row(case, system, store, "submit_p99_ms", pct(log["submit_ms"], 0.99), "ms"),
        row(case, system, store, "pairs", pairs, "count"),
        row(case, system, store, "retries_503", len(log["retries_503"]), "count"),
        row(case, system, store, "seconds", elapsed, "s"),
        # CPU per pair does not depend on what else the machine runs: with C dedicated cores
        # the server alone could do about C * 1000 / server_cpu_ms_per_pair pairs/s.
        row(case, system, store, "server_cpu_ms_per_pair",
            1000 * log["server_cpu_s"][0] / max(1, pairs), "ms"),
        row(case, system, store, "client_cpu_ms_per_pair",
            1000 * log["client_cpu_s"][0] / max(1, pairs), "ms"),
        *([row(case, system, store, "database_cpu_ms_per_pair",
               1000 * log["database_cpu_s"][0] / max(1, pairs), "ms")]
          if log["database_cpu_s"] else []),
        row(case, system, store, "busiest_worker_cpu_share", log["busiest_worker_share"][0],
            "fraction"),
        row(case, system, store, "load_avg_1m_after", os.getloadavg()[0], "load"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--labelers", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--overlap", type=int, default=3)
    ap.add_argument("--items", type=int, default=12_000)
    ap.add_argument("--pg-url", default=PG_URL)
    ap.add_argument("--client-processes", type=int, default=2,
                    help="processes the labelers are spread over (client CPU is their sum)")
    ap.add_argument("--shared-socket", action="store_true",
                    help="uvicorn's --workers (one listening socket) instead of modops.api.server")
    ap.add_argument("--modes", default="separate,chained",
                    help="separate (next + submit requests) and/or chained (submit-and-next)")
    args = ap.parse_args()
    rows: list[dict] = []
    for n, mode in enumerate(args.modes.split(",")):
        if n:
            settle(args.pg_url)
        rows += run_mode(args, mode == "chained")
    write_results("http_dispense", rows)
    print_table(rows, "HTTP dispense (next + submit)")


if __name__ == "__main__":
    main()
