"""Media benchmark (issue 18): hashing, OCR, bank matching at 10k and 1M hashes, robustness to
transforms, false matches, Korean OCR accuracy. Writes ``bench/results/media.json``.

Every input is made here, offline: pictures from ``tests/media/media_files.picture`` (coloured
shapes on gradients, one per seed), clips encoded with PyAV, captions from the shipped Korean
comments (data/korean-hate-speech dev set) rendered meme-style in NanumGothic Bold. One core:
the timed loops run in this process only (PyAV, Tesseract and numba told to use one thread).

    python bench/media.py            # the full run (~10-20 min on 2 cores)
    python bench/media.py --quick    # smaller sizes, for a smoke test
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import numpy as np  # noqa: E402
from bench._common import peak_rss_mb, print_table, row, write_results  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402
from tests.media.media_files import FONT, clip, picture  # noqa: E402

from modops.media.decode import load_image  # noqa: E402
from modops.media.pdqindex import PdqIndex, hex_to_bytes  # noqa: E402
from modops.media.settings import MediaSettings  # noqa: E402
from modops.media.signals import bank_variants, pdq, vpdq_signal  # noqa: E402

SYSTEM = "modops"
STORE = "-"
RADIUS = 31


def jpeg(im: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def ingest_pdq(data: bytes, settings: MediaSettings, tmp: Path) -> str:
    """The pipeline's path for one image: decode (bounded), then PDQ."""
    path = tmp / "img"
    path.write_bytes(data)
    return pdq(load_image(path, "image/jpeg", settings).frames[0].rgb)[0]


# --- transforms a re-upload goes through -----------------------------------------------------

