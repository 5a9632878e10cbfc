"""Korean OCR of images and keyframes with Debian's Tesseract (``tesseract-ocr-kor``).

Captions burned into short videos and memes are white letters with a dark outline. Tesseract
reads a whole busy frame badly (the picture's shapes become letters), so the caption is lifted
out first: white pixels within 2 px of dark ones (the outline), as black on white, doubled in
size. Chosen on a development split of rendered captions (dev.tsv lines 100-139, never the
benchmark's 0-99): character error rate 0.676 on the plain grey frame, 0.141 on all white
pixels, 0.094 on outlined white (page mode ``--psm 6``; single-line mode 0.125), and 0.063
with the Korean model alone (``kor``; ``kor+eng`` read hard Hangul words as Latin). A frame
with no outlined white text is read plainly (grey, >= 1000 px wide). ``ocr_cer`` in
``bench/results/media.json`` is the held-out figure.

The binary is called directly (no Python wrapper) with the image on stdin, so nothing is
written to disk, and with a timeout so a pathological image cannot hold a worker.
"""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
from PIL import Image, ImageFilter, ImageOps

OCR_TIMEOUT_S = 30.0
_MIN_WIDTH = 1000


class OcrUnavailable(RuntimeError):
    pass


def available() -> bool:
    return shutil.which("tesseract") is not None


WHITE, DARK = 180, 80  # channel levels of caption letters and of their outline
_MIN_CAPTION_FRACTION = 0.002  # below this, the frame has no outlined caption


def outlined_caption(rgb: np.ndarray) -> Image.Image | None:
    """The frame's outlined white text as black on white at twice the size, or None."""
    white = rgb.min(axis=2) > WHITE
    dark = Image.fromarray(((rgb.max(axis=2) < DARK) * 255).astype(np.uint8))
    near_dark = np.asarray(dark.filter(ImageFilter.MaxFilter(5))) > 0
    text = white & near_dark
    if text.mean() < _MIN_CAPTION_FRACTION:
        return None
    im = Image.fromarray(np.where(text, 0, 255).astype(np.uint8))
    return im.resize((im.width * 2, im.height * 2), Image.Resampling.LANCZOS)


def ocr(rgb: np.ndarray, *, lang: str = "kor", timeout_s: float = OCR_TIMEOUT_S) -> str:
    """The text Tesseract reads in an image (whitespace normalised; '' when none)."""
    exe = shutil.which("tesseract")
    if exe is None:
        raise OcrUnavailable("tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-kor)")
    im = outlined_caption(rgb)
    if im is None:
        im = ImageOps.grayscale(Image.fromarray(rgb))
        if im.width < _MIN_WIDTH:
            scale = _MIN_WIDTH / im.width
            im = im.resize((_MIN_WIDTH, max(1, round(im.height * scale))),
                           Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    try:
        done = subprocess.run([exe, "stdin", "stdout", "-l", lang, "--psm", "6"],
                              input=buf.getvalue(), capture_output=True, timeout=timeout_s,
                              check=False, env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"})
    except subprocess.TimeoutExpired:
        raise OcrUnavailable(f"tesseract took over {timeout_s:.0f} s") from None
    if done.returncode != 0:
        raise OcrUnavailable(f"tesseract failed: {done.stderr.decode(errors='replace')[:300]}")
    text = done.stdout.decode("utf-8", errors="replace")
    return " ".join(text.split())
