"""Every metric on the one-day fixture (tests/analytics/conftest.py), computed by hand.

Day = 2026-11-20 UTC, so throughput denominators are 24 h. Items decided that day:
I1–I10 and I14 (11 items); I11 is still queued, I12 is gold, I13 was decided on 11-19.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from sqlalchemy import Engine, select

from modops.analytics import (
    METHODOLOGY_VERSION,
    Filters,
    Period,
    compute_metrics,
    gold_accuracy_by_labeler,
    pairwise_agreement,
    sample_size_for_margin,
    throughput_breakdowns,
    throughput_by,
)
from modops.analytics.trends import compare_periods, label_volume_series
from modops.quality import fleiss_kappa, krippendorff_alpha, wilson_interval

DAY = Period.parse("2026-11-20")
NOW = datetime(2026, 11, 22)  # after the day: the backlog snapshot is at 11-21 00:00
F = Filters(project="kr-comments")


@pytest.fixture
def ms(engine: Engine, day: dict[str, int]):
    return compute_metrics(engine, DAY, F, now=NOW)


def test_every_metric_carries_its_parts(ms) -> None:
    assert ms.as_of == datetime(2026, 11, 21)
    for m in ms:
        assert m.methodology_version == METHODOLOGY_VERSION
        assert m.unit


def test_throughput_and_backlog(ms) -> None:
    # 19 tasks done on the day: 10 label slots, 3 gold, 1 review, 5 audits
    assert ms["tasks_finalized"].value == 19
    assert ms["throughput_per_hour"].value == pytest.approx(19 / 24)
    assert ms["throughput_per_day"].value == pytest.approx(19)
    # created that day: 16 of the done tasks (I3's 3 label tasks date from 11-18), plus
    # I11's 3 slots (open, leased, cancelled), I1's appeal task, the late gold task
    assert ms["arrivals_per_hour"].value == pytest.approx((16 + 3 + 1 + 1) / 24)
    # open at midnight: I11 open + leased (3.5 h old), appeal (0.5 h), I13 review (84 h),
    # gold task done only at 01:00 next day (2 h); the cancelled one never counts
    assert ms["backlog_open"].value == 5
    assert ms["backlog_age_lt_1h"].value == 1
    assert ms["backlog_age_1_4h"].value == 3
    assert ms["backlog_age_4_24h"].value == 0
    assert ms["backlog_age_1_3d"].value == 0
    assert ms["backlog_age_gt_3d"].value == 1
    assert ms["backlog_oldest_age_h"].value == pytest.approx(24 + 60)
    # 5 open / (19 done in the last 24 h / 24 h)
    assert ms["backlog_forecast_clear_h"].value == pytest.approx(5 / (19 / 24))


def test_handle_time_productivity_cost(ms) -> None:
    # handle times are 10, 20, …, 190 s (I11's is lease start → submit = 100 s)
    assert ms["annotations"].value == 19
    assert ms["handle_time_median_s"].value == pytest.approx(100, rel=1e-6)
    # p90: position 0.9 × 18 = 16.2 → 170 + 0.2 × (180 − 170)
    assert ms["handle_time_p90_s"].value == pytest.approx(172, rel=1e-6)
    assert ms["handle_time_mean_s"].value == pytest.approx(1900 / 19, rel=1e-6)
    # distinct (labeler, clock hour) with a submission: kim {4,5,9,21}, lee {4,5,9,10},
    # park {4,5,9,10}, rev {1,11,13,14} = 16 labeler-hours
    assert ms["labeler_hours"].value == 16
    assert ms["productivity"].value == pytest.approx(19 / 16)
    assert ms["utilization"].value == pytest.approx((1900 / 3600) / 16, rel=1e-6)
    # cost: kim 4 h + lee 4 h at 20 (Seoul A), park 4 h at 30 (Seoul B); rev has no team
    assert ms["labor_cost"].value == pytest.approx(8 * 20 + 4 * 30)
    assert ms["labor_cost"].detail["uncosted_labeler_hours"] == 4
    assert ms["cost_per_item"].value == pytest.approx(280 / 11)
    assert ms["labor_cost"].detail["currency"] == ms["cost_per_item"].detail["currency"] == "KRW"


def test_costs_in_several_currencies_are_not_added(engine: Engine, day: dict[str, int]) -> None:
    from modops.accounts import update_team
    from modops.store import session_scope

    with session_scope(engine) as s:
        update_team(s, "Seoul B", {"currency": "usd"}, actor="test")
    ms = compute_metrics(engine, DAY, F, now=NOW)
    # kim + lee 8 h at 20 KRW, park 4 h at 30 USD: two sums, no total
    assert ms["labor_cost"].value is None and ms["cost_per_item"].value is None
    assert ms["labor_cost"].detail["by_currency"] == {"KRW": 160.0, "USD": 120.0}


def test_gold_accuracy(ms, engine: Engine) -> None:
    # I12 gold (profanity): kim right, lee wrong, park right; the 11-19 answer is excluded
    g = ms["gold_accuracy"]
    assert (g.numerator, g.denominator) == (2, 3)
    assert g.value == pytest.approx(2 / 3)
    assert g.interval == pytest.approx(wilson_interval(2, 3))
    per = gold_accuracy_by_labeler(engine, DAY, F)
    assert {k: m.value for k, m in per.items()} == {"kim": 1.0, "lee": 0.0, "park": 1.0}


def test_agreement(ms, engine: Engine) -> None:
    # pairable units: I1 (3× harassment), I3 (2× hate.gender, 1× harassment),
    # I5 (2× none, 1× profanity); I11 has one label only.
    # alpha: n = 9, o_cc = 3·2/2 + 2·1/2 + 2·1/2 = 5, Σ n_c² = 4² + 2² + 2² + 1² = 25
    #        1 − (9 − 1)(9 − 5)/(81 − 25) = 1 − 32/56 = 3/7
    assert ms["krippendorff_alpha"].value == pytest.approx(3 / 7)
    # Fleiss: P_i = 1, 1/3, 1/3 → P̄ = 5/9; P_e = 25/81 → (5/9 − 25/81)/(1 − 25/81) = 5/14
    assert ms["fleiss_kappa"].value == pytest.approx(5 / 14)
    assert ms["percent_agreement"].value == pytest.approx(5 / 9)
    # the SQL histogram route equals modops.quality on the raw rows
    raw = [(1, "a", "harassment"), (1, "b", "harassment"), (1, "c", "harassment"),
           (3, "a", "hate.gender"), (3, "b", "harassment"), (3, "c", "hate.gender"),
           (5, "a", "none"), (5, "b", "none"), (5, "c", "profanity"), (11, "a", "none")]
    it, lab, val = (np.array(c, dtype=object) for c in zip(*raw, strict=True))
    assert ms["krippendorff_alpha"].value == pytest.approx(krippendorff_alpha(it, lab, val))
    assert ms["fleiss_kappa"].value == pytest.approx(fleiss_kappa(it, lab, val))
    pk = pairwise_agreement(engine, DAY, F)
    assert set(pk.labelers.tolist()) == {"kim", "lee", "park"}
    # every pair shares I1, I3, I5 (I11 has kim only). kim vs lee: agree on I1 and I5,
    # p_o = 2/3; marginals kim {har 1, hate.gender 1, none 1}, lee {har 2, none 1}:
    # p_e = (1·2 + 1·1)/9 = 1/3 → κ = (2/3 − 1/3)/(1 − 1/3) = 1/2
    assert pk.n_shared.max() == 3
    names = [str(x) for x in pk.labelers.tolist()]
    kim, lee = names.index("kim"), names.index("lee")
    assert pk.kappa[kim, lee] == pytest.approx(1 / 2)


def test_item_metrics(ms) -> None:
    assert ms["items_finalized"].value == 11
    # SLA: only I3 (due 11-19 00:00, decided 11-20 12:00) missed; I6 has no due_at and
    # falls back to the project's 24 h from ingestion (decided at once)
    assert ms["sla_attainment"].value == pytest.approx(10 / 11)
    # actioned: I1, I2, I3, I4, I8, I10. A machine signal before any report: I1 (score 0.8 ≥
    # the 0.5 flag threshold), I2 (auto-actioned). Not I3 (0.4) nor I8 (0.3): routed to people,
    # no signal; not I4 (unscored); not I10 (0.55, but reported 07:45, routed 08:00)
    assert ms["proactive_rate"].value == pytest.approx(2 / 6)
    # removed: I1 (0 views), I3 (500), I4 (0), I8 (20)
    assert ms["zero_view_removal_rate"].value == pytest.approx(2 / 4)
    # creation → decision: I1 8 h, I3 60 h, I4 2 h, I8 2 h
    assert ms["removal_within_24h"].value == pytest.approx(3 / 4)
    # actioned time to action: I2 0 h, I4 2 h, I8 2 h, I10 2.5 h, I1 8 h, I3 60 h
    assert ms["time_to_action_median_h"].value == pytest.approx((2 + 2.5) / 2)
    # p90: position 0.9 × 5 = 4.5 → 8 + 0.5 × (60 − 8)
    assert ms["time_to_action_p90_h"].value == pytest.approx(34, rel=1e-6)
    # views at decision of the actioned: 0 + 10 + 500 + 0 + 20 + 0
    assert ms["views_before_action"].value == pytest.approx(530 / 6)
    # decided by the machine: I2, I6 (I14's decision in force is the appeal's)
    assert ms["automated_share"].value == pytest.approx(2 / 11)
    # human decisions: I1, I3, I4, I5, I7, I8, I9, I10, I14; escalated: I3
    assert ms["escalation_rate"].value == pytest.approx(1 / 9)


def test_machine_quality(ms) -> None:
    # human-decided with a score, predicted violating at score ≥ 0.5:
    # TP I1 (0.8), I10 (0.55); FP I14 (0.99, overturned to none); FN I3 (0.4), I8 (0.3);
    # TN I5 (0.4), I7 (0.02), I9 (0.45)
    assert ms["machine_precision"].value == pytest.approx(2 / 3)
    assert ms["machine_recall"].value == pytest.approx(2 / 4)
    assert ms["machine_f1"].value == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))  # 4/7
    assert ms["machine_f1"].detail["tn"] == 3


def test_prevalence(ms) -> None:
    # uniform sample I7–I10: I8 (remove) and I10 (restrict) violate
    p = ms["prevalence"]
    assert (p.numerator, p.denominator, p.value) == (2, 4, 0.5)
    assert p.interval == pytest.approx(wilson_interval(2, 4))
    # by views: (300 + 0) / (100 + 300 + 600 + 0); Kish n_eff = 1000² / (100² + 300² + 600²)
    pv = ms["prevalence_views"]
    assert pv.value == pytest.approx(300 / 1000)
    n_eff = 1000**2 / (100**2 + 300**2 + 600**2)
    assert pv.detail["effective_n"] == pytest.approx(n_eff)
    assert pv.interval == pytest.approx(wilson_interval(0.3 * n_eff, n_eff))
    assert ms["prevalence_sample_needed"].value == sample_size_for_margin(0.5, 0.005)


def test_sample_size_advice() -> None:
    # the textbook n = z² p(1−p)/E² = 384.1 for p = 0.5, E = 5 points; Wilson needs 381
    assert sample_size_for_margin(0.5, 0.05) == 381
    n = sample_size_for_margin(0.01, 0.005)
    lo, hi = wilson_interval(round(0.01 * n), n)
    assert (hi - lo) / 2 <= 0.0051


def test_audits_and_appeals(ms) -> None:
    # audits: I14 (vs machine "spam" in force at 01:00: error), I2 (ok), I6 (error),
    # I1 (ok), I5 (error)
    assert ms["audit_error_rate"].value == pytest.approx(3 / 5)
    assert ms["audit_error_rate_machine"].value == pytest.approx(2 / 3)  # I14, I2, I6
    assert ms["audit_error_rate_human"].value == pytest.approx(1 / 2)  # I1, I5
    # machine auto-actions audited: I2 (right), I14 (wrong)
    assert ms["auto_action_precision"].value == pytest.approx(1 / 2)
    # opened on the day: I1 (23:00), I3 (13:00) over 6 actioned items
    assert ms["appeal_rate"].value == pytest.approx(2 / 6)
    # resolved on the day: I3 upheld, I14 overturned
    assert ms["appeal_overturn_rate"].value == pytest.approx(1 / 2)


def test_filters(engine: Engine, day: dict[str, int]) -> None:
    kim = compute_metrics(engine, DAY, Filters(project="kr-comments", labeler="kim"), NOW)
    # kim: I1 10 s, I3 40 s, I5 70 s, I11 100 s, gold 110 s
    assert kim["tasks_finalized"].value == 5
    assert kim["handle_time_median_s"].value == pytest.approx(70, rel=1e-6)
    assert kim["gold_accuracy"].value == 1.0
    assert kim["labeler_hours"].value == 4
    assert kim["labor_cost"].value == pytest.approx(4 * 20)
    team_a = compute_metrics(engine, DAY, Filters(project="kr-comments", team="Seoul A"), NOW)
    assert team_a["tasks_finalized"].value == 5 + 4  # kim + lee
    video = compute_metrics(engine, DAY, Filters(project="kr-comments",
                                                 product="short_video"), NOW)
    assert video["items_finalized"].value == 1  # I3
    assert video["tasks_finalized"].value == 4  # I3's 3 label slots + review
    hate = compute_metrics(engine, DAY, Filters(project="kr-comments", label="hate"), NOW)
    assert hate["items_finalized"].value == 1  # I3 (hate.gender is a child of hate)
    harass = compute_metrics(engine, DAY, Filters(project="kr-comments",
                                                  label="harassment"), NOW)
    # prevalence keeps the whole sample as denominator: I8 of I7–I10
    assert harass["prevalence"].value == pytest.approx(1 / 4)


def test_throughput_breakdowns(engine: Engine, day: dict[str, int]) -> None:
    by = throughput_by(engine, DAY, "labeler", F, now=NOW)
    assert {k: m.numerator for k, m in by.items()} == {"kim": 5, "lee": 4, "park": 4, "rev": 6}
    assert by["rev"].value == pytest.approx(6 / 24)
    teams = throughput_by(engine, DAY, "team", F, now=NOW)
    assert {k: m.numerator for k, m in teams.items()} == {"Seoul A": 9, "Seoul B": 4,
                                                          "(none)": 6}
    products = throughput_by(engine, DAY, "product", F, now=NOW)
    assert {k: m.numerator for k, m in products.items()} == {"comment": 15, "short_video": 4}
    assert throughput_by(engine, DAY, "project", F, now=NOW)["kr-comments"].numerator == 19


def test_trends(engine: Engine, day: dict[str, int]) -> None:
    cmp = compare_periods(engine, DAY, F, now=NOW)
    assert cmp.previous.period.label == "2026-11-19"
    # 11-19: I13 decided (1 item); 11-20: 11 items
    assert cmp["items_finalized"].previous.value == 1
    assert cmp["items_finalized"].delta == 10
    assert cmp["items_finalized"].relative == pytest.approx(10.0)
    assert set(cmp.deltas) == set(cmp.current.metrics)
    series = label_volume_series(engine, Period.between(datetime(2026, 11, 19),
                                                        datetime(2026, 11, 21)), F)
    assert series.days == ["2026-11-19", "2026-11-20"]
    assert series.counts["none"] == [1, 5]  # I13 | I5, I6, I7, I9, I14
    assert series.counts["harassment"] == [0, 2]  # I1, I8
    assert series.counts["hate.gender"] == [0, 1]


def test_periods() -> None:
    w = Period.parse("2026-W47")
    assert (w.start, w.end) == (datetime(2026, 11, 16), datetime(2026, 11, 23))
    assert w.previous().label == "2026-W46"
    assert Period.parse("2026-12").end == datetime(2027, 1, 1)
    assert Period.parse("2026-11-20T09").hours == 1
    assert Period.parse("2027-01").previous().label == "2026-12"
    assert len(Period.parse("2026-11").days()) == 30
    with pytest.raises(ValueError):
        Period.parse("last week")


def test_empty_database(engine: Engine, project: str) -> None:
    ms = compute_metrics(engine, DAY, F, now=NOW)
    assert ms["items_finalized"].value == 0
    assert ms["sla_attainment"].value is None  # 0/0 is not 100%
    assert ms["krippendorff_alpha"].value is None
    assert ms["backlog_forecast_clear_h"].value == 0.0


def test_concurrent_scans_give_the_sequential_metric_set(engine: Engine,
                                                         day: dict[str, int]) -> None:
    """On PostgreSQL the scans run on several connections sharing one snapshot; the metric
    set (values, parts, order) is the one a single connection computes."""
    one = compute_metrics(engine, DAY, F, now=NOW, workers=1)
    many = compute_metrics(engine, DAY, F, now=NOW, workers=3)
    assert list(many.metrics) == list(one.metrics)
    assert many.metrics == one.metrics


@pytest.mark.parametrize("filters", [F, Filters(project="kr-comments", team="Seoul A"),
                                     Filters(project="kr-comments", product="comment"),
                                     Filters()])
def test_throughput_breakdowns_are_throughput_by(engine: Engine, day: dict[str, int],
                                                 filters: Filters) -> None:
    """One scan for several breakdowns gives each breakdown's throughput_by exactly."""
    bys = ("project", "product", "team", "labeler")
    together = throughput_breakdowns(engine, DAY, bys, filters, NOW)
    for by in bys:
        assert together[by] == throughput_by(engine, DAY, by, filters, NOW), by
    assert set(throughput_breakdowns(engine, DAY, ["team"], filters, NOW)) == {"team"}


