"""Finding 4: with 4 labelers submitting on SQLite, 12 of 25 sign-ins, 4 of 25 token
creations and 5 of 25 unmasks got an instant 503. A read-then-write transaction started
DEFERRED cannot wait for the write lock (SQLite answers SQLITE_BUSY at once when another
writer committed since its snapshot), so every ORM write transaction now takes the lock at
BEGIN, queued on the process's writer lock (``modops.store.db``).

8 labelers submit through a real server while another client signs in, creates tokens,
changes settings and unmasks items: 0 errors. Bounded in count; no sleeps."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from modops.accounts import add_user
from modops.api import Settings, create_app
from modops.store import session_scope
from tests.api.world import PASSWORD, build_world, password_hash

LABELERS = [f"load{i}" for i in range(8)]
ROUNDS = 25  # of each interactive request, as the red team sent them
MAX_PAIRS = 350  # per labeler: the bound (8 × 350 < ITEMS, so the queue never runs dry)
ITEMS = 3000


@pytest.fixture
def server(engine: Engine) -> Iterator[tuple[str, Engine]]:
    build_world(engine, items=ITEMS, overlap=1)
    with session_scope(engine) as s:
        for name in LABELERS:
            u = add_user(s, name, "labeler", team="Seoul A", skills=["ko"], actor="test")
            u.password_hash = password_hash()
    settings = Settings(secret_key="load", webhook_dispatch=False, jobs=False, cookie_secure=False,
                        rate_limit_rps=1e6, rate_limit_burst=1e6)
    srv = uvicorn.Server(uvicorn.Config(create_app(engine, settings), host="127.0.0.1",
                                        port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    started = threading.Event()

    def wait_started() -> None:
        while not srv.started and thread.is_alive():
            started.wait(0.05)

    wait_started()
    assert srv.started, "the server did not start"
    port = srv.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", engine
    finally:
        srv.should_exit = True
        thread.join(timeout=60)


def _token(base: str, username: str) -> dict[str, str]:
    with httpx.Client(base_url=base, trust_env=False, timeout=60) as c:
        r = c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        r = c.post("/api/v1/tokens", json={"name": "load"},
                   headers={"X-CSRF-Token": r.headers["X-CSRF-Token"]})
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.mark.parametrize("store_name", ["sqlite"])
def test_interactive_requests_wait_instead_of_failing(server: tuple[str, Engine]) -> None:
    base, _engine = server
    headers = {name: _token(base, name) for name in [*LABELERS, "admin", "manager",
                                                      "reviewer"]}
    done = threading.Event()
    submitted: Counter[str] = Counter()
    during: Counter[str] = Counter()  # submits while the interactive client was at work
    errors: list[str] = []
    first_submit = threading.Barrier(len(LABELERS) + 1)

    def labeler(name: str) -> None:
        h = headers[name]
        waited = False
        with httpx.Client(base_url=base, trust_env=False, timeout=120) as c:
            while submitted[name] < MAX_PAIRS and not (done.is_set() and waited):
                r = c.post("/api/v1/projects/kr-web/tasks/next", headers=h)
                if r.status_code == 204:
                    errors.append(f"{name}: the queue ran dry")
                    break
                if r.status_code != 200:
                    errors.append(f"{name} next: {r.status_code} {r.text[:100]}")
                    break
                task = r.json()
                r = c.post(f"/api/v1/tasks/{task['task_id']}/submit", headers=h,
                           json={"labels": ["none"]})
                if r.status_code != 200:
                    errors.append(f"{name} submit: {r.status_code} {r.text[:100]}")
                    break
                submitted[name] += 1
                if not done.is_set():
                    during[name] += 1
                if not waited:
                    waited = True
                    first_submit.wait(timeout=120)  # everyone is busy before the others start
        if not waited:
            first_submit.abort()

    threads = [threading.Thread(target=labeler, args=(n,)) for n in LABELERS]
    for t in threads:
        t.start()
    first_submit.wait(timeout=120)
    interactive: Counter[str] = Counter()
    with httpx.Client(base_url=base, trust_env=False, timeout=120) as c:
        for i in range(ROUNDS):
            while_busy = not done.is_set()
            calls = [
                ("login", c.post("/api/v1/auth/login",
                                 json={"username": "manager", "password": PASSWORD})),
                ("token", c.post("/api/v1/tokens", json={"name": f"t{i}"},
                                 headers=headers["admin"])),
                ("settings", c.patch("/api/v1/projects/kr-web/settings",
                                     headers=headers["manager"],
                                     json={"sla_minutes": 60 + i % 2})),
                ("unmask", c.post(f"/api/v1/items/{1 + i}/unmask", headers=headers["reviewer"],
                                  json={"reason": "load test: checking PII"})),
            ]
            for what, r in calls:
                if r.status_code >= 300:
                    errors.append(f"{what} {i}: {r.status_code} {r.text[:100]}")
                else:
                    interactive[what] += 1
            assert while_busy or i > 0
    done.set()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    assert interactive == {"login": ROUNDS, "token": ROUNDS, "settings": ROUNDS,
                           "unmask": ROUNDS}
    assert all(during[n] >= 1 for n in LABELERS), during
