"""Korean OCR of images and keyframes with Debian's Tesseract (``tesseract-ocr-kor``).

Captions on short videos and memes are large, high-contrast text; Tesseract reads them well
once the image is grey and at least ~1000 px wide (measured: ``ocr_cer`` in
``bench/results/media.json``). The binary is called directly (no Python wrapper) with the
image on stdin, so nothing is written to disk, and with a timeout so a pathological image
cannot hold a worker.
"""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
from PIL import Image, ImageOps

OCR_TIMEOUT_S = 30.0
_MIN_WIDTH = 1000


class OcrUnavailable(RuntimeError):
    pass


def available() -> bool:
    return shutil.which("tesseract") is not None


def ocr(rgb: np.ndarray, *, lang: str = "kor+eng", timeout_s: float = OCR_TIMEOUT_S) -> str:
    """The text Tesseract reads in an image (whitespace normalised; '' when none)."""
    exe = shutil.which("tesseract")
    if exe is None:
        raise OcrUnavailable("tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-kor)")
    im = ImageOps.grayscale(Image.fromarray(rgb))
    if im.width < _MIN_WIDTH:
        scale = _MIN_WIDTH / im.width
        im = im.resize((_MIN_WIDTH, max(1, round(im.height * scale))), Image.Resampling.LANCZOS)
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
