"""Reading hostile media safely: type from the bytes, images under a pixel limit, videos under a
duration limit, keyframes by scene change or 1 fps.

Every refusal is a ``MediaRejected`` with a reason a person can act on; the pipeline writes it
to the item (``media_error``). Nothing here trusts a file name or a declared type.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from modops.media.settings import MediaSettings


class MediaRejected(ValueError):
    """The file is not media we can read (the message says why)."""


IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
VIDEO_TYPES = {"video/mp4", "video/quicktime", "video/webm"}


def sniff(head: bytes) -> tuple[str, str]:
    """(kind, mime) from a file's first bytes; the extension a file claims is ignored."""
    if not head:
        raise MediaRejected("the file is empty (0 bytes)")
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image", "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "video", "video/quicktime" if brand == b"qt  " else "video/mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "video", "video/quicktime"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        if b"webm" in head:
            return "video", "video/webm"
        raise MediaRejected("Matroska (.mkv) is not a supported video type; use MP4 or WebM")
    raise MediaRejected("not a supported image (JPEG, PNG, GIF, WebP) or video (MP4, MOV, "
                        f"WebM): the content starts {head[:8].hex(' ')}")


@dataclass
class Frame:
    t: float  # seconds from the start
    rgb: np.ndarray  # (h, w, 3) uint8, at most ANALYSIS_SIDE on its long side
    scene: bool = False  # chosen for a scene change rather than the 1 fps clock


@dataclass
class Probe:
    kind: str
    mime: str
    width: int
    height: int
    duration_s: float | None = None
    codec: str | None = None
    frames: list[Frame] = field(default_factory=list)


# Decoders we run on hostile uploads: the codecs short-video platforms deliver. Everything else
# (FFmpeg has hundreds of decoders, the rarely used ones are where its CVEs cluster) is refused
# before a frame is decoded.
VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"})
ANALYSIS_SIDE = 512  # PDQ works on 64x64 and OCR on caption text: 512 px keeps both exact
SCENE_CHANGE = 0.25  # mean absolute difference (0..1) of 32x32 grey frames that is a new shot


