"""Korean text features that are fast enough to score every item on one core.

Three views of the same text, each turned into character n-grams:

* **syllables** — the normalized text itself (``시발``, ``틀딱``): the strongest single view.
* **jamo** — every Hangul syllable decomposed into compatibility jamo (``시발`` → ``ㅅㅣㅂㅏㄹ``), so
  spelling variants that share consonant/vowel sequences (``씨발``/``시발``/``시bal``) share features.
* **initials** — only the initial consonant of each syllable (``시발`` → ``ㅅㅂ``), which makes the
  chat-style abbreviations Korean users type to dodge filters (``ㅅㅂ``, ``ㅂㅅ``, ``ㅈㄹ``) match
  the full spelling.

Everything is done with ``str.translate`` tables and regexes (C speed); Kiwi morpheme analysis
is *not* used at scoring time because it costs ~1.3 ms per comment (see docs/model.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

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
_REPEAT = re.compile(r"(.)\1{2,}")
_SPACES = re.compile(r"\s+")
_URL = re.compile(r"https?://\S+")


def normalize(text: str) -> str:
    """Lower-case, collapse runs of a repeated char to two (``ㅋㅋㅋㅋ`` → ``ㅋㅋ``) and spaces."""
    text = _URL.sub(" URL ", text.lower())
    text = _REPEAT.sub(r"\1\1", text)
    return _SPACES.sub(" ", text).strip()


def to_jamo(text: str) -> str:
    """Decompose Hangul syllables into compatibility jamo; other characters pass through."""
    return text.translate(_JAMO_TABLE)


def to_initials(text: str) -> str:
    """Initial consonants only: ``시발 새끼`` → ``ㅅㅂ ㅅㄲ``; standalone ``ㅅㅂ`` stays ``ㅅㅂ``."""
    return _SPACES.sub(" ", _NOT_INITIAL.sub("", text.translate(_INITIAL_TABLE))).strip()


def jamo_view(text: str) -> str:
    """Jamo view of an already-normalized text, with common lookalikes folded in."""
    return to_jamo(text).translate(_LOOKALIKE)


def _ngrams(text: str, lo: int, hi: int) -> list[str]:
    padded = f" {text} "
    n_chars = len(padded)
    out: list[str] = []
    for n in range(lo, min(hi, n_chars) + 1):
        out.extend([padded[i : i + n] for i in range(n_chars - n + 1)])
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
    return [normalize(t) for t in texts]
