"""Staffing: one model, Erlang C per queue and hour against the SLA, shrinkage, a roster.

An earlier plan divided the work by *measured* productivity (tasks per labeler-hour, idle time
included) and reported "32.6 labelers" for 73 items at 3.7% occupancy next to an Erlang plan
of 1 for the same queue. Now every view shows :class:`StaffingPlan`.

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

import json
import math
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from ._sql import Scope, run
from .metrics import handle_ms
from .period import Filters

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


DEFAULT_SHRINKAGE = 0.30  # breaks, training, meetings: a common planning figure; per project
DEFAULT_SHIFTS = ((0, 8), (8, 8), (16, 8))  # 09-17, 17-01, 01-09 KST when no team has a shift


@dataclass(frozen=True)
class QueueHour:
    """One queue in one clock hour (UTC): measured demand and the Erlang C staffing."""

    queue: str  # a product with its own SLA, or "pooled" for the others
    hour_utc: int
    arrivals_per_hour: float
    aht_seconds: float
    answer_seconds: float  # the queue's SLA
    offered_load: float  # Erlangs
    agents: int  # on task, meeting the service level (0 without arrivals)
    service_level: float
    occupancy: float | None
    scheduled: int  # agents / (1 − shrinkage), rounded up


@dataclass(frozen=True)
class ShiftNeed:
    """A shift of the roster: the labelers it must field against those rostered on it."""

    teams: tuple[str, ...]  # empty for a default shift no team is on
    start_utc: int
    hours: int
    required: int
    rostered: int

    @property
    def gap(self) -> int:
        return self.rostered - self.required


@dataclass(frozen=True)
class StaffingPlan:
    """The one staffing model (dashboard, API and reports all show this object).

    Per queue and UTC hour: arrivals λ (tasks created in that hour of the day, averaged over
    the lookback days) and measured mean handle time; Erlang C gives the fewest agents with
    ``SL(answer) ≥ target``; scheduled = agents / (1 − shrinkage). A shift must field, in
    each of its hours, its share of that hour's scheduled labelers (split evenly among the
    shifts covering the hour), and its requirement is the largest over its hours.
    """

    project: str
    as_of: datetime
    lookback_days: int
    target_service_level: float
    shrinkage: float
    hours: list[QueueHour]
    shifts: list[ShiftNeed]
    uncovered_hours: list[int]  # UTC hours with a need that no shift covers
    backlog_tasks: float
    backlog_labeler_hours: float  # backlog × pooled handle time: on-task hours to clear it

    def scheduled_by_hour(self) -> list[int]:
        out = [0] * 24
        for q in self.hours:
            out[q.hour_utc] += q.scheduled
        return out

    @property
    def peak_scheduled(self) -> int:
        return max(self.scheduled_by_hour())

    @property
    def labeler_hours_per_day(self) -> int:
        return sum(self.scheduled_by_hour())

    @property
    def occupancy_flag(self) -> bool:
        return any(q.occupancy is not None and q.occupancy > MAX_OCCUPANCY for q in self.hours)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["shifts"] = [{**asdict(s), "gap": s.gap} for s in self.shifts]
        d.update(scheduled_by_hour=self.scheduled_by_hour(), peak_scheduled=self.peak_scheduled,
                 labeler_hours_per_day=self.labeler_hours_per_day,
                 occupancy_flag=self.occupancy_flag, max_occupancy=MAX_OCCUPANCY)
        return d


def queue_hour(queue: str, hour: int, arrivals_per_hour: float, aht_seconds: float,
               answer_seconds: float, target_service_level: float,
               shrinkage: float) -> QueueHour:
    """Erlang C for one queue-hour, then shrinkage."""
    if arrivals_per_hour <= 0:
        return QueueHour(queue, hour, 0.0, aht_seconds, answer_seconds, 0.0, 0, 1.0, None, 0)
    e = erlang_staffing(arrivals_per_hour, aht_seconds, target_service_level, answer_seconds)
    return QueueHour(queue, hour, arrivals_per_hour, aht_seconds, answer_seconds,
                     e.offered_load, e.agents, e.service_level, e.occupancy,
                     math.ceil(e.agents / (1.0 - shrinkage) - 1e-9))


def roster_needs(scheduled_by_hour: list[int],
                 shifts: list[tuple[tuple[str, ...], int, int, int]]
                 ) -> tuple[list[ShiftNeed], list[int]]:
    """``shifts``: (teams, start UTC hour, hours, labelers rostered). Each hour's scheduled
    labelers are split evenly (rounded up) among the shifts covering it."""
    cover = [[i for i, (_, st, n, _) in enumerate(shifts) if (h - st) % 24 < n]
             for h in range(24)]
    out = []
    for i, (teams, st, n, rostered) in enumerate(shifts):
        req = max((math.ceil(scheduled_by_hour[h] / len(cover[h]))
                   for h in range(24) if i in cover[h]), default=0)
        out.append(ShiftNeed(teams, st, n, req, rostered))
    uncovered = [h for h in range(24) if not cover[h] and scheduled_by_hour[h] > 0]
    return out, uncovered


def plan_staffing(project: str, as_of: datetime, lookback_days: int,
                  arrivals: dict[tuple[str, int], float], handle: dict[str, tuple[float, float]],
                  answer_seconds: dict[str, float], default_answer_seconds: float,
                  shifts: list[tuple[tuple[str, ...], int, int, int]],
                  target_service_level: float = 0.8, shrinkage: float = DEFAULT_SHRINKAGE,
                  backlog_tasks: float = 0.0, default_aht: float = 60.0) -> StaffingPlan:
    """The arithmetic of :func:`staffing_plan` on measured inputs.

    ``arrivals``: tasks created per (product, UTC hour of day) over the lookback window;
    ``handle``: per product (Σ handle seconds, n); ``answer_seconds``: products with an SLA of
    their own (each its own queue); the others share one pooled queue with the project SLA
    (arrivals summed, handle time pooled over their answers).
    """
    if not 0 <= shrinkage < 1:
        raise ValueError("shrinkage must be in [0, 1)")

    def queue_of(product: str) -> str:
        return product if product in answer_seconds else "pooled"

    def aht(products: list[str]) -> float:
        tot = sum(handle.get(p, (0.0, 0.0))[0] for p in products)
        n = sum(handle.get(p, (0.0, 0.0))[1] for p in products)
        if n:
            return tot / n
        every = sum(v[1] for v in handle.values())
        return sum(v[0] for v in handle.values()) / every if every else default_aht

    products = sorted({p for p, _ in arrivals} | set(handle))
    queues: dict[str, list[str]] = {}
    for p in products:
        queues.setdefault(queue_of(p), []).append(p)
    hours = []
    for q, members in sorted(queues.items()):
        q_aht = aht(members)
        answer = answer_seconds.get(q, default_answer_seconds)
        for h in range(24):
            lam = sum(arrivals.get((p, h), 0.0) for p in members) / lookback_days
            hours.append(queue_hour(q, h, lam, q_aht, answer, target_service_level, shrinkage))
    plan = StaffingPlan(project, as_of, lookback_days, target_service_level, shrinkage, hours,
                        [], [], backlog_tasks, backlog_tasks * aht(queues.get("pooled", products))
                        / 3600.0)
    need, uncovered = roster_needs(plan.scheduled_by_hour(), shifts)
    return replace(plan, shifts=need, uncovered_hours=uncovered)


def staffing_plan(engine: Engine, project: str, now: datetime, lookback_days: int = 7,
                  target_service_level: float = 0.8,
                  shrinkage: float | None = None) -> StaffingPlan:
    """Measure the last ``lookback_days`` of ``project`` and plan (see :class:`StaffingPlan`).

    Arrivals are tasks created (the ``arrivals_per_hour`` metric), handle time the
    ``handle_time_mean_s`` definition, per product; SLAs are the project's
    (``settings.sla_by_product`` overrides ``sla_minutes``); shrinkage is
    ``settings.analytics.shrinkage`` (default :data:`DEFAULT_SHRINKAGE`); the roster is the
    project's teams with a shift, else :data:`DEFAULT_SHIFTS`.
    """
    start = now - timedelta(days=lookback_days)
    with engine.connect() as conn:
        sc = Scope.resolve(conn, Filters(project=project))
        d = sc.d
        params = {**sc.params, "start": start, "end": now}
        hod = d.hour_of_day("t.created_at")
        arrivals = {(str(k), int(h)): float(n) for k, h, n in run(conn, f"""
            SELECT g.key, {hod}, COUNT(*) FROM tasks t
            JOIN items it ON it.id = t.item_id JOIN products g ON g.id = it.product_id
            WHERE t.created_at >= :start AND t.created_at < :end AND {sc.tasks('t')}
            GROUP BY g.key, {hod}""", params).all()}
        ht = f"{handle_ms(d)} / 1000.0"
        handle = {str(k): (float(tot or 0.0), float(n)) for k, tot, n in run(conn, f"""
            SELECT g.key, SUM({ht}), COUNT({ht}) FROM annotations a
            JOIN items it ON it.id = a.item_id JOIN products g ON g.id = it.product_id
            WHERE a.submitted_at >= :start AND a.submitted_at < :end
              AND {sc.annotations('a')}
            GROUP BY g.key""", params).all()}
        sla_min, raw = run(conn, "SELECT sla_minutes, settings FROM projects "
                                 "WHERE id = :project_id", sc.params).one()
        settings = json.loads(raw) if isinstance(raw, str) else (raw or {})
        teams = run(conn, """
            SELECT tm.name, tm.shift_start_utc, tm.shift_hours,
                   SUM(CASE WHEN u.active AND u.role = 'labeler' THEN 1 ELSE 0 END)
            FROM project_teams pt JOIN teams tm ON tm.id = pt.team_id
            LEFT JOIN users u ON u.team_id = tm.id
            WHERE pt.project_id = :project_id AND tm.shift_start_utc IS NOT NULL
            GROUP BY tm.name, tm.shift_start_utc, tm.shift_hours ORDER BY tm.shift_start_utc,
                     tm.name""", sc.params).all()
        backlog = float(run(conn, f"""
            SELECT COUNT(*) FROM tasks t WHERE t.state <> 'cancelled' AND t.created_at < :end
              AND (t.done_at IS NULL OR t.done_at >= :end) AND {sc.tasks('t')}""",
                            params).scalar() or 0)
        conn.rollback()
    by_shift: dict[tuple[int, int], tuple[list[str], int]] = {}
    for name, st, n, rostered in teams:
        names, count = by_shift.get((int(st), int(n or 8)), ([], 0))
        by_shift[(int(st), int(n or 8))] = ([*names, str(name)], count + int(rostered or 0))
    shifts = ([(tuple(v[0]), st, n, v[1]) for (st, n), v in sorted(by_shift.items())]
              or [((), st, n, 0) for st, n in DEFAULT_SHIFTS])
    sla_by = {str(k): float(v) * 60.0 for k, v in (settings.get("sla_by_product") or {}).items()}
    shr = shrinkage if shrinkage is not None else float(
        (settings.get("analytics") or {}).get("shrinkage", DEFAULT_SHRINKAGE))
    return plan_staffing(project, now, lookback_days, arrivals, handle, sla_by,
                         float(sla_min or 24 * 60) * 60.0, shifts, target_service_level, shr,
                         backlog)
