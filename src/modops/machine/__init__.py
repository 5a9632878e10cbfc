"""Machine moderation: the scorer contract, the built-in Korean model, thresholds, retraining.

Import the light pieces from here; the model itself loads lazily via ``get_scorer``.
"""

from modops.machine.scoring import (
    SEVERITY_LABELS,
    TARGET_LABELS,
    MachineScore,
    Scorer,
    ScorerUnavailable,
    get_scorer,
    item_text,
)
from modops.machine.thresholds import Thresholds, boundary_boost, choose_thresholds

__all__ = [
    "SEVERITY_LABELS",
    "TARGET_LABELS",
    "MachineScore",
    "Scorer",
    "ScorerUnavailable",
    "Thresholds",
    "boundary_boost",
    "choose_thresholds",
    "get_scorer",
    "item_text",
]
