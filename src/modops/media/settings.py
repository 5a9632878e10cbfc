"""Media limits and places, from ``modops.settings`` (documented in docs/media.md).

Every limit is a refusal with a reason on the item (``media_error``), never a crash: a
platform's uploads are hostile, and one 4 GB "image" must not take a worker down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from modops.settings import settings


@dataclass(frozen=True)
class MediaSettings:
    """The media part of ``modops.settings`` (tests pass their own)."""

    media_dir: Path = field(default_factory=lambda: settings().media_dir.resolve())
    max_bytes: int = field(default_factory=lambda: settings().media_max_bytes)
    # decoded size, not file size: a 40 KB PNG can claim 50,000 x 50,000 pixels (a bomb)
    max_pixels: int = field(default_factory=lambda: settings().media_max_pixels)
    max_duration_s: float = field(default_factory=lambda: settings().media_max_duration_s)
    max_keyframes: int = field(default_factory=lambda: settings().media_max_keyframes)
    fetch_timeout_s: float = field(default_factory=lambda: settings().media_fetch_timeout_s)
    # PDQ bits that may differ for a bank match (ThreatExchange's and HMA's default)
    pdq_threshold: int = field(default_factory=lambda: settings().pdq_threshold)
    ocr: bool = field(default_factory=lambda: settings().media_ocr)
    url_ttl_s: int = field(default_factory=lambda: settings().media_url_ttl_s)


def media_settings() -> MediaSettings:
    return MediaSettings()
