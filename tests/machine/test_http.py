from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from modops.machine import ScorerUnavailable, get_scorer


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        scores = [{"severity": {"hate": 0.5, "offensive": 0.0, "none": 0.5},
                   "targets": {"gender": 0.1}, "profanity": 0.2} for _ in body["texts"]]
        data = json.dumps({"model_version": "team-clf-7", "scores": scores}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/score"
    srv.shutdown()
    srv.server_close()


def test_http_scorer_works(server: str, no_network: list[object]) -> None:
    scorer = get_scorer(server, timeout=2.0)
    scores = scorer.score(["하나", "둘", "셋"])
    assert [s.harm for s in scores] == [0.5, 0.5, 0.5]
    assert scores[0].model_version == "team-clf-7" == scorer.model_version
    assert scores[0].targets == {"gender": 0.1}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_http_scorer_down_raises_quickly() -> None:
    scorer = get_scorer(f"http://127.0.0.1:{_free_port()}/score", timeout=1.0)
    t0 = time.perf_counter()
    with pytest.raises(ScorerUnavailable):
        scorer.score(["아무거나"])
    assert time.perf_counter() - t0 < 2.0
