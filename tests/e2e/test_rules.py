"""Rules in headless Chromium: author a rule (a bad one first: FILE:LINE errors inline, nothing
stored), run its backtest (numbers and a chart), enable it on that backtest. Screenshots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from modops.queue import ingest_file
from tests.e2e.conftest import Live, shot, sign_in

pytestmark = pytest.mark.e2e

RULE = """id: reported-profanity
name: 신고된 욕설 제한
owner: manager
priority: 5
when:
  all:
    - reported: true
    - score: {gte: 0.5}
then:
  - auto_action: {label: profanity, enforcement: restrict}
"""


def _decided_history(live: Live, tmp_path: Path) -> None:
    """40 items decided by people: every 3rd reported, profanity on the high scores."""
    rows = [{"external_id": f"hist-{i:03d}", "product": "comment", "comment": f"지난 댓글 {i}",
             "machine_score": round(i / 40, 3), "user_reported": i % 3 == 0,
             "final_labels": ["profanity"] if i >= 18 else ["none"]} for i in range(40)]
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    ingest_file(live.engine, "kr-web", path)


def test_author_backtest_enable(page: tuple[Page, object], live: Live, tmp_path: Path) -> None:
    pg, watch = page
    _decided_history(live, tmp_path)
    sign_in(pg, live, "manager", "/manage/kr-web/rules")
    # a bad rule: every problem with its line, the text kept, nothing stored
    pg.fill("#rule-yaml", RULE.replace("score: {gte: 0.5}", "scor: {gte: 0.5}"))
    pg.click("#save-rule")
    expect(pg.locator("#form-errors")).to_contain_text("rule.yaml:8: unknown signal 'scor'")
    expect(pg.locator("#rule-yaml")).to_have_value(
        RULE.replace("score: {gte: 0.5}", "scor: {gte: 0.5}"))
    with live.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM rules")).scalar() == 0
    pg.fill("#rule-yaml", RULE)
    shot(pg, "rules-authoring.png")
    pg.click("#save-rule")
    pg.wait_for_url(f"{live.url}/manage/kr-web/rules/reported-profanity")
    expect(pg.locator("#rule-mode")).to_have_text("섀도")
    expect(pg.locator("#no-backtest")).to_be_visible()
    pg.fill("#backtest-days", "7")
    pg.click("#run-backtest")
    # matched: reported (0, 3, …, 39) with score >= 0.5 (i >= 20): 21, 24, …, 39 = 7, all
    # profanity; profanity decided on 18..39 = 22 items
    expect(pg.locator("#bt-items")).to_have_text("40")
    expect(pg.locator("#bt-matched")).to_have_text("7")
    expect(pg.locator("#bt-precision")).to_contain_text("(7/7)")
    expect(pg.locator("#bt-recall")).to_contain_text("(7/22)")
    expect(pg.locator("#backtest-chart svg")).to_be_visible()
    shot(pg, "rules-backtest.png")
    pg.click("#enable-rule")
    expect(pg.locator("#rule-mode")).to_have_text("적용 중")
    expect(pg.locator("#enabled-on")).to_contain_text("백테스트 #")
    with live.engine.connect() as conn:
        assert conn.execute(text("SELECT mode, backtest_id IS NOT NULL FROM rules")).one() \
            == ("live", True)
    watch.console_errors = [e for e in watch.console_errors if "status of 422" not in e]
    watch.assert_clean()
