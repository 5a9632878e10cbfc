"""Media made here, offline, with Pillow and PyAV: distinct images, captioned memes, short
clips, and the broken files the pipeline must refuse."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf"


def picture(seed: int, size: tuple[int, int] = (480, 360), caption: str | None = None) \
        -> Image.Image:
    """A distinct picture per seed: coloured shapes on a gradient (PDQ needs structure)."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = np.linspace(0, 1, w)[None, :, None] * rng.uniform(0, 255, 3)[None, None, :]
    base = base + np.linspace(0, 1, h)[:, None, None] * rng.uniform(0, 255, 3)[None, None, :]
    im = Image.fromarray(np.clip(base / 2, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        x1, y1 = x0 + int(rng.integers(20, w // 2)), y0 + int(rng.integers(20, h // 2))
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)((x0, y0, x1, y1), fill=fill)
    if caption:
        font = ImageFont.truetype(FONT, max(18, w // 18))
        d.text((w // 20, h - h // 5), caption, font=font, fill="white", stroke_width=3,
               stroke_fill="black")
    return im


def encode(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def clip(path: Path, *, seconds: float = 3.0, fps: int = 10, size: tuple[int, int] = (320, 240),
         seeds: tuple[int, ...] = (1, 2, 3), codec: str = "libx264",
         caption: str | None = None) -> Path:
    """A short clip whose shots are the pictures of ``seeds`` (one shot each, moving)."""
    import av

    w, h = size
    n = int(seconds * fps)
    container_fmt = "webm" if codec.startswith("libvpx") else \
        "mov" if path.suffix == ".mov" else None
    with av.open(str(path), "w", format=container_fmt) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        shots = [picture(s, (w + 40, h + 40), caption) for s in seeds]
        for i in range(n):
            shot = shots[min(len(shots) - 1, i * len(shots) // n)]
            dx = i % 40
            frame = av.VideoFrame.from_image(shot.crop((dx, dx // 2, dx + w, dx // 2 + h)))
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A tiny, valid PNG header claiming width x height pixels (3.6 G pixels by default)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + \
        chunk(b"IEND", b"")


