"""Every import test runs twice: parsing inline, and in a parse thread behind a bounded queue
(the parallel pipeline large files take), so both paths keep the same behaviour."""

from __future__ import annotations

import pytest

from modops.io import importer


@pytest.fixture(autouse=True, params=["inline", "parallel"])
def parse_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(importer, "PARALLEL_MIN_BYTES", 0 if request.param == "parallel"
                        else 1 << 62)
    monkeypatch.setattr(importer.os, "cpu_count", lambda: 2)
    return request.param
