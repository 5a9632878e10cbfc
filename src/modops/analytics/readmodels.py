"""What the dashboards and the analytics JSON API show: one builder per view, JSON-ready.

Both ``modops.web.dashboards`` (HTML pages) and ``modops.api.routers.analytics`` (JSON) call
these builders, so a number on a page and in the API can never disagree. Every builder calls
the analytics functions of this package and only shapes their dataclasses; authorization is
the caller's (``project.analytics`` in the one policy layer).

Periods are ``2026-11-20`` (day), ``2026-W47`` (ISO week) or ``2026-11`` (month), default the
current ISO week; ``now`` (naive UTC) pins "as of" for reproducible reads.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from modops.domain import ValidationError
from modops.store import utcnow
from modops.store.models import Project, ProjectTeam, Team

from .catalogue import KPIS as KPIS  # the overview's KPIs, re-exported for its callers
from .metrics import METHODOLOGY_VERSION, Metric, MetricSet, compute_metrics
from .metrics import gold_accuracy_by_labeler as _gold_by_labeler
from .metrics import pairwise_agreement as _pairwise
from .metrics import throughput_by as _throughput_by
from .period import Filters, Period
from .significance import change_test
from .staffing import staffing_plan
from .trends import compare_periods, label_volume_series

PERIOD_KINDS = ("day", "week", "month")
SPARK_PERIODS = 6  # current period and the five before it
MACHINE_METRICS = ("machine_precision", "machine_recall", "machine_f1", "auto_action_precision",
                   "automated_share", "audit_error_rate_machine", "audit_error_rate_human",
                   "escalation_rate")
AUDIT_METRICS = ("audit_error_rate", "audit_error_rate_machine", "audit_error_rate_human")
AGREEMENT_METRICS = ("krippendorff_alpha", "fleiss_kappa", "percent_agreement")
TEAM_METRICS = ("tasks_finalized", "annotations", "labeler_hours", "productivity",
                "handle_time_median_s", "gold_accuracy", "labor_cost")


# --------------------------------------------------------------------------- inputs
def parse_period(period: str | None, kind: str | None, now: datetime) -> Period:
    """The period asked for, or the one of ``kind`` (default week) containing ``now``.
    Only calendar periods: a dashboard compares like with like."""
    if period:
        try:
            p = Period.parse(period)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        if p.kind not in PERIOD_KINDS:
            raise ValidationError("period must be a day, an ISO week or a month")
        return p
    k = kind if kind in PERIOD_KINDS else "week"
    return Period.containing(k, now)  # type: ignore[arg-type]


def as_of(now: datetime | None) -> datetime:
    """``now`` without a timezone (stored times are naive UTC); default the clock."""
    if now is None:
        return utcnow()
    if now.tzinfo is not None:
        return now.astimezone(UTC).replace(tzinfo=None)
    return now


def check_product(project: Project, product: str | None) -> str | None:
    if not product:
        return None
    if product not in {x.key for x in project.products}:
        raise ValidationError(f"project {project.key!r} has no product {product!r}")
    return product


# --------------------------------------------------------------------------- JSON shaping
def plain(value: Any) -> Any:
    """JSON-safe: NaN/inf → None, tuples → lists, datetimes → ISO text, numpy → Python."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return plain(value.item())
    return value


def plain_object(value: dict[str, Any]) -> dict[str, Any]:
    """``plain`` of a JSON object (typed)."""
    return cast(dict[str, Any], plain(value))


def metric_out(m: Metric) -> dict[str, Any]:
    return plain_object({"value": m.value, "numerator": m.numerator, "denominator": m.denominator,
                  "interval": m.interval, "unit": m.unit,
                  "methodology_version": m.methodology_version, "detail": m.detail})


def period_out(p: Period) -> dict[str, Any]:
    return {"label": p.label, "kind": p.kind, "start": p.start.isoformat(),
            "end": p.end.isoformat()}


