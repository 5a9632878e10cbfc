"""Dashboards in headless Chromium: a manager opens the overview of a week with hand-checked
data and sees exactly what ``compute_metrics`` says; every tab renders without a console error;
Hangul in the SVG charts is drawn with a Korean font (asked of Chromium, not assumed)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from modops.analytics import Filters, compute_metrics
from modops.analytics.readmodels import KPIS
from modops.web.dashboards import PAGES, fmt
from tests.analytics.conftest import build_day
from tests.e2e.conftest import Live, shot, sign_in

pytestmark = pytest.mark.e2e
WEEK = "2026-W47"  # contains the fixture day 2026-11-20


def _fonts_for(pg: Page, selector: str) -> list[str]:
    """The platform fonts Chromium actually used to draw the node's text."""
    cdp = pg.context.new_cdp_session(pg)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    assert node, selector
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return [f["familyName"] for f in fonts]


def test_manager_sees_kpis_equal_to_compute_metrics(live: Live, page) -> None:
    pg, watch = page
    build_day(live.engine, "kr-web")
    sign_in(pg, live, "manager", "/manage/kr-web")
    pg.locator("#analytics-link").click()
    pg.wait_for_url(f"{live.url}/manage/kr-web/analytics")
    pg.goto(f"{live.url}/manage/kr-web/analytics?period={WEEK}")
    expect(pg.locator("#period-label")).to_have_text(WEEK)
    ms = compute_metrics(live.engine, WEEK, Filters(project="kr-web"))
    cards = pg.locator("article.kpi")
    expect(cards).to_have_count(len(KPIS))
    for name in KPIS:
        m = ms[name]
        value = pg.locator(f'article[data-kpi="{name}"] .kpi-value')
        raw = value.get_attribute("data-value")
        if m.value is None:
            assert raw == "", name
        else:
            assert raw and float(raw) == pytest.approx(m.value, rel=1e-12, abs=1e-12), name
        expect(value).to_have_text(fmt(m.value, m.unit, "ko"))
    # The fixture's numbers, worked by hand in tests/analytics: 11 of 12 within SLA.
    expect(pg.locator('article[data-kpi="sla_attainment"] .kpi-value')).to_have_text("91.7%")
    expect(pg.locator('article[data-kpi="sla_attainment"] .kpi-parts')).to_have_text("11 / 12")
    expect(pg.locator("article.kpi svg.spark").first).to_be_visible()
    expect(pg.locator("h3", has_text="SLA 준수율")).to_be_visible()  # Korean UI
    shot(pg, "dashboard-overview.png")
    watch.assert_clean()


def test_every_tab_renders_cleanly_and_charts_draw_hangul(live: Live, page) -> None:
    pg, watch = page
    build_day(live.engine, "kr-web")
    sign_in(pg, live, "manager", f"/manage/kr-web/analytics?period={WEEK}")
    for name in PAGES[1:]:
        pg.locator("nav.tabs a", has_text={"trends": "추이", "quality": "품질",
                                          "machine": "모델", "alerts": "알림",
                                          "staffing": "인력 계획"}[name]).click()
        pg.wait_for_url(f"**/analytics/{name}?period={WEEK}")
        expect(pg.locator("nav.tabs a.current")).to_have_count(1)
    pg.goto(f"{live.url}/manage/kr-web/analytics/trends?period={WEEK}")
    legend = pg.locator("svg.lines text.legend", has_text="욕설")
    expect(legend).to_have_count(1)
    box = legend.bounding_box()
    assert box and box["width"] > 10
    fonts = _fonts_for(pg, "svg.lines text.legend")
    assert any("Nanum" in f for f in fonts), fonts
    # Alerts: evaluate on demand, then the stored episodes are listed with their numbers.
    pg.goto(f"{live.url}/manage/kr-web/analytics/alerts?period={WEEK}")
    pg.locator("#evaluate-alerts").click()
    expect(pg.locator("#alerts-evaluated")).to_be_visible(timeout=60_000)  # Kiwi loads once
    expect(pg.locator("table#alerts tbody tr").first).to_be_visible()
    watch.assert_clean()
