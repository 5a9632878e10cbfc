"""The one Korean text normaliser: undoes the tricks users type to get past filters.

Training, scoring, the signal banks and the keyword-burst alerts all read text through
``normalise`` (or ``normalise_many`` for a batch), so a word written ``씨😀발``, ``ㅆㅣㅂㅏㄹ``,
``ｓｉｂａｌ``, ``tlqkf`` or ``시1발`` reaches every consumer as ``씨발``/``시발``. The
original text is
never changed: callers keep it for display, and ``normalise_mapped`` says which original
character each normalised one came from (to highlight a matched span in the original).

Steps, in order (each one a ``str.translate`` table or one regex over the whole batch):

1. **fold** — Unicode format characters dropped (zero-width space/joiner, soft hyphen, bidi
   marks, BOM, variation selectors, the invisible Hangul fillers); every other character put
   through NFKC (full-width ``ｓ``/half-width ``ﾡ`` forms, compatibility characters); conjoining
   (NFD) jamo mapped to compatibility jamo. Hangul syllables and compatibility jamo are kept
   out of NFKC (it would turn ``ㅋㅠ`` into ``큐``; step 2 composes only what is safe).
2. **compose** — a run of compatibility jamo that spells whole syllables (``ㅆㅣㅂㅏㄹ``) becomes
   those syllables; runs that do not (``ㅋㅋㅠㅠ``, ``ㅅㅂ``) are left alone.
3. **QWERTY** — a Latin run typed on a 2-set (두벌식) keyboard with the IME off (``tlqkf``) is
   transliterated when it spells at least two whole syllables; English words almost never do,
   because ``a``/``e`` are consonant keys and ``i o u`` never follow one another in Hangul.
4. **lower-case**, then **respellings** — romanisations (``sibal``) and common respellings of a
   maintained table (``RESPELLINGS``) mapped to one spelling.
5. **fillers** — 1–2 characters (digits, Latin, symbols, emoji) between two Hangul syllables are
   dropped (``시1발``, ``씨.발``, ``씨😀발``), except a number followed by a counter word, so
   ``제1회`` and ``나이33살`` keep their meaning.
6. **elongation** — a vowel-only syllable repeating the previous vowel (``시이이발``), a syllable
   repeated three or more times (``씨씨씨발``; twice stays, as in ``토토``) and any other
   character repeated three or more times
   (``ㅋㅋㅋㅋ``, ``!!!!``) are collapsed; digits are never collapsed (``1000원``).
7. **split syllables** — single syllables separated by spaces or symbols (``씨 발 놈``) are
   re-joined; words of two or more syllables keep their spaces.

Everything runs over a batch joined by newlines, so a batch costs one call per step.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

_S_BASE = 0xAC00
CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
JONG = ("", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ")
_CHO_I = {c: i for i, c in enumerate(CHO)}
_JUNG_I = {c: i for i, c in enumerate(JUNG)}
_JONG_I = {c: i for i, c in enumerate(JONG) if c}
_COMPOUND_VOWEL = {"ㅗㅏ": "ㅘ", "ㅗㅐ": "ㅙ", "ㅗㅣ": "ㅚ", "ㅜㅓ": "ㅝ", "ㅜㅔ": "ㅞ",
                   "ㅜㅣ": "ㅟ", "ㅡㅣ": "ㅢ"}
_COMPOUND_FINAL = {"ㄱㅅ": "ㄳ", "ㄴㅈ": "ㄵ", "ㄴㅎ": "ㄶ", "ㄹㄱ": "ㄺ", "ㄹㅁ": "ㄻ",
                   "ㄹㅂ": "ㄼ", "ㄹㅅ": "ㄽ", "ㄹㅌ": "ㄾ", "ㄹㅍ": "ㄿ", "ㄹㅎ": "ㅀ",
                   "ㅂㅅ": "ㅄ"}

# 2-set (두벌식) keyboard: the jamo each Latin key types; shifted keys give the tense consonants
# and ㅒ/ㅖ, every other capital types the same as its small letter.
QWERTY = dict(zip("qwertyuiopasdfghjklzxcvbnm",
                  "ㅂㅈㄷㄱㅅㅛㅕㅑㅐㅔㅁㄴㅇㄹㅎㅗㅓㅏㅣㅋㅌㅊㅍㅠㅜㅡ", strict=True))
QWERTY.update(zip("QWERTOP", "ㅃㅉㄸㄲㅆㅒㅖ", strict=True))

# Invisible characters used to split words: Unicode format characters (Cf) that occur in text,
# variation selectors, the combining grapheme joiner and the Hangul fillers (category Lo, but
# they render as nothing).
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]")


def _conjoining_to_compat() -> dict[int, str]:
    """Conjoining jamo (U+1100 block, what NFD produces) → compatibility jamo (U+3131 block)."""
    out: dict[int, str] = {}
    for i, c in enumerate(CHO):
        out[0x1100 + i] = c
    for i, c in enumerate(JUNG):
        out[0x1161 + i] = c
    for i, c in enumerate(JONG[1:]):
        out[0x11A8 + i] = c
    return out


class _FoldTable(dict[int, str | None]):
    """``str.translate`` table for step 1, filled on first sight of each character."""

    def __missing__(self, code: int) -> str | None:
        ch = chr(code)
        if _INVISIBLE.match(ch):
            value: str | None = None
        elif 0xAC00 <= code <= 0xD7A3 or 0x3131 <= code <= 0x318E or ch == "\n":
            value = ch
        elif code in _CONJOINING:
            value = _CONJOINING[code]
        else:
            value = unicodedata.normalize("NFKC", ch)
            if any(0x1100 <= ord(c) <= 0x11FF for c in value):
                value = "".join(_CONJOINING.get(ord(c), c) for c in value)
            if "\n" in value or "\r" in value:
                value = value.replace("\r", " ").replace("\n", " ")
            if unicodedata.category(ch).startswith("Z") or ch in "\t\r\x0b\x0c\x85":
                value = " "
        self[code] = value
        return value


_CONJOINING = _conjoining_to_compat()
_FOLD = _FoldTable()


def _final(jamo: str, j: int, n: int) -> tuple[int, int]:
    """The final consonant(s) of a syllable whose vowel ends before ``j``, as an index into
    ``JONG`` (0: none), and where the syllable ends. A consonant followed by a vowel is not a
    final (it starts the next syllable); two consonants form a compound final (``ㄹㄱ`` →
    ``ㄺ``) when no vowel follows them."""
    if j < n and jamo[j] in _CHO_I and not (j + 1 < n and jamo[j + 1] in _JUNG_I):
        two = jamo[j : j + 2]
        if (len(two) == 2 and two in _COMPOUND_FINAL
                and not (j + 2 < n and jamo[j + 2] in _JUNG_I)):
            return _JONG_I[_COMPOUND_FINAL[two]], j + 2
        if jamo[j] in _JONG_I:
            return _JONG_I[jamo[j]], j + 1
    return 0, j


def _parse(jamo: str, i: int) -> tuple[list[str], int]:
    """Whole syllables spelled from ``jamo[i:]`` on, as far as they go (the 2-set IME rules:
    a consonant before a vowel starts a syllable, compound vowels ``ㅗㅏ`` → ``ㅘ`` and finals
    ``ㄹㄱ`` → ``ㄺ`` combine); returns them and where they stop.

    ``_final`` is one call per syllable. Measured when it was split out (issue 22; main and
    split loaded side by side, min of 21 alternating runs, quiet host): ``_parse`` alone over
    the 83k jamo runs of 10k shipped comments spelled in jamo +3.3 %; ``normalise_many`` over
    those 10k comments -1.2 % (noise), over them spelled in jamo +1.9 %. Only jamo runs and
    3+ letter Latin runs reach this loop."""
    out: list[str] = []
    n = len(jamo)
    while i < n:
        cho = _CHO_I.get(jamo[i])
        if cho is None or i + 1 >= n or jamo[i + 1] not in _JUNG_I:
            break
        v = jamo[i + 1]
        j = i + 2
        if j < n and v + jamo[j] in _COMPOUND_VOWEL:
            v = _COMPOUND_VOWEL[v + jamo[j]]
            j += 1
        jong, j = _final(jamo, j, n)
        out.append(chr(_S_BASE + (cho * 21 + _JUNG_I[v]) * 28 + jong))
        i = j
    return out, i


def compose_jamo(jamo: str) -> str | None:
    """Compatibility jamo that spell whole syllables → the syllables (``ㅅㅣㅂㅏㄹ`` → ``시발``);
    ``None`` if any jamo is left over."""
    syllables, end = _parse(jamo, 0)
    return "".join(syllables) if end == len(jamo) else None


def compose_run(jamo: str) -> str:
    """A run of compatibility jamo with every stretch that spells two or more syllables
    composed (``ㅋㅋㅆㅣㅂㅏㄹ`` → ``ㅋㅋ씨발``); a lone consonant-vowel pair inside other jamo
    stays (``ㅋㅋㅠㅠ`` is crying, not ``ㅋ큐ㅠ``), unless it is the whole run
    (``ㄱㅏ`` → ``가``)."""
    whole = compose_jamo(jamo)
    if whole is not None:
        return whole
    out: list[str] = []
    i, n = 0, len(jamo)
    while i < n:
        syllables, end = _parse(jamo, i)
        if len(syllables) >= 2:
            out.extend(syllables)
            i = end
        else:
            out.append(jamo[i])
            i += 1
    return "".join(out)


def decompose(syllables: str) -> str:
    """Hangul syllables → compatibility jamo; other characters pass through."""
    out = []
    for ch in syllables:
        k = ord(ch) - _S_BASE
        if 0 <= k < 11172:
            out.append(CHO[k // 588] + JUNG[(k % 588) // 28] + JONG[k % 28])
        else:
            out.append(ch)
    return "".join(out)


def qwerty_to_hangul(latin: str) -> str | None:
    """``tlqkf`` → ``시발``: a Latin run typed with the Korean IME off, if it spells syllables."""
    if latin.isupper():  # caps lock, not shift: read as small letters
        latin = latin.lower()
    try:
        jamo = "".join(QWERTY.get(c) or QWERTY[c.lower()] for c in latin)
    except KeyError:
        return None
    return compose_jamo(jamo)


# Romanisations and respellings of the commonest Korean swear words and slurs → one spelling.
# Maintained by the trust & safety team: add a row when reviewers see a new one (it is matched
# as a whole Latin word; Hangul respellings are marked by ``^`` and matched anywhere, so
# only spellings no ordinary word contains belong here: 졸라 is not one, 엄마를 졸라서).
RESPELLINGS: dict[str, str] = {
    # romanisations (Revised Romanization and the spellings people actually type)
    "sibal": "시발", "ssibal": "씨발", "shibal": "시발", "sshibal": "씨발", "sibbal": "씨발",
    "ssibbal": "씨발", "sipal": "시팔", "ssipal": "씨팔", "shipal": "시팔", "sival": "시발",
    "c8": "씨팔", "ssibal놈": "씨발놈",
    "byungsin": "병신", "byeongsin": "병신", "byungshin": "병신", "byeongshin": "병신",
    "bungsin": "병신", "byungsinya": "병신아",
    "gaesaekki": "개새끼", "gaesaeki": "개새끼", "gaesekki": "개새끼", "gaeseki": "개새끼",
    "saekki": "새끼", "saeki": "새끼", "sekki": "새끼",
    "jiral": "지랄", "jirral": "지랄", "michin": "미친", "michinnom": "미친놈",
    "michinnyeon": "미친년", "jonna": "존나", "jotna": "존나", "jot": "좆", "jottgat": "좆같",
    "ssang": "썅", "nyeon": "년", "nom": "놈", "neugeumma": "느금마", "nieomi": "니엄이",
    "ggeojyeo": "꺼져", "kkeojyeo": "꺼져", "dakchyeo": "닥쳐", "dagchyeo": "닥쳐",
    "toto": "토토", "meoktwi": "먹튀",
    # Hangul respellings (the first syllable carries the sound change)
    "^씌발": "씨발", "^쒸발": "씨발", "^쉬발": "시발", "^싀발": "시발", "^쓔발": "씨발",
    "^슈발": "시발", "^씨빨": "씨발", "^시빨": "시발", "^씨벌": "씨발", "^시벌": "시발",
    "^씨뻘": "씨발", "^씨바ㄹ": "씨발", "^십발": "씨발", "^씹발": "씨발", "^ㅆ발": "씨발",
    "^ㅅ발": "시발", "^ㅆ1발": "씨발",
    "^븅신": "병신", "^빙신": "병신", "^벙신": "병신", "^병쉰": "병신", "^병싄": "병신",
    "^병딱": "병신", "^ㅂ신": "병신",
    "^개색기": "개새끼", "^개색끼": "개새끼", "^개새기": "개새끼", "^개세끼": "개새끼",
    "^개섀끼": "개새끼", "^개쉐이": "개새끼", "^개쉑": "개새끼", "^개색휘": "개새끼",
    "^개새퀴": "개새끼", "^개세기": "개새끼",
    "^존니": "존나", "^존내": "존나",
    "^지롤": "지랄", "^즤랄": "지랄", "^미칀": "미친", "^미췬": "미친",
}

_COUNTERS = (
    "살세년월일시분초회차번째등위층호개명원원짜리달주권장대점편화골승패억만천배인박개국곳군"
    "마리병잔그릇켤레송이벌채척칸통판쪽줄자리단계교시기강과부키로미터센티그램도퍼센트"
)
_COUNTER_START = frozenset(_COUNTERS)


def _respelling_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    latin = sorted((k for k in RESPELLINGS if not k.startswith("^")), key=len, reverse=True)
    hangul = sorted((k[1:] for k in RESPELLINGS if k.startswith("^")), key=len, reverse=True)
    table = {k.lstrip("^"): v for k, v in RESPELLINGS.items()}
    # The leading character class lets the regex engine skip most positions at once.
    first_latin = "".join(sorted({k[0] for k in latin}))
    first_hangul = "".join(sorted({k[0] for k in hangul}))
    pat = (f"(?=[{first_latin}])(?<![a-z0-9@_./:-])(?:" + "|".join(map(re.escape, latin))
           + r")(?![a-z0-9_])"
           + f"|(?=[{first_hangul}])(?:" + "|".join(map(re.escape, hangul)) + ")")
    return re.compile(pat), table


_RESPELL, _RESPELL_TABLE = _respelling_pattern()
_JAMO_RUN = re.compile(r"[ㄱ-ㅣ]{2,}")
_LATIN_RUN = re.compile(r"(?<![A-Za-z0-9./:@_-])[A-Za-z]{3,}(?![A-Za-z0-9@_])")
_FILLER = re.compile(r"(?<=[가-힣])[^\s가-힣ㄱ-ㅣ]{1,2}(?=([가-힣]))")
_EXT_SYLLABLES = "아애야얘어에여예오와왜외요우워웨위유으의이"


def _vowel_ext_pattern() -> re.Pattern[str]:
    """An open syllable followed by vowel-only syllables of its own vowel (``시이이``)."""
    alts = []
    for ext in _EXT_SYLLABLES:
        v = (ord(ext) - _S_BASE) % 588 // 28
        same = "".join(chr(_S_BASE + (c * 21 + v) * 28) for c in range(19))
        alts.append(f"[{same}]{ext}+")
    # the lookahead rejects most positions before the 21 alternatives are tried
    return re.compile(f"(?=[가-힣][{_EXT_SYLLABLES}])(?:" + "|".join(alts) + ")")


_VOWEL_EXT = _vowel_ext_pattern()
_SYLLABLE_REPEAT = re.compile(r"([가-힣])\1{2,}")  # 2 stay: 토토, 쿵쿵, 하하
_CHAR_REPEAT = re.compile(r"([^0-9가-힣\n])\1{2,}")
_SPLIT_RUN = re.compile(
    r"(?<![가-힣ㄱ-ㅣ])[가-힣](?:(?:[^\S\n]{1,2}|[^\S\n]?[^\s가-힣ㄱ-ㅣ0-9][^\S\n]?)"
    r"[가-힣](?![가-힣]))+")
_NOT_HANGUL = re.compile(r"[^가-힣]+")
_SPACES = re.compile(" {2,}")  # the fold step made every other blank a plain space
_ODD = re.compile(r"[^\n -~가-힣ㄱ-ㆎ]")  # what the fold table can change (ASCII and Hangul stay)
def _compose_run(m: re.Match[str]) -> str:
    return compose_run(m.group())


def _qwerty_run(m: re.Match[str]) -> str:
    hangul = qwerty_to_hangul(m.group())
    return hangul if hangul is not None and len(hangul) >= 2 else m.group()


def _respell(m: re.Match[str]) -> str:
    return _RESPELL_TABLE[m.group()]


def _filler(m: re.Match[str]) -> str:
    filler = m.group()
    if filler.isdigit() and m.group(1) in _COUNTER_START:
        return filler  # 제1회, 나이33살: a number with its counter keeps its meaning
    return ""


def _vowel_ext(m: re.Match[str]) -> str:
    return m.group()[0]  # 시이이이발 → 시발: the vowel only drawls the syllable before it


def _join_split(m: re.Match[str]) -> str:
    return _NOT_HANGUL.sub("", m.group())


# (pattern, replacement) pairs after the fold step; a replacement is a string or a function.
_Step = tuple[re.Pattern[str], "str | Callable[[re.Match[str]], str]"]
_BEFORE_LOWER: tuple[_Step, ...] = ((_JAMO_RUN, _compose_run), (_LATIN_RUN, _qwerty_run))
_AFTER_LOWER: tuple[_Step, ...] = (
    (_RESPELL, _respell),
    (_CHAR_REPEAT, r"\1\1"),
    (_FILLER, _filler),
    (_SYLLABLE_REPEAT, r"\1"),
    (_VOWEL_EXT, _vowel_ext),
    (_SPLIT_RUN, _join_split),
)


def _fold_char(m: re.Match[str]) -> str:
    return _FOLD[ord(m.group())] or ""


def _fold(text: str) -> str:
    return _ODD.sub(_fold_char, text)


def normalise_many(texts: Sequence[str]) -> list[str]:
    """``normalise`` for a batch: every step runs once over the texts joined by newlines."""
    if not texts:
        return []
    joined = "\n".join(t.replace("\n", " ").replace("\r", " ") for t in texts)
    s = _fold(joined)
    for pat, repl in _BEFORE_LOWER:
        s = pat.sub(repl, s)
    s = s.lower()
    for pat, repl in _AFTER_LOWER:
        s = pat.sub(repl, s)
    s = _SPACES.sub(" ", s)
    out = [line.strip() for line in s.split("\n")]
    if len(out) != len(texts):  # a step must never add or remove a line
        raise AssertionError("normaliser changed the number of lines")
    return out


def normalise(text: str) -> str:
    """The text as every detector reads it (see the module docstring for the steps)."""
    return normalise_many([text])[0]


def _sub_mapped(pat: re.Pattern[str], repl: str | Callable[[re.Match[str]], str], s: str,
                idx: list[int]) -> tuple[str, list[int]]:
    """``pat.sub`` that also carries, for each output character, its original position."""
    out: list[str] = []
    out_idx: list[int] = []
    pos = 0
    for m in pat.finditer(s):
        out.append(s[pos : m.start()])
        out_idx.extend(idx[pos : m.start()])
        new = repl(m) if callable(repl) else m.expand(repl)
        if new == m.group():
            out_idx.extend(idx[m.start() : m.end()])
        elif new:
            # map each output character to the source character it most likely came from
            span = idx[m.start() : m.end()] or [idx[m.start() - 1] if m.start() else 0]
            for k in range(len(new)):
                out_idx.append(span[min(len(span) - 1, k * len(span) // len(new))])
        out.append(new)
        pos = m.end()
    out.append(s[pos:])
    out_idx.extend(idx[pos:])
    return "".join(out), out_idx


def normalise_mapped(text: str) -> tuple[str, list[int]]:
    """``normalise(text)`` and, for each of its characters, the index in ``text`` it came from.

    Slower than ``normalise`` (Python per character); used to highlight a matched span of the
    normalised text in the original, one item at a time.
    """
    text = text.replace("\n", " ").replace("\r", " ")
    chars: list[str] = []
    idx: list[int] = []
    for i, ch in enumerate(text):
        folded = ch.translate(_FOLD)
        chars.append(folded)
        idx.extend([i] * len(folded))
    s = "".join(chars)
    for pat, repl in _BEFORE_LOWER:
        s, idx = _sub_mapped(pat, repl, s, idx)
    lowered = [ch.lower() for ch in s]  # str.lower may lengthen a character (İ → i̇)
    idx = [i for ch, i in zip(lowered, idx, strict=True) for _ in ch]
    s = "".join(lowered)
    for pat, repl in _AFTER_LOWER:
        s, idx = _sub_mapped(pat, repl, s, idx)
    s, idx = _sub_mapped(_SPACES, " ", s, idx)
    lead = len(s) - len(s.lstrip())
    s = s.strip()
    return s, idx[lead : lead + len(s)]


def original_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of ``text`` that produced ``normalise(text)[start:end]``."""
    _, idx = normalise_mapped(text)
    if not idx or start >= len(idx):
        return (0, 0)
    return idx[start], idx[max(start, min(end, len(idx)) - 1)] + 1
