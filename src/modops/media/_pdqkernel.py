"""The compiled multi-index-hashing kernel of ``modops.media.pdqindex`` (numba).

Its own module so that numba (about 60 MB and half a second per process) loads with the first
indexed bank search, not in every server worker that merely imports the media package.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def mih_kernel(words: np.ndarray, order: np.ndarray, offsets: np.ndarray, pre: np.ndarray,
               qwords: np.ndarray, qchunks: np.ndarray, flips: np.ndarray, radius: int) \
        -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover (compiled)
    """Probe every chunk table with every flip of the query's chunk; check each candidate's
    full distance once (a hash reached through two chunks is skipped the second time: it is
    reported by the first chunk whose probe reaches it within r // 16 flips)."""
    nq = qwords.shape[0]
    hq = np.empty(64, np.int64)
    hr = np.empty(64, np.int64)
    hd = np.empty(64, np.int64)
    n = 0
    for qi in range(nq):
        for c in range(16):
            h0 = 2 if c < 8 else 0  # the query's half that the table's prefilter holds
            for f in range(flips.shape[0]):
                v = qchunks[qi, c] ^ flips[f]
                for k in range(offsets[c, v], offsets[c, v + 1]):
                    if _popcount(pre[c, k, 0] ^ qwords[qi, h0]) + \
                            _popcount(pre[c, k, 1] ^ qwords[qi, h0 + 1]) > radius:
                        continue
                    row = order[c, k]
                    d = np.int64(0)
                    for w in range(4):
                        d += _popcount(words[row, w] ^ qwords[qi, w])
                    if d > radius:
                        continue
                    # found through an earlier chunk already? (that chunk was within reach)
                    dup = False
                    for c0 in range(c):
                        x0 = qchunks[qi, c0] ^ _chunk_value(words, row, c0)
                        bits = 0
                        while x0:
                            x0 &= x0 - 1
                            bits += 1
                        if bits <= radius // 16:
                            dup = True
                            break
                    if dup:
                        continue
                    if n == hq.shape[0]:
                        hq = np.concatenate((hq, np.empty(n, np.int64)))
                        hr = np.concatenate((hr, np.empty(n, np.int64)))
                        hd = np.concatenate((hd, np.empty(n, np.int64)))
                    hq[n], hr[n], hd[n] = qi, row, d
                    n += 1
    return hq[:n], hr[:n], hd[:n]


@numba.njit(cache=True, inline="always")
def _popcount(x: np.uint64) -> int:  # pragma: no cover (compiled)
    """Bits set (SWAR): numba has no portable popcnt intrinsic."""
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@numba.njit(cache=True, inline="always")
def _chunk_value(words: np.ndarray, row: int, c: int) -> int:  # pragma: no cover (compiled)
    """Chunk c of a hash (big-endian 16-bit value of bytes 2c, 2c+1), read from its words."""
    word = words[row, c // 4]
    shift = np.uint64(16 * (c % 4))
    x = int((word >> shift) & np.uint64(0xFFFF))
    return ((x & 0xFF) << 8) | (x >> 8)
