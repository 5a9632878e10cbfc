"""API behaviour on both stores: sessions, CSRF, tokens, import/export, settings, the queue."""

from __future__ import annotations

from datetime import timedelta

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from modops.api.auth import SESSION_COOKIE
from modops.store import session_scope, utcnow
from modops.store.models import Annotation, AuditLog, Item
from modops.store.models_web import ApiToken
from tests.api.conftest import login
from tests.api.world import PASSWORD, World


def test_session_cookie_flags_and_csrf(app_client: TestClient, world: World) -> None:
    r = app_client.post("/api/v1/auth/login", json={"username": "manager", "password": PASSWORD})
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    csrf = r.headers["X-CSRF-Token"]
    body = {"gold_rate": 0.1}
    # A cookie-authenticated write without the CSRF token is refused...
    assert app_client.patch("/api/v1/projects/kr-web/settings", json=body).status_code == 403
    assert app_client.patch("/api/v1/projects/kr-web/settings", json=body,
                            headers={"X-CSRF-Token": "wrong"}).status_code == 403
    # ...and accepted with it.
    r = app_client.patch("/api/v1/projects/kr-web/settings", json=body,
                         headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["settings"]["gold_rate"] == 0.1
    # A tampered cookie is anonymous.
    value = app_client.cookies.get(SESSION_COOKIE)
    app_client.cookies.clear()
    tampered = {"cookie": f"{SESSION_COOKIE}={value[:-2]}xx"}
    assert app_client.get("/api/v1/me", headers=tampered).status_code == 401
    assert app_client.get("/api/v1/me", headers={"cookie": f"{SESSION_COOKIE}={value}"}) \
        .status_code == 200


def test_wrong_password_and_logout(app_client: TestClient, world: World) -> None:
    r = app_client.post("/api/v1/auth/login", json={"username": "lab1", "password": "nope-nope"})
    assert r.status_code == 401
    csrf = login(app_client, "lab1")
    assert app_client.get("/api/v1/me").json()["username"] == "lab1"
    assert app_client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code \
        == 204
    assert app_client.get("/api/v1/me").status_code == 401


def test_api_token_shown_once_stored_hashed_and_revocable(app_client: TestClient,
                                                         world: World) -> None:
    csrf = login(app_client, "lab1")
    r = app_client.post("/api/v1/tokens", json={"name": "my script"},
                        headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    token, token_id = r.json()["token"], r.json()["id"]
    with session_scope(world.engine) as s:
        stored = s.get(ApiToken, token_id)
        assert stored is not None and token not in stored.token_hash
        assert len(stored.token_hash) == 64
    listed = app_client.get("/api/v1/tokens").json()
    assert all("token" not in t for t in listed)
    bearer = {"Authorization": f"Bearer {token}"}
    app_client.cookies.clear()
    assert app_client.get("/api/v1/me", headers=bearer).json()["username"] == "lab1"
    # Bearer requests need no CSRF token.
    assert app_client.delete(f"/api/v1/tokens/{token_id}", headers=bearer).status_code == 204
    assert app_client.get("/api/v1/me", headers=bearer).status_code == 401
    # Labelers cannot mint tokens for someone else.
    csrf = login(app_client, "lab2")
    r = app_client.post("/api/v1/tokens", json={"name": "x", "username": "admin"},
                        headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403


def test_security_headers(app_client: TestClient, world: World) -> None:
    r = app_client.get("/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in r.text  # no inline script on any page
    docs = app_client.get("/docs")
    assert "cdn" not in docs.text.lower() and "/static/vendor/swagger-ui-bundle.js" in docs.text


def test_import_upload_errors_name_the_file_and_line(app_client, token_for, world) -> None:
    h = token_for("manager")
    good = b'{"external_id": "u-1", "product": "comment", "comment": "\xec\x95\x88\xeb\x85\x95"}\n'
    bad = good + b'{"external_id": "u-2", "product": "nope"}\n'
    r = app_client.post("/api/v1/projects/kr-web/import", headers=h,
                        files={"file": ("batch.jsonl", bad, "application/x-ndjson")})
    assert r.status_code == 422
    assert r.json()["errors"][0].startswith("batch.jsonl:2:")
    r = app_client.post("/api/v1/projects/kr-web/import", headers=h,
                        files={"file": ("batch.jsonl", good, "application/x-ndjson")})
    assert r.status_code == 200 and r.json()["inserted"] == 1


def test_export_streams_every_item(app_client, token_for, world) -> None:
    with app_client.stream("GET", "/api/v1/projects/kr-web/export?format=jsonl",
                           headers=token_for("manager")) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/x-ndjson")
        body = b"".join(r.iter_bytes())
    rows = [orjson.loads(line) for line in body.splitlines()]
    with session_scope(world.engine) as s:
        n = s.scalar(select(func.count()).select_from(Item).where(Item.project_id == 1))
    assert len(rows) == n and rows[0]["external_id"] == "c-0"
    r = app_client.get("/api/v1/projects/kr-web/export?format=csv", headers=token_for("admin"))
    assert r.status_code == 200 and r.text.count("\n") >= n


def test_settings_change_is_audited(app_client, token_for, world) -> None:
    r = app_client.patch("/api/v1/projects/kr-web/settings", headers=token_for("manager"),
                         json={"overlap_k": 5, "sla_minutes": 60})
    assert r.status_code == 200
    bad = app_client.patch("/api/v1/projects/kr-web/settings", headers=token_for("manager"),
                           json={"overlap_k": 0})
    assert bad.status_code == 422 and "overlap_k" in bad.json()["detail"]
    with session_scope(world.engine) as s:
        row = s.scalars(select(AuditLog).where(AuditLog.action == "project.update")).one()
        assert row.actor == "manager" and row.after == {"overlap_k": 5, "sla_minutes": 60}


def _label(client: TestClient, headers: dict[str, str], labels: list[str]) -> dict:
    task = client.post("/api/v1/projects/kr-web/tasks/next", headers=headers).json()
    r = client.post(f"/api/v1/tasks/{task['task_id']}/submit", headers=headers,
                    json={"labels": labels})
    assert r.status_code == 200, r.text
    return {"task": task, "result": r.json()}


def test_disagreement_escalates_and_reviewer_overturns(app_client, token_for, world) -> None:
    a = _label(app_client, token_for("lab1"), ["profanity"])
    item_id = a["task"]["item"]["id"]
    b = _label(app_client, token_for("lab2"), ["harassment"])
    c = _label(app_client, token_for("lab3"), ["none"])
    assert b["task"]["item"]["id"] == item_id == c["task"]["item"]["id"]
    assert c["result"]["escalated"] is True
    rv = app_client.post("/api/v1/projects/kr-web/reviews/next", headers=token_for("reviewer"))
    assert rv.status_code == 200
    view = rv.json()
    assert view["item"]["id"] == item_id
    assert sorted(x["labeler"] for x in view["annotations"]) == ["lab1", "lab2", "lab3"]
    r = app_client.post(f"/api/v1/reviews/{view['task_id']}/decide",
                        headers=token_for("reviewer"), json={"labels": ["profanity"]})
    assert r.status_code == 200, r.text
    assert r.json()["overturned"] == ["lab2", "lab3"]
    # A second decision on the same task is a conflict, not a silent overwrite.
    again = app_client.post(f"/api/v1/reviews/{view['task_id']}/decide",
                            headers=token_for("reviewer"), json={"labels": ["none"]})
    assert again.status_code in (404, 409)
    ext = a["task"]["item"]["external_id"]
    item = app_client.get(f"/api/v1/projects/kr-web/items/{ext}", headers=token_for("manager"))
    assert item.json()["final_labels"] == ["profanity"]


def test_bad_labels_are_422_and_empty_queue_is_204(app_client, token_for, world) -> None:
    h = token_for("lab1")
    task = app_client.post("/api/v1/projects/kr-web/tasks/next", headers=h).json()
    r = app_client.post(f"/api/v1/tasks/{task['task_id']}/submit", headers=h,
                        json={"labels": ["not-a-label"]})
    assert r.status_code == 422 and "not-a-label" in r.json()["detail"]
    r = app_client.post("/api/v1/projects/kr-web/reviews/next", headers=token_for("reviewer"))
    assert r.status_code == 204


def test_gold_is_hidden_and_scored_into_own_stats(app_client, token_for, world) -> None:
    from tests.api.world import import_rows

    import_rows(world.engine, "kr-web", [{"external_id": "g-77", "product": "comment",
                                          "comment": "정치 얘기는 그만", "is_gold": True,
                                          "gold_labels": ["none"]}])
    mgr, lab = token_for("manager"), token_for("lab1")
    assert app_client.patch("/api/v1/projects/kr-web/settings", headers=mgr,
                            json={"gold_rate": 1.0}).status_code == 200
    task = app_client.post("/api/v1/projects/kr-web/tasks/next", headers=lab).json()
    assert task["item"]["external_id"] == "g-77"
    assert task["kind"] == "label" and "gold" not in orjson.dumps(task).decode()
    r = app_client.post(f"/api/v1/tasks/{task['task_id']}/submit", headers=lab,
                        json={"labels": ["profanity"]}).json()
    assert "gold" not in orjson.dumps(r).decode()  # right or wrong, the result says neither
    # Today's gold answers stay out of the totals (a total that moved would give gold away)...
    stats = app_client.get("/api/v1/me/stats", headers=lab).json()
    assert stats == {"today": 1, "gold_answered": 0, "gold_correct": 0, "gold_accuracy": None}
    # ...and count from the next day on.
    with session_scope(world.engine) as s:
        s.execute(update(Annotation).values(submitted_at=utcnow() - timedelta(days=1)))
    stats = app_client.get("/api/v1/me/stats", headers=lab).json()
    assert stats == {"today": 0, "gold_answered": 1, "gold_correct": 0, "gold_accuracy": 0.0}
    page = app_client.get("/label/kr-web", headers=lab)
    assert "0% (0/1)" in page.text


def test_create_project_over_the_api(app_client, token_for, world) -> None:
    from tests.api.world import project_spec

    spec = project_spec("api-made", ["Seoul A"])
    r = app_client.post("/api/v1/projects", headers=token_for("manager"), json=spec)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["key"] == "api-made" and any(lab["shortcut"] == "0" for lab in body["labels"])
    again = app_client.post("/api/v1/projects", headers=token_for("manager"), json=spec)
    assert again.status_code == 422 and "already exists" in again.json()["detail"]


def test_machine_suggestion_hidden_by_default_and_only_when_enabled(app_client, token_for,
                                                                    world) -> None:
    from tests.api.world import import_rows

    import_rows(world.engine, "kr-web", [{"external_id": "m-1", "product": "comment",
                                          "comment": "ㅅㅂ", "machine_score": 0.9,
                                          "view_count": 10**9}])
    lab = token_for("lab1")
    app_client.post("/label/kr-web/start", headers=lab)
    page = app_client.get("/label/kr-web", headers=lab)
    assert 'class="machine"' not in page.text  # the project does not show it
    app_client.patch("/api/v1/projects/kr-web/settings", headers=token_for("manager"),
                     json={"show_machine_suggestion": True})
    app_client.post("/label/kr-web/start", headers=token_for("lab2"))
    page = app_client.get("/label/kr-web", headers=token_for("lab2"))
    assert "ㅅㅂ" in page.text  # the most viewed item comes first
    assert '<details class="machine">' in page.text  # collapsed: no "open" attribute
