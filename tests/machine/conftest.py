"""Fixtures for machine-moderation tests: a network guard and a tiny trained model."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_real_connect = socket.socket.connect


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return True  # AF_UNIX paths


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Fail any connection that leaves the machine; returns the list of attempts."""
    attempts: list[object] = []

    def guarded(self: socket.socket, address: object) -> None:
        if not _is_loopback(address):
            attempts.append(address)
            raise OSError(f"network access blocked in tests: {address!r}")
        _real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield attempts


@pytest.fixture
def model_dir(tmp_path: Path, env: Callable[[str, str], None]) -> Path:
    d = tmp_path / "models"
    env("MODOPS_MODEL_DIR", str(d))
    return d
