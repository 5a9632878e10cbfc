"""Operations analytics: every metric of the brief, trends, alerts, staffing, transparency.

Plain functions over an Engine returning dataclasses, so dashboards (web), period reports and
the CLI can all call them; nothing here imports the web, API or CLI layers.
"""

from .alerts import DEFAULT_RULES, Alert, evaluate_alerts, korean_nouns, rules_for
from .metrics import (
    METHODOLOGY_VERSION,
    Metric,
    MetricSet,
    agreement_from_histogram,
    compute_metrics,
    gold_accuracy_by_labeler,
    pairwise_agreement,
    sample_size_for_margin,
    throughput_breakdowns,
    throughput_by,
)
from .period import Filters, Period
from .staffing import (
    ErlangPlan,
    QueueHour,
    ShiftNeed,
    StaffingPlan,
    erlang_c,
    erlang_staffing,
    plan_staffing,
    staffing_plan,
)
from .transparency import transparency_csv, transparency_rows
from .trends import (
    Comparison,
    Delta,
    LabelSeries,
    compare_periods,
    comparison_of,
    label_volume_series,
)

__all__ = [
    "DEFAULT_RULES",
    "METHODOLOGY_VERSION",
    "Alert",
    "Comparison",
    "Delta",
    "ErlangPlan",
    "Filters",
    "LabelSeries",
    "Metric",
    "MetricSet",
    "Period",
    "QueueHour",
    "ShiftNeed",
    "StaffingPlan",
    "agreement_from_histogram",
    "compare_periods",
    "comparison_of",
    "compute_metrics",
    "erlang_c",
    "erlang_staffing",
    "evaluate_alerts",
    "gold_accuracy_by_labeler",
    "korean_nouns",
    "label_volume_series",
    "pairwise_agreement",
    "plan_staffing",
    "rules_for",
    "sample_size_for_margin",
    "staffing_plan",
    "throughput_breakdowns",
    "throughput_by",
    "transparency_csv",
    "transparency_rows",
]
