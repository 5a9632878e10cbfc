"""Korean text features that are fast enough to score every item on one core.

Three views of the same text, each turned into character n-grams:

* **syllables** — the normalised text itself (``machine.normalise``; ``시발``, ``틀딱``):
  the strongest single view.
* **jamo** — every Hangul syllable decomposed into compatibility jamo (``시발`` → ``ㅅㅣㅂㅏㄹ``),
  so spelling variants that share consonant/vowel sequences (``씨발``/``시발``) share features.
* **initials** — only the initial consonant of each syllable (``시발`` → ``ㅅㅂ``), which makes the
  chat-style abbreviations Korean users type to dodge filters (``ㅅㅂ``, ``ㅂㅅ``, ``ㅈㄹ``) match
  the full spelling.

Everything is done with ``str.translate`` tables and regexes (C speed); Kiwi morpheme analysis
is *not* used at scoring time because it costs ~1.3 ms per comment (see docs/model.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from modops.machine.banks import detection_texts

_S_BASE = 0xAC00
_N_SYLLABLES = 11172
_CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_JONG = ["", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"]

# Lookalike substitutions users type to evade filters (digits / latin for Hangul).
_LOOKALIKE = str.maketrans({"1": "ㅣ", "l": "ㅣ", "|": "ㅣ"})


def _build_tables() -> tuple[dict[int, str], dict[int, str | None]]:
    jamo: dict[int, str] = {}
    initials: dict[int, str | None] = {}
    for i in range(_N_SYLLABLES):
        cho, rest = divmod(i, 21 * 28)
        jung, jong = divmod(rest, 28)
        jamo[_S_BASE + i] = _CHO[cho] + _JUNG[jung] + _JONG[jong]
        initials[_S_BASE + i] = _CHO[cho]
    # For the initials view keep standalone consonants (already "abbreviated") and spaces,
    # drop everything else that is not Hangul.
    return jamo, initials


_JAMO_TABLE, _INITIAL_TABLE = _build_tables()
_NOT_INITIAL = re.compile(r"[^ㄱ-ㅎ\s]+")
_SPACES = re.compile(r"\s+")
_URL = re.compile(r"https?://\S+")


def normalize(text: str) -> str:
    """The detection form of one text: URLs to one token, then ``normalise.normalise``."""
    return normalize_all([text])[0]


def to_jamo(text: str) -> str:
    """Decompose Hangul syllables into compatibility jamo; other characters pass through."""
    return text.translate(_JAMO_TABLE)


def to_initials(text: str) -> str:
    """Initial consonants only: ``시발 새끼`` → ``ㅅㅂ ㅅㄲ``; a typed ``ㅅㅂ`` stays ``ㅅㅂ``."""
    return _SPACES.sub(" ", _NOT_INITIAL.sub("", text.translate(_INITIAL_TABLE))).strip()


def jamo_view(text: str) -> str:
    """Jamo view of an already-normalized text, with common lookalikes folded in."""
    return to_jamo(text).translate(_LOOKALIKE)


_MAX_LEN = 1024
# Precomputed slice objects: n-gram extraction becomes one C-level map() per n.
_SLICES = {n: [slice(i, i + n) for i in range(_MAX_LEN)] for n in range(1, 6)}


def _ngrams(text: str, lo: int, hi: int) -> list[str]:
    padded = f" {text[: _MAX_LEN - 2]} "
    n_chars = len(padded)
    getitem = padded.__getitem__
    out: list[str] = []
    for n in range(lo, min(hi, n_chars) + 1):
        out.extend(map(getitem, _SLICES[n][: n_chars - n + 1]))
    return out


def syllable_analyzer(text: str) -> list[str]:
    """Character 1–4-grams over the normalized text."""
    return _ngrams(text, 1, 4)


def jamo_analyzer(text: str) -> list[str]:
    """Jamo 3–5-grams (a syllable is 2–3 jamo, so these span 1–2 syllables)."""
    return _ngrams(jamo_view(text), 3, 5)


def initials_analyzer(text: str) -> list[str]:
    """Initial-consonant 2–3-grams (the ``ㅅㅂ`` view)."""
    return _ngrams(to_initials(text), 2, 3)


def normalize_all(texts: Iterable[str]) -> list[str]:
    """The shared detection form (``banks.detection_texts``: normalised, look-alikes masked),
    then URLs as one token (their letters are noise to the model; the banks' URL extractor
    reads them)."""
    return model_view(detection_texts(list(texts)))


def model_view(detection: Sequence[str]) -> list[str]:
    """Detection-form texts → what the model's n-grams read (URLs as one token)."""
    return [_URL.sub(" url ", t) if "://" in t else t for t in detection]


_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_MULT = np.uint64(0x100000001B3)  # FNV-style odd multiplier
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SEP = 0x20  # docs are padded with spaces; n-grams never cross a doc boundary


