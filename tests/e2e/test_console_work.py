"""The labeler's and reviewer's screens of the operator's console (issue 20), in Chromium.

Korean keyboard layout (the key events carry Hangul in ``key``, the physical key in ``code``),
the guidelines panel, commands always in view, a last answer changed, an answer that survives
an expired session, and a reviewer opening, upholding and overturning appeals with the
machine's score in view.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from modops.projects import get_project, set_guidelines, update_project
from modops.store import session_scope, utcnow
from modops.store.models import Annotation, Appeal, AuditLog, Decision, Item, Task
from modops.store.models_web import WebSession
from tests.api.world import PASSWORD, import_rows
from tests.e2e.conftest import Live, shot, sign_in, start_labeling

pytestmark = pytest.mark.e2e

COMMANDS = ("#submit-btn", "#skip-btn", "#flag-btn")


def _korean_key(pg: Page, code: str, key: str) -> None:
    """What a Korean (두벌식) layout sends: the Hangul jamo in ``key``, the key in ``code``."""
    pg.evaluate(
        "([code, key]) => document.body.dispatchEvent(new KeyboardEvent('keydown', "
        "{code: code, key: key, bubbles: true, cancelable: true}))", [code, key])


def _answers(live: Live, who: str) -> list[tuple[int | None, list[str]]]:
    with session_scope(live.engine) as s:
        rows = s.execute(select(Annotation.task_id, Annotation.labels).where(
            Annotation.labeler_id == live.world.users[who]).order_by(Annotation.id)).all()
    return [(t, list(labels)) for t, labels in rows]


def test_labeler_korean_layout_guidelines_and_commands_in_view(live: Live, page) -> None:
    pg, watch = page
    with session_scope(live.engine) as s:
        set_guidelines(s, get_project(s, "kr-web"), "illegal_goods.drugs", {
            "definition_ko": "마약류의 판매·구매·투약을 권유하거나 방법을 알려 주는 콘텐츠.",
            "positive_ko": ["아이스 팝니다 텔레 @xxx", "떨 구하는 법 알려줌"],
            "negative_ko": ["마약 관련 뉴스를 인용하며 비판하는 댓글"]}, actor="manager")
    pg.set_viewport_size({"width": 1440, "height": 900})
    sign_in(pg, live, "lab1", "/label/kr-web")
    with session_scope(live.engine) as s:  # opening the page leased nothing
        assert s.scalar(select(Task.id).where(Task.assignee_id == live.world.users["lab1"])) \
            is None
    start_labeling(pg)
    for size in ({"width": 1440, "height": 900}, {"width": 1280, "height": 720}):
        pg.set_viewport_size(size)
        for button in COMMANDS:
            expect(pg.locator(button)).to_be_in_viewport()
    pg.set_viewport_size({"width": 1440, "height": 900})
    # The label panel is a tree: the parents with their children beneath them.
    hate = pg.locator(".label-group.has-children", has=pg.locator('[data-label="hate"]'))
    expect(hate.locator(".label-children label.child")).to_have_count(8)
    # No tell-tale id or view count on a labeler's screen (that is where gold would differ).
    task_id = pg.locator("#work").get_attribute("data-task-id")
    with session_scope(live.engine) as s:
        ext = s.scalar(select(Item.external_id).join(Task, Task.item_id == Item.id)
                       .where(Task.id == int(task_id or 0)))
    assert ext and ext not in pg.locator("article.item").inner_text()

    pg.keyboard.press("Shift+Slash")  # "?": the guidelines
    expect(pg.locator("#guide")).to_be_visible()
    expect(pg.locator("#guide")).to_contain_text("마약")
    _korean_key(pg, "KeyS", "ㄴ")  # s = 마약 on the physical key, Hangul ㄴ in e.key
    expect(pg.locator('label[data-label="illegal_goods.drugs"] input')).to_be_checked()
    current = pg.locator('.guide-entry.current[data-label="illegal_goods.drugs"]')
    expect(current).to_contain_text("마약류의 판매·구매·투약")
    expect(current.locator(".examples.pos li")).to_have_count(2)
    shot(pg, "labeler-guidelines-panel.png")
    pg.keyboard.press("Escape")
    expect(pg.locator("#guide")).to_be_hidden()

    _korean_key(pg, "KeyF", "ㄹ")  # f = 사기: a label, never the flag command
    expect(pg.locator('label[data-label="fraud"] input')).to_be_checked()
    _korean_key(pg, "KeyA", "ㅁ")  # a = 불법 상품
    expect(pg.locator('label[data-label="illegal_goods"] input')).to_be_checked()
    expect(pg.locator("#work")).to_have_attribute("data-task-id", task_id or "")  # no command ran
    shot(pg, "labeler-korean-layout.png")
    _korean_key(pg, "Enter", "Enter")
    expect(pg.locator("#work")).not_to_have_attribute("data-task-id", task_id or "")
    assert _answers(live, "lab1") == [(int(task_id or 0), ["illegal_goods"])]
    # Times in the project's zone (KST), to the minute.
    expect(pg.locator("#history tbody tr")).to_have_count(1)
    when = pg.locator("#history tbody tr td").first.inner_text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d KST", when), when
    watch.assert_clean()


def test_labeler_changes_a_last_answer(live: Live, page) -> None:
    pg, watch = page
    sign_in(pg, live, "lab1", "/label/kr-web")
    start_labeling(pg)
    first = pg.locator("#work").get_attribute("data-task-id")
    pg.keyboard.press("3")  # 욕설
    pg.keyboard.press("Enter")
    expect(pg.locator("#work")).not_to_have_attribute("data-task-id", first or "")
    expect(pg.locator("#history tbody tr.editable")).to_have_count(1)
    pg.keyboard.press("Backspace")  # undo: the last answer, to change it
    expect(pg.locator("#answer-form")).to_be_visible()
    expect(pg.locator('label[data-label="profanity"] input')).to_be_checked()
    pg.keyboard.press("2")  # 괴롭힘
    shot(pg, "labeler-history-undo.png")
    pg.keyboard.press("Enter")
    expect(pg.locator(".flash")).to_contain_text("답변을 고쳤습니다")
    expect(pg.locator("#history tbody tr").first).to_contain_text("괴롭힘")
    assert _answers(live, "lab1") == [(int(first or 0), ["harassment"])]
    with session_scope(live.engine) as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "label.edit")).one()
        assert entry.actor == "lab1" and entry.before == {"labels": ["profanity"]}
    # Back at work: a task in hand again.
    expect(pg.locator("#work")).to_be_visible()
    watch.assert_clean()


def test_an_expired_session_keeps_the_answer(live: Live, page) -> None:
    pg, watch = page
    sign_in(pg, live, "lab1", "/label/kr-web")
    start_labeling(pg)
    task_id = pg.locator("#work").get_attribute("data-task-id")
    pg.keyboard.press("3")
    with session_scope(live.engine) as s:  # the session runs out while the labeler thinks
        s.execute(update(WebSession).where(WebSession.user_id == live.world.users["lab1"])
                  .values(expires_at=utcnow() - timedelta(minutes=1)))
    pg.keyboard.press("Enter")
    pg.locator("input[name=username]").wait_for()
    assert _answers(live, "lab1") == []  # not saved yet: no session
    pg.locator("input[name=username]").focus()
    pg.keyboard.type("lab1")
    pg.keyboard.press("Tab")
    pg.keyboard.type(PASSWORD)
    pg.keyboard.press("Enter")
    expect(pg.locator("#pending-note")).to_be_visible()
    expect(pg.locator("#pending-note")).to_contain_text("저장했습니다")
    assert _answers(live, "lab1") == [(int(task_id or 0), ["profanity"])]
    watch.assert_clean()


def _decide_by_labelers(live: Live, n: int) -> list[str]:
    from modops import queue as q

    users = live.world.users
    externals = []
    for _ in range(n):
        ext = None
        for who in ("lab1", "lab2", "lab3"):
            view = q.next_task(live.engine, "kr-web", users[who])
            assert view is not None
            ext = view.item.external_id
            q.submit(live.engine, view.task_id, users[who], ["profanity"])
        assert ext is not None
        externals.append(ext)
    return externals


def test_reviewer_opens_upholds_and_overturns_appeals(live: Live, page) -> None:
    pg, watch = page
    with session_scope(live.engine) as s:  # the model acts on its own above 0.9
        update_project(s, get_project(s, "kr-web"), {"auto_action_threshold": 0.9,
                                                     "auto_clear_threshold": 0.1,
                                                     "model_version": "kr-harm-2"},
                       actor="test")
    import_rows(live.engine, "kr-web", [{"external_id": "m-1", "product": "comment",
                                         "comment": "ㅅㅂ 진짜 꺼져", "machine_score": 0.97}])
    with session_scope(live.engine) as s:
        d = s.scalars(select(Decision).join(Item, Item.id == Decision.item_id)
                      .where(Item.external_id == "m-1")).one()
        assert d.source == "machine"
    (human,) = _decide_by_labelers(live, 1)

    sign_in(pg, live, "reviewer", "/review/kr-web/appeals")
    expect(pg.locator('.count[data-queue="appeal"]')).to_have_text("0")
    for ext, reason in (("m-1", "욕설이 아니라 사투리입니다"), (human, "맥락을 봐 주세요")):
        pg.fill("#appeal-external-id", ext)
        pg.fill("#appeal-reason", reason)
        pg.click("#appeal-submit")
        expect(pg.locator(".flash")).to_contain_text("접수했습니다")
    expect(pg.locator('.count[data-queue="appeal"]')).to_have_text("2")
    rows = pg.locator("#appeal-list tbody tr")
    expect(rows).to_have_count(2)
    # A click anywhere on the row opens it: here the machine's decision.
    rows.filter(has_text="m-1").locator("td").nth(1).click()
    expect(pg.locator("#decision-context")).to_be_visible()
    expect(pg.locator("#machine-score")).to_have_text("0.97")
    expect(pg.locator("#machine-model")).to_have_text("kr-harm-2")
    expect(pg.locator("#machine-route")).to_contain_text("자동 조치")
    expect(pg.locator("#no-answers")).to_be_visible()  # no empty answers table
    expect(pg.locator("#current-decision")).to_contain_text("모델 판정")
    shot(pg, "reviewer-decision-context.png")
    pg.click("#uphold-btn")
    expect(pg.locator(".flash")).to_contain_text("유지")

    # The next appeal (the labelers' decision): overturn it to "no violation".
    pg.goto(f"{live.url}/review/kr-web/appeals")
    pg.locator("#appeal-list tbody tr").first.locator("td").nth(2).click()
    expect(pg.locator("#work")).to_be_visible()
    expect(pg.locator("table.answers tbody tr")).to_have_count(3)
    pg.keyboard.press("0")
    shot(pg, "reviewer-appeal.png")
    pg.click("#overturn-btn")
    expect(pg.locator(".flash")).to_contain_text("번복")
    with session_scope(live.engine) as s:
        outcomes = dict(s.execute(select(Item.external_id, Appeal.state)
                                  .join(Item, Item.id == Appeal.item_id)).all())
        assert outcomes == {"m-1": "upheld", human: "overturned"}
        final = s.scalar(select(Item.final_labels).where(Item.external_id == human))
        assert final == ["none"]
    expect(pg.locator('.count[data-queue="appeal"]')).to_have_text("0")
    watch.assert_clean()
