"""Dashboards and the analytics JSON API, on SQLite and PostgreSQL: every number served equals
what ``modops.analytics`` computes for the same period, filters and time (the hand-checked
fixture day of tests/analytics on top of the API world), and alerts are kept as episodes and
queued to webhooks once per episode."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from modops import analytics as an
from modops.analytics.readmodels import KPIS, SPARK_PERIODS, plain
from modops.store import session_scope
from modops.store.models_alerts import AlertRecord
from modops.store.models_web import WebhookDelivery
from modops.web.dashboards import fmt
from modops.web.i18n import MESSAGES
from tests.analytics.conftest import build_day
from tests.api.conftest import login
from tests.api.world import World

WEEK = "2026-W47"
NOW = datetime(2026, 11, 21, 12)
Q = f"period={WEEK}&now={NOW.isoformat()}"
F = an.Filters(project="kr-web")
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "modops" / "web" / "templates"


@pytest.fixture
def day(world: World) -> dict[str, int]:
    return build_day(world.engine, "kr-web")


def close(a: Any, b: Any) -> bool:
    """Equal, with floats compared to 1e-9 and NaN/None both meaning 'no value'."""
    if isinstance(b, float) and math.isnan(b):
        b = None
    if a is None or b is None:
        return a is None and b is None
    if isinstance(b, tuple | list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(b, dict):
        return set(a) == {str(k) for k in b} and all(close(a[str(k)], v) for k, v in b.items())
    if isinstance(b, float | int) and not isinstance(b, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def same_metric(out: dict[str, Any], m: an.Metric) -> bool:
    return (close(out["value"], m.value) and close(out["numerator"], m.numerator)
            and close(out["denominator"], m.denominator)
            and close(out["interval"], m.interval) and out["unit"] == m.unit
            and out["methodology_version"] == m.methodology_version)


def test_metrics_api_equals_compare_periods(app_client: TestClient, token_for, world,
                                            day) -> None:
    r = app_client.get(f"/api/v1/projects/kr-web/metrics?{Q}", headers=token_for("manager"))
    assert r.status_code == 200, r.text
    body = r.json()
    cmp = an.compare_periods(world.engine, WEEK, F, NOW)
    # the week is still running at NOW: compared with the same first 132 h of W46
    assert body["period"]["label"] == WEEK
    assert body["previous_period"]["label"] == "2026-W46 (first 132 h)"
    assert body["as_of"] == cmp.current.as_of.isoformat() == NOW.isoformat()
    assert set(body["metrics"]) == set(cmp.deltas)
    for name, d in cmp.deltas.items():
        out = body["metrics"][name]
        assert same_metric(out, d.current), name
        assert close(out["previous"], d.previous.value), name
        assert close(out["delta"], d.delta) and close(out["relative"], d.relative), name
    # Spot checks against the hand-worked fixture (tests/analytics/test_metrics.py).
    assert body["metrics"]["sla_attainment"]["numerator"] == 11
    assert body["metrics"]["sla_attainment"]["denominator"] == 12
    assert body["metrics"]["tasks_finalized"]["value"] == 21
    # Sparklines: whole weeks oldest → current (W46 all of it, not the partial window)
    w46 = an.compute_metrics(world.engine, "2026-W46", F, an.Period.parse("2026-W46").end)
    for name in KPIS:
        spark = body["sparklines"][name]
        assert len(spark["values"]) == SPARK_PERIODS
        assert spark["periods"][-2:] == ["2026-W46", WEEK]
        assert close(spark["values"][-1], cmp.current[name].value)
        assert close(spark["values"][-2], w46[name].value)
    older = an.Period.parse("2026-W42")  # six weeks: W42 … W47
    assert body["sparklines"]["backlog_open"]["periods"][0] == older.label
    assert close(body["sparklines"]["backlog_open"]["values"][0],
                 an.compute_metrics(world.engine, older, F, older.end)["backlog_open"].value)


def test_product_filter_and_month(app_client: TestClient, token_for, world, day) -> None:
    h = token_for("admin")
    r = app_client.get(f"/api/v1/projects/kr-web/metrics?period=2026-11&product=comment"
                       f"&now={NOW.isoformat()}", headers=h)
    assert r.status_code == 200, r.text
    ms = an.compute_metrics(world.engine, "2026-11", an.Filters(project="kr-web",
                                                              product="comment"), NOW)
    for m in ms:
        assert same_metric(r.json()["metrics"][m.name], m), m.name
    assert app_client.get("/api/v1/projects/kr-web/metrics?product=nope",
                          headers=h).status_code == 422
    assert app_client.get("/api/v1/projects/kr-web/metrics?period=2026-11-20T09",
                          headers=h).status_code == 422  # hours are not dashboard periods
    assert app_client.get("/api/v1/projects/kr-web/metrics?period=last-week",
                          headers=h).status_code == 422


def test_breakdowns_equal_the_analytics_functions(app_client: TestClient, token_for, world,
                                                  day) -> None:
    h = token_for("manager")
    eng = world.engine
    labels = app_client.get(f"/api/v1/projects/kr-web/metrics/labels?{Q}", headers=h).json()
    series = an.label_volume_series(eng, WEEK, F)
    assert labels["days"] == series.days and labels["counts"] == series.counts
    assert labels["counts"]["profanity"][4] == 2  # two profanity items decided on 11-20

    q = app_client.get(f"/api/v1/projects/kr-web/metrics/quality?{Q}", headers=h).json()
    gold = an.gold_accuracy_by_labeler(eng, WEEK, F)
    assert set(q["gold_accuracy_by_labeler"]) == set(gold) == {"kim", "lee", "park"}
    for user, m in gold.items():
        assert same_metric(q["gold_accuracy_by_labeler"][user], m)
    ms = an.compute_metrics(eng, WEEK, F, NOW)
    for name in ("krippendorff_alpha", "fleiss_kappa", "percent_agreement"):
        assert same_metric(q["agreement"][name], ms[name])
    for name in ("audit_error_rate", "audit_error_rate_machine", "audit_error_rate_human"):
        assert same_metric(q["audit"][name], ms[name])
    pk = an.pairwise_agreement(eng, WEEK, F)
    names = list(pk.labelers)
    for pair in q["pairwise_kappa"]:
        i, j = names.index(pair["a"]), names.index(pair["b"])
        assert close(pair["kappa"], float(pk.kappa[i, j]))
        assert pair["shared_items"] == int(pk.n_shared[i, j])
    assert set(q["teams"]) == {"Seoul A", "Seoul B"}
    seoul_b = an.compute_metrics(eng, WEEK, an.Filters(project="kr-web", team="Seoul B"), NOW)
    for name, out in q["teams"]["Seoul B"].items():
        assert same_metric(out, seoul_b[name]), name

    mach = app_client.get(f"/api/v1/projects/kr-web/metrics/machine?{Q}", headers=h).json()
    for name, out in mach["metrics"].items():
        assert same_metric(out, ms[name]), name
    assert mach["metrics"]["machine_f1"]["detail"] == ms["machine_f1"].detail

    st = app_client.get(f"/api/v1/projects/kr-web/staffing?now={NOW.isoformat()}"
                        "&target_service_level=0.9", headers=h).json()
    plan = an.staffing_plan(eng, "kr-web", NOW, target_service_level=0.9)
    assert st == json.loads(json.dumps(plain(plan.to_dict())))


def test_transparency_csv_is_the_analytics_export(app_client: TestClient, token_for, world,
                                                  day) -> None:
    r = app_client.get(f"/api/v1/projects/kr-web/transparency.csv?{Q}",
                       headers=token_for("manager"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert f'filename="transparency-kr-web-{WEEK}.csv"' in r.headers["content-disposition"]
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the Korean policy names as UTF-8
    assert text[1:] == an.transparency_csv(world.engine, WEEK, F, NOW)
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert any(r["policy_name_ko"] == "욕설" for r in rows)


def test_overview_page_shows_the_same_numbers(app_client: TestClient, world, day) -> None:
    login(app_client, "manager")
    page = app_client.get(f"/manage/kr-web/analytics?period={WEEK}")
    assert page.status_code == 200
    html = page.text
    ms = an.compute_metrics(world.engine, WEEK, F)  # the page's "now" is the clock
    for name in KPIS:
        m = ms[name]
        block = re.search(rf'data-kpi="{name}".*?class="kpi-value" data-value="([^"]*)">'
                          r"([^<]*)<", html, re.S)
        assert block, name
        assert close(float(block.group(1)) if block.group(1) else None, m.value), name
        assert block.group(2) == fmt(m.value, m.unit, "ko"), name
    assert "SLA 준수율" in html and "91.7%" in html
    assert 'font-family="NanumGothic' in html  # sparklines name a Korean font
    for sub in ("trends", "quality", "machine", "alerts", "staffing"):
        r = app_client.get(f"/manage/kr-web/analytics/{sub}?period={WEEK}")
        assert r.status_code == 200, (sub, r.text[:300])
        assert "<script>" not in r.text and " style=" not in r.text
    trends = app_client.get(f"/manage/kr-web/analytics/trends?period={WEEK}").text
    assert 'data-label="profanity"' in trends and ">욕설<" in trends
    assert app_client.get("/manage/kr-web/analytics?period=bad").status_code == 422


def test_alerts_are_episodes_and_reach_webhooks_once(app_client: TestClient, token_for,
                                                     world, day) -> None:
    h = token_for("manager")
    hook = app_client.post("/api/v1/webhooks", headers=h, json={
        "url": "https://hooks.example.com/alerts", "project": "kr-web", "events": ["alert"]})
    assert hook.status_code == 201, hook.text
    raised = an.evaluate_alerts(world.engine, "kr-web", NOW)
    assert {a.rule for a in raised} >= {"backlog_past_sla"}

    first = app_client.post(f"/api/v1/projects/kr-web/alerts/evaluate?now={NOW.isoformat()}",
                            headers=h).json()
    assert [a["rule"] for a in first["raised"]] == [a.rule for a in raised]
    assert len(first["opened"]) == len(raised) and not first["updated"]
    stored = {a["rule"]: a for a in first["alerts"]}
    for a in raised:
        s = stored[a.rule]
        assert (s["observed"], s["expected"], s["threshold"]) == (
            float(a.observed), a.expected, float(a.threshold))
        assert s["message_ko"] == a.message_ko and s["resolved_at"] is None
    with session_scope(world.engine) as s:
        deliveries = s.scalars(select(WebhookDelivery)).all()
        assert sorted(d.payload["alert"]["rule"] for d in deliveries) == sorted(
            a.rule for a in raised)
        assert all(d.event == "alert" and d.payload["project"] == "kr-web"
                   for d in deliveries)

    later = NOW.replace(minute=15)
    again = app_client.post(f"/api/v1/projects/kr-web/alerts/evaluate?now={later.isoformat()}",
                            headers=h).json()
    assert not again["opened"] and sorted(again["updated"]) == sorted(first["opened"])
    with session_scope(world.engine) as s:
        assert len(s.scalars(select(WebhookDelivery)).all()) == len(raised)  # no re-send
        rows = s.scalars(select(AlertRecord)).all()
        assert {r.times_seen for r in rows} == {2}
        assert {r.last_seen_at for r in rows} == {later}

    # Before the fixture day nothing is past its SLA: that episode resolves, the rest go on.
    quiet = datetime(2026, 11, 10)
    still = {a.rule for a in an.evaluate_alerts(world.engine, "kr-web", quiet)}
    assert "backlog_past_sla" not in still
    done = app_client.post(f"/api/v1/projects/kr-web/alerts/evaluate?now={quiet.isoformat()}",
                           headers=h).json()
    by_rule = {a["rule"]: a["id"] for a in first["alerts"]}
    assert sorted(done["resolved"]) == sorted(i for r, i in by_rule.items() if r not in still)
    rows = app_client.get("/api/v1/projects/kr-web/alerts", headers=h).json()
    listed = {a["rule"]: a for a in rows}
    assert listed["backlog_past_sla"]["resolved_at"] == quiet.isoformat()
    is_open = [a["resolved_at"] is None for a in rows]
    assert is_open == sorted(is_open, reverse=True)  # open episodes are listed first


def test_alerts_page_lists_episodes_and_evaluates_with_csrf(app_client: TestClient, world,
                                                            day) -> None:
    csrf = login(app_client, "manager")
    no_token = app_client.post("/manage/kr-web/analytics/alerts", follow_redirects=False)
    assert no_token.status_code == 403
    r = app_client.post("/manage/kr-web/analytics/alerts", data={"csrf_token": csrf},
                        follow_redirects=False)
    assert r.status_code == 303 and "evaluated=" in r.headers["location"]
    page = app_client.get(r.headers["location"]).text
    assert 'data-rule="backlog_past_sla"' in page and "SLA 기한을 넘긴" in page


def test_dashboard_catalogue_is_complete(tmp_path: Path) -> None:
    """Every key the dashboard templates and code use exists in Korean and English."""
    used: set[str] = set()
    for path in (TEMPLATES / "dashboards").glob("*.html"):
        used |= set(re.findall(r't\("([a-z_0-9.]+)"', path.read_text()))
    used |= {f"dash.page.{p}" for p in ("overview", "trends", "quality", "machine", "alerts",
                                       "staffing")}
    used |= {f"dash.kind.{k}" for k in ("day", "week", "month")}
    used |= {f"alert.rule.{r}" for r in ("backlog_past_sla", "backlog_forecast_breach",
                                    "label_spike", "keyword_burst", "gold_accuracy_drop",
                                    "model_drift")}
    used |= {f"alert.severity.{s}" for s in ("info", "warning", "critical")}
    for locale in ("ko", "en"):
        missing = {k for k in used if not k.endswith(".") and k not in MESSAGES[locale]}
        assert not missing, (locale, missing)


def test_metric_catalogue_names_every_metric_once(tmp_path: Path) -> None:
    """The catalogue has exactly the metrics compute_metrics returns, with the unit each one
    carries, and a Korean and an English name and definition for every one."""
    from modops.analytics.catalogue import SPECS, UNITS

    names = _metric_names(tmp_path)
    assert set(SPECS) == names
    for s in SPECS.values():
        assert s.unit in UNITS, s.name
        assert all((s.name_ko, s.name_en, s.definition_ko, s.definition_en)), s.name
        assert re.search("[가-힣]", s.name_ko + s.definition_ko), s.name


def _metric_names(tmp: Path) -> set[str]:
    """Every metric compute_metrics returns (on an empty database)."""
    from modops.store import make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp / 'names.db'}")
    upgrade(engine)
    names = set(an.compute_metrics(engine, WEEK, an.Filters(), NOW).metrics)
    engine.dispose()
    return names
