"""Request limits as one pure ASGI middleware: body size and per-caller rate.

- Body size: ``Content-Length`` over the limit is refused before the body is read (413); a
  chunked body is counted as it streams and cut off at the limit. Upload routes (``/import``)
  get the larger upload limit.
- Rate: a token bucket per caller, ``rps`` refill and ``burst`` capacity, answered with 429
  and ``Retry-After``. The caller is the authenticated principal when the request proves one
  cheaply (a bearer token this process has verified, a session cookie whose signature checks
  out), else the client address — never the raw header, or a junk ``Cookie`` or
  ``Authorization`` per request would be a fresh bucket each time. Buckets are per
  process: with N workers a caller can get up to N × rps; that bounds a runaway script, which
  is the point (abusive clients are stopped at the proxy, see docs/deploy.md).

Pure ASGI (no BaseHTTPMiddleware) because it runs on every request of the labelers' hot path.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send


async def _json(send: Send, status: int, detail: str,
                headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = orjson.dumps({"detail": detail})
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def _limited(path: str) -> bool:
    """The API, and the web sign-in form (password guessing must meet the limiter too)."""
    return path.startswith("/api/") or path == "/login"


class Limits:
    def __init__(self, app: ASGIApp, *, max_body: int = 16 * 2**20,
                 max_upload: int = 512 * 2**20, rps: float = 100.0, burst: float = 300.0,
                 max_callers: int = 100_000, secret: str = "") -> None:
        self.app = app
        self.secret = secret  # checks session cookies' signatures (modops.api.auth.sign)
        self.max_body = max_body
        self.max_upload = max_upload
        self.rps = rps
        self.burst = burst
        self.max_callers = max_callers
        self._buckets: dict[bytes, list[float]] = {}  # caller -> [tokens, last refill]

    def _caller(self, scope: Scope) -> bytes:
        from modops.api.auth import SESSION_COOKIE, known_bearer, unsign

        auth = cookie = None
        for k, v in scope.get("headers", ()):
            if k == b"authorization":
                auth = v
            elif k == b"cookie":
                cookie = v
        raw: bytes | None = None
        if auth is not None and auth[:7].lower() == b"bearer ":
            principal = known_bearer(auth[7:].strip().decode("latin-1"))
            if principal is not None:
                raw = b"principal:%d" % principal
        elif cookie is not None and self.secret:
            for part in cookie.decode("latin-1").split(";"):
                name, _, value = part.strip().partition("=")
                if name == SESSION_COOKIE and value:
                    token = unsign(self.secret, value.strip('"'))
                    if token:
                        raw = b"session:" + token.encode()
                    break
        if raw is None:
            client = scope.get("client")
            raw = b"address:" + (client[0] if client else "anonymous").encode()
        return hashlib.blake2b(raw, digest_size=16).digest()

    def _take(self, caller: bytes) -> float:
        """0 when the request may go; otherwise seconds until a token is available."""
        now = time.monotonic()
        bucket = self._buckets.get(caller)
        if bucket is None:
            if len(self._buckets) >= self.max_callers:
                self._buckets.clear()
            bucket = self._buckets[caller] = [self.burst, now]
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rps)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self.rps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _limited(scope["path"]):
            await self.app(scope, receive, send)
            return
        if self.rps > 0:
            wait = self._take(self._caller(scope))
            if wait > 0:
                await _json(send, 429, "too many requests; slow down",
                            [(b"retry-after", str(max(1, math.ceil(wait))).encode())])
                return
        limit = self.max_upload if scope["path"].endswith("/import") else self.max_body
        for k, v in scope.get("headers", ()):
            if k == b"content-length":
                try:
                    size = int(v)
                except ValueError:
                    size = -1
                if size > limit or size < 0:
                    await _json(send, 413, f"request body over the {limit:,}-byte limit")
                    return
        seen = 0
        too_large = False
        started = False

        async def counted_receive() -> Message:
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Stop reading: to the app the client went away; it answers nothing we
                    # forward, and the caller gets a 413 below.
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large and not started:
            await _json(send, 413, f"request body over the {limit:,}-byte limit")

    def state(self) -> dict[str, Any]:
        return {"callers": len(self._buckets), "rps": self.rps, "burst": self.burst}