def t_resize(im: Image.Image, _rng: np.random.Generator) -> Image.Image:
    return im.resize((im.width // 2, im.height // 2), Image.Resampling.BILINEAR)


def t_reencode(im: Image.Image, _rng: np.random.Generator) -> Image.Image:
    return Image.open(io.BytesIO(jpeg(im, 40)))


def t_watermark(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    out = im.convert("RGBA")
    layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    font = ImageFont.truetype(FONT, max(14, im.width // 16))
    x, y = int(rng.integers(5, im.width // 3)), int(rng.integers(5, im.height - im.height // 6))
    d.text((x, y), "@틱톡_user123", font=font, fill=(255, 255, 255, 170))
    return Image.alpha_composite(out, layer).convert("RGB")


def t_crop10(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    """10 % of the area cut away, at a random place."""
    side = 0.9 ** 0.5
    w, h = im.size
    cw, ch = round(w * side), round(h * side)
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return im.crop((x, y, x + cw, y + ch))


def t_mirror(im: Image.Image, _rng: np.random.Generator) -> Image.Image:
    return im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


TRANSFORMS = {"resize": t_resize, "re-encode": t_reencode, "watermark": t_watermark,
              "crop10": t_crop10, "mirror": t_mirror}


def cer(ref: str, hyp: str) -> tuple[int, int]:
    """(edit distance, reference length) on whitespace-free strings (Hangul CER)."""
    a, b = "".join(ref.split()), "".join(hyp.split())
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1], len(a)


def captions(n: int) -> list[str]:
    lines = (ROOT / "data/korean-hate-speech/labeled/dev.tsv").read_text(
        encoding="utf-8").splitlines()[1:]
    out = []
    for line in lines:
        text = line.split("\t")[0].strip()
        if 8 <= len(text) <= 22 and all(ord(c) < 0x10000 for c in text):
            out.append(text)
        if len(out) == n:
            break
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    q = args.quick
    rows: list[dict] = []
    settings = MediaSettings()
    rng = np.random.default_rng(18)
    tmp = Path(tempfile.mkdtemp(prefix="modops-bench-media-"))

    # PDQ per image, the pipeline's path (decode a 640x480 JPEG, PDQ), one core
    n = 100 if q else 500
    data = [jpeg(picture(10_000 + i, (640, 480))) for i in range(n)]
    ingest_pdq(data[0], settings, tmp)
    t = time.perf_counter()
    for d in data:
        ingest_pdq(d, settings, tmp)
    rows.append(row("640x480 JPEG", SYSTEM, STORE, "pdq_images_per_s",
                    round(n / (time.perf_counter() - t), 1), "images/s"))
    print(rows[-1])

    # vPDQ: seconds of video hashed per second (one PDQ per second, as banks hold them)
    seconds = 5.0 if q else 20.0
    video = clip(tmp / "v.mp4", seconds=seconds, fps=30, size=(640, 360), seeds=(1, 2, 3, 4))
    t = time.perf_counter()
    vpdq_signal(video)
    rows.append(row(f"640x360 30 fps {seconds:.0f} s H.264", SYSTEM, STORE,
                    "vpdq_video_s_per_s", round(seconds / (time.perf_counter() - t), 2),
                    "video s/s"))
    print(rows[-1])

    # OCR: Korean captions rendered meme-style on pictures
    from modops.media.ocr import ocr

    caps = captions(20 if q else 100)
    font = ImageFont.truetype(FONT, 34)
    imgs = []
    for i, text in enumerate(caps):
        im = picture(20_000 + i, (720, 405))
        d = ImageDraw.Draw(im)
        width = d.textlength(text, font=font)
        d.text(((720 - width) / 2, 320), text, font=font, fill="white", stroke_width=3,
               stroke_fill="black")
        imgs.append(np.asarray(Image.open(io.BytesIO(jpeg(im, 85))).convert("RGB")))
    ocr(imgs[0])
    errors = total = 0
    t = time.perf_counter()
    for text, im in zip(caps, imgs, strict=True):
        e, n_ref = cer(text, ocr(im))
        errors, total = errors + e, total + n_ref
    dt = time.perf_counter() - t
    rows.append(row("720x405 caption", SYSTEM, STORE, "ocr_images_per_s",
                    round(len(caps) / dt, 2), "images/s"))
    rows.append(row("NanumGothic Bold 34 px, outlined, JPEG q85", SYSTEM, STORE, "ocr_cer",
                    round(errors / max(1, total), 4), "ratio"))
    print(rows[-2:])

    # bank matching at 10k and 1M hashes: random hashes, queries half near a banked hash
    # (0-31 bits flipped) and half unrelated; recall against the exhaustive scan
    for size in ((10_000, 100_000) if q else (10_000, 1_000_000)):
        bank = rng.integers(0, 256, (size, 32), dtype=np.uint8)
        nq = 2_000 if q else 10_000
        src = rng.integers(0, size, nq // 2)
        bits = np.unpackbits(bank[src], axis=1)
        for b in bits:
            b[rng.choice(256, int(rng.integers(0, RADIUS + 1)), replace=False)] ^= 1
        queries = np.vstack([np.packbits(bits, axis=1),
                             rng.integers(0, 256, (nq - nq // 2, 32), dtype=np.uint8)])
        t = time.perf_counter()
        index = PdqIndex(bank)
        build = time.perf_counter() - t
        index.search(queries[:64], RADIUS)  # compile (numba) outside the timing
        t = time.perf_counter()
        got = index.search(queries, RADIUS)
        qps = nq / (time.perf_counter() - t)
        label = f"{size // 1000}k" if size < 1_000_000 else "1M"
        rows.append(row(label, SYSTEM, STORE, "bank_match_queries_per_s", round(qps, 1),
                        "queries/s"))
        rows.append(row(label, SYSTEM, STORE, "bank_build_s", round(build, 2), "s"))
        check = 200 if size >= 1_000_000 else 2_000
        check = min(check, nq)
        pick = np.concatenate([np.arange(check // 2), nq // 2 + np.arange(check // 2)])
        exact = PdqIndex(bank, scan_below=size + 1).search(queries[pick], RADIUS)
        want = sum(len(w) for w in exact)
        found = sum(len(set(g) & set(w)) for g, w in
                    zip([got[i] for i in pick], exact, strict=True))
        rows.append(row(label, SYSTEM, STORE, "bank_match_recall",
                        round(found / max(1, want), 4), "ratio"))
        print(rows[-3:])
        del index, bank

    # robustness: banked pictures (with their crop/mirror variants) come back transformed
    n_bank = 40 if q else 200
    bank_hex, owner = [], []
    base = [picture(30_000 + i, (640, 480)) for i in range(n_bank)]
    for i, im in enumerate(base):
        for h in bank_variants(np.asarray(im.convert("RGB"))):
            bank_hex.append(h)
            owner.append(i)
    bank_index = PdqIndex(hex_to_bytes(bank_hex), np.asarray(owner))
    for name, fn in TRANSFORMS.items():
        hits = 0
        for i, im in enumerate(base):
            h = ingest_pdq(jpeg(fn(im, rng)), settings, tmp)
            hits += any(o == i for o, _d in bank_index.search(hex_to_bytes([h]), RADIUS)[0])
        rows.append(row(name, SYSTEM, STORE, "transform_match_rate", round(hits / n_bank, 4),
                        "ratio"))
        print(rows[-1])

    # false matches among distinct pictures: each against all others, and against the bank
    n_distinct = 1_000 if q else 10_000
    distinct = []
    for i in range(n_distinct):
        im = picture(100_000 + i, (320, 240))
        distinct.append(pdq(np.asarray(im))[0])
    arr = hex_to_bytes(distinct)
    idx = PdqIndex(arr)
    pairwise = sum(1 for i, hits in enumerate(idx.search(arr, RADIUS))
                   if any(j != i for j, _d in hits))
    vs_bank = sum(1 for hits in bank_index.search(arr, RADIUS) if hits)
    rows.append(row(f"{n_distinct:,} distinct, pairwise", SYSTEM, STORE, "false_match_rate",
                    round(pairwise / n_distinct, 6), "ratio"))
    rows.append(row(f"{n_distinct:,} distinct vs {len(bank_hex):,}-hash bank", SYSTEM, STORE,
                    "false_match_rate", round(vs_bank / n_distinct, 6), "ratio"))
    rows.append(row("whole run", SYSTEM, STORE, "peak_rss_mb", round(peak_rss_mb(), 1), "MB"))
    print_table(rows, "media")
    if not q:
        print(write_results("media", rows))


if __name__ == "__main__":
    main()