def _jamo_codes() -> tuple[np.ndarray, np.ndarray]:
    """Lookup tables over the BMP: code point → 3 jamo code points (0 = none), and → initial."""
    jamo = np.zeros((0x10000, 3), dtype=np.uint32)
    jamo[:, 0] = np.arange(0x10000, dtype=np.uint32)
    init = np.zeros(0x10000, dtype=np.uint32)
    for i in range(_N_SYLLABLES):
        chars = _JAMO_TABLE[_S_BASE + i]
        for k, ch in enumerate(chars):
            jamo[_S_BASE + i, k] = ord(ch)
        init[_S_BASE + i] = ord(_CHO[i // (21 * 28)])
    for ch in "ㄱㄲㄳㄴㄵㄶㄷㄸㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅃㅄㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ":
        init[ord(ch)] = ord(ch)
    init[_SEP] = _SEP
    for ch, repl in (("1", "ㅣ"), ("l", "ㅣ"), ("|", "ㅣ")):
        jamo[ord(ch), 0] = ord(repl)
    return jamo, init


_JAMO_CODES, _INITIAL_CODES = _jamo_codes()


def _codes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """All texts as one uint32 code-point array, each padded with a space; plus doc ids."""
    joined = " " + "  ".join(texts) + " " if texts else ""
    arr = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).copy()
    arr[arr > 0xFFFF] = 0xFFFD  # astral chars (emoji) share one code; tables cover the BMP
    lengths = np.fromiter((len(t) + 2 for t in texts), dtype=np.int64, count=len(texts))
    doc = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    return arr, doc


def _view_codes(view: str, arr: np.ndarray, doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if view == "syllable":
        return arr, doc
    if view == "jamo":
        j = _JAMO_CODES[arr]
        keep = j != 0
        return j[keep], np.repeat(doc, keep.sum(axis=1))
    if view == "initials":
        c = _INITIAL_CODES[arr]
        keep = c != 0
        c, d = c[keep], doc[keep]
        # collapse runs of spaces so "시발 !!! 놈" gives "ㅅㅂ ㄴ"
        dup = np.r_[False, (c[1:] == _SEP) & (c[:-1] == _SEP) & (d[1:] == d[:-1])]
        return c[~dup], d[~dup]
    raise ValueError(f"unknown view {view!r}")


def hashed_ngrams(
    texts: Sequence[str], views: Sequence[tuple[str, int, int]], n_bits: int
) -> tuple[np.ndarray, np.ndarray]:
    """(doc index, bucket) for every character n-gram of every view, vectorized over the batch.

    ``texts`` must already be ``normalize``d. Hashes are a fixed polynomial over code points
    salted by view and n, so buckets are stable across processes and Python versions.
    """
    arr, doc = _codes(texts)
    docs: list[np.ndarray] = []
    buckets: list[np.ndarray] = []
    shift = np.uint64(64 - n_bits)
    for v_idx, (view, lo, hi) in enumerate(views):
        codes, d = _view_codes(view, arr, doc)
        c64 = codes.astype(np.uint64)
        h = np.full(c64.size, np.uint64(1469598103934665603 + 7919 * v_idx), dtype=np.uint64)
        for n in range(1, hi + 1):
            m = c64.size - n + 1
            if m <= 0:
                break
            h = h[:m] * _MULT + c64[n - 1 : n - 1 + m] + np.uint64(n)
            if n >= lo:
                same = d[:m] == d[n - 1 : n - 1 + m]
                # drop the n-gram that is only padding
                if n == 1:
                    same &= codes[:m] != _SEP
                hb = (h[same] * _GOLDEN) >> shift
                buckets.append(hb.astype(np.int64))
                docs.append(d[:m][same])
    if not buckets:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(docs), np.concatenate(buckets)


class HashedTfidf:
    """Hashed character n-gram TF-IDF over several views (sublinear tf, l2-normalized rows).

    No vocabulary: buckets come from a fixed hash, so the transform is a handful of numpy ops
    per *batch* — this is what keeps scoring above 5,000 items/s on one core. IDF is fitted on
    labeled + unlabeled text (the semi-supervised part: unlabeled comments shape the weights).
    """

    def __init__(self, views: Sequence[tuple[str, int, int]], n_bits: int = 20) -> None:
        self.views: list[tuple[str, int, int]] = [(str(v), int(a), int(b)) for v, a, b in views]
        self.n_bits = n_bits
        self.idf_: np.ndarray = np.ones(1 << n_bits, dtype=np.float32)

    @property
    def n_features(self) -> int:
        return 1 << self.n_bits

    def fit(self, texts: Sequence[str], min_df: int = 2, batch: int = 4096) -> HashedTfidf:
        df = np.zeros(self.n_features, dtype=np.int64)
        for start in range(0, len(texts), batch):
            d, b = hashed_ngrams(texts[start : start + batch], self.views, self.n_bits)
            pairs = np.unique(d * self.n_features + b)
            df += np.bincount(pairs % self.n_features, minlength=self.n_features)
        n = len(texts)
        idf = np.log((1 + n) / (1 + df)) + 1.0
        idf[df < min_df] = 0.0  # rare buckets carry no weight: less noise, smaller artifact
        self.idf_ = idf.astype(np.float32)
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        d, b = hashed_ngrams(texts, self.views, self.n_bits)
        mat = sp.csr_matrix(
            (np.ones(b.size, dtype=np.float32), (d, b)), shape=(len(texts), self.n_features)
        )
        mat.sum_duplicates()
        np.log(mat.data, out=mat.data)
        mat.data += 1.0
        mat.data *= self.idf_[mat.indices]
        sq = np.bincount(np.repeat(np.arange(len(texts)), np.diff(mat.indptr)),
                         weights=mat.data.astype(np.float64) ** 2, minlength=len(texts))
        norms = np.sqrt(sq)
        norms[norms == 0] = 1.0
        mat.data /= np.repeat(norms, np.diff(mat.indptr)).astype(np.float32)
        mat.eliminate_zeros()
        return mat
