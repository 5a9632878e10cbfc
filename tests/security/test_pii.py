"""Findings 2 and 11: a reviewer read raw 주민등록번호, phone numbers, e-mails, handles and
metadata through ``GET /projects/{key}/items`` with no ``pii.unmask`` audit row, appeal
previews showed raw text, and masking missed full-width digits, spaces around the hyphen,
en/em dashes, PII inside ``media_url`` and in metadata keys."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, select

from modops.privacy import find_pii, mask_pii, mask_value
from modops.store import session_scope
from modops.store.models import AuditLog
from tests.api.world import import_rows

RAW = ("900101-1234567", "010-1234-5678", "doxx@gmail.com", "@victim_01", "9876",
       "01099998888", "1111", "@kim_01")
ROW = {"external_id": "pii-9", "product": "comment", "view_count": 10**9,
       "comment": "번호 010-1234-5678 주민 900101-1234567 메일 doxx@gmail.com @victim_01",
       "media_url": "https://cdn.example.com/u/01099998888/clip.mp4?by=@kim_01",
       "metadata": {"author": {"contact": "+82 10 9876 5432"},
                    "010-1111-2222": "phone book key"},
       "final_labels": ["none"]}


@pytest.mark.parametrize(("text", "masked"), [
    ("９００１０１-１２３４５６７", "******-*******"),  # full-width digits
    ("900101 - 1234567", "****** - *******"),  # spaces around the hyphen
    ("010–1111–2222", "010–****–****"),  # en dash
    ("010—1111—2222", "010—****—****"),  # em dash
    ("０１０－１１１１－２２２２", "０１０－****－****"),  # full-width everything
    ("900101−1234567", "******−*******"),  # minus sign
    ("010 1111 2222", "010 **** ****"),
    ("ｋｉｍ＠ｎａｖｅｒ．ｃｏｍ", "***＠ｎａｖｅｒ．ｃｏｍ"),
    ("https://x.kr/v/01011112222.mp4", "https://x.kr/v/010********.mp4"),
])
def test_forms_the_red_team_used_are_masked(text, masked):
    assert mask_pii(text) == masked
    assert find_pii(text)


@pytest.mark.parametrize("text", ["시간 12:30 - 13:45", "2024-01-01 - 2024-12-31",
                                  "가격 10,000 – 20,000원", "조회수 1 234 567"])
def test_ordinary_numbers_with_spaces_and_dashes_stay(text):
    assert mask_pii(text) == text


def test_metadata_keys_are_masked():
    assert mask_value({"010-1234-5678": "엄마", "n": ["kim@daum.net"]}) == {
        "010-****-****": "엄마", "n": ["***@daum.net"]}


def _unmask_count(world) -> int:
    with session_scope(world.engine) as s:
        return s.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "pii.unmask")) or 0


@pytest.mark.parametrize("who", ["reviewer", "manager", "admin"])
def test_items_api_masks_for_everyone_and_unmask_is_one_audited_call(app_client, token_for,
                                                                     world, who):
    import_rows(world.engine, "kr-web", [ROW])
    h = token_for(who)
    listed = app_client.get("/api/v1/projects/kr-web/items", headers=h)
    one = app_client.get("/api/v1/projects/kr-web/items/pii-9", headers=h)
    assert listed.status_code == one.status_code == 200
    for body in (orjson.dumps(listed.json()).decode(), one.text):
        leaked = [r for r in RAW if r in body]
        assert not leaked, leaked
    item = one.json()
    assert "010-****-****" in item["comment"] and "@gmail.com" in item["comment"]
    assert _unmask_count(world) == 0  # reading masked items is not an unmask
    r = app_client.post(f"/api/v1/items/{item['id']}/unmask", headers=h,
                        json={"reason": "신상털기 신고 확인"})
    assert r.status_code == 200, r.text
    assert r.json()["fields"]["comment"] == ROW["comment"]
    assert r.json()["fields"]["media_url"] == ROW["media_url"]
    assert _unmask_count(world) == 1
    with session_scope(world.engine) as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "pii.unmask")).one()
        assert entry.actor == who and "media_url" in entry.after["fields"]


def test_labeler_task_masks_media_url_and_metadata_keys(app_client, token_for, world):
    import_rows(world.engine, "kr-web", [{**ROW, "final_labels": None}])
    r = app_client.post("/api/v1/projects/kr-web/tasks/next", headers=token_for("lab1"))
    assert r.status_code == 200 and r.json()["item"]["external_id"] == "pii-9"
    leaked = [x for x in RAW if x in r.text]
    assert not leaked, leaked


def test_appeal_page_and_review_view_mask_previews_and_reasons(app_client, token_for, world):
    import_rows(world.engine, "kr-web", [ROW])
    mgr, rev = token_for("manager"), token_for("reviewer")
    r = app_client.post("/api/v1/projects/kr-web/appeals", headers=mgr, json={
        "external_id": "pii-9", "opened_by": "creator",
        "reason": "제 번호 010-5555-6666 는 제 것이 아닙니다"})
    assert r.status_code == 201, r.text
    page = app_client.get("/review/kr-web/appeals", headers=rev)
    assert page.status_code == 200
    for raw in ("010-1234-5678", "900101-1234567", "010-5555-6666", "doxx@"):
        assert raw not in page.text, raw
    view = app_client.post("/api/v1/projects/kr-web/reviews/next", headers=rev)
    assert view.status_code == 200 and view.json()["kind"] == "appeal", view.text
    assert "010-****-****" in view.json()["reason"]
    leaked = [x for x in (*RAW, "010-5555-6666") if x in view.text]
    assert not leaked, leaked
