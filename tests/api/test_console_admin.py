"""The admin console without a browser: users (role, deactivate, password), API tokens shown
once, the audit log (filters, paging, CSV with injection guard), teams with currency, styled
403/404 pages. Runs on SQLite and PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from modops.store import session_scope
from modops.store.audit import AuditFilter, record, search_audit
from modops.store.models import AuditLog, User
from tests.api.test_web import _sign_in


def _audit(world, action: str) -> list[AuditLog]:
    with session_scope(world.engine) as s:
        rows = list(s.scalars(select(AuditLog).where(AuditLog.action == action)))
        s.expunge_all()
        return rows


def test_admin_changes_role_and_deactivates_audited(app_client: TestClient, world) -> None:
    csrf = _sign_in(app_client, "admin", "/admin/users/lab3")
    page = app_client.get("/admin/users/lab3")
    assert page.status_code == 200 and 'id="role-form"' in page.text
    r = app_client.post("/admin/users/lab3/role", data={"role": "reviewer", "csrf_token": csrf},
                        follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("m=role")
    with session_scope(world.engine) as s:
        assert s.scalar(select(User.role).where(User.username == "lab3")) == "reviewer"
    (row,) = _audit(world, "user.role")
    assert row.actor == "admin" and row.before == {"role": "labeler"}
    assert row.after == {"role": "reviewer"}
    r = app_client.post("/admin/users/lab3/active", data={"active": "0", "csrf_token": csrf},
                        follow_redirects=False)
    assert r.status_code == 303
    with session_scope(world.engine) as s:
        assert s.scalar(select(User.active).where(User.username == "lab3")) is False
    assert _audit(world, "user.deactivate")
    # no CSRF token: refused, nothing changed
    r = app_client.post("/admin/users/lab3/active", data={"active": "1"})
    assert r.status_code == 403
    assert "새로고침" in r.text  # the CSRF page says what to do, in Korean


def test_admin_cannot_demote_self_and_weak_password_keeps_page(app_client, world) -> None:
    csrf = _sign_in(app_client, "admin", "/admin/users/admin")
    r = app_client.post("/admin/users/admin/role", data={"role": "labeler", "csrf_token": csrf})
    assert r.status_code == 422 and 'id="form-error"' in r.text and "본인" in r.text
    r = app_client.post("/admin/users/lab1/password",
                        data={"password": "password1", "csrf_token": csrf})
    assert r.status_code == 422 and "비밀번호" in r.text and 'id="password-form"' in r.text
    r = app_client.post("/admin/users/lab1/password",
                        data={"password": "violet-harbor-tram-41", "csrf_token": csrf},
                        follow_redirects=False)
    assert r.status_code == 303
    assert _audit(world, "user.password")


def test_non_admins_cannot_manage_users(app_client, world) -> None:
    csrf = _sign_in(app_client, "manager", "/")
    assert app_client.get("/admin/users/lab3").status_code == 403
    r = app_client.post("/admin/users/lab3/role", data={"role": "admin", "csrf_token": csrf})
    assert r.status_code == 403
    assert "운영 매니저" in r.text and "may not" not in r.text  # human, localized


def test_token_shown_once_works_then_revoked(app_client: TestClient, world) -> None:
    csrf = _sign_in(app_client, "lab1", "/tokens")
    r = app_client.post("/tokens", data={"name": "내 스크립트", "days": "7", "csrf_token": csrf})
    assert r.status_code == 200
    token = re.search(r'id="new-token-value" value="([^"]+)"', r.text).group(1)
    assert token.startswith("mo_")
    listing = app_client.get("/tokens")
    assert token not in listing.text and "내 스크립트" in listing.text  # never shown again
    bearer = {"Authorization": f"Bearer {token}"}
    client = TestClient(app_client.app)
    assert client.get("/api/v1/me", headers=bearer).json()["username"] == "lab1"
    token_id = re.search(r'data-token-id="(\d+)" class="live"', listing.text).group(1)
    r = app_client.post(f"/tokens/{token_id}/revoke", data={"csrf_token": csrf},
                        follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    assert _audit(world, "token.revoke")


def test_labeler_cannot_revoke_someone_elses_token(app_client, world, token_for) -> None:
    token_for("lab2")
    with session_scope(world.engine) as s:
        other = s.scalar(select(AuditLog.entity_id).where(AuditLog.action == "token.create"))
    csrf = _sign_in(app_client, "lab1", "/tokens")
    r = app_client.post(f"/tokens/{other}/revoke", data={"csrf_token": csrf})
    assert r.status_code == 404


def test_audit_log_filters_pages_and_csv(app_client: TestClient, world) -> None:
    with session_scope(world.engine) as s:
        for i in range(60):
            record(s, actor="=HYPERLINK(\"http://evil\")" if i == 0 else "ops-bot",
                   action="webhook.test", entity="webhook", entity_id=i)
    _sign_in(app_client, "admin", "/audit")
    page = app_client.get("/audit", params={"action": "webhook"})
    assert page.status_code == 200
    assert page.text.count('data-action="webhook.test"') == 50  # one page
    nxt = re.search(r'href="([^"]+)" id="audit-next"', page.text).group(1).replace("&amp;", "&")
    older = app_client.get(nxt)
    assert older.text.count('data-action="webhook.test"') == 10
    only = app_client.get("/audit", params={"actor": "ops-bot", "action": "webhook"})
    assert "59" in re.search(r'id="audit-total">([^<]+)<', only.text).group(1)
    r = app_client.get("/audit.csv", params={"action": "webhook"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["id", "at", "actor", "action"] and len(rows) == 61
    actors = {row[2] for row in rows[1:]}
    assert "'=HYPERLINK(\"http://evil\")" in actors  # shown as text, never run
    assert not any(a.startswith("=") for a in actors)


def test_audit_search_keyset_and_dates(world) -> None:
    from datetime import timedelta

    from modops.store import utcnow

    with session_scope(world.engine) as s:
        newest = search_audit(s, AuditFilter(), limit=5)
        assert [e.id for e in newest] == sorted((e.id for e in newest), reverse=True)
        older = search_audit(s, AuditFilter(), before_id=newest[-1].id, limit=5)
        assert all(e.id < newest[-1].id for e in older)
        assert search_audit(s, AuditFilter(since=utcnow() + timedelta(days=1))) == []


def test_audit_is_admin_only(app_client, world) -> None:
    _sign_in(app_client, "manager", "/")
    assert app_client.get("/audit").status_code == 403
    assert app_client.get("/audit.csv").status_code == 403


def test_teams_show_cost_with_currency(app_client, world) -> None:
    csrf = _sign_in(app_client, "admin", "/admin/teams")
    r = app_client.post("/admin/teams", data={"name": "Seoul A", "vendor": "한빛 BPO",
                                              "hourly_cost": "24000", "currency": "krw",
                                              "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    page = app_client.get("/admin/teams")
    assert "24,000 KRW/시간" in page.text and "한빛 BPO" in page.text
    bad = app_client.post("/admin/teams", data={"name": "Seoul A", "currency": "won!",
                                                "csrf_token": csrf})
    assert bad.status_code == 422 and "KRW" in bad.text and 'value="won!"' in bad.text
    assert _audit(world, "team.update")


def test_styled_404_and_json_404(app_client, world) -> None:
    _sign_in(app_client, "lab1", "/")
    page = app_client.get("/no/such/page")
    assert page.status_code == 404 and "<html" in page.text and "찾을 수 없습니다" in page.text
    api = app_client.get("/api/v1/no-such")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    anon = TestClient(app_client.app).get("/audit/nothing")
    assert anon.status_code == 404 and "<html" in anon.text


def test_audit_api_filters_pages_and_csv(app_client, world, token_for) -> None:
    admin = token_for("admin")
    first = app_client.get("/api/v1/audit", params={"limit": 3}, headers=admin).json()
    assert len(first) == 3 and first[0]["id"] > first[-1]["id"]
    more = app_client.get("/api/v1/audit", params={"limit": 3, "before": first[-1]["id"]},
                          headers=admin).json()
    assert more and all(e["id"] < first[-1]["id"] for e in more)
    made = app_client.get("/api/v1/audit", params={"action": "user.create"},
                          headers=admin).json()
    assert made and {e["action"] for e in made} == {"user.create"}
    assert "." not in made[0]["at"]  # no microseconds
    r = app_client.get("/api/v1/audit.csv", params={"entity": "user"}, headers=admin)
    assert r.status_code == 200 and r.text.startswith("id,at,actor,action")
    assert app_client.get("/api/v1/audit", headers=token_for("manager")).status_code == 403
