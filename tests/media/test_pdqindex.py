"""The PDQ index finds exactly what an exhaustive scan finds (recall 1.0 by pigeonhole)."""

from __future__ import annotations

import numpy as np
import pytest

from modops.media.pdqindex import PdqIndex, bits_to_hex, distances, hex_to_bytes


def _near(rng: np.random.Generator, rows: np.ndarray, max_flips: int) -> np.ndarray:
    bits = np.unpackbits(rows, axis=1)
    for b in bits:
        b[rng.choice(256, int(rng.integers(0, max_flips + 1)), replace=False)] ^= 1
    return np.packbits(bits, axis=1)


@pytest.mark.parametrize("radius", [0, 15, 31, 40])
def test_multi_index_hashing_equals_the_exact_scan(radius: int) -> None:
    rng = np.random.default_rng(radius)
    db = rng.integers(0, 256, (30_000, 32), dtype=np.uint8)
    db[1000:1100] = _near(rng, db[:100], 20)  # clusters of near-duplicates inside the bank
    queries = np.vstack([_near(rng, db[rng.integers(0, len(db), 300)], radius + 4),
                         rng.integers(0, 256, (100, 32), dtype=np.uint8)])
    mih = PdqIndex(db, scan_below=1)
    scan = PdqIndex(db, scan_below=len(db) + 1)
    assert mih.mih and not scan.mih
    got, want = mih.search(queries, radius), scan.search(queries, radius)
    assert got == want
    assert sum(map(len, want)) >= 50  # the test has answers to find


def test_distances_and_hex() -> None:
    a = hex_to_bytes(["f" * 64, "0" * 64, "0f" * 32])
    assert distances(a[0], a).tolist() == [0, 256, 128]
    assert bits_to_hex(np.array([1, 0, 0, 0] + [0] * 252)) == "8" + "0" * 63
    with pytest.raises(ValueError, match="64 hex digits"):
        hex_to_bytes(["abc"])