def load_image(path: Path, mime: str, settings: MediaSettings) -> Probe:
    """Check and decode an image (its first frame, for GIF/WebP animations)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as im:
                w, h = im.size
                if w * h > settings.max_pixels:
                    raise MediaRejected(
                        f"the image claims {w:,} x {h:,} pixels, over the limit of "
                        f"{settings.max_pixels:,} (a decompression bomb is refused before "
                        "decoding)")
                im.draft("RGB", (ANALYSIS_SIDE * 2, ANALYSIS_SIDE * 2))  # JPEG: decode small
                im.load()
                rgb = im.convert("RGB")
        except MediaRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise MediaRejected(f"decompression bomb refused: {exc}") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise MediaRejected(f"the image is truncated or corrupt: {exc}") from None
    rgb.thumbnail((ANALYSIS_SIDE, ANALYSIS_SIDE), Image.Resampling.BILINEAR)
    return Probe("image", mime, w, h, frames=[Frame(0.0, np.asarray(rgb))])


def load_video(path: Path, mime: str, settings: MediaSettings) -> Probe:
    """Probe a video and pick its keyframes: a frame every second, plus the first frame of
    each new shot, capped at ``max_keyframes`` (evenly thinned)."""
    import av

    try:
        container = av.open(str(path), timeout=30.0)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaRejected(f"the video cannot be opened (truncated or corrupt): {exc}") \
            from None
    with container:
        stream, codec, duration = _checked_stream(container, settings)
        w, h = stream.codec_context.width, stream.codec_context.height
        if w * h > settings.max_pixels:
            raise MediaRejected(f"the video claims {w:,} x {h:,} pixels, over the limit")
        stream.thread_type = "AUTO"
        frames, last_t = _keyframes(container, stream, codec, settings)
        if duration is None:
            duration = last_t
    if len(frames) > settings.max_keyframes:
        keep = np.linspace(0, len(frames) - 1, settings.max_keyframes).round().astype(int)
        frames = [frames[i] for i in sorted(set(keep.tolist()))]
    return Probe("video", mime, w, h, duration_s=duration, codec=codec, frames=frames)


def _checked_stream(container: Any, settings: MediaSettings
                    ) -> tuple[Any, str | None, float | None]:
    """The first video stream, its codec (one of ``VIDEO_CODECS``) and its duration if the
    header states one (under ``max_duration_s``)."""
    if not container.streams.video:
        raise MediaRejected("the file has no video stream")
    stream = container.streams.video[0]
    codec = stream.codec_context.name if stream.codec_context else None
    if codec not in VIDEO_CODECS:
        raise MediaRejected(f"unsupported video codec {codec or 'unknown'!r}: accepted are "
                            f"{', '.join(sorted(VIDEO_CODECS))}")
    duration = None
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1_000_000
    if duration is not None and duration > settings.max_duration_s:
        raise MediaRejected(f"the video is {duration:.0f} s long, over the limit of "
                            f"{settings.max_duration_s:.0f} s")
    return stream, codec, duration


def _keyframes(container: Any, stream: Any, codec: str | None, settings: MediaSettings
               ) -> tuple[list[Frame], float]:
    """Decode the stream: a frame every second and the first of each new shot, and the time
    of the last frame decoded. A truncated tail keeps what decoded, as players do."""
    import av

    w, h = stream.codec_context.width, stream.codec_context.height
    frames: list[Frame] = []
    next_t, prev_small, last_t = 0.0, None, 0.0
    try:
        for frame in container.decode(stream):
            t = float(frame.time) if frame.time is not None else last_t
            last_t = t
            if t > settings.max_duration_s:  # a header that lied about its duration
                raise MediaRejected(f"the video runs past {settings.max_duration_s:.0f} s")
            small = frame.reformat(width=32, height=32, format="gray").to_ndarray() / 255.0
            scene = prev_small is not None and \
                float(np.abs(small - prev_small).mean()) > SCENE_CHANGE
            prev_small = small
            if t + 1e-6 >= next_t or scene:
                frames.append(Frame(t, _analysis_rgb(frame, w, h), scene=scene))
                if t + 1e-6 >= next_t:
                    next_t = np.floor(t) + 1.0
    except MediaRejected:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        if not frames:
            raise MediaRejected(f"the video cannot be decoded (corrupt, or a codec this "
                                f"server does not have: {codec}): {exc}") from None
    if not frames:
        raise MediaRejected(f"no frame of the video could be decoded (codec {codec})")
    return frames, last_t


def _analysis_rgb(frame: Any, w: int, h: int) -> np.ndarray:
    """The frame as RGB at most ``ANALYSIS_SIDE`` on its long side."""
    scale = min(1.0, ANALYSIS_SIDE / max(w, h))
    return frame.reformat(width=max(1, round(w * scale)), height=max(1, round(h * scale)),
                          format="rgb24").to_ndarray()


def probe_file(path: Path, head: bytes, settings: MediaSettings) -> Probe:
    kind, mime = sniff(head)
    if kind == "image":
        return load_image(path, mime, settings)
    return load_video(path, mime, settings)


def jpeg_bytes(rgb: np.ndarray, *, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def strip(frames: list[Frame], height: int = 90) -> bytes:
    """The thumbnail strip: keyframes side by side at ``height`` px, one JPEG."""
    thumbs = []
    for f in frames:
        im = Image.fromarray(f.rgb)
        thumbs.append(im.resize((max(1, round(im.width * height / im.height)), height)))
    out = Image.new("RGB", (sum(t.width for t in thumbs) or 1, height))
    x = 0
    for t in thumbs:
        out.paste(t, (x, 0))
        x += t.width
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=80)
    return buf.getvalue()
