"""Helpers for the multi-process tests: a throwaway PostgreSQL schema with a project, labelers
and items; uvicorn servers in their own process groups; HTTP labelers that keep going through
server crashes; and the database-side invariant checks."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from modops.store import make_engine, session_scope, upgrade
from tests.conftest import EXAMPLE_SPEC, PG_URL, pg_url_for

REPO = Path(__file__).resolve().parents[2]
PROJECT = "crash"


@contextmanager
def pg_world(labelers: int, items: int, overlap: int, lease_s: int = 10
             ) -> Iterator[tuple[str, list[str]]]:
    """A fresh schema (dropped afterwards) → (URL for other processes, API tokens)."""
    from modops.accounts import add_user, create_token
    from modops.projects import create_project, load_spec
    from modops.queue import ingest_file

    schema = f"modops_ops_{os.getpid()}_{secrets.token_hex(3)}"
    admin = make_engine(PG_URL, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = pg_url_for(schema)
    try:
        engine = make_engine(url, poolclass=NullPool)
        upgrade(engine)
        spec = load_spec(EXAMPLE_SPEC)
        spec.update({"key": PROJECT, "overlap": overlap, "gold_rate": 0.0, "audit_rate": 0.0,
                     "routing": {}, "teams": [], "required_skills": []})
        tokens = []
        with session_scope(engine) as s:
            p = create_project(s, spec, actor="test")
            p.settings = {"score_on_ingest": False}
            p.lease_seconds = lease_s
            for i in range(labelers):
                u = add_user(s, f"crash{i:02d}", "labeler", skills=["ko"], actor="test")
                tokens.append(create_token(s, u, "crash").token)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "items.jsonl"
            path.write_bytes(b"".join(orjson.dumps({
                "external_id": f"x-{i:05d}", "product": "comment", "view_count": i,
                "comment": f"충돌 테스트 댓글 {i} 연락처 010-1234-{i % 10000:04d}"}) + b"\n"
                for i in range(items)))
            ingest_file(engine, PROJECT, path, "jsonl", actor="test")
        engine.dispose()
        yield url, tokens
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    port: int
    workers: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 300.0) -> Server:
        env = {**os.environ, "MODOPS_DATABASE_URL": self.url, "MODOPS_WEBHOOKS": "0",
               "MODOPS_JOBS": "off", "MODOPS_SECRET_KEY": "crash-test",
               "MODOPS_RATE_LIMIT_RPS": "0"}
        # Own session = own process group: SIGKILL to the group takes the master and every
        # worker down at once, as a machine or container crash would.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "modops.api.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers),
             "--log-level", "warning", "--no-access-log"],
            env=env, cwd=REPO, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.kill()
                raise RuntimeError("server did not start")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the whole process group (master and workers)."""
        if self.proc is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None


@dataclass
class Log:
    acked: list[tuple[int, int, str]] = field(default_factory=list)  # task, annotation, token
    # task, item, token, and the lease's start and expiry as the server sent them (ISO text)
    served: list[tuple[int, int, str, str, str]] = field(default_factory=list)
    # (task, token) whose submit got no answer (connection lost or timed out): the labeler
    # may be handed the same leased task again by its next ``next``
    submit_lost: set[tuple[int, str]] = field(default_factory=set)
    walked: list[int] = field(default_factory=list)  # tasks labelers walked away holding
    next_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))


async def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 300.0) -> None:
    """Poll ``condition`` until it holds (tests wait on states, not on clocks)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


async def labeler(client: httpx.AsyncClient, token: str, log: Log, *, project: str = PROJECT,
                  walk_away: asyncio.Event | None = None, deadline: float,
                  url: str | None = None) -> None:
    """next → submit until the queue is empty for this labeler; rides out server outages
    (connection errors and 5xx are retried: nothing acknowledged is assumed).

    Once ``walk_away`` is set the labeler takes one more task and leaves without submitting
    it (recorded in ``log.walked``), as someone who closes the browser mid-task.

    With ``url``, "no task now" while label slots are still leased to others (labelers who
    walked away) means come back later, as a labeler would: those leases expire and their
    slots return to the queue.
    """
    h = {"Authorization": f"Bearer {token}"}
    n = 0
    while time.monotonic() < deadline:
        submitting: int | None = None
        try:
            t0 = time.perf_counter()
            r = await client.post(f"/api/v1/projects/{project}/tasks/next", headers=h)
            if r.status_code == 204:
                if url is None or not await asyncio.to_thread(_label_slots_leased, url):
                    return
                await asyncio.sleep(0.5)
                continue
            if r.status_code >= 500:
                log.errors[f"next {r.status_code}"] += 1
                await asyncio.sleep(0.05)
                continue
            r.raise_for_status()
            log.next_ms.append((time.perf_counter() - t0) * 1000)
            task = r.json()
            log.served.append((task["task_id"], task["item"]["id"], token,
                               task["leased_at"], task["lease_expires_at"]))
            if walk_away is not None and walk_away.is_set():
                log.walked.append(task["task_id"])
                return  # gone, holding the lease
            submitting = task["task_id"]
            r = await client.post(f"/api/v1/tasks/{task['task_id']}/submit", headers=h,
                                  json={"labels": [("none", "profanity")[n % 2]]})
            if 200 <= r.status_code < 300:
                log.acked.append((task["task_id"], r.json()["annotation_id"], token))
                n += 1
            else:
                log.errors[f"submit {r.status_code}"] += 1
                await asyncio.sleep(0.05)
        except httpx.TransportError as exc:
            log.errors[type(exc).__name__] += 1
            if submitting is not None:
                log.submit_lost.add((submitting, token))
            await asyncio.sleep(0.1)


def leased_tasks(url: str, task_ids: list[int]) -> int:
    """How many of ``task_ids`` the database shows as leased."""
    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM tasks WHERE state = 'leased' AND id = ANY(:ids)"),
                {"ids": task_ids}).scalar_one())
    finally:
        engine.dispose()


def _label_slots_leased(url: str) -> bool:
    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text(
                "SELECT count(*) FROM tasks WHERE kind = 'label' AND state = 'leased'"
            )).scalar_one())
    finally:
        engine.dispose()


def client(base: str, n: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    return httpx.AsyncClient(base_url=base, limits=limits, timeout=15)


def invariants(url: str, overlap: int) -> dict[str, Any]:
    """What the database says after the run: all must hold for the test to pass."""
    engine = make_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        one = lambda sql: int(conn.execute(text(sql), {"k": overlap}).scalar_one())  # noqa: E731
        out = {
            "annotation_ids": {r[0] for r in conn.execute(text("SELECT id FROM annotations"))},
            "over_k": one("SELECT count(*) FROM (SELECT item_id FROM annotations WHERE kind = "
                          "'label' GROUP BY item_id HAVING count(*) > :k) x"),
            "same_labeler_twice": one(
                "SELECT count(*) FROM (SELECT item_id, labeler_id FROM annotations WHERE kind ="
                " 'label' GROUP BY item_id, labeler_id HAVING count(*) > 1) x"),
            "leased": one("SELECT count(*) FROM tasks WHERE state = 'leased'"),
            "label_slots_not_done": one(
                "SELECT count(*) FROM tasks WHERE kind = 'label' AND state <> 'done'"),
            "items_without_k": one(
                "SELECT count(*) FROM items i WHERE (SELECT count(*) FROM annotations a "
                "WHERE a.item_id = i.id AND a.kind = 'label') <> :k"),
        }
    engine.dispose()
    return out
