"""Staffing (Erlang C, backlog plan) and the transparency CSV on the one-day fixture."""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime

import pytest
from sqlalchemy import Engine

from modops.analytics import Filters, Period
from modops.analytics.staffing import erlang_c, erlang_staffing, plan_staffing, staffing_plan
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


def test_staffing_plan_by_hand() -> None:
    """λ = 30 tasks/h at AHT 240 s is A = 2 Erlangs; target 80% within 60 s.

    N = 3: C = 4/9, SL = 1 − 4/9 · e^(−(3 − 2)·60/240) = 0.654 < 0.8.
    N = 4: B(4) = 2/21, C = 4·(2/21)/(4 − 2·19/21) = 4/23, SL = 1 − 4/23 · e^(−0.5) = 0.895.
    Shrinkage 30%: scheduled = ⌈4 / 0.7⌉ = 6. Shifts A (08–11 UTC, 5 rostered) and B (10–17,
    3 rostered) both cover 10 and 11 h, so each fields ⌈6/2⌉ = 3 there; 20 h is uncovered.
    """
    arrivals = {("comment", 10): 7 * 30.0, ("live", 11): 7 * 30.0, ("comment", 20): 7 * 30.0}
    handle = {"comment": (240.0 * 10, 10.0), "live": (240.0 * 5, 5.0)}
    plan = plan_staffing("p", datetime(2026, 11, 21), 7, arrivals, handle, {"live": 60.0}, 60.0,
                         [(("A",), 8, 4, 5), (("B",), 10, 8, 3)], 0.8, 0.3, backlog_tasks=30)
    by = {(q.queue, q.hour_utc): q for q in plan.hours}
    q = by[("pooled", 10)]
    assert (q.arrivals_per_hour, q.aht_seconds, q.offered_load) == (30.0, 240.0, 2.0)
    assert q.agents == 4 and q.scheduled == 6
    assert q.service_level == pytest.approx(1 - 4 / 23 * math.exp(-0.5))
    assert q.occupancy == pytest.approx(0.5)
    assert by[("live", 11)].scheduled == 6 and by[("live", 10)].agents == 0
    assert plan.scheduled_by_hour()[10] == 6 and plan.peak_scheduled == 6
    assert plan.labeler_hours_per_day == 18
    a, b = plan.shifts
    assert (a.required, a.rostered, a.gap) == (3, 5, 2)
    assert (b.required, b.rostered, b.gap) == (3, 3, 0)
    assert plan.uncovered_hours == [20]
    assert plan.backlog_labeler_hours == pytest.approx(30 * 240 / 3600)


def test_staffing_plan_from_the_database(engine: Engine, day: dict[str, int]) -> None:
    plan = staffing_plan(engine, "kr-comments", datetime(2026, 11, 21), lookback_days=1)
    # 21 tasks created on the fixture day (the arrivals_per_hour metric's count), all products
    # pooled (no product SLA), handle time 1900 s over 19 answers
    assert sum(q.arrivals_per_hour for q in plan.hours) == pytest.approx(21)
    assert {q.queue for q in plan.hours} == {"pooled"}
    assert [q.aht_seconds for q in plan.hours] == pytest.approx([100.0] * 24)
    assert {q.answer_seconds for q in plan.hours} == {24 * 3600}
    assert plan.backlog_tasks == 5
    # no team has a shift: the three default 8-hour shifts
    assert [(s.start_utc, s.hours) for s in plan.shifts] == [(0, 8), (8, 8), (16, 8)]
    # each hour with arrivals and a 24 h SLA needs one labeler on task (N > A suffices)
    for q in plan.hours:
        assert q.agents == (1 if q.arrivals_per_hour else 0)
    assert plan.to_dict()["peak_scheduled"] == 2  # ⌈1 / 0.7⌉


