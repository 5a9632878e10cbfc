"""Quality control numerics: agreement, label aggregation, intervals, scorecards.

Pure NumPy/SciPy on long ``(item, labeler, label)`` data; no store, web or CLI imports, so the
queue, analytics and reports can call it in-process and the DB layer can feed it arrays.
"""

from ._codes import Annotations, factorize
from .aggregation import (
    Aggregator,
    Consensus,
    DawidSkene,
    MajorityVote,
    aggregate_item,
)
from .agreement import (
    AgreementReport,
    PairwiseKappa,
    agreement_report,
    fleiss_kappa,
    fleiss_kappa_per_category,
    fleiss_kappa_table,
    krippendorff_alpha,
    krippendorff_alpha_by,
    krippendorff_alpha_per_label,
    krippendorff_alpha_per_label_sets,
    krippendorff_alpha_sets,
    masi_distance,
    pairwise_cohen_kappa,
    percent_agreement,
    rating_table,
)
from .intervals import clopper_pearson_interval, wilson_interval
from .scorecard import Scorecard, compute_scorecards, labeler_scorecards, team_scorecards

__all__ = [
    "Aggregator",
    "AgreementReport",
    "Annotations",
    "Consensus",
    "DawidSkene",
    "MajorityVote",
    "PairwiseKappa",
    "Scorecard",
    "aggregate_item",
    "agreement_report",
    "clopper_pearson_interval",
    "compute_scorecards",
    "factorize",
    "fleiss_kappa",
    "fleiss_kappa_per_category",
    "fleiss_kappa_table",
    "krippendorff_alpha",
    "krippendorff_alpha_by",
    "krippendorff_alpha_per_label",
    "krippendorff_alpha_per_label_sets",
    "krippendorff_alpha_sets",
    "labeler_scorecards",
    "masi_distance",
    "pairwise_cohen_kappa",
    "percent_agreement",
    "rating_table",
    "team_scorecards",
    "wilson_interval",
]
