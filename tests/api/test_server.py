"""``modops.api.server``: keep-alive connections spread over the workers, and a clean stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from modops.store import make_engine, upgrade

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _connections(parent: psutil.Process, port: int, status: str) -> dict[int, int]:
    """Per child process (the workers; multiprocessing may add a helper without sockets)."""
    counts: dict[int, int] = {}
    for child in parent.children():
        with contextlib.suppress(psutil.NoSuchProcess):
            counts[child.pid] = sum(1 for c in child.net_connections("tcp")
                                    if c.status == status and c.laddr and c.laddr.port == port)
    return {pid: n for pid, n in counts.items() if n}


def test_two_workers_share_keep_alive_connections_and_stop_cleanly(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    engine = make_engine(db)
    upgrade(engine)
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "MODOPS_DATABASE_URL": db, "MODOPS_WEBHOOKS": "0", "MODOPS_JOBS": "off",
           "MODOPS_SECRET_KEY": "test"}
    server = subprocess.Popen(
        [sys.executable, "-m", "modops.api.server", "--port", str(port), "--workers", "2",
         "--log-level", "warning"], env=env, cwd=REPO)
    tls = ssl.create_default_context()
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", verify=tls, trust_env=False,
                            timeout=30) for _ in range(16)]
    parent = psutil.Process(server.pid)
    workers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120  # both workers import the whole app
        while len(_connections(parent, port, psutil.CONN_LISTEN)) < 2:
            assert server.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
        assert all(c.get("/healthz").status_code == 200 for c in clients)
        by_worker = _connections(parent, port, psutil.CONN_ESTABLISHED)
        # Each worker got some (by address hash: all 16 on one would be 1 run in 2**15).
        assert len(by_worker) == 2 and sum(by_worker.values()) == 16, by_worker
        workers = [psutil.Process(pid) for pid in by_worker]
    finally:
        for c in clients:
            c.close()
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
    assert code == 0
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
