"""The reviewer's "why": matched words highlighted in the original (evasion included), hostile
text escaped, personal data never echoed."""

from __future__ import annotations

from modops.machine.banks import explain
from modops.web.views import highlight_matches


def test_highlight_marks_the_original_characters_of_an_evasive_match() -> None:
    html = str(highlight_matches("야 씨😀발 진짜", [{"match": "씨발"}]))
    assert html == '야 <mark class="why">씨😀발</mark> 진짜'


def test_highlight_escapes_everything_else() -> None:
    html = str(highlight_matches('<script>alert(1)</script> 토토 "가입코드"',
                                 [{"match": "가입코드"}]))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<mark class="why">가입코드</mark>' in html
    assert "&#34;" in html or "&quot;" in html


def test_highlight_escapes_a_hostile_match_too() -> None:
    html = str(highlight_matches("a <b>x</b>", [{"match": "<b>"}]))
    assert '<mark class="why">&lt;b&gt;</mark>' in html and "<b>" not in html


def test_highlight_without_matches_reveals_bidi_controls() -> None:
    assert str(highlight_matches("gnp\u202eexe", [])) == "gnp\u27e6U+202E\u27e7exe"


def test_explain_orders_policies_and_hides_personal_data() -> None:
    detail = {
        "policies": {"hate": 0.1, "profanity": 0.95, "privacy": 0.95, "spam": 0.5},
        "evidence": {
            "hate": {"source": "head", "name": "severity:hate", "score": 0.1},
            "profanity": {"source": "head", "name": "profanity", "score": 0.95,
                          "match": "씨발", "span": [0, 2], "matched_by": "profanity-ko/sibal"},
            "privacy": {"source": "extractor", "name": "rrn", "score": 0.95,
                        "match": "900101-1234568", "span": [3, 17]},
            "spam": {"source": "extractor", "name": "phone", "score": 0.5,
                     "match": "010-1234-5678", "span": [18, 31]},
        }}
    why = explain(detail)
    assert [w["policy"] for w in why] == ["profanity", "privacy", "spam"]
    assert why[0] == {"policy": "profanity", "score": 0.95, "source": "head",
                      "name": "profanity", "match": "씨발"}
    assert "match" not in why[1] and "match" not in why[2]
    assert explain(None) == [] and explain({"severity": {}}) == []
