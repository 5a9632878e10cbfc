"""Fetching a media URL named by hostile content: the project's one guarded outbound client
(``modops.net.outbound``: http(s) only, public addresses only, the checked address pinned, no
proxies, each redirect re-checked) plus this module's limits on what comes back.

The client refuses the destination; this transport bounds the answer. A body over
``max_bytes`` is cut off as it streams in (a missing or lying ``Content-Length`` changes
nothing), and the whole exchange has a deadline, so a server that drips one byte a second
cannot hold a worker past ``timeout_s`` (httpx's own timeouts are per read).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx

MAX_REDIRECTS = 3


class FetchRefused(ValueError):
    """The URL was not fetched; the message says why (shown on the item)."""


class _Bounded(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, max_bytes: int, deadline: float) -> None:
        self.inner, self.max_bytes, self.deadline = inner, max_bytes, deadline

    def __iter__(self) -> Iterator[bytes]:
        n = 0
        for chunk in self.inner:
            n += len(chunk)
            if n > self.max_bytes:
                raise FetchRefused(f"the response is over the size limit of "
                                   f"{self.max_bytes:,} bytes")
            if time.monotonic() > self.deadline:
                raise FetchRefused("the download took longer than the time limit")
            yield chunk

    def close(self) -> None:
        self.inner.close()


class BoundedTransport(httpx.BaseTransport):
    """An httpx transport whose response bodies are bounded in size and time."""

    def __init__(self, max_bytes: int, timeout_s: float) -> None:
        self.inner = httpx.HTTPTransport()
        self.max_bytes = max_bytes
        self.deadline = time.monotonic() + timeout_s

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        resp = self.inner.handle_request(request)
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            resp.close()
            raise FetchRefused(f"the response declares {int(declared):,} bytes, over the size "
                               f"limit of {self.max_bytes:,}")
        assert isinstance(resp.stream, httpx.SyncByteStream)
        return httpx.Response(resp.status_code, headers=resp.headers,
                              stream=_Bounded(resp.stream, self.max_bytes, self.deadline),
                              extensions=resp.extensions)

    def close(self) -> None:
        self.inner.close()


def guarded_fetch(url: str, max_bytes: int, timeout_s: float) -> list[bytes]:
    """GET ``url`` through the guarded client; the body, or ``FetchRefused`` with the reason."""
    try:
        from modops.net.outbound import GuardedClient, OutboundRefused
    except ImportError:  # pragma: no cover (the client ships with ModOps)
        raise FetchRefused("no guarded outbound client is installed") from None
    try:
        with GuardedClient(transport=BoundedTransport(max_bytes, timeout_s),
                           timeout=httpx.Timeout(timeout_s)) as client:
            resp = client.get(url, max_redirects=MAX_REDIRECTS)
            body = resp.content
    except OutboundRefused as exc:
        raise FetchRefused(str(exc)) from None
    except httpx.TimeoutException:
        raise FetchRefused(f"no answer within {timeout_s:.0f} s") from None
    except httpx.HTTPError as exc:
        raise FetchRefused(f"{type(exc).__name__}: {exc}") from None
    if resp.status_code != 200:
        raise FetchRefused(f"the server answered HTTP {resp.status_code}")
    return [body]
