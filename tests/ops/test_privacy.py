"""PII masking with Korean samples, in the API's labeler view, and the audited unmask."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from modops.privacy import find_pii, mask_pii
from modops.store import session_scope
from modops.store.models import AuditLog, Project
from tests.api.world import import_rows


@pytest.mark.parametrize(("text", "masked"), [
    ("주민번호 900101-1234567 유출", "주민번호 ******-******* 유출"),
    ("주민번호9001011234567", "주민번호*************"),
    ("연락처 010-1234-5678 로 연락주세요", "연락처 010-****-**** 로 연락주세요"),
    ("01012345678 카톡 ㄱㄱ", "010******** 카톡 ㄱㄱ"),
    ("+82 10-1234-5678 해외번호", "+82 **-****-**** 해외번호"),
    ("+82-10-1234-5678", "+82-**-****-****"),
    ("사무실 02-123-4567", "사무실 02-***-****"),
    ("메일은 kim.chulsoo@naver.com 으로", "메일은 ***********@naver.com 으로"),
    ("@seoul_kim 저격 ㅋㅋ", "@********* 저격 ㅋㅋ"),
    ("@홍길동 너 진짜", "@*** 너 진짜"),
])
def test_korean_samples_are_masked(text: str, masked: str) -> None:
    assert mask_pii(text) == masked


@pytest.mark.parametrize("text", [
    "가격 10,000원 2024-01-01 주문", "주문번호 20231101123456789", "조회수 1234567",
    "ㅋㅋㅋ 진짜 별로다 😂", "a@b 아님", "시간 12:30-13:45",
])
def test_ordinary_numbers_and_text_are_left_alone(text: str) -> None:
    assert mask_pii(text) == text and find_pii(text) == []


def test_kinds_are_configurable() -> None:
    text = "900101-1234567 / 010-1234-5678 / kim@daum.net / @kim"
    assert mask_pii(text, ["phone"]) == "900101-1234567 / 010-****-**** / kim@daum.net / @kim"
    assert mask_pii(text, []) == text
    assert [k for k, _ in find_pii(text)] == ["rrn", "phone", "email", "handle"]
    with pytest.raises(ValueError):
        mask_pii(text, ["address"])


PII_ROW = {"external_id": "pii-1", "product": "comment", "view_count": 10**9,
           "comment": "이 사람 번호 010-1234-5678 주민번호 900101-1234567 메일 doxx@gmail.com "
                      "@victim_01 찾아가세요",
           "metadata": {"author": {"contact": "+82 10 9876 5432"}}}


def _serve_pii_item(app_client, token_for, world) -> dict:
    import_rows(world.engine, world.project, [PII_ROW])  # highest views: served first
    r = app_client.post(f"/api/v1/projects/{world.project}/tasks/next",
                        headers=token_for("lab1"))
    assert r.status_code == 200, r.text
    return r.json()


def test_labeler_view_is_masked_and_reviewer_unmask_is_audited(app_client, token_for,
                                                              world) -> None:
    task = _serve_pii_item(app_client, token_for, world)
    item = task["item"]
    assert item["external_id"] == "pii-1"
    assert "010-1234-5678" not in item["comment"] and "010-****-****" in item["comment"]
    assert "900101-1234567" not in item["comment"]
    assert "doxx@" not in item["comment"] and "@gmail.com" in item["comment"]
    assert "@victim_01" not in item["comment"]
    assert "9876" not in str(item["metadata"])

    body = {"reason": "신상털기 신고: 실제 번호인지 확인 필요"}
    assert app_client.post(f"/api/v1/items/{item['id']}/unmask", json=body,
                           headers=token_for("lab1")).status_code == 403
    assert app_client.post(f"/api/v1/items/{item['id']}/unmask", json={"reason": ""},
                           headers=token_for("reviewer")).status_code == 422
    r = app_client.post(f"/api/v1/items/{item['id']}/unmask", json=body,
                        headers=token_for("reviewer"))
    assert r.status_code == 200, r.text
    assert r.json()["fields"]["comment"] == PII_ROW["comment"]
    with session_scope(world.engine) as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "pii.unmask")).one()
        assert (entry.actor, entry.entity, entry.entity_id) == ("reviewer", "item",
                                                                str(item["id"]))
        assert entry.after == {"reason": body["reason"], "fields": ["comment"]}


def test_a_project_can_turn_masking_off(app_client, token_for, world) -> None:
    from modops.domain import events

    with session_scope(world.engine) as s:
        p = s.scalars(select(Project).where(Project.key == world.project)).one()
        p.settings = {**(p.settings or {}), "pii_mask": []}
    events.publish(events.PROJECT_CHANGED, {"project": world.project})  # settings edited directly
    task = _serve_pii_item(app_client, token_for, world)
    assert task["item"]["comment"] == PII_ROW["comment"]
