"""Signal banks: every pattern and extractor with its own positive and negative examples,
the 주민등록번호 checksum by hand, look-alike masking, and the provenance of policy scores."""

from __future__ import annotations

import re

import pytest

from modops.machine.banks import (
    BANKS,
    EXTRACTORS,
    bank_catalogue,
    detection_texts,
    is_trivial,
    mask_lookalikes,
    match_batch,
    policy_scores,
    rrn_valid,
)
from modops.machine.normalise import normalise

PATTERNS = [(b, p) for b in BANKS for p in b.patterns]


@pytest.mark.parametrize(("bank", "pattern"), PATTERNS,
                         ids=[f"{b.name}/{p.name}" for b, p in PATTERNS])
def test_every_bank_pattern_matches_its_positives_and_not_its_negatives(bank, pattern) -> None:
    assert pattern.positives and pattern.negatives, "every pattern needs both kinds of example"
    regex = re.compile(pattern.regex)
    for text in pattern.positives:
        assert regex.search(detection_texts([text])[0]), (bank.name, pattern.name, text)
    for text in pattern.negatives:
        assert not regex.search(detection_texts([text])[0]), (bank.name, pattern.name, text)


@pytest.mark.parametrize("extractor", EXTRACTORS, ids=[e.name for e in EXTRACTORS])
def test_every_extractor_finds_its_positives_and_not_its_negatives(extractor) -> None:
    def found(text: str) -> bool:
        return any(src == "extractor" and name == extractor.name
                   for src, name, *_ in match_batch(detection_texts([text]))[0])

    for text in extractor.positives:
        assert found(text), (extractor.name, text)
    for text in extractor.negatives:
        assert not found(text), (extractor.name, text)


def test_rrn_checksum_by_hand() -> None:
    # 900101-123456?: 9·2+0·3+0·4+1·5+0·6+1·7+1·8+2·9+3·2+4·3+5·4+6·5 = 124;
    # 124 mod 11 = 3; (11 - 3) mod 10 = 8 → the check digit is 8
    assert rrn_valid("9001011234568")
    assert not rrn_valid("9001011234561")
    assert not rrn_valid("9013011234568")  # month 13
    assert not rrn_valid("900101123456")  # 12 digits


def test_banks_have_version_owner_description() -> None:
    for row in bank_catalogue():
        assert row["version"] and row["owner"] and row["description"], row
    assert {b.policy for b in BANKS} >= {
        "illegal_goods.gambling", "illegal_goods.drugs", "sexual", "fraud.voice_phishing",
        "fraud.illegal_loans", "fraud", "spam", "self_harm", "violence", "minor_safety"}
    assert {e.name for e in EXTRACTORS} == {"rrn", "phone", "url", "handle", "account",
                                            "crypto"}


def test_banks_read_through_the_normaliser() -> None:
    # evasion of a code word is undone before matching
    for text in ("토 토 가입코드", "가입\u200b코드", "ㄱㅏㅇㅣㅂㅋㅗㄷㅡ"):
        (pol, ev, _), = policy_scores([text], [[0.0, 0.0, 1.0]], [0.0], [0.0])
        assert pol.get("illegal_goods.gambling", 0) >= 0.8, (text, normalise(text))
        assert ev["illegal_goods.gambling"]["source"] == "bank"


def test_policy_scores_carry_provenance_and_spans() -> None:
    text = "010-1234-5678 토토 가입코드"
    (pol, ev, trivial), = policy_scores([text], [[0.2, 0.1, 0.7]], [0.05], [0.1])
    assert not trivial
    assert pol["hate"] == 0.2 and ev["hate"] == {"source": "head", "name": "severity:hate",
                                                  "score": 0.2}
    gambling = ev["illegal_goods.gambling"]
    assert gambling["source"] == "bank" and gambling["name"] == "gambling-ko/site_code"
    start, end = gambling["span"]
    assert normalise(text)[start:end] == gambling["match"] == "가입코드"
    # a code word next to contact data: 1 - (1 - 0.8)(1 - 0.6) = 0.92 for the strongest hit
    assert gambling["score"] == pytest.approx(0.92)
    assert ev["spam"]["source"] == "extractor" and ev["spam"]["match"] == "010-1234-5678"
    assert pol["privacy"] == pytest.approx(0.35)


def test_rrn_is_privacy() -> None:
    (pol, ev, _), = policy_scores(["제 주민번호는 900101-1234568 입니다"], [[0, 0, 1]], [0], [0])
    assert pol["privacy"] == pytest.approx(0.95) and ev["privacy"]["name"] == "rrn"
    (pol, _, _), = policy_scores(["주문번호 900101-1234561 입니다"], [[0, 0, 1]], [0], [0])
    assert pol.get("privacy", 0) < 0.5


@pytest.mark.parametrize("text", ["", "   ", "?", "ㅋㅋ", "ㅋㅋㅋㅋㅋㅋ", "ㅎㅎ", "😀😀", "!!!",
                                  "네", "ok", "https://example.com"])
def test_trivial_text(text: str) -> None:
    assert is_trivial(normalise(text))


@pytest.mark.parametrize("text", ["점심 뭐 먹을까?", "씨발", "토토 가입"])
def test_not_trivial(text: str) -> None:
    assert not is_trivial(normalise(text))


@pytest.mark.parametrize(("text", "masked"), [
    ("시발점이 어디야?", "출발점이 어디야?"),
    ("병신년 새해 복 많이", "원숭이해 새해 복 많이"),
    ("새끼손가락 걸고", "아기손가락 걸고"),
    ("한남대교 막혀", "한강대교 막혀"),
    ("개새끼 귀엽다 우리 강아지", "강아지 귀엽다 우리 강아지"),
    ("죽어라 공부했다", "열심히 공부했다"),
    ("십팔번 불러", "애창곡 불러"),
])
def test_lookalikes_are_masked(text: str, masked: str) -> None:
    assert mask_lookalikes([normalise(text)]) == [masked]


@pytest.mark.parametrize("text", ["이 병신년아", "병신 새끼", "시발 진짜", "한남 새끼들"])
def test_slurs_are_not_masked(text: str) -> None:
    assert mask_lookalikes([normalise(text)]) == [normalise(text)]


def test_a_match_never_spans_two_texts_of_a_batch() -> None:
    # "새끼\s?고양이" and "\s" in bank patterns once reached across the newline that joins a
    # batch: two K-MHaS comments became one and the scores shifted by a row
    texts = ["귀여운 새끼", "고양이 좋아", "010-1234", "5678 연락", "토토", "가입코드"]
    assert len(detection_texts(texts)) == len(texts)
    assert detection_texts(texts)[:2] == ["귀여운 새끼", "고양이 좋아"]  # not masked as a kitten
    found = match_batch(detection_texts(texts))
    assert found[2] == [] and found[3] == []  # no phone number across the two
    assert [n for _, n, *_ in found[4]] == ["gambling-ko/toto"]
    assert [n for _, n, *_ in found[5]] == ["gambling-ko/site_code"]
