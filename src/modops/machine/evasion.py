"""The evasion and look-alike test set: built here from the shipped data, shipped in ``data/``.

* **evasion** — offensive sentences from the held-out splits (BEEP! dev, K-MHaS test, the
  curse-detection test split) that contain a common swear word; for each, the word rewritten
  with one trick (``TRICKS``). A detector keeps its recall under a trick if it flags the
  perturbed sentence as often as the original (``evasion_retention``).
* **look-alikes** — innocent sentences containing a word that embeds a swear word (시발점,
  병신년 새해, 새끼손가락, 한남대교 …), each with a *control*: the same sentence with a neutral
  word in its place. ``lookalike_fp_rate`` should not exceed ``control_fp_rate`` by much.

``python -m modops.machine.evasion`` rewrites ``data/evasion/ko-evasion-v1.jsonl``
(deterministic: fixed seed, sentences chosen by a hash of their text).
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modops.machine.normalise import CHO, QWERTY, decompose

SEED = 17
PATH_NAME = Path("evasion") / "ko-evasion-v1.jsonl"
PER_WORD = 12  # sentences per swear word

# swear word → (romanisation people type, a common respelling)
SWEARS: dict[str, tuple[str, str]] = {
    "씨발": ("ssibal", "씌발"),
    "시발": ("sibal", "쉬발"),
    "병신": ("byungsin", "븅신"),
    "개새끼": ("gaesaekki", "개색기"),
    "존나": ("jonna", "존내"),
    "지랄": ("jiral", "지롤"),
}

_KEYS = {v: k for k, v in QWERTY.items()}
_HALF = {unicodedata.normalize("NFKC", chr(c)): chr(c) for c in range(0xFFA1, 0xFFDD)
         if unicodedata.name(chr(c), "").startswith("HALFWIDTH HANGUL LETTER")}
_FULL = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}
_EMOJI = ("😀", "😂", "🤬", "👍", "🔥", "💩", "❤️")
_SYMBOLS = ".*~!_-^"


def _between(word: str, filler: str) -> str:
    return word[0] + filler + word[1:]


def _elongate(word: str) -> str:
    """Drawl a syllable: 씨발 → 씨이이이발 (the first open syllable, else the last one)."""
    for i, ch in enumerate(word):
        k = ord(ch) - 0xAC00
        if k % 28 == 0:
            ext = chr(0xC544 + (k % 588))  # ㅇ + the same vowel, no final
            return word[: i + 1] + ext * 3 + word[i + 1 :]
    k = ord(word[-1]) - 0xAC00
    return word + chr(0xC544 + (k % 588) // 28 * 28) * 3


def _qwerty(word: str) -> str:
    out = []
    for jamo in decompose(word):
        if jamo in _KEYS:
            out.append(_KEYS[jamo])
        else:  # compound vowels/finals: type their parts
            from modops.machine.normalise import _COMPOUND_FINAL, _COMPOUND_VOWEL

            parts = {**{v: k for k, v in _COMPOUND_VOWEL.items()},
                     **{v: k for k, v in _COMPOUND_FINAL.items()}}[jamo]
            out.extend(_KEYS[p] for p in parts)
    return "".join(out)


def _fill(kind: str) -> Callable[[str, random.Random], str]:
    def apply(word: str, rng: random.Random) -> str:
        filler = {"digit": str(rng.randint(0, 9)), "latin": rng.choice("xzqvkj"),
                  "symbol": rng.choice(_SYMBOLS), "zero_width": "\u200b",
                  "emoji": rng.choice(_EMOJI), "space": " "}[kind]
        return _between(word, filler)
    return apply


TRICKS: dict[str, Callable[[str, random.Random], str]] = {
    "space": _fill("space"),
    "digit": _fill("digit"),
    "latin": _fill("latin"),
    "symbol": _fill("symbol"),
    "consonant_only": lambda w, _r: "".join(CHO[(ord(c) - 0xAC00) // 588] for c in w),
    "compat_jamo": lambda w, _r: decompose(w),
    "nfd": lambda w, _r: unicodedata.normalize("NFD", w),
    "elongation": lambda w, _r: _elongate(w),
    "syllable_repeat": lambda w, _r: w[0] + w,
    "zero_width": _fill("zero_width"),
    "emoji": _fill("emoji"),
    "half_width": lambda w, _r: "".join(_HALF.get(j, j) for j in decompose(w)),
    "full_width": lambda w, _r: _between(w, rng_full(_r)),
    "qwerty": lambda w, _r: _qwerty(w),
    "romanised": lambda w, _r: SWEARS[w][0],
    "respelling": lambda w, _r: SWEARS[w][1],
}


def rng_full(rng: random.Random) -> str:
    return _FULL[rng.choice("1234567890*~!")]


# Innocent sentences with a look-alike, and the control with a neutral word in its place.
LOOKALIKES: tuple[tuple[str, str, str], ...] = (
    ("시발점", "이 노선의 시발점이 어디야?", "이 노선의 출발점이 어디야?"),
    ("시발점", "모든 문제의 시발점은 거기였다", "모든 문제의 출발점은 거기였다"),
    ("시발역", "경부선 시발역은 서울역이다", "경부선 출발역은 서울역이다"),
    ("시발택시", "옛날 시발택시 사진 봤어요", "옛날 영업택시 사진 봤어요"),
    ("병신년", "병신년 새해 복 많이 받으세요 (丙申年)", "정유년 새해 복 많이 받으세요 (丁酉年)"),
    ("병신년", "2016년은 병신년 원숭이띠 해였다", "2016년은 붉은 원숭이띠 해였다"),
    ("병신년", "병신년에 태어난 아이들", "원숭이해에 태어난 아이들"),
    ("새끼손가락", "새끼손가락 걸고 약속해", "엄지손가락 걸고 약속해"),
    ("새끼손가락", "새끼손가락을 다쳤어요", "엄지손가락을 다쳤어요"),
    ("새끼발가락", "새끼발가락이 문에 찧였다", "엄지발가락이 문에 찧였다"),
    ("새끼 고양이", "길에서 새끼 고양이를 구조했어요", "길에서 아기 고양이를 구조했어요"),
    ("새끼 고양이", "새끼 고양이 세 마리가 태어났다", "아기 고양이 세 마리가 태어났다"),
    ("새끼 강아지", "우리 집 새끼 강아지 너무 귀여워", "우리 집 아기 강아지 너무 귀여워"),
    ("개새끼", "개새끼 귀엽다 우리 강아지", "강아지 귀엽다 우리 강아지"),
    ("한남대교", "한남대교 지금 많이 막히나요?", "반포대교 지금 많이 막히나요?"),
    ("한남대교", "한남대교 건너서 바로 우회전", "반포대교 건너서 바로 우회전"),
    ("한남동", "한남동 맛집 추천해 주세요", "성수동 맛집 추천해 주세요"),
    ("수박씨 발라먹기", "수박씨 발라먹기 귀찮아", "귤껍질 까먹기 귀찮아"),
    ("수박씨", "수박씨 뱉기 대회 열렸대요", "수박 먹기 대회 열렸대요"),
    ("죽어라 공부", "시험 때문에 죽어라 공부했다", "시험 때문에 열심히 공부했다"),
    ("죽어라 연습", "대회 전까지 죽어라 연습했어요", "대회 전까지 열심히 연습했어요"),
    ("십팔번", "아버지 십팔번은 트로트다", "아버지 애창곡은 트로트다"),
    ("십팔번", "노래방 가면 내 십팔번 부를게", "노래방 가면 내 애창곡 부를게"),
)


@dataclass(frozen=True, slots=True)
class SourceSentence:
    text: str
    word: str
    source: str


def _key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _held_out_offensive() -> list[tuple[str, str]]:
    """(text, source) of every offensive sentence of the held-out splits."""
    from modops.machine.data import read_beep, read_curse, read_kmhas

    pool: list[tuple[str, str]] = []
    pool += [(r.text, "beep-dev") for r in read_beep("dev") if r.hate != "none"]
    pool += [(t, "kmhas-test") for t, ls in read_kmhas("test") if "not_hate" not in ls]
    pool += [(t, "curse-test") for t, y in read_curse("test") if y == 1]
    return pool


def _carries_only(word: str, text: str) -> bool:
    """``text`` holds ``word``, is one line of 8–80 characters, and holds no other swear word
    of SWEARS (one that contains ``word``, like 씨발 for 시발, does not count)."""
    return (word in text and 8 <= len(text) <= 80 and "\n" not in text
            and not any(w != word and w in text for w in SWEARS if word not in w))


def source_sentences(per_word: int = PER_WORD) -> list[SourceSentence]:
    """Held-out offensive sentences (never trained on) that contain a swear word of SWEARS."""
    pool = _held_out_offensive()
    out: list[SourceSentence] = []
    for word in SWEARS:
        hits = [(_key(t), t, s) for t, s in pool if _carries_only(word, t)]
        for _, text, src in sorted(hits)[:per_word]:
            out.append(SourceSentence(text, word, src))
    return out


def build(per_word: int = PER_WORD) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for sent in source_sentences(per_word):
        for trick, fn in TRICKS.items():
            rng = random.Random(f"{SEED}:{trick}:{sent.text}")
            perturbed = sent.text.replace(sent.word, fn(sent.word, rng), 1)
            rows.append({"kind": "evasion", "trick": trick, "word": sent.word,
                         "source": sent.source, "original": sent.text, "text": perturbed})
    for word, text, control in LOOKALIKES:
        rows.append({"kind": "lookalike", "lookalike": word, "text": text, "control": control})
    return rows


def path() -> Path:
    from modops.machine.data import data_dir

    return data_dir() / PATH_NAME


def load(p: Path | None = None) -> list[dict[str, Any]]:
    with (p or path()).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@dataclass(frozen=True, slots=True)
class EvasionReport:
    retention: dict[str, float]  # trick → detection rate perturbed ÷ original
    detected_original: dict[str, int]
    n: dict[str, int]
    lookalike_fp_rate: float
    control_fp_rate: float
    n_lookalikes: int


def _retention(ev: list[dict[str, Any]], orig_flag: dict[str, bool], pert_flag: list[bool]
               ) -> tuple[dict[str, float], dict[str, int], dict[str, int]]:
    """Per trick: detection rate perturbed ÷ original, originals detected, rows."""
    retention: dict[str, float] = {}
    det: dict[str, int] = {}
    n: dict[str, int] = {}
    for trick in TRICKS:
        idx = [i for i, r in enumerate(ev) if r["trick"] == trick]
        o = sum(orig_flag[ev[i]["original"]] for i in idx)
        p = sum(pert_flag[i] for i in idx)
        retention[trick] = p / o if o else float("nan")
        det[trick], n[trick] = o, len(idx)
    return retention, det, n


def evaluate(flagged: Callable[[list[str]], list[bool]],
             rows: Iterable[dict[str, Any]] | None = None) -> EvasionReport:
    """Retention per trick and look-alike/control false-positive rates of a detector
    (``flagged(texts) -> [bool]``)."""
    rows = list(rows if rows is not None else load())
    ev = [r for r in rows if r["kind"] == "evasion"]
    lk = [r for r in rows if r["kind"] == "lookalike"]
    originals = sorted({r["original"] for r in ev})
    orig_flag = dict(zip(originals, flagged(originals), strict=True))
    pert_flag = flagged([r["text"] for r in ev])
    retention, det, n = _retention(ev, orig_flag, pert_flag)
    lf = flagged([r["text"] for r in lk])
    cf = flagged([r["control"] for r in lk])
    return EvasionReport(retention, det, n, sum(lf) / max(len(lk), 1),
                         sum(cf) / max(len(lk), 1), len(lk))


def main(argv: list[str] | None = None) -> None:
    rows = build()
    out = Path(argv[0]) if argv else path()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows to {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
