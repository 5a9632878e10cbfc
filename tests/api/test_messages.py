"""Server messages in the reader's language (issue 20, "Everywhere"): a 403 page reads as a
sentence in Korean, not "reviewer may not project analytics"; the API adds a localized
``message`` beside its English ``detail``; a form's 422 names the field and the problem in
the reader's language, and never echoes a password."""

from __future__ import annotations

from fastapi.testclient import TestClient

from modops.api.messages import validation_message
from tests.api.test_web import _sign_in


def test_a_forbidden_page_reads_in_korean_and_english(app_client: TestClient, world) -> None:
    _sign_in(app_client, "reviewer")
    page = app_client.get(f"/manage/{world.project}/analytics")
    assert page.status_code == 403
    assert "현재 역할(검토자)로는" in page.text
    assert "may not project" not in page.text
    app_client.get("/lang/en?next=/")
    page = app_client.get(f"/manage/{world.project}/analytics")
    assert "You may not do this." in page.text and "may not project" not in page.text


def test_the_api_adds_a_message_in_the_callers_language(app_client: TestClient, world,
                                                         token_for) -> None:
    headers = token_for("lab1")
    ko = app_client.get(f"/api/v1/projects/{world.project}/metrics",
                        headers={**headers, "Accept-Language": "ko-KR,ko;q=0.9"})
    assert ko.status_code == 403
    assert ko.json()["message"] == "라벨러 권한으로는 할 수 없는 작업입니다."
    assert "may not" in ko.json()["detail"]  # scripts keep the English detail
    en = app_client.get(f"/api/v1/projects/{world.project}/metrics",
                        headers={**headers, "Accept-Language": "en"})
    assert en.json()["message"] == "This is not open to the Labeler role."
    missing = app_client.get("/api/v1/nothing-here", headers={"Accept-Language": "ko"})
    assert missing.status_code == 404


def test_a_form_422_names_the_field_in_the_readers_language(app_client: TestClient,
                                                            world) -> None:
    page = app_client.get("/login")
    assert page.status_code == 200
    bad = app_client.post("/login", data={"password": "s3cret-never-shown"},
                          headers={"Accept-Language": "ko"})
    assert bad.status_code == 422 and "<html" in bad.text
    assert "아이디: 필수 항목입니다." in bad.text
    assert "s3cret-never-shown" not in bad.text
    api = app_client.post("/api/v1/auth/login", json={"username": 5},
                          headers={"Accept-Language": "en"})
    assert api.status_code == 422
    assert all("message" in e for e in api.json()["detail"])


def test_validation_messages_cover_limits_in_both_languages() -> None:
    err = {"type": "greater_than_equal", "loc": ("body", "gold_rate"), "ctx": {"ge": 0}}
    assert validation_message(err, "ko") == "골드 비율 (0–1): 0 이상이어야 합니다."
    assert validation_message(err, "en") == "Gold rate (0–1): must be at least 0."
    odd = {"type": "something_new", "loc": ("query", "limit")}
    assert validation_message(odd, "ko") == "limit: 값이 올바르지 않습니다."