def test_transparency_csv(engine: Engine, day: dict[str, int]) -> None:
    text = transparency_csv(engine, Period.parse("2026-11-20"), Filters(project="kr-comments"),
                            now=datetime(2026, 11, 22))
    rows = list(csv.DictReader(io.StringIO(text)))
    policy = {(r["policy_label"], r["detection_source"], r["decision_type"]): r
              for r in rows if r["policy_label"]}
    # I1: harassment, machine-flagged (0.8), human decision, removed after 8 h; I8 (0.3, never
    # reported) was found by people without a machine signal
    har = policy[("harassment", "automated", "human")]
    assert (har["items_actioned"], har["removed"]) == ("1", "1")
    assert float(har["median_time_to_action_h"]) == pytest.approx(8)
    assert har["policy_name_ko"] == "괴롭힘·모욕 (악플)"
    assert policy[("harassment", "other", "human")]["removed"] == "1"
    assert policy[("hate.gender", "user_report", "human")]["removed"] == "1"  # I3 (0.4)
    # I2 auto-actioned profanity; I10 reported before the machine saw it; I4 spam unscored
    assert policy[("profanity", "automated", "automated")]["restricted"] == "1"
    assert policy[("profanity", "user_report", "human")]["restricted"] == "1"
    assert policy[("spam", "user_report", "human")]["removed"] == "1"
    assert sum(int(r["items_actioned"]) for r in policy.values()) == 6
    summary = {r["metric"]: r for r in rows if r["metric"]}
    assert float(summary["automated_share"]["value"]) == pytest.approx(2 / 11)
    assert float(summary["auto_action_precision"]["value"]) == pytest.approx(1 / 2)


def test_dsa_export_by_hand(engine: Engine, day: dict[str, int]) -> None:
    """Actioned on 11-20: I1 harassment (score 0.8: automated detection), I2 profanity
    (auto-actioned: automated decision), I3 hate.gender (reported 11-18, no signal), I4 spam
    (unscored, reported), I8 harassment (0.3, found by people), I10 profanity (reported
    before the machine saw it)."""
    from modops.analytics.dsa import dsa_export, statements_csv

    out = dsa_export(engine, Period.parse("2026-11-20"), Filters(project="kr-comments"))
    sor = {s["puid"]: s for s in out["statements_of_reasons"]}
    assert set(sor) == {"I1", "I2", "I3", "I4", "I8", "I10"}
    assert sor["I1"]["automated_detection"] == "Yes"
    assert sor["I1"]["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert sor["I2"]["automated_decision"] == "AUTOMATED_DECISION_FULLY"
    assert sor["I2"]["decision_visibility"] == "DECISION_VISIBILITY_CONTENT_DEMOTED"
    assert sor["I3"]["source_type"] == "SOURCE_ARTICLE_16"
    assert sor["I3"]["category"] == "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
    assert sor["I3"]["incompatible_content_ground"] == "hate.gender"
    assert sor["I8"]["source_type"] == "SOURCE_VOLUNTARY"
    assert sor["I10"]["automated_detection"] == "No"
    assert sor["I4"]["territorial_scope"] == "KR"
    s = out["summary"]
    assert (s["statements_of_reasons"], s["removed"], s["restricted"]) == (6, 4, 2)
    assert (s["automated_detection"], s["automated_decision"], s["human_decision"]) == (2, 1, 5)
    # notices in the day: I4 (02:30, decided 04:00) and I10 (07:45, decided 10:00)
    assert (s["notices_received"], s["notices_actioned"]) == (2, 2)
    assert s["median_time_to_action_from_notice_h"] == pytest.approx((1.5 + 2.25) / 2)
    # posting → decision: 0, 2, 2, 2.5, 8, 60 h
    assert s["median_time_to_action_h"] == pytest.approx(2.25)
    # appeals opened on the day: I1 (open), I3 (upheld); I14's was opened on 11-19
    assert (s["complaints_received"], s["complaints_decided"],
            s["complaints_overturned"]) == (2, 1, 0)
    assert s["account_suspensions"] == 0  # none recorded in this fixture (tests/authors)
    kcsc = {r["category_ko"]: r["decisions"] for r in out["kcsc"]}
    assert kcsc == {"권리침해 (명예훼손·모욕)": 2, "욕설·비속어 (사회질서 위반)": 2,
                    "차별·비하": 1, "불법 광고·스팸": 1}
    text = statements_csv(out)
    assert text.splitlines()[0].startswith("puid,content_type,")
    assert len(text.splitlines()) == 7
