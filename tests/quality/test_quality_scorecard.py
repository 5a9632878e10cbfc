"""Labeler and team scorecards on a small hand-checked frame, and frame-shape equivalence."""

from __future__ import annotations

import numpy as np
import pytest

from modops.quality import compute_scorecards, labeler_scorecards, team_scorecards, wilson_interval

ROWS = [
    # labeler, team, item, label, secs, gold, gold_label, consensus, overturned, audit_error
    ("kim", "seoul", "v1", "hate", 10.0, True, "hate", "hate", None, False),
    ("kim", "seoul", "v2", "none", 20.0, False, None, "insult", True, None),
    ("kim", "seoul", "v3", "spam", 30.0, True, "none", None, False, None),
    ("kim", "seoul", "v4", "none", 40.0, False, None, "none", None, True),
    ("lee", "seoul", "v1", "hate", 5.0, True, "hate", "hate", None, None),
    ("lee", "seoul", "v2", "insult", None, False, None, "insult", False, False),
    ("park", "busan", "v1", "none", 60.0, True, "hate", "hate", None, True),
]
COLS = ("labeler", "team", "item", "label", "handle_time_s", "is_gold", "gold_label",
        "consensus_label", "overturned", "audit_error")


def records() -> list[dict[str, object]]:
    return [dict(zip(COLS, r, strict=True)) for r in ROWS]


def test_labeler_scorecards_by_hand() -> None:
    cards = {c.key: c for c in labeler_scorecards(records())}
    assert sorted(cards) == ["kim", "lee", "park"]
    kim = cards["kim"]
    assert kim.volume == 4
    assert kim.handle_time_median_s == pytest.approx(25.0)
    assert kim.handle_time_p90_s == pytest.approx(np.quantile([10, 20, 30, 40], 0.9))
    assert (kim.gold_n, kim.gold_correct, kim.gold_accuracy) == (2, 1, 0.5)
    assert (kim.gold_ci_low, kim.gold_ci_high) == pytest.approx(wilson_interval(1, 2))
    assert (kim.consensus_n, kim.consensus_agreement) == (3, pytest.approx(2 / 3))
    assert (kim.escalated_n, kim.overturned_n, kim.overturn_rate) == (2, 1, 0.5)
    assert (kim.audited_n, kim.audit_errors, kim.audit_error_rate) == (2, 1, 0.5)
    lee = cards["lee"]
    assert lee.handle_time_median_s == 5.0  # missing handle time ignored
    assert lee.overturn_rate == 0.0 and lee.audit_error_rate == 0.0
    park = cards["park"]
    assert park.gold_accuracy == 0.0 and park.consensus_agreement == 0.0
    assert np.isnan(park.overturn_rate)  # never escalated: undefined, not 0


def test_team_scorecards_and_overall_row() -> None:
    cards = {c.key: c for c in team_scorecards(records())}
    assert set(cards) == {"seoul", "busan", "__all__"}
    assert cards["seoul"].volume == 6 and cards["busan"].volume == 1
    assert cards["__all__"].volume == 7
    assert cards["__all__"].gold_n == 4 and cards["__all__"].gold_correct == 2
    assert cards["seoul"].handle_time_median_s == pytest.approx(20.0)


def test_team_mapping_and_column_frames_agree() -> None:
    recs = records()
    for r in recs:
        r.pop("team")
    teams = {"kim": "seoul", "lee": "seoul", "park": "busan"}
    from_records = team_scorecards(recs, teams=teams)
    columns = {c: np.array([r[i] for r in ROWS], dtype=object) for i, c in enumerate(COLS)}
    columns["handle_time_s"] = np.array([np.nan if r[4] is None else r[4] for r in ROWS])
    from_columns = team_scorecards(columns)
    a = [c.to_dict() for c in from_records]
    b = [c.to_dict() for c in from_columns]
    assert [x["key"] for x in a] == [x["key"] for x in b]
    for x, y in zip(a, b, strict=True):
        for k, v in x.items():
            if isinstance(v, float) and np.isnan(v):
                assert np.isnan(y[k])
            else:
                assert v == y[k], k


def test_errors() -> None:
    with pytest.raises(ValueError):
        compute_scorecards({"labeler": ["a"], "item": [1]})
    with pytest.raises(ValueError):
        compute_scorecards({"labeler": ["a"], "item": [1], "label": ["x"]}, by="team")
