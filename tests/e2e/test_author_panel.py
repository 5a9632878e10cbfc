"""The review screen's author panel (issue 19) in headless Chromium: the author's recent
items (hostile text escaped), decisions, live strikes and enforcement."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from modops.authors import apply_strikes
from modops.store import session_scope, utcnow
from modops.store.models import Item, Project
from tests.e2e.conftest import Live, shot, sign_in
from tests.e2e.test_screens import _escalate

pytestmark = pytest.mark.e2e


def test_author_panel_on_the_review_screen(live: Live, page) -> None:
    pg, watch = page
    item_id = _escalate(live)
    now = utcnow()
    with session_scope(live.engine) as s:
        pid = s.scalar(select(Project.id).where(Project.key == "kr-web"))
        product = s.scalar(select(Item.product_id).where(Item.id == item_id))
        s.execute(update(Item).where(Item.id == item_id).values(
            author_id="raider-007", author_created_at=now - timedelta(days=2),
            author_followers=3, author_verified=False))
        texts = ["<script>alert(1)</script> 다 신고해라", "이 방송 최악 ㅋㅋ 다들 몰려와",
                 "010-1234-5678 로 연락 주세요"]
        for k, body in enumerate(texts):
            at = now - timedelta(hours=k + 1)
            s.add(Item(project_id=pid, external_id=f"raid-{k}", product_id=product,
                       comment=body, created_at=at, ingested_at=at, state="decided",
                       route="human", final_labels=["harassment"], final_action="remove",
                       decided_at=at, author_id="raider-007",
                       author_created_at=now - timedelta(days=2)))
    apply_strikes(live.engine, "kr-web")
    sign_in(pg, live, "reviewer", "/review/kr-web")
    panel = pg.locator("#author-panel")
    expect(panel).to_be_visible()
    expect(pg.locator("#author-id")).to_have_text("raider-007")
    expect(pg.locator("#author-items")).to_have_text("4")
    expect(pg.locator("#author-removed")).to_have_text("3")
    expect(panel).to_contain_text("미결정")  # the item under review
    expect(pg.locator("#author-strikes")).to_contain_text("× 3")
    expect(panel.locator(".author-status")).to_have_attribute("data-status", "restricted")
    expect(panel.locator(".author-recent")).to_contain_text("<script>alert(1)</script>")
    expect(panel.locator(".author-recent")).not_to_contain_text("010-1234-5678")  # masked
    # three strikes in one sweep: straight to restrict (the ladder takes the step reached)
    expect(panel.locator(".author-enforcements li")).to_have_count(1)
    shot(pg, "review-author-panel.png")
    watch.assert_clean()
