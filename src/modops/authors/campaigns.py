"""Near-duplicate clustering for campaigns: many accounts posting near-identical text.

``lsh_clusters`` groups texts whose character 3-gram shingle sets have Jaccard similarity of
at least ``threshold`` (0.8, as ``modops.media.clusters``), found with ``datasketch``'s
MinHash LSH index. The MinHash signatures are computed for a whole batch at once in NumPy
(128 multiply-shift hashes ``(a·h + b) mod 2^64 >> 32`` of a 32-bit hash of each shingle,
instead of datasketch's modulo of a Mersenne prime) and handed to datasketch as
``LeanMinHash`` objects, so the per-item Python work is the index's insert and query.
Candidates are checked on their signatures' estimated Jaccard before they join (union-find).
``bench/rules_lsh.py``
measures it (``lsh_items_per_s``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

NUM_PERM = 128
THRESHOLD = 0.8
MIN_CHARS = 12  # shorter texts ("ㅋㅋㅋ", "좋아요") are alike by nature, not by copying
_MAX32 = np.uint64((1 << 32) - 1)
_SPACE = re.compile(r"\s+")
_rng = np.random.RandomState(1)
_A = _rng.randint(1, (1 << 63) - 1, size=NUM_PERM, dtype=np.uint64) | np.uint64(1)
_B = _rng.randint(0, (1 << 63) - 1, size=NUM_PERM, dtype=np.uint64)


def _shingle_codes(text: str) -> np.ndarray:
    """Each 3-character shingle as one 32-bit hash (exact code points mixed, no hashlib)."""
    t = _SPACE.sub(" ", text.strip().lower())
    cps = np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(cps) < 3:
        cps = np.concatenate([cps, np.zeros(3 - len(cps), dtype=np.uint64)])
    codes = (cps[:-2] << np.uint64(42)) ^ (cps[1:-1] << np.uint64(21)) ^ cps[2:]
    codes = np.unique(codes)
    codes = (codes ^ (codes >> np.uint64(33))) * np.uint64(0xFF51AFD7ED558CCD)
    return (codes ^ (codes >> np.uint64(29))) & _MAX32


def signatures(texts: Sequence[str]) -> np.ndarray:
    """MinHash signatures of ``texts``: shape (len(texts), NUM_PERM), uint64."""
    codes = [_shingle_codes(t) for t in texts]
    sizes = np.fromiter((len(c) for c in codes), dtype=np.int64, count=len(codes))
    flat = np.concatenate(codes) if codes else np.zeros(0, dtype=np.uint64)
    with np.errstate(over="ignore"):  # multiply-shift hashing: wraps mod 2^64 on purpose
        perm = ((flat[:, None] * _A[None, :] + _B[None, :]) >> np.uint64(32)).astype(np.uint32)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return np.minimum.reduceat(perm, starts, axis=0) if len(texts) else perm


def lsh_clusters(ids: Sequence[int], texts: Sequence[str], *, threshold: float = THRESHOLD,
                 chunk: int = 256) -> list[list[int]]:
    """Clusters (two or more ids) of near-duplicate texts; texts under ``MIN_CHARS`` are
    left out."""
    from datasketch import LeanMinHash, MinHashLSH

    keep = [(i, t) for i, t in zip(ids, texts, strict=True) if len(t) >= MIN_CHARS]
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    parent: dict[int, int] = {}
    sigs: dict[int, np.ndarray] = {}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for at in range(0, len(keep), chunk):
        part = keep[at:at + chunk]
        block = signatures([t for _, t in part])
        for (item_id, _), sig in zip(part, block, strict=True):
            m = LeanMinHash(seed=1, hashvalues=sig, scheme="legacy")
            parent[item_id] = item_id
            for other in lsh.query(m):
                a, b = find(other), find(item_id)
                if a != b and np.count_nonzero(sigs[other] == sig) >= threshold * NUM_PERM:
                    parent[max(a, b)] = min(a, b)
            lsh.insert(item_id, m)
            sigs[item_id] = sig
    groups: dict[int, list[int]] = {}
    for item_id in parent:
        groups.setdefault(find(item_id), []).append(item_id)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g[0]))
