"""Media limits and places, read once from the environment (documented in docs/media.md).

Every limit is a refusal with a reason on the item (``media_error``), never a crash: a
platform's uploads are hostile, and one 4 GB "image" must not take a worker down.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def _float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class MediaSettings:
    media_dir: Path = field(default_factory=lambda: Path(
        os.environ.get("MODOPS_MEDIA_DIR", "media")).resolve())
    max_bytes: int = field(default_factory=lambda: _int("MODOPS_MEDIA_MAX_BYTES", 200 << 20))
    # decoded size, not file size: a 40 KB PNG can claim 50,000 x 50,000 pixels (a bomb)
    max_pixels: int = field(default_factory=lambda: _int("MODOPS_MEDIA_MAX_PIXELS", 40_000_000))
    max_duration_s: float = field(
        default_factory=lambda: _float("MODOPS_MEDIA_MAX_DURATION_S", 180.0))
    max_keyframes: int = field(default_factory=lambda: _int("MODOPS_MEDIA_MAX_KEYFRAMES", 24))
    fetch_timeout_s: float = field(
        default_factory=lambda: _float("MODOPS_MEDIA_FETCH_TIMEOUT_S", 20.0))
    # PDQ bits that may differ for a bank match (ThreatExchange's and HMA's default)
    pdq_threshold: int = field(default_factory=lambda: _int("MODOPS_PDQ_THRESHOLD", 31))
    ocr: bool = field(default_factory=lambda: os.environ.get("MODOPS_MEDIA_OCR", "1") != "0")
    url_ttl_s: int = field(default_factory=lambda: _int("MODOPS_MEDIA_URL_TTL_S", 300))


def media_settings() -> MediaSettings:
    return MediaSettings()