# --------------------------------------------------------------------------- builders
def overview(engine: Engine, key: str, period: Period, product: str | None,
             now: datetime) -> dict[str, Any]:
    """Every metric with its period-over-period delta, plus sparklines of the KPIs.

    The comparison is ``compare_periods`` itself (a running period against the same elapsed
    hours of the previous one); the sparkline shows whole calendar periods before the current
    one, each computed as of its own end.
    """
    f = Filters(project=key, product=product)
    cmp = compare_periods(engine, period, f, now)
    older: list[MetricSet] = []
    p = period.previous()  # whole calendar periods, even when the comparison was partial
    prev_whole = (cmp.previous if cmp.previous.period == p
                  else compute_metrics(engine, p, f, min(p.end, now)))
    for _ in range(SPARK_PERIODS - 2):
        p = p.previous()
        older.insert(0, compute_metrics(engine, p, f, min(p.end, now)))
    sets = [*older, prev_whole, cmp.current]
    metrics = {}
    hours = [max((min(ms.period.end, ms.as_of) - ms.period.start).total_seconds() / 3600, 0.0)
             for ms in (cmp.current, cmp.previous)]
    for name, d in cmp.deltas.items():
        test = change_test(d.current, d.previous, hours[0], hours[1])
        metrics[name] = {**metric_out(d.current),
                         "previous": d.previous.value, "delta": d.delta,
                         "relative": d.relative,
                         "change_p": None if test is None else test.p_value,
                         "significant": bool(test is not None and test.significant)}
    sparks = {name: {"periods": [s.period.label for s in sets],
                     "values": [s[name].value for s in sets]} for name in KPIS}
    return plain_object({"project": key, "period": period_out(period),
                  "previous_period": period_out(cmp.previous.period),
                  "as_of": cmp.current.as_of, "filters": asdict(f),
                  "methodology_version": METHODOLOGY_VERSION,
                  "kpis": list(KPIS), "metrics": metrics,
                  "sparklines": sparks})


def label_series(engine: Engine, key: str, period: Period,
                 product: str | None) -> dict[str, Any]:
    s = label_volume_series(engine, period, Filters(project=key, product=product))
    return {"project": key, "period": period_out(period), "days": s.days, "counts": s.counts}


def _team_names(session: Session, project: Project, seen: list[str]) -> list[str]:
    names = set(session.scalars(select(Team.name).join(
        ProjectTeam, ProjectTeam.team_id == Team.id).where(ProjectTeam.project_id == project.id)))
    return sorted(names | {n for n in seen if n != "(none)"})


def quality(engine: Engine, session: Session, project: Project, period: Period,
            product: str | None, now: datetime) -> dict[str, Any]:
    """Gold accuracy by labeler, agreement (alpha, kappa, pairwise), audit error, and a
    scorecard per team (the same metric set filtered by team)."""
    key = project.key
    f = Filters(project=key, product=product)
    ms = compute_metrics(engine, period, f, now)
    gold = _gold_by_labeler(engine, period, f)
    pk = _pairwise(engine, period, f)
    pairs = []
    names = [str(x) for x in pk.labelers]
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if pk.n_shared[i, j] > 0:
                pairs.append({"a": names[i], "b": names[j], "kappa": float(pk.kappa[i, j]),
                              "shared_items": int(pk.n_shared[i, j])})
    by_team = _throughput_by(engine, period, "team", f, now)
    teams = {}
    for team in _team_names(session, project, list(by_team)):
        tm = compute_metrics(engine, period, Filters(project=key, product=product, team=team),
                             now)
        teams[team] = {n: metric_out(tm[n]) for n in TEAM_METRICS}
    return plain_object({
        "project": key, "period": period_out(period), "as_of": ms.as_of,
        "gold_accuracy": metric_out(ms["gold_accuracy"]),
        "gold_accuracy_by_labeler": {u: metric_out(m) for u, m in gold.items()},
        "agreement": {n: metric_out(ms[n]) for n in AGREEMENT_METRICS},
        "pairwise_kappa": pairs,
        "audit": {n: metric_out(ms[n]) for n in AUDIT_METRICS},
        "teams": teams,
    })


def machine(engine: Engine, key: str, period: Period, product: str | None,
            now: datetime) -> dict[str, Any]:
    ms = compute_metrics(engine, period, Filters(project=key, product=product), now)
    return plain_object({"project": key, "period": period_out(period), "as_of": ms.as_of,
                  "metrics": {n: metric_out(ms[n]) for n in MACHINE_METRICS}})


def staffing(engine: Engine, key: str, now: datetime,
             target_service_level: float = 0.8) -> dict[str, Any]:
    """The project's :class:`~modops.analytics.StaffingPlan` (the same object reports show)."""
    return plain_object(staffing_plan(engine, key, now,
                                      target_service_level=target_service_level).to_dict())
