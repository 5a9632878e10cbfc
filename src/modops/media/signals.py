"""Perceptual and exact hashes in ThreatExchange's signal formats (the strings HMA banks hold).

- ``pdq``: 64 hex digits, from ``pdqhash`` (Meta's reference C++), with its quality 0-100.
  ThreatExchange and HMA ignore hashes of quality below 50 (flat or tiny images hash alike).
- ``vpdq``: ThreatExchange's vPDQ signal string (a JSON list of ``hex,quality,timestamp``), from
  ``vpdq`` (one PDQ per second of video), read and written with ``threatexchange``.
- ``md5`` / ``sha256``: exact hashes of the bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modops.media.pdqindex import bits_to_hex

PDQ_MIN_QUALITY = 50  # ThreatExchange's VPDQ_QUALITY_THRESHOLD and HMA's PDQ default
SIGNAL_TYPES = ("pdq", "vpdq", "md5", "sha256")


def pdq(rgb: np.ndarray) -> tuple[str, int]:
    """(hex, quality) of an (h, w, 3) uint8 image."""
    import pdqhash

    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return bits_to_hex(bits), int(quality)


# PDQ is a global DCT hash: resizing, re-encoding and small overlays move a few bits, but a
# crop shifts everything (removing 10 % of an image's area at a random place moved 46 bits at
# the median, no match at all among 40 test pictures). So a banked image is also hashed as 25
# crops keeping 90 % of its area on a 5 x 5 grid of positions (and mirrored): every 10 % crop
# is then within 1/8 of the removed margin of one of them. Measured on 40 pictures with random
# 10 % crops: median 13 bits to the nearest variant, max 22 (a 3 x 3 grid: max 40, 75 %
# matched). Only "add to bank" pays for it (27 hashes a picture), never ingest.
CROP_AREA = 0.9
CROP_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


def bank_variants(rgb: np.ndarray) -> list[str]:
    """PDQ hashes of a picture as banked: itself, 25 crops of 90 % of its area, its mirror."""
    h, w = rgb.shape[:2]
    side = CROP_AREA ** 0.5
    cw, ch = round(w * side), round(h * side)
    out = [pdq(rgb)[0], pdq(np.ascontiguousarray(rgb[:, ::-1]))[0]]
    for gx in CROP_GRID:
        for gy in CROP_GRID:
            x, y = round((w - cw) * gx), round((h - ch) * gy)
            out.append(pdq(np.ascontiguousarray(rgb[y:y + ch, x:x + cw]))[0])
    return list(dict.fromkeys(out))


def vpdq_signal(path: Path, seconds_per_hash: float = 1.0) -> str:
    """ThreatExchange's vPDQ signal string for a video file."""
    from threatexchange.extensions.vpdq.vpdq_util import hash_file_compact, vpdq_to_json

    return vpdq_to_json(hash_file_compact(str(path), seconds_per_hash))


def validate(signal_type: str, signal: str) -> str:
    """The signal in canonical form, or ValueError (ThreatExchange's own validators)."""
    from threatexchange.extensions.vpdq.vpdq import VPDQSignal
    from threatexchange.signal_type.md5 import VideoMD5Signal
    from threatexchange.signal_type.pdq.signal import PdqSignal

    signal = signal.strip()
    if signal_type == "pdq":
        return PdqSignal.validate_signal_str(signal.lower())
    if signal_type == "vpdq":
        return VPDQSignal.validate_signal_str(signal)
    if signal_type == "md5":
        return VideoMD5Signal.validate_signal_str(signal.lower())
    if signal_type == "sha256":
        if len(signal) != 64 or any(c not in "0123456789abcdef" for c in signal.lower()):
            raise ValueError(f"a SHA-256 has 64 hex digits: {signal[:80]!r}")
        return signal.lower()
    raise ValueError(f"unknown signal type {signal_type!r}; known: {', '.join(SIGNAL_TYPES)}")


def vpdq_match(query: str, reference: str) -> tuple[bool, float, float]:
    """HMA's vPDQ comparison: (match, query match %, reference match %). Frames of quality
    below 50 are ignored, frames match within PDQ distance 31, and a video matches when at
    least 80 % of the query's frames find a match (ThreatExchange's defaults)."""
    from threatexchange.extensions.vpdq.vpdq import VPDQSignal

    res = VPDQSignal.compare_hash(query, reference)
    info: Any = res.distance  # a VPDQ similarity (the base class types it without the fields)
    return bool(res.match), float(info.query_match_percent), float(info.compared_match_percent)
