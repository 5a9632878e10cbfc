"""Staffing: labeler-hours to clear the backlog within SLA, and Erlang C for LIVE queues.

Erlang C (Erlang 1917; see Gans, Koole & Mandelbaum 2003, "Telephone call centers: tutorial,
review, and research prospects", M&SOM 5(2), §4.1) models a queue with Poisson arrivals at
rate λ, exponential handle times of mean 1/μ and N agents. With offered load A = λ/μ:

    P(wait) = C(N, A) = [A^N / N! · N/(N − A)] / [Σ_{k<N} A^k / k! + A^N / N! · N/(N − A)]
    service level SL(t) = P(answer ≤ t) = 1 − C(N, A) · exp(−(N − A) · μ · t)
    average speed of answer ASA = C(N, A) / (N μ − λ)
    occupancy = A / N

C is computed from the numerically stable Erlang B recursion B(0) = 1,
B(n) = A·B(n−1) / (n + A·B(n−1)), then C = N·B / (N − A(1 − B)) (no factorials).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from ._sql import Scope, run
from .metrics import MetricSet, arrivals_and_handle_time, compute_metrics
from .period import Filters, Period

MAX_OCCUPANCY = 0.90


def erlang_c(agents: int, load: float) -> float:
    """Probability an arrival waits (Erlang C); 1.0 when the queue is unstable (N ≤ A)."""
    if load <= 0:
        return 0.0
    if agents <= load:
        return 1.0
    b = 1.0
    for n in range(1, agents + 1):
        b = load * b / (n + load * b)
    return agents * b / (agents - load * (1 - b))


@dataclass(frozen=True)
class ErlangPlan:
    """Smallest N meeting the service-level target, and what it implies."""

    arrivals_per_hour: float
    aht_seconds: float
    offered_load: float  # Erlangs
    target_service_level: float
    target_answer_seconds: float
    agents: int
    service_level: float
    prob_wait: float
    asa_seconds: float
    occupancy: float
    occupancy_flag: bool  # occupancy above the cap at the staffing found


def erlang_staffing(arrivals_per_hour: float, aht_seconds: float, target_service_level: float,
                    target_answer_seconds: float, max_occupancy: float = MAX_OCCUPANCY,
                    enforce_occupancy: bool = False, max_agents: int = 10_000) -> ErlangPlan:
    """Minimum agents with ``SL(target_answer_seconds) ≥ target_service_level``.

    With ``enforce_occupancy`` the plan also adds agents until occupancy ≤ ``max_occupancy``;
    otherwise it only flags plans above it (people cannot sustain > 90% for long).
    """
    lam = arrivals_per_hour / 3600.0
    mu = 1.0 / aht_seconds if aht_seconds > 0 else math.inf
    a = lam / mu if lam > 0 else 0.0
    n = max(1, math.floor(a) + 1)
    while True:
        c = erlang_c(n, a)
        sl = 1.0 - c * math.exp(-(n - a) * mu * target_answer_seconds)
        occ = a / n
        ok = sl >= target_service_level and (not enforce_occupancy or occ <= max_occupancy)
        if ok or n >= max_agents:
            break
        n += 1
    asa = c / (n * mu - lam) if n * mu > lam else math.inf
    return ErlangPlan(arrivals_per_hour, aht_seconds, a, target_service_level,
                      target_answer_seconds, n, sl, c, asa, occ, occ > max_occupancy)


@dataclass(frozen=True)
class BacklogPlan:
    """Labeler-hours and concurrent labelers to clear the backlog plus arrivals within SLA."""

    backlog_tasks: float
    arrivals_per_hour: float
    sla_hours: float
    productivity: float | None  # measured tasks per labeler-hour
    aht_seconds: float | None
    labeler_hours_backlog: float | None
    labeler_hours_needed: float | None  # backlog + arrivals over the SLA window
    labelers_needed: float | None  # concurrent, over the SLA window
    occupancy: float | None  # on-task share those labelers would need
    occupancy_flag: bool


def backlog_plan(engine: Engine, project: str, now: datetime, lookback_days: int = 7,
                 max_occupancy: float = MAX_OCCUPANCY) -> BacklogPlan:
    """From the last ``lookback_days``: productivity (tasks per labeler-hour), mean handle
    time and arrival rate; the backlog now. Work over the SLA window = backlog + arrivals;
    labeler-hours = work / productivity; labelers = labeler-hours / SLA hours. Occupancy =
    work × AHT / (labelers × SLA) — measured productivity already includes idle time, so the
    flag fires when the handle time alone would fill more than 90% of those hours."""
    window = Period.between(now - timedelta(days=lookback_days), now)
    ms = compute_metrics(engine, window, Filters(project=project), now)
    with engine.connect() as conn:
        sc = Scope.resolve(conn, Filters(project=project))
        sla_min = run(conn, "SELECT sla_minutes FROM projects WHERE id = :project_id",
                      sc.params).scalar()
        conn.rollback()
    return plan_from_metrics(ms, sla_min, max_occupancy)


def plan_from_metrics(ms: MetricSet, sla_minutes: int | None,
                      max_occupancy: float = MAX_OCCUPANCY) -> BacklogPlan:
    """The arithmetic of :func:`backlog_plan` on a metric set already computed for the
    trailing window (a weekly report reuses its own week instead of scanning it again)."""
    sla_h = float(sla_minutes or 24 * 60) / 60.0
    backlog = ms["backlog_open"].value or 0.0
    arrivals = ms["arrivals_per_hour"].value or 0.0
    prod = ms["productivity"].value
    aht = ms["handle_time_mean_s"].value
    work = backlog + arrivals * sla_h
    if not prod:
        return BacklogPlan(backlog, arrivals, sla_h, prod, aht, None, None, None, None,
                           work > 0)
    hours_backlog = backlog / prod
    hours = work / prod
    labelers = hours / sla_h
    occ = (work * aht / 3600.0) / hours if aht else None
    return BacklogPlan(backlog, arrivals, sla_h, prod, aht, hours_backlog, hours, labelers, occ,
                       bool(occ is not None and occ > max_occupancy))


def live_plan(engine: Engine, project: str, now: datetime, product: str = "live",
              target_service_level: float = 0.8, target_answer_seconds: float = 60.0,
              lookback_hours: float = 24.0) -> ErlangPlan:
    """Erlang C for a LIVE queue from measured arrivals and handle time of ``product``."""
    window = Period.between(now - timedelta(hours=lookback_hours), now)
    arrivals, aht = arrivals_and_handle_time(
        engine, window, Filters(project=project, product=product), now)
    return erlang_staffing(arrivals.value or 0.0, aht.value or 60.0,
                           target_service_level, target_answer_seconds)
