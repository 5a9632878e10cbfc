"""Alert episodes as incidents: start, peak, end, items affected, acknowledgement, replay."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from modops.analytics import Alert
from modops.notify.alerts import acknowledge, incidents_between, record_alerts
from modops.store import session_scope
from modops.store.models import AuditLog, Project
from modops.store.models_alerts import AlertRecord

T0 = datetime(2026, 11, 26, 0)


def spike(observed: float) -> Alert:
    return Alert("label_spike", "warning", f"{observed}", f"{observed}", observed, 8.0, 20.0,
                 "kr-comments", subject="harassment")


def test_an_episode_keeps_start_peak_end_and_items(engine: Engine, project: str) -> None:
    """Evaluations every 3 h: 24 → 54 → 31 raised, then not: one episode, first seen at 0 h,
    peak 54 at 3 h, resolved at 9 h, 54 items (the most decisions one window counted)."""
    with session_scope(engine) as s:
        p = s.scalars(select(Project).where(Project.key == project)).one()
        for k, obs in enumerate([24.0, 54.0, 31.0]):
            record_alerts(s, p, [spike(obs)], T0 + timedelta(hours=3 * k))
        record_alerts(s, p, [], T0 + timedelta(hours=9))
        (ep,) = s.scalars(select(AlertRecord)).all()
        assert (ep.first_seen_at, ep.peak_at, ep.resolved_at) == (
            T0, T0 + timedelta(hours=3), T0 + timedelta(hours=9))
        assert (ep.peak_observed, ep.observed, ep.affected_items, ep.times_seen) == (
            54.0, 31.0, 54, 3)
        # open during [T0 − 1 d, T0 + 1 h) and [T0 + 8 h, …); not after it ended
        assert incidents_between(s, p, T0 - timedelta(days=1), T0 + timedelta(hours=1)) == [ep]
        assert incidents_between(s, p, T0 + timedelta(hours=8), T0 + timedelta(days=1)) == [ep]
        assert incidents_between(s, p, T0 + timedelta(hours=9), T0 + timedelta(days=1)) == []
        assert incidents_between(s, p, T0 - timedelta(days=1), T0) == []
        acknowledge(s, p, ep.id, "minji", T0 + timedelta(hours=1))
        acknowledge(s, p, ep.id, "later", T0 + timedelta(hours=2))  # the first one stands
        assert (ep.acknowledged_by, ep.acknowledged_at) == ("minji", T0 + timedelta(hours=1))
        acts = s.scalars(select(AuditLog).where(AuditLog.action == "alert.acknowledge")).all()
        assert [a.actor for a in acts] == ["minji"]


def test_rate_rules_count_no_items(engine: Engine, project: str) -> None:
    drift = Alert("model_drift", "warning", "d", "d", 0.3, 0.1, 0.2, "kr-comments")
    assert drift.affected_items is None
    with session_scope(engine) as s:
        p = s.scalars(select(Project).where(Project.key == project)).one()
        record_alerts(s, p, [drift], T0)
        assert s.scalars(select(AlertRecord)).one().affected_items is None


@pytest.mark.parametrize("rule,stats,expected", [("backlog_past_sla", {}, 7),
                                                 ("backlog_forecast_breach",
                                                  {"open_tasks": 40.0}, 40)])
def test_backlog_rules_count_their_items(rule: str, stats: dict, expected: int) -> None:
    a = Alert(rule, "critical", "m", "m", 7.0, 0.0, 5.0, "p", stats=stats)
    assert a.affected_items == expected