@pytest.mark.parametrize("n", [1, 2, 7, 1000])
def test_sqlite_quantiles_match_numpy(n: int) -> None:
    """SQLite quantiles (values off the raw cursor) are numpy's linear ones, NULLs skipped."""
    from sqlalchemy import create_engine, text

    from modops.analytics._sql import Dialect, quantiles

    rng = np.random.default_rng(n)
    values = rng.exponential(40_000.0, size=n).round(0)
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE v (x FLOAT)"))
        conn.execute(text("INSERT INTO v VALUES (:x)"),
                     [{"x": float(x)} for x in values] + [{"x": None}])
        qs = (0.0, 0.37, 0.5, 0.9, 1.0)
        got_n, got = quantiles(conn, Dialect("sqlite"), "v.x", "FROM v WHERE 1=1", {}, qs)
    assert got_n == n
    assert got == pytest.approx([float(q) for q in np.quantile(values, qs)], rel=1e-12)


def test_multi_label_agreement_in_the_database(engine: Engine, day: dict[str, int]) -> None:
    """The hand-computed case of tests/quality (U1 {a}/{a,b}, U2 {b}/{b}, U3 {a}/{c}) stored as
    annotations on another day: alpha uses the MASI distance (2/7), binary alpha per label."""
    from modops.store import session_scope
    from modops.store.models import Annotation, Project, User

    with session_scope(engine) as s:
        pid = s.scalar(select(Project.id).where(Project.key == "kr-comments"))
        uid = dict(s.execute(select(User.username, User.id)).all())
        at = datetime(2026, 11, 25, 12)
        for item, who, labels in [("I1", "kim", ["profanity"]),
                                  ("I1", "lee", ["profanity", "hate.gender"]),
                                  ("I3", "kim", ["hate.gender"]), ("I3", "lee", ["hate.gender"]),
                                  ("I5", "kim", ["profanity"]), ("I5", "lee", ["spam"]),
                                  ("I8", "kim", ["spam"])]:
            s.add(Annotation(project_id=pid, item_id=day[item], labeler_id=uid[who],
                             kind="label", labels=labels, submitted_at=at, handle_ms=1000))
    ms = compute_metrics(engine, Period.parse("2026-11-25"), F, now=NOW)
    a = ms["krippendorff_alpha"]
    assert a.value == pytest.approx(2 / 7)
    assert a.detail["distance"] == "masi"
    assert a.detail["alpha_jaccard"] == pytest.approx(7 / 22)
    assert a.detail["alpha_nominal_sets"] == pytest.approx(3 / 13)
    assert a.detail["per_label"] == pytest.approx(
        {"profanity": 4 / 9, "hate.gender": 4 / 9, "spam": 0.0})
    # single-label days keep the nominal coefficient (MASI equals it there)
    assert compute_metrics(engine, DAY, F, now=NOW)["krippendorff_alpha"].detail[
        "distance"] == "nominal"


def test_proactive_rate_counts_rules_and_matches_before_reports(engine: Engine,
                                                                 day: dict[str, int]) -> None:
    """A bank/hash match or a rule is a machine signal too, if it came before the report."""
    from tests.analytics.conftest import h

    from modops.store import session_scope
    from modops.store.models import Project, RoutingDecision

    with session_scope(engine) as s:
        pid = s.scalar(select(Project.id).where(Project.key == "kr-comments"))
        for name, at, reason in [("I8", h(7.5), "rule:slur-list"),  # never reported: counts
                                 ("I3", h(-48), "match:ncmec-hash"),  # before 11-18 01:00
                                 ("I10", h(8), "rule:late")]:  # after the 07:45 report
            s.add(RoutingDecision(project_id=pid, item_id=day[name], score=None, route="human",
                                  reason=reason, decided_at=at))
    ms = compute_metrics(engine, DAY, F, now=NOW)
    assert (ms["proactive_rate"].numerator, ms["proactive_rate"].denominator) == (4, 6)
    # a higher flag threshold drops I1 (0.8); I2 was auto-actioned, which is a signal itself
    high = compute_metrics(engine, DAY, F, now=NOW, score_threshold=0.9)
    assert high["proactive_rate"].numerator == 3
