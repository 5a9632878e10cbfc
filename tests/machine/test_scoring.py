from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from modops.machine import (
    SEVERITY_LABELS,
    TARGET_LABELS,
    MachineScore,
    Scorer,
    get_scorer,
    item_text,
)

TEXTS = ["송중기 시대극은 믿고본다. 첫회 신선하고 좋았다.", "ㅅㅂ 진짜 개새끼네", "", "a" * 3000]


def fake_scorer(texts: list[str]) -> list[dict[str, object]]:
    return [{"severity": {"hate": 0.1, "offensive": 0.2, "none": 0.7}, "targets": {},
             "profanity": 0.0} for _ in texts]


def _check(scores: list[MachineScore], n: int, harm_from_severity: bool = True) -> None:
    assert len(scores) == n
    for s in scores:
        assert set(s.severity) == set(SEVERITY_LABELS)
        assert math.isclose(sum(s.severity.values()), 1.0, rel_tol=1e-5)
        assert 0.0 <= s.harm <= 1.0 and 0.0 <= s.profanity <= 1.0
        if harm_from_severity:  # scorers without a harm head
            assert math.isclose(s.harm, 1 - s.severity["none"], abs_tol=1e-9)


def test_builtin_contract_offline(no_network: list[object], model_dir: object) -> None:
    scorer = get_scorer(None)
    assert isinstance(scorer, Scorer)
    assert re.fullmatch(r"ko-harm-1\.[01]\+[0-9a-f]{10}", scorer.model_version)
    scores = scorer.score(TEXTS)
    _check(scores, len(TEXTS), harm_from_severity=False)
    assert set(scores[0].targets) == set(TARGET_LABELS)
    # every policy the heads score, with provenance; "" is trivial, the comments are not
    for s in scores:
        assert {"hate", "harassment", "profanity"} <= set(s.policies)
        assert s.evidence["profanity"]["source"] in ("head", "bank")
    hit = scores[1].evidence["profanity"]
    assert hit["match"] == "ㅅㅂ" and hit["span"] == [0, 2]
    assert "profanity-ko/sibal" in (hit["name"], hit.get("matched_by"))
    assert scores[2].extra.get("trivial") == 1.0 and "trivial" not in scores[0].extra
    assert all(s.model_version == scorer.model_version for s in scores)
    # the profane comment is scored as more harmful than the compliment
    assert scores[1].harm > scores[0].harm and scores[1].profanity > scores[0].profanity
    assert scorer.score([]) == []
    assert no_network == []


def test_entrypoint_scorer() -> None:
    scorer = get_scorer("entrypoint:tests.machine.test_scoring:fake_scorer")
    scores = scorer.score(["a", "b"])
    _check(scores, 2)
    assert scores[0].model_version == "entrypoint:tests.machine.test_scoring:fake_scorer"
    assert math.isclose(scores[0].harm, 0.3)


def test_bad_spec() -> None:
    with pytest.raises(ValueError):
        get_scorer("ftp://nope")


def test_item_text_joins_present_fields() -> None:
    item = {"title": "제목", "caption": " ", "comment": "댓글", "transcript": "자막", "views": 3}
    assert item_text(item) == "제목 \n 댓글 \n 자막"
    assert item_text({"text": {"title": "t"}, "comment": "c"}) == "t \n c"
    assert item_text({}) == ""


def test_machine_score_validation() -> None:
    with pytest.raises(ValueError):
        MachineScore.from_dict({"severity": {"none": 1.5}}, "v")
    s = MachineScore.from_dict({"harm": 0.4}, "v")
    assert s.harm == 0.4 and s.model_version == "v"


def test_the_model_artifact_ships() -> None:
    """Packaging: the built-in model is committed (not an LFS pointer) and is package data;
    the tests that use it fail, never skip, when it is missing."""
    from modops.machine.registry import SHIPPED

    assert SHIPPED.is_file() and SHIPPED.stat().st_size > 100_000
    pyproject = Path(__file__).resolve().parents[2].joinpath("pyproject.toml").read_text()
    assert '"machine/artifacts/*"' in pyproject
