"""The three journeys of the brief, in headless Chromium, with Korean UI screenshots."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from modops import queue as q
from modops.store import session_scope, utcnow
from modops.store.models import Annotation, AuditLog, Decision, Item, Project, Task
from tests.e2e.conftest import Live, shot, sign_in, start_labeling

pytestmark = pytest.mark.e2e


def test_labeler_labels_five_tasks_with_the_keyboard_only(live: Live, page) -> None:
    pg, watch = page
    sign_in(pg, live, "lab1", "/label/kr-web")
    start_labeling(pg)
    expect(pg.locator("#lease-timer")).to_have_text(re.compile(r"^\d+:\d\d$"))
    keys = ["3", "0", "2", "0", "q"]  # profanity, none, harassment, none, hate.gender
    seen: list[str] = []
    for i, key in enumerate(keys):
        work = pg.locator("#work")
        task_id = work.get_attribute("data-task-id")
        assert task_id and task_id not in seen
        seen.append(task_id)
        if i == 0:
            shot(pg, "labeling.png")
        pg.keyboard.press(key)
        expect(pg.locator("label.label-key", has=pg.locator("input:checked"))).to_have_count(1)
        pg.keyboard.press("Enter")
        expect(pg.locator("#stat-today")).to_have_text(str(i + 1))
        if i < len(keys) - 1:
            expect(pg.locator("#work")).not_to_have_attribute("data-task-id", task_id)
    expect(pg.locator(".flash")).to_be_visible()
    with session_scope(live.engine) as s:
        rows = s.execute(select(Annotation.task_id, Annotation.labels).where(
            Annotation.labeler_id == live.world.users["lab1"]).order_by(Annotation.id)).all()
    assert [str(t) for t, _ in rows] == seen
    assert [labels for _, labels in rows] == [["profanity"], ["none"], ["harassment"], ["none"],
                                              ["hate.gender"]]
    watch.assert_clean()


def _escalate(live: Live) -> int:
    """Three labelers disagree on one item: it goes to a reviewer."""
    users = live.world.users
    item_id = None
    for who, labels in (("lab1", ["profanity"]), ("lab2", ["harassment"]), ("lab3", ["none"])):
        view = q.next_task(live.engine, "kr-web", users[who])
        assert view is not None
        item_id = view.item.id
        result = q.submit(live.engine, view.task_id, users[who], labels,
                          note="욕설로 보임" if who == "lab1" else None)
    assert result.escalated
    assert item_id is not None
    return item_id


def test_reviewer_resolves_a_disagreement(live: Live, page) -> None:
    pg, watch = page
    item_id = _escalate(live)
    sign_in(pg, live, "reviewer", "/review/kr-web")
    rows = pg.locator("table.answers tbody tr")
    expect(rows).to_have_count(3)
    expect(pg.locator("table.answers")).to_contain_text("lab1")
    expect(pg.locator("table.answers")).to_contain_text("욕설")
    expect(pg.locator("table.answers")).to_contain_text("괴롭힘")
    shot(pg, "review.png")
    pg.keyboard.press("3")  # profanity: overturns lab2 and lab3
    pg.keyboard.press("Enter")
    expect(pg.locator(".flash")).to_be_visible()
    expect(pg.locator(".empty")).to_be_visible()
    with session_scope(live.engine) as s:
        d = s.scalars(select(Decision).where(Decision.item_id == item_id,
                                             Decision.current.is_(True))).one()
        assert d.labels == ["profanity"] and d.source == "reviewer"
        assert d.decided_by_id == live.world.users["reviewer"]
        overturned = s.scalars(select(Annotation.labeler_id).where(
            Annotation.item_id == item_id, Annotation.overturned.is_(True))).all()
        assert sorted(overturned) == sorted([live.world.users["lab2"], live.world.users["lab3"]])
    watch.assert_clean()


def _metric(pg: Page, name: str) -> str:
    return pg.locator(f'.board [data-metric="{name}"]').first.inner_text().strip()


def test_manager_changes_a_setting_and_sees_the_database_numbers(live: Live, page) -> None:
    pg, watch = page
    users = live.world.users
    # Some history: six items decided by agreement over the last hours, one escalated.
    for hours_ago in (0, 1, 1, 3, 5, 8):
        at = utcnow() - timedelta(hours=hours_ago)
        for who in ("lab1", "lab2", "lab3"):
            view = q.next_task(live.engine, "kr-web", users[who], now=at)
            assert view is not None
            q.submit(live.engine, view.task_id, users[who], ["none"], now=at)
    _escalate(live)

    sign_in(pg, live, "manager", "/manage/kr-web/settings")
    pg.fill("#setting-overlap_k", "2")
    pg.fill("#setting-sla_minutes", "90")
    pg.click("#save-settings")
    expect(pg.locator(".flash")).to_contain_text("저장했습니다")
    expect(pg.locator("#setting-overlap_k")).to_have_value("2")
    with session_scope(live.engine) as s:
        project = s.scalars(select(Project).where(Project.key == "kr-web")).one()
        assert (project.overlap_k, project.sla_minutes) == (2, 90)
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "project.update")).one()
        assert audit.actor == "manager"
        assert audit.after == {"overlap_k": 2, "sla_minutes": 90}

    pg.goto(f"{live.url}/manage/kr-web")
    with session_scope(live.engine) as s:
        pid = s.scalar(select(Project.id).where(Project.key == "kr-web"))
        n_items = s.scalar(select(func.count()).select_from(Item).where(Item.project_id == pid))
        decided = s.scalar(select(func.count()).select_from(Item).where(
            Item.project_id == pid, Item.state == "decided"))
        reviews = s.scalar(select(func.count()).select_from(Task).where(
            Task.project_id == pid, Task.kind == "review", Task.state.in_(["open", "leased"])))
        open_tasks = s.scalar(select(func.count()).select_from(Task).where(
            Task.project_id == pid, Task.kind.in_(["label", "gold"]),
            Task.state.in_(["open", "leased"])))
    assert (n_items, decided, reviews) == (12, 6, 1)
    assert _metric(pg, "items") == str(n_items)
    assert _metric(pg, "decided") == str(decided)
    assert _metric(pg, "backlog") == str(n_items - decided)
    assert _metric(pg, "open_reviews") == str(reviews)
    assert _metric(pg, "open_tasks") == f"{open_tasks:,}"
    assert _metric(pg, "progress") == f"{100 * decided / n_items:.1f}%"
    assert _metric(pg, "decided_24h") == str(decided)
    # The chart's bars add up to the decisions of the last 24 hours.
    values = pg.locator("svg.chart rect.bar").evaluate_all(
        "els => els.map(e => Number(e.getAttribute('data-value')))")
    assert len(values) == 24 and sum(values) == decided
    expect(pg.locator("svg.chart")).to_contain_text("시간별 처리량")
    shot(pg, "manager-dashboard.png")
    pg.goto(f"{live.url}/manage")
    shot(pg, "manager-projects.png")
    pg.goto(f"{live.url}/manage/kr-web/settings")
    shot(pg, "manager-settings.png")
    watch.assert_clean()


def test_language_switch(live: Live, page) -> None:
    pg, watch = page
    sign_in(pg, live, "lab1", "/")
    expect(pg.locator("h1")).to_have_text("내 프로젝트")
    pg.click("a.lang")
    expect(pg.locator("h1")).to_have_text("My projects")
    pg.click("a.lang")
    expect(pg.locator("h1")).to_have_text("내 프로젝트")
    watch.assert_clean()


def test_api_docs_render_offline_under_the_csp(live: Live, page) -> None:
    """/docs uses the vendored Swagger UI: no CDN, no inline script, every route listed."""
    pg, watch = page
    requests: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    pg.goto(f"{live.url}/docs")
    expect(pg.locator(".opblock").first).to_be_visible()
    assert pg.locator(".opblock").count() >= 30
    assert all(u.startswith(live.url) for u in requests), [u for u in requests
                                                           if not u.startswith(live.url)]
    watch.assert_clean()


def test_skip_and_flag_from_the_keyboard(live: Live, page) -> None:
    """"." skips (never served again), ";" flags with the typed note ("/" to focus): commands
    are never letters, so they cannot collide with label keys (s is 마약, f is 사기)."""
    from modops.store.models import Skip

    pg, watch = page
    sign_in(pg, live, "lab1", "/label/kr-web")
    start_labeling(pg)
    first = pg.locator("#work").get_attribute("data-task-id")
    pg.keyboard.press(".")
    expect(pg.locator("#work")).not_to_have_attribute("data-task-id", first or "")
    second = pg.locator("#work").get_attribute("data-task-id")
    pg.keyboard.press("/")
    pg.keyboard.type("맥락이 더 필요함")
    pg.keyboard.press("Escape")
    pg.keyboard.press(";")
    expect(pg.locator("#work")).not_to_have_attribute("data-task-id", second or "")
    with session_scope(live.engine) as s:
        assert s.scalar(select(func.count()).select_from(Skip).where(
            Skip.user_id == live.world.users["lab1"])) == 1
        flagged = s.scalars(select(Annotation).where(Annotation.flagged.is_(True))).all()
        assert [(a.task_id, a.note) for a in flagged] == [(int(second or 0), "맥락이 더 필요함")]
    watch.assert_clean()
