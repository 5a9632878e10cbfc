"""The shared normaliser: every evasion trick of issue 17, and meaning kept everywhere else.

Expected outputs are written by hand from the Unicode and 2-set keyboard tables.
"""

from __future__ import annotations

import unicodedata

import pytest

from modops.machine.normalise import (
    compose_jamo,
    decompose,
    normalise,
    normalise_many,
    normalise_mapped,
    original_span,
    qwerty_to_hangul,
)

TRICKS = [
    ("space", "씨 발", "씨발"),
    ("space, three singles", "씨 발 놈", "씨발놈"),
    ("digit", "시1발", "시발"),
    ("two digits", "시12발", "시발"),
    ("latin", "씨x발", "씨발"),
    ("symbol", "씨.발", "씨발"),
    ("symbol with spaces", "씨 * 발", "씨발"),
    ("symbol run", "씨~~~~발", "씨발"),
    ("emoji", "씨😀발", "씨발"),
    ("emoji with skin tone", "씨👍🏻발", "씨발"),
    ("zero-width space", "씨\u200b발", "씨발"),
    ("zero-width joiner", "씨\u200d발", "씨발"),
    ("soft hyphen", "씨\u00ad발", "씨발"),
    ("bidi mark", "씨\u200f발", "씨발"),
    ("BOM", "\ufeff씨발", "씨발"),
    ("Hangul filler", "씨\u3164발", "씨발"),
    ("NFD (conjoining jamo)", unicodedata.normalize("NFD", "씨발"), "씨발"),
    ("compatibility jamo", "ㅆㅣㅂㅏㄹ", "씨발"),
    ("compatibility jamo, compound vowel", "ㄲㅓㅈㅕ", "꺼져"),
    ("half-width jamo", "\uffb6\uffdc\uffb2\uffc2\uffa9", "씨발"),
    ("full-width latin", "ｓｉｂａｌ", "시발"),
    ("full-width qwerty", "ＴＬＱＫＦ", "시발"),
    ("full-width digit filler", "시１발", "시발"),
    ("qwerty", "tlqkf", "시발"),
    ("qwerty with shift", "Tlqkf", "씨발"),
    ("qwerty, compound final", "dlfrdj", "읽어"),
    ("qwerty, in a sentence", "진짜 tlqkf 뭐하냐", "진짜 시발 뭐하냐"),
    ("romanised", "sibal", "시발"),
    ("romanised, capitals", "SIBAL", "시발"),
    ("romanised slur", "byungsin", "병신"),
    ("respelling", "씌발", "씨발"),
    ("respelling", "븅신아", "병신아"),
    ("respelling", "개색기", "개새끼"),
    ("elongation (vowel)", "시이이이발", "시발"),
    ("elongation (one vowel)", "시이발", "시발"),
    ("elongation (syllable x3)", "씨씨씨발", "씨발"),
    ("laughter", "ㅋㅋㅋㅋㅋㅋ", "ㅋㅋ"),
    ("punctuation run", "뭐야!!!!!", "뭐야!!"),
]


@pytest.mark.parametrize(("trick", "text", "expected"), TRICKS, ids=[t[0] for t in TRICKS])
def test_every_trick_is_undone(trick: str, text: str, expected: str) -> None:
    assert normalise(text) == expected


KEPT = [
    ("numbers with a counter", "나 33살이야", "나 33살이야"),
    ("age glued to a word", "나이33살", "나이33살"),
    ("ordinal", "제1회 대회", "제1회 대회"),
    ("date", "2024년 1월1일", "2024년 1월1일"),
    ("money is never collapsed", "1000원 10000원", "1000원 10000원"),
    ("spaced date", "3월 5일", "3월 5일"),
    ("ordinary sentence", "점심 뭐 먹을까?", "점심 뭐 먹을까?"),
    ("words keep their spaces", "오늘 날씨 정말 좋네요", "오늘 날씨 정말 좋네요"),
    ("look-alike stays itself", "시발점이 어디야?", "시발점이 어디야?"),
    ("look-alike stays itself", "병신년 새해 복 많이", "병신년 새해 복 많이"),
    ("doubled syllable word", "토토 하지마", "토토 하지마"),
    ("shiba dog is not a respelling", "시바견 귀여워", "시바견 귀여워"),
    ("abbreviation stays", "ㅅㅂ 진짜", "ㅅㅂ 진짜"),
    ("crying stays", "ㅋㅋㅠㅠ", "ㅋㅋㅠㅠ"),
    ("english words are not typed hangul", "the wow hello good game", "the wow hello good game"),
    ("urls are not typed hangul", "https://bit.ly/tlqkf", "https://bit.ly/tlqkf"),
    ("emails are not typed hangul", "abc@test.com", "abc@test.com"),
    ("phone number", "010-1234-5678", "010-1234-5678"),
    ("vowel of another syllable", "아이 좋아", "아이 좋아"),
    ("empty", "", ""),
    ("only spaces", "   ", ""),
]


@pytest.mark.parametrize(("case", "text", "expected"), KEPT, ids=[k[0] for k in KEPT])
def test_meaning_is_kept(case: str, text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_batch_equals_one_by_one_and_keeps_line_count() -> None:
    texts = [t for _, t, _ in TRICKS] + [t for _, t, _ in KEPT] + ["줄\n바꿈", "a\r\nb"]
    assert normalise_many(texts) == [normalise(t) for t in texts]
    assert normalise("줄\n바꿈") == "줄 바꿈"
    assert normalise_many([]) == []


def test_idempotent() -> None:
    for _, text, _ in TRICKS + KEPT:
        once = normalise(text)
        assert normalise(once) == once, text


def test_mapped_agrees_and_points_into_the_original() -> None:
    for _, text, _ in TRICKS + KEPT:
        norm, idx = normalise_mapped(text)
        assert norm == normalise(text), text
        assert len(idx) == len(norm)
        assert all(0 <= i < max(len(text), 1) for i in idx)
        assert idx == sorted(idx)
    text = "야 씨😀발 진짜"
    norm = normalise(text)
    start = norm.index("씨발")
    assert original_span(text, start, start + 2) == (2, text.index("발") + 1)
    assert text[slice(*original_span(text, start, start + 2))] == "씨😀발"


def test_jamo_helpers() -> None:
    assert compose_jamo("ㅅㅣㅂㅏㄹ") == "시발"
    assert compose_jamo("ㅇㅣㄹㄱ") == "읽"
    assert compose_jamo("ㅅㅂ") is None
    assert compose_jamo("ㅏ") is None
    assert decompose("시발 a") == "ㅅㅣㅂㅏㄹ a"
    assert qwerty_to_hangul("dkssudgktpdy") == "안녕하세요"
    assert qwerty_to_hangul("the") == "솓"  # one syllable: normalise leaves 3-letter words alone
    assert normalise("the") == "the"
    assert qwerty_to_hangul("hello") is None


def test_jamo_runs_compose_only_stretches_of_two_or_more_syllables() -> None:
    assert normalise("ㅋㅋㅆㅣㅂㅏㄹ") == "ㅋㅋ씨발"
    assert normalise("ㅆㅣㅂㅏㄹㅋㅋ") == "씨발ㅋㅋ"
    assert normalise("ㄱㅏ") == "가"
    assert normalise("ㅋㅋㅠㅠ ㅎㅎ") == "ㅋㅋㅠㅠ ㅎㅎ"
