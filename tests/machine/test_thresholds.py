from __future__ import annotations

import pytest

from modops.machine import boundary_boost, choose_thresholds


def test_known_answer() -> None:
    # 10 items; harmful at the top except one negative at 0.8, one positive hides at 0.2.
    scores = [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.3, 0.2, 0.1]
    harmful = [True, True, True, False, True, False, False, False, True, False]
    th = choose_thresholds(scores, harmful, auto_action_precision=0.95, auto_clear_recall=0.98,
                           model_version="m1")
    # precision 1.0 down to 0.85; at 0.8 it drops to 3/4 → high = 0.85
    assert th.high == 0.85 and th.achieved_precision == 1.0
    # recall 1.0 needs the positive at 0.2 → low = 0.2
    assert th.low == 0.2 and th.achieved_recall == 1.0
    # between: 0.8, 0.7, 0.6, 0.5, 0.3, 0.2 → 6 of 10
    assert th.expected_human_share == pytest.approx(0.6)
    assert th.model_version == "m1" and th.n == 10

    loose = choose_thresholds(scores, harmful, auto_action_precision=0.7, auto_clear_recall=0.8)
    assert loose.high == 0.7  # 4/5 = 0.8 ≥ 0.7; at 0.6: 4/6 < 0.7
    assert loose.low == 0.7  # 4 of 5 positives at ≥ 0.7


def test_unreachable_precision_means_no_auto_action() -> None:
    th = choose_thresholds([0.9, 0.8], [False, True], auto_action_precision=0.99)
    assert th.high == float("inf") and th.expected_human_share == 1.0


def test_boundary_boost() -> None:
    assert boundary_boost(0.5, threshold=0.5, width=0.1, weight=2.0) == 2.0
    assert boundary_boost(0.55, threshold=0.5, width=0.1, weight=2.0) == pytest.approx(1.0)
    assert boundary_boost(0.9, threshold=0.5, width=0.1) == 0.0


def test_policy_thresholds_by_target_precision_with_a_label_floor() -> None:
    from modops.machine.thresholds import choose_policy_thresholds, policy_positive

    # 250 items: 20 gambling ads scored 0.9 (19 labelled illegal_goods.gambling, 1 none) and
    # 230 others scored 0.1 (5 of them gambling the bank missed).
    scores = [{"illegal_goods.gambling": 0.9}] * 20 + [{"illegal_goods.gambling": 0.1}] * 230
    human = [["illegal_goods.gambling"]] * 19 + [["none"]] + [["illegal_goods.gambling"]] * 5 \
        + [["none"]] * 225
    label_of = {"illegal_goods.gambling": "illegal_goods", "profanity": None}
    (gambling, profanity) = choose_policy_thresholds(scores, human, label_of, "test", 0.95, 200)
    assert gambling.threshold == 0.9 and gambling.precision == 19 / 20
    assert gambling.recall == 19 / 24 and gambling.volume == 20 / 250
    assert gambling.n == 250 and gambling.positives == 24
    lo, hi = gambling.precision_ci
    assert lo < 0.95 < hi  # Wilson 95 %: 19/20 is not proof of 95 %
    assert profanity.threshold is None and "no label" in profanity.reason
    # the same data with a 300-label floor: nothing automated
    (g300, _) = choose_policy_thresholds(scores, human, label_of, "test", 0.95, 300)
    assert g300.threshold is None and g300.reason == "250 in-domain human labels < 300"
    # a stricter target than the data supports: nothing automated
    (strict, _) = choose_policy_thresholds(scores, human, label_of, "test", 0.99, 200)
    assert strict.threshold is None
    assert policy_positive("illegal_goods", ["illegal_goods.gambling"])
    assert not policy_positive("illegal_goods", ["none"])


def test_validation_file_rows_and_policy_labels() -> None:
    """What ``modops model thresholds --validation FILE`` reads: labels comma-separated,
    none/0/false/no/empty mean no violation; a policy decides its own label, else its
    parent's, else none."""
    from modops.machine.routing_choice import label_for, labels_of_rows

    rows = [{"text": "a", "label": "hate, profanity"}, {"text": None, "label": "None"},
            {"text": "c", "label": " 0 ,"}, {"text": "d"}, {"text": "e", "label": "no,spam"}]
    texts, human = labels_of_rows(rows, "text", "label")
    assert texts == ["a", "", "c", "d", "e"]
    assert human == [["hate", "profanity"], [], [], [], ["spam"]]
    rules = {"hate": "remove", "illegal_goods": "remove"}
    assert label_for(rules, "hate") == "hate"
    assert label_for(rules, "illegal_goods.gambling") == "illegal_goods"
    assert label_for(rules, "profanity") is None
