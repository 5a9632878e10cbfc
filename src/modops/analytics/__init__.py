"""Operations analytics: every metric of the brief, trends, alerts, staffing, transparency.

Plain functions over an Engine returning dataclasses, so dashboards (web), period reports and
the CLI can all call them; nothing here imports the web, API or CLI layers.
"""

from .metrics import (
    METHODOLOGY_VERSION,
    Metric,
    MetricSet,
    agreement_from_histogram,
    compute_metrics,
    gold_accuracy_by_labeler,
    pairwise_agreement,
    sample_size_for_margin,
    throughput_by,
)
from .period import Filters, Period

__all__ = [
    "METHODOLOGY_VERSION",
    "Filters",
    "Metric",
    "MetricSet",
    "Period",
    "agreement_from_histogram",
    "compute_metrics",
    "gold_accuracy_by_labeler",
    "pairwise_agreement",
    "sample_size_for_margin",
    "throughput_by",
]
