"""Staffing (Erlang C, backlog plan) and the transparency CSV on the one-day fixture."""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from modops.analytics import Filters, Period, compute_metrics
from modops.analytics.metrics import arrivals_and_handle_time
from modops.analytics.staffing import backlog_plan, erlang_c, erlang_staffing, live_plan
from modops.analytics.transparency import transparency_csv


def test_erlang_c_textbook_values() -> None:
    # A = 2 Erlangs, N = 3: C = (8/6 · 3) / (1 + 2 + 2 + 8/6 · 3) = 4/9
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9)
    assert erlang_c(2, 2.0) == 1.0  # unstable
    # 360 arrivals/h, AHT 60 s → A = 6; 80% answered within 20 s
    plan = erlang_staffing(360, 60, 0.8, 20)
    sl = lambda n: 1 - erlang_c(n, 6) * math.exp(-(n - 6) * 20 / 60)  # noqa: E731
    assert sl(plan.agents) >= 0.8 > sl(plan.agents - 1)
    assert plan.offered_load == pytest.approx(6)
    assert plan.occupancy == pytest.approx(6 / plan.agents)
    assert plan.asa_seconds == pytest.approx(erlang_c(plan.agents, 6) * 60 / (plan.agents - 6))


def test_occupancy_flag() -> None:
    # a huge queue meets a loose target at > 90% occupancy: flagged, or staffed up if enforced
    loose = erlang_staffing(36_000, 60, 0.5, 300)
    assert loose.occupancy > 0.9 and loose.occupancy_flag
    capped = erlang_staffing(36_000, 60, 0.5, 300, enforce_occupancy=True)
    assert capped.occupancy <= 0.9 and not capped.occupancy_flag


def test_backlog_plan(engine: Engine, day: dict[str, int]) -> None:
    plan = backlog_plan(engine, "kr-comments", datetime(2026, 11, 21), lookback_days=1)
    # the fixture day: 5 open tasks, 21 arrivals in 24 h, 19 tasks per 16 labeler-hours
    assert plan.backlog_tasks == 5
    assert plan.sla_hours == 24
    assert plan.productivity == pytest.approx(19 / 16)
    work = 5 + 21 / 24 * 24
    assert plan.labeler_hours_needed == pytest.approx(work / (19 / 16))
    assert plan.labelers_needed == pytest.approx(work / (19 / 16) / 24)
    assert plan.occupancy == pytest.approx(work * 100 / 3600 / (work / (19 / 16)), rel=1e-6)
    assert not plan.occupancy_flag


def test_transparency_csv(engine: Engine, day: dict[str, int]) -> None:
    text = transparency_csv(engine, Period.parse("2026-11-20"), Filters(project="kr-comments"),
                            now=datetime(2026, 11, 22))
    rows = list(csv.DictReader(io.StringIO(text)))
    policy = {(r["policy_label"], r["detection_source"], r["decision_type"]): r
              for r in rows if r["policy_label"]}
    # I1 + I8: harassment, machine-flagged, human decision, removed after 8 h and 2 h
    har = policy[("harassment", "automated", "human")]
    assert (har["items_actioned"], har["removed"]) == ("2", "2")
    assert float(har["median_time_to_action_h"]) == pytest.approx(5)
    assert har["policy_name_ko"] == "괴롭힘·모욕 (악플)"
    # I2 auto-actioned profanity; I10 reported before the machine saw it; I4 spam unscored
    assert policy[("profanity", "automated", "automated")]["restricted"] == "1"
    assert policy[("profanity", "user_report", "human")]["restricted"] == "1"
    assert policy[("spam", "user_report", "human")]["removed"] == "1"
    assert sum(int(r["items_actioned"]) for r in policy.values()) == 6
    summary = {r["metric"]: r for r in rows if r["metric"]}
    assert float(summary["automated_share"]["value"]) == pytest.approx(2 / 11)
    assert float(summary["auto_action_precision"]["value"]) == pytest.approx(1 / 2)


@pytest.mark.parametrize("product", [None, "comment", "live"])
def test_live_plan_inputs_are_the_metric_sets(engine: Engine, day: dict[str, int],
                                              product: str | None) -> None:
    """The narrow queries behind live_plan give compute_metrics' numbers exactly."""
    now = datetime(2026, 11, 21)
    window = Period.between(now - timedelta(hours=24), now)
    f = Filters(project="kr-comments", product=product)
    ms = compute_metrics(engine, window, f, now)
    arrivals, aht = arrivals_and_handle_time(engine, window, f, now)
    assert arrivals == ms["arrivals_per_hour"]
    assert aht == ms["handle_time_mean_s"]
    plan = live_plan(engine, "kr-comments", now, product=product or "comment")
    if product == "comment":
        assert plan == erlang_staffing(ms["arrivals_per_hour"].value or 0.0,
                                       ms["handle_time_mean_s"].value or 60.0, 0.8, 60.0)
