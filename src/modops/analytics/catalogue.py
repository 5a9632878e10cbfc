"""The metric catalogue: every metric's name, unit, direction, group, target and definition.

One :class:`MetricSpec` per metric :func:`compute_metrics` returns, and one :class:`UnitSpec`
per unit. Everything that names, formats, colours or documents a metric reads it from here:
the unit a :class:`~modops.analytics.metrics.Metric` carries (``metrics.ratio``/``plain``), the
dashboards and the JSON API (KPIs and their direction), the reports (names, change colours,
default targets) and ``docs/metrics.md``, which is generated from this module::

    python -m modops.analytics.metrics_doc > docs/metrics.md

(a test fails when the committed file differs). :func:`format_value` is the one formatter per
unit, used by the web pages and every report format alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from modops.i18n import Lang

Direction = Literal["up", "down", "none"]  # which way is good news


# --------------------------------------------------------------------------- units
@dataclass(frozen=True)
class UnitSpec:
    """How a unit is shown. ``kind`` is the report column kind (Excel number format) and the
    shape :func:`format_value` gives the number; ``suffix``/``prefix`` are (Korean, English)."""

    key: str
    kind: str
    suffix: tuple[str, str] = ("", "")
    prefix: tuple[str, str] = ("", "")


# Labor cost is in won (``teams.hourly_cost``): no minor unit, so no decimals.
UNITS: dict[str, UnitSpec] = {u.key: u for u in (
    UnitSpec("share", "pct"),
    UnitSpec("share of views", "pct"),
    UnitSpec("coefficient", "float3"),
    UnitSpec("score", "float3"),
    UnitSpec("tasks", "int"),
    UnitSpec("items", "int"),
    UnitSpec("annotations", "int"),
    UnitSpec("hours", "hours", suffix=("시간", " h")),
    UnitSpec("seconds", "seconds", suffix=("초", " s")),
    UnitSpec("currency", "money", prefix=("₩", "KRW ")),
    UnitSpec("currency/item", "money", prefix=("₩", "KRW ")),
    UnitSpec("tasks/hour", "float2"),
    UnitSpec("tasks/day", "float2"),
    UnitSpec("tasks/labeler-hour", "float2"),
    UnitSpec("appeals/actioned item", "float2"),
    UnitSpec("views/item", "float2"),
    UnitSpec("labelers", "float1"),
    UnitSpec("erlangs", "float2"),
)}
DEFAULT_UNIT = UnitSpec("", "float2")


def unit_spec(unit: str) -> UnitSpec:
    return UNITS.get(unit, DEFAULT_UNIT)


def unit_kind(unit: str) -> str:
    """The report column kind of a metric unit."""
    return unit_spec(unit).kind


def is_missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def format_number(x: float, kind: str, lang: Lang | str) -> str:
    """A number in one of the unit kinds (signed and delta kinds are the reports')."""
    spec = next((u for u in UNITS.values() if u.kind == kind), DEFAULT_UNIT)
    i = 0 if lang == "ko" else 1
    if kind == "int":
        body = f"{x:,.0f}"
    elif kind == "float1":
        body = f"{x:,.1f}"
    elif kind == "float3":
        body = f"{x:.3f}"
    elif kind == "pct":
        body = f"{x * 100:.1f}%"
    elif kind == "pct2":
        body = f"{x * 100:.2f}%"
    elif kind in ("hours", "seconds"):
        body = f"{x:,.1f}"
    elif kind == "money":
        body = f"{x:,.0f}"
    else:
        body = f"{x:,.2f}"
    return f"{spec.prefix[i]}{body}{spec.suffix[i]}"


def format_value(value: float | None, unit: str, lang: Lang | str) -> str:
    """A metric value as people read it, the same on every page and in every report:
    shares as %, coefficients to 3 places, counts with separators, hours and seconds with
    their suffix (시간/초, h/s), money in won without decimals (₩ / KRW)."""
    if is_missing(value):
        return "—"
    assert value is not None
    return format_number(float(value), unit_kind(unit), lang)


# --------------------------------------------------------------------------- metrics
@dataclass(frozen=True)
class Target:
    """Default thresholds: ``green`` and ``amber`` in the metric's good direction. ``sla``
    targets are the project's SLA (green within it, amber within twice it)."""

    green: float = 0.0
    amber: float = 0.0
    sla: bool = False
    source: str = ""


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: str
    direction: Direction
    group: str
    name_ko: str
    name_en: str
    definition_en: str  # Markdown; the methodology (docs/metrics.md)
    definition_ko: str
    target: Target | None = None

    def display_name(self, lang: Lang | str) -> str:
        return self.name_ko if lang == "ko" else self.name_en

    def definition(self, lang: Lang | str) -> str:
        return self.definition_ko if lang == "ko" else self.definition_en


@dataclass(frozen=True)
class Group:
    key: str
    title_en: str
    title_ko: str
    intro: str  # Markdown, above the group's table in docs/metrics.md


GROUPS: tuple[Group, ...] = (
    Group("throughput", "Throughput and backlog (table `tasks`)", "처리량 및 백로그", """\
`throughput_by(engine, period, by)` breaks throughput down by `project`, `product`, `team`
(the assignee's team) or `labeler`."""),
    Group("work", "Work: handle time, productivity, gold, cost (table `annotations`, by "
          "`submitted_at`)", "작업: 처리 시간, 생산성, 골드, 비용", ""),
    Group("agreement", "Agreement (label-slot annotations, `kind = label`, by `submitted_at`)",
          "라벨러 간 일치도", """\
Units are items; the nominal category is the whole label list. Only units with ≥ 2 labels
count (pairable). The database returns the histogram `(category, m_u, n_uc, #units)`, from
which the coefficients below are sums. They equal `modops.quality.krippendorff_alpha` /
`fleiss_kappa` on the raw rows (tested). Pairwise Cohen's kappa: `pairwise_agreement()` (raw
rows → `modops.quality.pairwise_cohen_kappa`).

**Multi-label answers (label sets).** When some answer in the period holds two or more
labels, a whole set as one nominal category would count `{hate.gender, profanity}` vs
`{hate.gender}` as a total disagreement. The database then also returns the coincidence
matrix of the distinct sets, `o_ST = Σ_u n_uS (n_uT − [S = T]) / (m_u − 1)`, and
`krippendorff_alpha` becomes alpha with a set distance `δ` (Krippendorff 2011, §C):
`α = 1 − (n − 1) Σ_ST o_ST δ_ST / Σ_ST n_S n_T δ_ST`, `n_S = Σ_T o_ST`, with **MASI**
(Passonneau 2006: `δ = 1 − J·M`, `J = |S∩T|/|S∪T|`, `M` = 1 equal, 2/3 subset, 1/3 overlap,
0 disjoint; `detail.distance = "masi"`), Jaccard (`detail.alpha_jaccard`) and whole-set
nominal (`detail.alpha_nominal_sets`) beside it. On single-label data all three equal
nominal alpha. `detail.per_label` is then **binary alpha per label** ("has c" or not):
`α_c = 1 − (n − 1) D_c / (2 n_c (n − n_c))`, `D_c = Σ_ST o_ST [c∈S ≠ c∈T]`. Hand-computed
case (tests): U1 `{a}`/`{a,b}`, U2 `{b}`/`{b}`, U3 `{a}`/`{c}` → MASI α = 2/7, Jaccard 7/22,
nominal-on-sets 3/13; per label a = 4/9, b = 4/9, c = 0. Fleiss' kappa and percent agreement
stay nominal on whole sets. Library: `modops.quality.krippendorff_alpha_sets`,
`krippendorff_alpha_per_label_sets`."""),
    Group("content", "Content (table `items`, decided in the period unless stated)",
          "콘텐츠 (기간 내 결정된 항목)", """\
Machine precision/recall here are measured where humans decided — mostly the uncertain band
between the routing thresholds — so they describe the model where it matters for the queue;
the auto-action band is covered by `auto_action_precision`, and an unbiased full-range view
is the prevalence sample."""),
    Group("prevalence", "Prevalence (uniform sample: `in_prevalence_sample`, by `ingested_at`)",
          "유병률 (균등 표본)", """\
Sample = items with `in_prevalence_sample` ingested in the period and decided by now."""),
    Group("audit", "Audits and appeals", "감사 및 이의신청", """\
An audit error is an audit annotation (`kind = audit`, by `submitted_at`) whose label list
differs from the decision in force when the audit was leased (`started_at`; falls back to the
current decision). So a decision corrected after an audit still counts as an error."""),
)

_BUCKET = ("open tasks at `as_of` aged {} (`as_of − created_at`, lower bound inclusive)",
           "`as_of` 시점 미처리 작업 중 대기 시간이 {}인 작업 수")
_AUDIT = ("audits whose labels differ from the decision in force{} / audits{}; Wilson 95%",
          "감사 결과 라벨이 당시 유효한 결정과 다른 비율{}")


def _spec(name: str, unit: str, direction: Direction, group: str, ko: str, en: str,
          def_en: str, def_ko: str, target: Target | None = None) -> MetricSpec:
    return MetricSpec(name, unit, direction, group, ko, en, def_en, def_ko, target)


# In the order of the methodology document.
METRICS: tuple[MetricSpec, ...] = (
    # throughput and backlog
    _spec("tasks_finalized", "tasks", "up", "throughput", "완료 작업 수", "Tasks finalized",
          "tasks `state = done` with `done_at` in the period",
          "기간 내 완료(`done`)된 작업 수"),
    _spec("throughput_per_hour", "tasks/hour", "up", "throughput", "시간당 처리량",
          "Throughput per hour", "tasks finalized / elapsed hours (`as_of − start`)",
          "완료 작업 수 / 경과 시간"),
    _spec("throughput_per_day", "tasks/day", "up", "throughput", "일 처리량",
          "Throughput per day", "tasks finalized / (elapsed hours / 24)",
          "완료 작업 수 / 경과 일수"),
    _spec("arrivals_per_hour", "tasks/hour", "none", "throughput", "시간당 유입 작업",
          "Arrivals per hour", "tasks with `created_at` in the period / elapsed hours",
          "기간 내 생성된 작업 수 / 경과 시간"),
    _spec("backlog_open", "tasks", "down", "throughput", "미처리 작업", "Open backlog",
          "tasks open at `as_of`: not cancelled, `created_at < as_of`, and `done_at` null or "
          "≥ `as_of` (reconstructs past snapshots)",
          "`as_of` 시점에 열려 있던 작업 수 (과거 시점도 재구성)"),
    _spec("backlog_oldest_age_h", "hours", "down", "throughput", "최장 대기 시간",
          "Oldest open task", "max age of an open task at `as_of`",
          "`as_of` 시점 가장 오래 기다린 미처리 작업의 대기 시간"),
    _spec("backlog_forecast_clear_h", "hours", "down", "throughput", "백로그 해소 예상 시간",
          "Forecast time to clear",
          "open tasks / tasks done per hour over the 24 h before `as_of` (0 open → 0; no "
          "throughput → none)",
          "미처리 작업 수 / 직전 24시간의 시간당 완료 작업 수",
          Target(sla=True, source="the project's SLA: green within it, amber within 2 × SLA")),
    _spec("backlog_age_lt_1h", "tasks", "none", "throughput", "1시간 미만", "< 1 h",
          _BUCKET[0].format("under 1 h"), _BUCKET[1].format("1시간 미만")),
    _spec("backlog_age_1_4h", "tasks", "none", "throughput", "1–4시간", "1–4 h",
          _BUCKET[0].format("1–4 h"), _BUCKET[1].format("1–4시간")),
    _spec("backlog_age_4_24h", "tasks", "none", "throughput", "4–24시간", "4–24 h",
          _BUCKET[0].format("4–24 h"), _BUCKET[1].format("4–24시간")),
    _spec("backlog_age_1_3d", "tasks", "none", "throughput", "1–3일", "1–3 d",
          _BUCKET[0].format("1–3 days"), _BUCKET[1].format("1–3일")),
    _spec("backlog_age_gt_3d", "tasks", "none", "throughput", "3일 초과", "> 3 d",
          _BUCKET[0].format("over 3 days"), _BUCKET[1].format("3일 초과")),
    # work
    _spec("annotations", "annotations", "none", "work", "제출된 라벨 수",
          "Annotations submitted", "annotations with `submitted_at` in the period",
          "기간 내 제출된 라벨(답변) 수"),
    _spec("handle_time_median_s", "seconds", "none", "work", "처리 시간 중앙값",
          "Handle time, median",
          "median time on task = `handle_ms`, or lease start → submit (`submitted_at − "
          "started_at`) when missing; linear interpolation (`numpy.quantile` default = "
          "PostgreSQL `percentile_cont`)",
          "작업당 처리 시간(`handle_ms`, 없으면 할당~제출 시간)의 중앙값"),
    _spec("handle_time_p90_s", "seconds", "none", "work", "처리 시간 p90", "Handle time, p90",
          "90th percentile of time on task (as the median)", "작업당 처리 시간의 90백분위수"),
    _spec("handle_time_mean_s", "seconds", "none", "work", "처리 시간 평균",
          "Handle time, mean", "Σ time on task / annotations with a time",
          "처리 시간 합계 / 처리 시간이 있는 답변 수"),
    _spec("labeler_hours", "hours", "none", "work", "라벨러 작업 시간",
          "Labeler-hours (active)",
          "distinct (labeler, clock hour) pairs with at least one submission — *active* "
          "hours; ModOps has no shift/login table (see \"Limits\")",
          "제출이 1건 이상 있는 (라벨러, 시각) 쌍의 수 — 실제 활동 시간"),
    _spec("productivity", "tasks/labeler-hour", "up", "work", "생산성 (작업/라벨러·시간)",
          "Productivity (tasks/labeler-hour)", "tasks finalized / labeler-hours",
          "완료 작업 수 / 라벨러 작업 시간"),
    _spec("utilization", "share", "none", "work", "가동률", "Utilization",
          "Σ time on task (hours) / labeler-hours", "처리 시간 합계(시간) / 라벨러 작업 시간"),
    _spec("gold_accuracy", "share", "up", "work", "골드 정확도", "Gold accuracy",
          "gold annotations with `correct = true` / gold annotations scored (`correct` not "
          "null); Wilson 95%. `gold_accuracy_by_labeler()` per labeler",
          "채점된 골드 답변 중 정답 비율 (Wilson 95% 구간)",
          Target(0.90, 0.85)),
    _spec("labor_cost", "currency", "none", "work", "인건비", "Labor cost",
          "Σ over labelers of labeler-hours × their team's `hourly_cost`, in the team's "
          "`currency` (ISO 4217, KRW by default; `detail.currency`). Never converted: teams "
          "paid in several currencies give no total (`detail.by_currency`). Hours of labelers "
          "without a rate are in `detail.uncosted_labeler_hours`. Set with `modops users team "
          "NAME --hourly-cost 24000 --currency KRW` or `PUT /api/v1/teams/{name}`",
          "라벨러별 작업 시간 × 소속 팀 시간당 비용(원)의 합"),
    _spec("cost_per_item", "currency/item", "down", "work", "건당 비용", "Cost per item",
          "labor cost / `items_finalized` (all routes: automation lowers it, which is the "
          "point of comparing threshold settings)",
          "인건비 / 최종 결정 콘텐츠 수 (자동 처리 포함)"),
    # agreement
    _spec("krippendorff_alpha", "coefficient", "up", "agreement", "크리펜도르프 알파",
          "Krippendorff's alpha",
          "nominal alpha, Krippendorff (2011): with `n = Σ n_uc`, `o_cc = Σ n_uc(n_uc − 1)/"
          "(m_u − 1)`, `α = 1 − (n − 1)(n − Σ_c o_cc)/(n² − Σ_c n_c²)`; `detail.per_label` "
          "holds one-vs-rest alpha per category",
          "명목 척도 크리펜도르프 알파 (라벨별 일대다 알파 포함)",
          Target(0.80, 0.667, source="Krippendorff (2004): ≥ .800, tentative ≥ .667")),
    _spec("fleiss_kappa", "coefficient", "up", "agreement", "플라이스 카파", "Fleiss' kappa",
          "Fleiss (1971) with the variable-n extension of `modops.quality`: `P_i = (Σ_c n_ic² "
          "− m_i)/(m_i(m_i − 1))`, `P_e = Σ_c p_c²`, `κ = (P̄ − P_e)/(1 − P_e)`",
          "플라이스 카파 (항목별 라벨러 수가 달라도 되는 확장)"),
    _spec("percent_agreement", "share", "up", "agreement", "라벨 일치율", "Percent agreement",
          "`P̄`, the mean pairwise agreement within items", "항목 내 라벨러 쌍의 평균 일치 비율"),
    # content
    _spec("items_finalized", "items", "up", "content", "최종 결정 콘텐츠 수",
          "Items finalized", "items with `decided_at` in the period",
          "기간 내 최종 결정된 콘텐츠 수"),
    _spec("sla_attainment", "share", "up", "content", "SLA 준수율", "SLA attainment",
          "items finalized with `decided_at ≤ due_at` (if `due_at` is null: decided within "
          "the project's `sla_minutes` of `ingested_at`) / items finalized",
          "기한(`due_at`) 안에 결정된 콘텐츠 비율", Target(0.95, 0.90)),
    _spec("proactive_rate", "share", "up", "content", "선제 탐지율", "Proactive rate",
          "actioned items a **machine signal** flagged before any user report (a routing "
          "decision at or before `reported_at`, or never reported, whose score reached the "
          "project's flag threshold `settings.analytics.score_threshold` (0.5), or that "
          "auto-actioned the item, or whose reason is a bank/hash match `match:…` or a rule "
          "`rule:…`) / actioned items. Being routed to people is not a signal (it read 100%, "
          "474/474)",
          "조치된 콘텐츠 중 사용자 신고 전에 모델이 먼저 잡은 비율", Target(0.80, 0.60)),
    _spec("zero_view_removal_rate", "share", "up", "content", "조회 0회 삭제 비율",
          "Zero-view removal rate",
          "removed items with `views_at_decision = 0` / removed items with views known",
          "삭제된 콘텐츠 중 조회 0회에 삭제된 비율"),
    _spec("removal_within_24h", "share", "up", "content", "24시간 내 삭제 비율",
          "Removed within 24 h",
          "removed items with `decided_at − created_at ≤ 24 h` / removed items",
          "삭제된 콘텐츠 중 게시 후 24시간 안에 삭제된 비율"),
    _spec("time_to_action_median_h", "hours", "down", "content", "조치 소요 시간 중앙값",
          "Time to action, median",
          "median of `decided_at − created_at` over actioned items",
          "조치된 콘텐츠의 게시~결정 시간 중앙값"),
    _spec("time_to_action_p90_h", "hours", "down", "content", "조치 소요 시간 p90",
          "Time to action, p90", "90th percentile of `decided_at − created_at` over actioned "
          "items", "조치된 콘텐츠의 게시~결정 시간 90백분위수"),
    _spec("views_before_action", "views/item", "down", "content", "조치 전 평균 조회수",
          "Views before action (per item)",
          "Σ `views_at_decision` of actioned items / actioned items with views known",
          "조치된 콘텐츠가 조치 전까지 받은 평균 조회수"),
    _spec("automated_share", "share", "up", "content", "자동 처리 비율", "Automated share",
          "items whose decision in force is `machine` / items finalized with a decision",
          "유효한 결정이 모델 자동 결정인 콘텐츠 비율"),
    _spec("escalation_rate", "share", "none", "content", "에스컬레이션 비율",
          "Escalation rate", "human-decided items with `escalated_at` set / human-decided "
          "items", "사람이 결정한 콘텐츠 중 검토자에게 올라간 비율"),
    _spec("machine_precision", "share", "up", "content", "모델 정밀도", "Model precision",
          "on human-decided items with a score: predicted = `machine_score ≥ threshold` "
          "(project `settings.analytics.score_threshold`, default 0.5), truth = actioned; "
          "TP/(TP+FP)", "사람이 결정한 항목에서 모델이 위반으로 본 것 중 실제 조치 비율"),
    _spec("machine_recall", "share", "up", "content", "모델 재현율", "Model recall",
          "as precision; TP/(TP+FN)", "사람이 결정한 항목에서 실제 조치 중 모델이 잡은 비율"),
    _spec("machine_f1", "score", "up", "content", "모델 F1", "Model F1",
          "as precision; 2TP/(2TP+FP+FN)", "정밀도와 재현율의 조화 평균"),
    # prevalence
    _spec("prevalence", "share", "down", "prevalence", "유병률", "Prevalence",
          "violating / sampled, Wilson 95%. With a label filter, \"violating\" means \"final "
          "labels include that label\"; the denominator stays the whole sample",
          "균등 표본 중 위반 콘텐츠 비율 (Wilson 95% 구간)"),
    _spec("prevalence_views", "share of views", "down", "prevalence", "조회 가중 유병률",
          "View-weighted prevalence",
          "Σ views of violating / Σ views (current `view_count`), a ratio estimator; interval "
          "= Wilson at Kish's effective sample size `n_eff = (Σw)²/Σw²`",
          "표본 조회수 중 위반 콘텐츠 조회수 비율"),
    _spec("prevalence_sample_needed", "items", "none", "prevalence", "필요 표본 수 (±0.5%p)",
          "Sample needed (±0.5 pt)",
          "smallest n whose Wilson 95% half-width at the current estimate (0.5 if none) is ≤ "
          "the target margin (default ±0.5 points); `sample_size_for_margin(p, margin)`",
          "현재 추정치에서 95% 구간 반폭이 ±0.5%p 이하가 되는 최소 표본 수"),
    # audits and appeals
    _spec("audit_error_rate", "share", "down", "audit", "감사 오류율", "Audit error rate",
          _AUDIT[0].format("", ""), _AUDIT[1].format(""), Target(0.05, 0.10)),
    _spec("audit_error_rate_machine", "share", "down", "audit", "감사 오류율 (자동 결정)",
          "Audit error rate (machine)", _AUDIT[0].format(" (source machine)", " of machine "
                                                         "decisions"),
          _AUDIT[1].format(" (모델 자동 결정)")),
    _spec("audit_error_rate_human", "share", "down", "audit", "감사 오류율 (사람 결정)",
          "Audit error rate (human)", _AUDIT[0].format(" (human sources)", " of human "
                                                       "decisions"),
          _AUDIT[1].format(" (사람 결정)")),
    _spec("auto_action_precision", "share", "up", "audit", "자동 조치 정밀도",
          "Auto-action precision", "1 − error rate of audits of machine decisions that "
          "actioned; Wilson 95%", "자동 조치된 결정의 감사에서 오류가 없었던 비율",
          Target(0.95, 0.90)),
    _spec("appeal_rate", "appeals/actioned item", "none", "audit", "이의신청률", "Appeal rate",
          "appeals opened in the period / actioned items finalized in the period",
          "기간 내 접수된 이의신청 수 / 조치된 콘텐츠 수"),
    _spec("appeal_overturn_rate", "share", "down", "audit", "이의신청 번복률",
          "Appeal overturn rate",
          "appeals resolved (upheld or overturned) in the period that were overturned / "
          "appeals resolved in the period; Wilson 95%",
          "처리된 이의신청 중 결정이 번복된 비율", Target(0.10, 0.20)),
)
SPECS: dict[str, MetricSpec] = {m.name: m for m in METRICS}

# The dashboard overview's KPIs (and the JSON API's ``kpis`` and sparklines), in order.
KPIS: tuple[str, ...] = (
    "throughput_per_day", "backlog_open", "sla_attainment", "gold_accuracy",
    "krippendorff_alpha", "prevalence", "automated_share", "time_to_action_median_h",
    "appeal_overturn_rate",
)


def spec(name: str) -> MetricSpec:
    return SPECS[name]


def unit_of(name: str) -> str:
    return SPECS[name].unit


def metric_name(name: str, lang: Lang | str) -> str:
    """The metric's name in ``lang``; an unknown name prints as its key, so a metric added
    later still shows up instead of breaking a page or a report."""
    s = SPECS.get(name)
    return name if s is None else s.display_name(lang)


def direction(name: str) -> Direction:
    s = SPECS.get(name)
    return "none" if s is None else s.direction


def default_targets() -> dict[str, MetricSpec]:
    """Metrics with a default target."""
    return {m.name: m for m in METRICS if m.target is not None}
