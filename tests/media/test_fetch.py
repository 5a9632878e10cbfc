"""Media URLs go through the guarded outbound client: internal addresses are refused, and a
server that is slow or sends too much is cut off, each a ``media_error`` on the item."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from modops.media.pipeline import attach_url, fetch_media, process_media
from modops.store import session_scope
from modops.store.models_media import ItemMedia
from tests.media.conftest import add_items
from tests.media.media_files import encode, picture

IMAGE = encode(picture(5))


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *_args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/slow":
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.end_headers()
            for _ in range(40):  # drips: each read is quick, the whole is not
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.25)
            return
        body = IMAGE * (50 if self.path == "/big" else 1)
        self.send_response(200)
        self.send_header("content-type", "image/png")
        if self.path != "/big":
            self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def item(engine: Engine, vproject: str, tmp_path: Path) -> str:
    add_items(engine, vproject, [{"external_id": "u1", "caption": "링크 영상"}], tmp_path)
    return vproject


def _fetch(engine: Engine, project: str, url: str) -> dict:
    got = attach_url(engine, project, "u1", url, enqueue=False)
    return fetch_media(engine, got["id"], enqueue=False)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/a.jpg", "http://localhost/a.jpg", "http://[::1]/a.jpg",
    "http://10.0.0.8/a.jpg", "http://192.168.1.1/a.jpg", "http://169.254.169.254/latest",
    "http://2130706433/a.jpg",
])
def test_internal_addresses_are_refused(engine: Engine, item: str, url: str) -> None:
    out = _fetch(engine, item, url)
    assert out["state"] == "media_error" and out["error"].startswith("not fetched:")
    with session_scope(engine) as s:
        assert s.scalar(select(ItemMedia.media_id)) is None


def test_a_served_image_is_fetched_and_processed(engine: Engine, item: str, server: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODOPS_OUTBOUND_ALLOW", "loopback")  # this test's own server
    out = _fetch(engine, item, f"{server}/a.png")
    assert out["state"] == "pending"
    assert process_media(engine, out["media_id"])["state"] == "ready"


def test_slow_and_oversized_answers_are_cut_off(engine: Engine, item: str, server: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODOPS_OUTBOUND_ALLOW", "loopback")
    monkeypatch.setenv("MODOPS_MEDIA_FETCH_TIMEOUT_S", "2")
    monkeypatch.setenv("MODOPS_MEDIA_MAX_BYTES", str(len(IMAGE) * 10))
    started = time.monotonic()
    slow = _fetch(engine, item, f"{server}/slow")
    assert slow["state"] == "media_error" and "time limit" in slow["error"]
    assert time.monotonic() - started < 8  # the drip would have taken 10 s
    big = _fetch(engine, item, f"{server}/big")
    assert big["state"] == "media_error" and "over the size limit" in big["error"]


def test_a_port_that_never_answers_times_out(engine: Engine, item: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODOPS_OUTBOUND_ALLOW", "loopback")
    monkeypatch.setenv("MODOPS_MEDIA_FETCH_TIMEOUT_S", "1")
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        out = _fetch(engine, item, f"http://127.0.0.1:{listener.getsockname()[1]}/a.jpg")
    assert out["state"] == "media_error" and out["error"] == "not fetched: no answer within 1 s"
