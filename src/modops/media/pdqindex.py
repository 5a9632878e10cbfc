"""Finding every bank hash within Hamming distance r of a PDQ query, exactly, at 1M hashes.

Two indexes, one answer. ``PdqIndex`` picks by size:

- **exact scan** (fewer than ``SCAN_BELOW`` hashes): XOR and popcount against every hash,
  no build. Above ~1,000 hashes the index wins: at 10,000 the scan answered 1,059 queries/s
  and the index 7,166 at 100,000 (same loaded host).
- **multi-index hashing** (Norouzi, Punjani & Fleet 2012) above that. The 256 bits are cut
  into 16 chunks of 16 bits. If two hashes differ in at most r bits, by pigeonhole at least
  one chunk differs in at most ``r // 16`` bits (1 for the default r = 31), so probing each
  chunk's table with the query chunk and its 16 one-bit flips finds every candidate; the
  candidates are then checked with the full distance. Nothing within r is missed (recall 1.0
  by construction, and the tests and ``bench/media.py`` check it against the exact scan).
  Each chunk table is a counting sort: ``order`` (ids by chunk value) and ``offsets``
  (65,537 bucket starts), 64 MB at 1M hashes.

faiss was measured first, here, at 1M random hashes, one core: ``IndexBinaryMultiHash``
(16 x 16 bits, nflip 1) answered 93 queries/s after a 27 s build and ``IndexBinaryFlat`` 54
(its range search is not blocked over queries). This batch-vectorised MIH answers thousands
per second (``bench/results/media.json``, ``bank_match_queries_per_s``).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np

PDQ_BITS = 256
CHUNKS = 16
CHUNK_BITS = PDQ_BITS // CHUNKS
SCAN_BELOW = 1_024
_BATCH = 512  # queries gathered at once: bounds the candidate arrays (~2M ids at 1M hashes)


def hex_to_bytes(hashes: Sequence[str]) -> np.ndarray:
    """PDQ hex strings (64 hex digits) to an (n, 32) uint8 array; ValueError on a bad one."""
    out = np.empty((len(hashes), PDQ_BITS // 8), dtype=np.uint8)
    for i, h in enumerate(hashes):
        if len(h) != 64:
            raise ValueError(f"a PDQ hash has 64 hex digits, not {len(h)}: {h[:80]!r}")
        out[i] = np.frombuffer(bytes.fromhex(h), dtype=np.uint8)
    return out


def bytes_to_hex(row: np.ndarray) -> str:
    return bytes(row.astype(np.uint8)).hex()


def bits_to_hex(bits: np.ndarray) -> str:
    """pdqhash's 256 0/1 values to hex, first value most significant (ThreatExchange's
    ``pdq_hasher`` writes them so)."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def distances(query: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """Hamming distances from one (32,) uint8 query to each row of an (n, 32) array."""
    q = query.view(np.uint64)
    h = hashes.view(np.uint64).reshape(-1, 4)
    return np.bitwise_count(h ^ q).sum(axis=1, dtype=np.int32)


class PdqIndex:
    """An immutable set of PDQ hashes (row i has id ``ids[i]``) answering radius queries."""

    def __init__(self, hashes: np.ndarray, ids: np.ndarray | None = None, *,
                 scan_below: int = SCAN_BELOW) -> None:
        hashes = np.ascontiguousarray(hashes, dtype=np.uint8).reshape(-1, PDQ_BITS // 8)
        self.hashes = hashes
        self.ids = (np.arange(len(hashes), dtype=np.int64) if ids is None
                    else np.asarray(ids, dtype=np.int64))
        self.mih = len(hashes) >= scan_below
        if self.mih:
            chunks = hashes.view(">u2")  # (n, 16) chunk values, big-endian as the hex reads
            words = hashes.view(np.uint64).reshape(-1, 4)
            self._order = np.empty((CHUNKS, len(hashes)), dtype=np.int32)
            self._offsets = np.empty((CHUNKS, (1 << CHUNK_BITS) + 1), dtype=np.int64)
            # Each chunk table also keeps, in bucket order, the half of every hash that does not
            # hold the chunk: a candidate is first checked on those 128 bits (if they alone
            # differ in more than r bits, so does the whole), reading memory in sequence; a
            # random candidate passes with probability ~1e-9, so the random access to the full
            # hash is paid almost only for real matches. 16 B per hash per chunk (256 MB at
            # 1M): against the exhaustive scan, 1M-hash queries went from 161x to 270x as fast
            # (same loaded host, same run).
            self._pre = np.empty((CHUNKS, len(hashes), 2), dtype=np.uint64)
            halves = (np.ascontiguousarray(words[:, :2]), np.ascontiguousarray(words[:, 2:]))
            for c in range(CHUNKS):
                col = chunks[:, c]
                self._order[c] = np.argsort(col, kind="stable")
                self._offsets[c, 0] = 0
                np.cumsum(np.bincount(col, minlength=1 << CHUNK_BITS), out=self._offsets[c, 1:])
                np.take(halves[1 if c < 8 else 0], self._order[c], axis=0, out=self._pre[c])

    def __len__(self) -> int:
        return len(self.hashes)

    def search(self, queries: np.ndarray, radius: int) -> list[list[tuple[int, int]]]:
        """For each query row: ``[(id, distance), …]`` of every hash within ``radius``,
        nearest first."""
        queries = np.ascontiguousarray(queries, dtype=np.uint8).reshape(-1, PDQ_BITS // 8)
        out: list[list[tuple[int, int]]] = []
        for start in range(0, len(queries), _BATCH):
            batch = queries[start:start + _BATCH]
            if self.mih and radius < PDQ_BITS:
                out.extend(self._search_mih(batch, radius))
            else:
                out.extend(self._search_scan(batch, radius))
        return out

    def _search_scan(self, queries: np.ndarray, radius: int) -> list[list[tuple[int, int]]]:
        out = []
        for q in queries:
            d = distances(q, self.hashes)
            hit = np.flatnonzero(d <= radius)
            hit = hit[np.argsort(d[hit], kind="stable")]
            out.append([(int(self.ids[i]), int(d[i])) for i in hit])
        return out

    def _search_mih(self, queries: np.ndarray, radius: int) -> list[list[tuple[int, int]]]:
        flips = _flip_masks(radius // CHUNKS)  # masks with <= r//16 bits set
        qwords = queries.view(np.uint64).reshape(-1, 4)
        qchunks = queries.view(">u2").astype(np.int64)
        # numba (~60 MB, 0.5 s) loads with the first indexed search, not in every server worker
        from modops.media._pdqkernel import mih_kernel

        hit_q, hit_row, hit_d = mih_kernel(self.hashes.view(np.uint64).reshape(-1, 4),
                                           self._order, self._offsets, self._pre, qwords,
                                           qchunks, flips, radius)
        out: list[list[tuple[int, int]]] = [[] for _ in range(len(queries))]
        for qi, dist, row in sorted(zip(hit_q.tolist(), hit_d.tolist(), hit_row.tolist(),
                                        strict=True)):
            out[qi].append((int(self.ids[row]), dist))
        return out


def _flip_masks(max_bits: int) -> np.ndarray:
    masks = [0]
    for k in range(1, max_bits + 1):
        for bits in combinations(range(CHUNK_BITS), k):
            masks.append(sum(1 << b for b in bits))
    return np.asarray(masks, dtype=np.int64)
