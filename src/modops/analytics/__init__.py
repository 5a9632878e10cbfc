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
    BacklogPlan,
    ErlangPlan,
    backlog_plan,
    erlang_c,
    erlang_staffing,
    live_plan,
    plan_from_metrics,
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
    "BacklogPlan",
    "Comparison",
    "Delta",
    "ErlangPlan",
    "Filters",
    "LabelSeries",
    "Metric",
    "MetricSet",
    "Period",
    "agreement_from_histogram",
    "backlog_plan",
    "compare_periods",
    "comparison_of",
    "compute_metrics",
    "erlang_c",
    "erlang_staffing",
    "evaluate_alerts",
    "gold_accuracy_by_labeler",
    "korean_nouns",
    "label_volume_series",
    "live_plan",
    "pairwise_agreement",
    "plan_from_metrics",
    "rules_for",
    "sample_size_for_margin",
    "throughput_breakdowns",
    "throughput_by",
    "transparency_csv",
    "transparency_rows",
]
