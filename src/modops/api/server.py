"""Run the app in several uvicorn worker processes, each accepting on its own socket.

uvicorn's ``--workers`` share one listening socket, and whichever worker wakes first accepts a
whole burst of connections. Keep-alive clients (the labelers' browsers and scripts, a reverse
proxy's upstream pool) then stay where they landed: with 32 labelers on 2 workers we measured
splits of 80/20 and worse, i.e. one process and one GIL doing most of the work on a machine
with two cores. Here every worker binds the address itself with ``SO_REUSEPORT``, and the
kernel spreads new connections over the workers by address hash.

Each worker also freezes its start-up heap out of the garbage collector (``gc.freeze``): the
imports (SQLAlchemy, FastAPI, SciPy...) leave ~170k tracked objects, and every full collection
walked them all, a pause of 100-200 ms on a busy 2-core box, straight into the p99 latency.

Where ``SO_REUSEPORT`` is missing this is plain ``uvicorn.run`` with its own workers.

    python -m modops.api.server --host 127.0.0.1 --port 8000 --workers 2
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

APP = "modops.api.app:create_app"
RESTART_PAUSE_S = 1.0  # between restarts of a crashed worker, so a crash loop does not spin


def _listen(host: str, port: int, backlog: int, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    return sock


def _serve(host: str, port: int, log_level: str, access_log: bool, backlog: int,
           reuse_port: bool) -> None:
    """One worker: its socket, the app, the start-up heap frozen, then serve until signalled."""
    import uvicorn

    from modops.api.app import create_app

    sock = _listen(host, port, backlog, reuse_port=reuse_port)
    app = create_app()
    gc.collect()
    gc.freeze()
    config = uvicorn.Config(app, log_level=log_level, access_log=access_log, backlog=backlog)
    uvicorn.Server(config).run(sockets=[sock])


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _plain_http_on_loopback(host: str) -> None:
    """A browser on this machine speaks plain HTTP: no Secure cookie (workers inherit it),
    unless MODOPS_COOKIE_SECURE says otherwise."""
    if host in LOOPBACK and "MODOPS_COOKIE_SECURE" not in os.environ:
        os.environ["MODOPS_COOKIE_SECURE"] = "0"
        loaded = sys.modules.get("modops.settings")
        if loaded is not None:  # this process read them already (a supervisor never does:
            loaded.reload_settings()  # pydantic-settings is ~20 MB it would hold for nothing)


def run(host: str = "127.0.0.1", port: int = 8000, *, workers: int = 1,
        log_level: str = "info", access_log: bool = False, backlog: int = 2048) -> None:
    """Serve until SIGINT/SIGTERM; a worker that dies is started again."""
    _plain_http_on_loopback(host)
    if workers <= 1:
        _serve(host, port, log_level, access_log, backlog, reuse_port=False)
        return
    if not hasattr(socket, "SO_REUSEPORT"):
        import uvicorn

        uvicorn.run(APP, factory=True, host=host, port=port, workers=workers,
                    log_level=log_level, access_log=access_log, backlog=backlog)
        return
    # Hold the port while the workers start (and pick one if asked for port 0); this socket
    # never listens, so it is never handed a connection.
    holder = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind((host, port))
    port = holder.getsockname()[1]
    argv = [sys.executable, "-m", "modops.api.server", "--worker", "--host", host, "--port",
            str(port), "--log-level", log_level, "--backlog", str(backlog)]
    if access_log:
        argv.append("--access-log")

    def start(index: int) -> subprocess.Popen[bytes]:
        # a plain child (not multiprocessing's spawn, which also starts a resource tracker:
        # one more process and ~12 MB the server never uses)
        return subprocess.Popen(argv)

    procs = [start(i) for i in range(workers)]
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for i, proc in enumerate(procs):
                if proc.poll() is not None and not stopping:
                    time.sleep(RESTART_PAUSE_S)
                    procs[i] = start(i)
            time.sleep(0.2)
    finally:
        _stop_workers(procs)
        holder.close()


def _stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:  # uvicorn in each worker shuts down gracefully on SIGTERM
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--log-level", default="info")
    ap.add_argument("--access-log", action="store_true")
    ap.add_argument("--backlog", type=int, default=2048)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:  # one of run()'s workers: the port is bound by the supervisor already
        _serve(a.host, a.port, a.log_level, a.access_log, a.backlog, reuse_port=True)
        return
    run(a.host, a.port, workers=a.workers, log_level=a.log_level, access_log=a.access_log,
        backlog=a.backlog)


if __name__ == "__main__":
    main()
