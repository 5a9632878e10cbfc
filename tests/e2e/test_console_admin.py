"""The admin and oversight console in headless Chromium: tokens (shown once → list → revoke),
users (role change, deactivate), the audit log (filter, CSV), item search → history, alert
acknowledge. Screenshots name the flow."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from modops.store import session_scope, utcnow
from modops.store.models import Project
from modops.store.models_alerts import AlertRecord
from tests.e2e.conftest import Live, shot, sign_in

pytestmark = pytest.mark.e2e


def test_admin_tokens_users_and_audit_log(live: Live, page) -> None:
    pg, watch = page
    sign_in(pg, live, "admin", "/tokens")
    pg.locator("input[name=name]").fill("야간 내보내기")
    pg.locator("#create-token").click()
    value = pg.locator("#new-token-value")
    expect(value).to_be_visible()
    token = value.input_value()
    assert token.startswith("mo_")
    shot(pg, "admin-tokens.png")
    pg.goto(f"{live.url}/tokens")
    assert token not in pg.content()  # shown once only
    row = pg.locator("#tokens tr.live", has_text="야간 내보내기")
    expect(row).to_have_count(1)
    row.locator("button.danger").click()
    expect(pg.locator("#notice")).to_be_visible()
    expect(pg.locator("#tokens tr.revoked", has_text="야간 내보내기")).to_have_count(1)

    pg.goto(f"{live.url}/users")
    pg.locator('a[data-user="lab3"]').click()
    pg.wait_for_url("**/admin/users/lab3")
    pg.locator("#role-select").select_option("reviewer")
    pg.locator("#role-form button[type=submit]").click()
    expect(pg.locator("#user-role")).to_have_text("검토자")
    pg.locator("#deactivate").click()
    expect(pg.locator("#user-active")).to_have_text("아니요")
    shot(pg, "admin-users.png")

    pg.goto(f"{live.url}/audit")
    pg.locator("#audit-filter input[name=action]").fill("user.")
    pg.locator("#audit-apply").click()
    pg.wait_for_url("**/audit?*action=user.*")
    rows = pg.locator("#audit-log tbody tr")
    expect(rows.first).to_be_visible()
    actions = set(rows.evaluate_all("rs => rs.map(r => r.dataset.action)"))
    assert {"user.role", "user.deactivate"} <= actions and all(
        a.startswith("user.") for a in actions)
    shot(pg, "admin-audit-log.png")
    with pg.expect_download() as dl:
        pg.locator("#audit-csv").click()
    text = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    assert text.startswith("id,at,actor,action") and "user.role" in text
    assert "session.start" not in text  # the filter applies to the export
    watch.assert_clean()


def test_manager_item_search_history_and_alerts(live: Live, page) -> None:
    pg, watch = page
    now = utcnow()
    with session_scope(live.engine) as s:
        pid = s.scalar(select(Project.id).where(Project.key == "kr-web"))
        for rule, severity, subject in (("keyword_burst", "info", "테스트"),
                                        ("label_spike", "critical", "profanity")):
            s.add(AlertRecord(project_id=pid, rule=rule, severity=severity, subject=subject,
                              message_en=f"{rule} rose", message_ko=f"{subject} 급증",
                              observed=42.0, expected=7.5, threshold=3.0, stats={},
                              window_start=None, window_end=None, first_seen_at=now,
                              last_seen_at=now, times_seen=2, affected_items=42))
    from modops import queue as q

    for who, labels in (("lab1", ["none"]), ("lab2", ["profanity"]), ("lab1", ["none"])):
        view = q.next_task(live.engine, "kr-web", live.world.users[who])
        assert view is not None
        q.submit(live.engine, view.task_id, live.world.users[who], labels)
    sign_in(pg, live, "manager", "/manage/kr-web")
    pg.locator("#items-link").click()
    pg.wait_for_url("**/manage/kr-web/items")
    pg.locator("#item-q").fill("댓글 3")
    pg.locator("#item-search-go").click()
    links = pg.locator("#items a.item-link")
    expect(links).to_have_count(1)
    shot(pg, "manager-item-search.png")
    links.first.click()
    pg.wait_for_url("**/manage/kr-web/items/*")
    expect(pg.locator("#item-tasks")).to_be_visible()
    expect(pg.locator("#item-audit")).to_be_visible()
    shot(pg, "manager-item-history.png")

    pg.goto(f"{live.url}/manage/kr-web/analytics/alerts")
    sev = pg.locator("#alerts tbody tr").evaluate_all("rs => rs.map(r => r.dataset.severity)")
    assert sev == ["critical", "info"]
    first = pg.locator("#alerts tbody tr").first
    first.locator("button.ack-button").click()
    expect(pg.locator("#notice")).to_be_visible()
    expect(pg.locator("#alerts tbody tr").first.locator(".ack")).to_contain_text("manager")
    shot(pg, "manager-alerts.png")

    pg.locator("nav.tabs a", has_text="품질").click()
    pg.locator("#scorecard-link").click()
    pg.wait_for_url("**/analytics/scorecard*")
    expect(pg.locator('#scorecard tr[data-labeler="lab1"]')).to_be_visible()
    shot(pg, "manager-scorecard.png")
    watch.assert_clean()
