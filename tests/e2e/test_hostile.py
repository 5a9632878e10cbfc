"""Hostile content renders as inert text: no script runs, no dialog opens, layout holds."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from modops.projects import create_project
from modops.store import session_scope
from modops.store.models import Project
from tests.api.world import import_rows, project_spec
from tests.e2e.conftest import Live, shot, sign_in, start_labeling

pytestmark = pytest.mark.e2e

LONG = "가" * 3000 + "A" * 3000  # no break opportunity for 6,000 characters
HOSTILE = [
    {"external_id": "h-script", "comment": "<script>window.__pwned=1;alert('script')</script>",
     "title": "{{7*7}} ${7*7} <b>bold?</b>"},
    {"external_id": "h-img", "comment": "<img src=x onerror=\"window.__pwned=2;alert('img')\">",
     "caption": "\"><svg onload=alert('svg')><iframe src=javascript:alert('if')>"},
    {"external_id": "h-js", "text": "<a href=\"javascript:alert('link')\">클릭</a>",
     "media_url": "javascript:alert('media')"},
    {"external_id": "h-long", "comment": LONG, "title": "https://" + "x" * 2000 + ".com",
     "media_url": "https://cdn.example.com/" + "v" * 3000 + ".mp4"},
    {"external_id": "h-rtl", "comment": "정상 댓글 \u202egnp.exe\u202c 끝 \u2067אבג\u2069 \u200f",
     "title": "\u202e이 제목은 뒤집혀 보이면 안 됩니다"},
    {"external_id": "h-ko", "comment": "진짜 개웃기네 ㅋㅋㅋㅋ 🤬🔥👍🏽👨‍👩‍👧 ＜script＞ 전각",
     "transcript": "안녕하세요 여러분 오늘은 떡볶이 🌶️",
     "metadata": {"author": "</pre><script>alert('meta')</script>", "region": "서울"}},
]
PAYLOAD_MARKERS = ["<script>window.__pwned=1", "<img src=x onerror", "javascript:alert('link')"]


def _hostile_project(live: Live) -> None:
    with session_scope(live.engine) as s:
        p = create_project(s, project_spec("hostile", [], overlap=1), actor="test")
        p.settings = {"score_on_ingest": False}
    import_rows(live.engine, "hostile", [
        {"product": "comment", "view_count": 1000 - i, **row} for i, row in enumerate(HOSTILE)])
    with session_scope(live.engine) as s:
        assert s.scalar(select(Project.id).where(Project.key == "hostile"))


def test_hostile_items_render_as_inert_text(live: Live, page) -> None:
    pg, watch = page
    _hostile_project(live)
    sign_in(pg, live, "lab1", "/label/hostile")
    start_labeling(pg)
    seen_text = ""
    for i in range(len(HOSTILE)):
        item = pg.locator("article.item")
        expect(item).to_be_visible()
        # No element the payloads tried to create exists inside the item.
        for sel in ("script", "img", "svg", "iframe", "b", "a[href^='javascript']"):
            assert item.locator(sel).count() == 0, sel
        assert pg.locator("a[href^='javascript']").count() == 0
        assert pg.evaluate("window.__pwned") is None
        # The layout holds: no horizontal scroll, the submit button is inside the viewport.
        width = pg.evaluate("window.innerWidth")
        assert pg.evaluate("document.documentElement.scrollWidth") <= width
        box = pg.locator("#submit-btn").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        content = item.inner_text()
        seen_text += content
        if LONG[:40] in content:
            shot(pg, "hostile-long.png")
            # The long unbroken string wraps inside its box instead of widening the page.
            field = pg.locator(".field-comment .content").bounding_box()
            assert field is not None and field["x"] + field["width"] <= width
        if "gnp.exe" in content:
            shot(pg, "hostile-rtl.png")
        task_id = pg.locator("#work").get_attribute("data-task-id")
        pg.keyboard.press("0")
        pg.keyboard.press("Enter")
        if i < len(HOSTILE) - 1:
            expect(pg.locator("#work")).not_to_have_attribute("data-task-id", task_id or "")
    expect(pg.locator(".empty")).to_be_visible()
    # Every payload was shown to the labeler literally, as text.
    for marker in PAYLOAD_MARKERS:
        assert marker in seen_text, marker
    assert "{{7*7}}" in seen_text and "49" not in seen_text
    assert "🤬🔥" in seen_text and "javascript:alert('media')" in seen_text
    # Bidi overrides are shown as visible markers in logical order, not obeyed.
    assert "\u27e6U+202E\u27e7gnp.exe" in seen_text and "\u202e" not in seen_text
    watch.assert_clean()


def test_hostile_text_is_inert_for_reviewers_too(live: Live, page) -> None:
    """The reviewer screen shows notes and reasons from labelers and appellants: same rules."""
    from modops import queue as q

    pg, watch = page
    users = live.world.users
    for who, label in (("lab1", "profanity"), ("lab2", "none"), ("lab3", "harassment")):
        view = q.next_task(live.engine, "kr-web", users[who])
        assert view is not None
        q.submit(live.engine, view.task_id, users[who], [label],
                 note="<img src=x onerror=alert('note')> \u202eeton")
    sign_in(pg, live, "reviewer", "/review/kr-web")
    expect(pg.locator("table.answers tbody tr")).to_have_count(3)
    assert pg.locator("table.answers img").count() == 0
    expect(pg.locator("table.answers")).to_contain_text("<img src=x onerror=alert('note')>")
    watch.assert_clean()
