"""Calibration errors, against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from modops.machine.evaluate import binary_ece, expected_calibration_error


def test_binary_ece_by_hand() -> None:
    # bins: 0.05 → [0.0, 0.1) with 0 positives, 0.15 → [0.1, 0.2) with 0, the two 0.95 → last
    # bin with 1 of 2 positive: 0.25·0.05 + 0.25·0.15 + 0.5·|0.5 − 0.95| = 0.275
    assert binary_ece([0.05, 0.15, 0.95, 0.95], [0, 0, 1, 0]) == pytest.approx(0.275)


def test_top_label_ece_by_hand() -> None:
    # confidences 0.9 (right) and 0.7 (wrong): 0.5·|1 − 0.9| + 0.5·|0 − 0.7| = 0.4
    probs = np.array([[0.9, 0.1], [0.3, 0.7]])
    assert expected_calibration_error(probs, np.array([0, 0])) == pytest.approx(0.4)
