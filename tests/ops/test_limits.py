"""Request limits: body size (413) and per-token rate (429 + Retry-After)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from modops.api import Settings, create_app


def _client(world, **kw) -> TestClient:
    settings = Settings(secret_key="t", webhook_dispatch=False, jobs=False, **kw)
    return TestClient(create_app(world.engine, settings), base_url="http://testserver")


def test_rate_limit_is_per_token_with_retry_after(world, token_for) -> None:
    with _client(world, rate_limit_rps=1.0, rate_limit_burst=5) as c:
        codes = [c.get("/api/v1/me", headers=token_for("lab1")).status_code for _ in range(8)]
        assert codes[:5] == [200] * 5 and codes[-1] == 429
        r = c.get("/api/v1/me", headers=token_for("lab1"))
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        # Another caller has its own bucket; pages and static files are not limited.
        assert c.get("/api/v1/me", headers=token_for("lab2")).status_code == 200
        assert c.get("/healthz").status_code == 200


def test_body_over_the_limit_is_refused(world, token_for) -> None:
    with _client(world, max_body_bytes=1000) as c:
        h = token_for("lab1")
        big = {"labels": ["none"], "note": "가" * 2000}
        r = c.post("/api/v1/projects/kr-web/tasks/next", headers=h, json=big)
        assert r.status_code == 413

        def chunks():  # no Content-Length: counted as it streams
            for _ in range(10):
                yield b"x" * 500

        r = c.post("/api/v1/projects/kr-web/items", headers=token_for("manager"),
                   content=chunks())
        assert r.status_code == 413
        assert c.post("/api/v1/projects/kr-web/tasks/next", headers=h).status_code == 200
