"""Web layer without a browser: CSRF on forms, sign-in hygiene, catalogue completeness."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from modops.web.i18n import MESSAGES
from tests.api.world import PASSWORD

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "modops" / "web" / "templates"


def _sign_in(client: TestClient, username: str, next_path: str = "/") -> str:
    page = client.get(f"/login?next={next_path}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD,
                                    "csrf_token": token, "next": next_path},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == next_path
    home = client.get(next_path)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', home.text).group(1)


def test_login_form_needs_its_csrf_cookie(app_client: TestClient, world) -> None:
    r = app_client.post("/login", data={"username": "lab1", "password": PASSWORD,
                                        "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 303 and "failed=1" in r.headers["location"]
    assert app_client.get("/api/v1/me").status_code == 401


def test_next_parameter_cannot_leave_the_site(app_client: TestClient, world) -> None:
    for evil in ("//evil.example", "https://evil.example", "/\\evil.example"):
        page = app_client.get("/login", params={"next": evil})
        assert 'name="next" value="/"' in page.text, evil


def test_forms_reject_missing_csrf(app_client: TestClient, world) -> None:
    csrf = _sign_in(app_client, "manager", "/manage/kr-web/settings")
    form = {"overlap_k": "2", "gold_rate": "0", "audit_rate": "0", "sla_minutes": "60",
            "lease_seconds": "600", "auto_action_threshold": "", "auto_clear_threshold": "",
            "escalation_threshold": "0.67", "status": "active"}
    r = app_client.post("/manage/kr-web/settings", data=form, follow_redirects=False)
    assert r.status_code == 403
    r = app_client.post("/manage/kr-web/settings", data={**form, "csrf_token": csrf},
                        follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("m=saved")
    bad = app_client.post("/manage/kr-web/settings",
                          data={**form, "overlap_k": "zero", "csrf_token": csrf})
    assert bad.status_code == 422 and "overlap_k" in bad.text
    assert "<html" in bad.text  # an error page, not JSON


def test_labeling_form_round_trip(app_client: TestClient, world) -> None:
    csrf = _sign_in(app_client, "lab1", "/label/kr-web")
    page = app_client.get("/label/kr-web")
    assert 'data-task-id="' not in page.text  # opening the page leases nothing
    started = app_client.post("/label/kr-web/start", data={"csrf_token": csrf},
                              follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"] == "/label/kr-web"
    page = app_client.get("/label/kr-web")
    task_id = re.search(r'data-task-id="(\d+)"', page.text).group(1)
    r = app_client.post(f"/label/kr-web/tasks/{task_id}",
                        data={"labels": "profanity", "action": "submit", "csrf_token": csrf},
                        follow_redirects=False)
    assert r.status_code == 303
    stats = app_client.get("/api/v1/me/stats").json()
    assert stats["today"] == 1
    # The same task again: it is done, so it is not this labeler's to act on any more.
    again = app_client.post(f"/label/kr-web/tasks/{task_id}",
                            data={"labels": "none", "csrf_token": csrf})
    assert again.status_code == 404


def test_language_cookie_switches_the_catalogue(app_client: TestClient, world) -> None:
    _sign_in(app_client, "lab1")
    assert "내 프로젝트" in app_client.get("/").text
    app_client.get("/lang/en?next=/")
    assert "My projects" in app_client.get("/").text


def test_catalogue_is_complete_in_both_languages() -> None:
    assert set(MESSAGES["ko"]) == set(MESSAGES["en"])
    used = set()
    for path in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r't\("([a-z_0-9.]+)"', path.read_text()))
    missing = {k for k in used if k not in MESSAGES["ko"] and not k.endswith(".")}
    assert not missing, missing


def test_appeal_queue_lists_escaped_reasons_and_serves_appeals(app_client, world) -> None:
    from modops import queue as q

    users = world.users
    ext = None
    for who in ("lab1", "lab2", "lab3"):
        view = q.next_task(world.engine, "kr-web", users[who])
        ext = view.item.external_id
        q.submit(world.engine, view.task_id, users[who], ["none"])
    q.open_appeal(world.engine, "kr-web", ext, opened_by="creator",
                  reason="<script>alert('appeal')</script> 억울합니다")
    _sign_in(app_client, "reviewer", "/review/kr-web/appeals")
    page = app_client.get("/review/kr-web/appeals")
    assert "&lt;script&gt;alert(&#39;appeal&#39;)&lt;/script&gt; 억울합니다" in page.text
    assert "<script>alert" not in page.text
    review = app_client.get("/review/kr-web?kind=appeal")
    assert 'data-task-id="' in review.text and "이의신청" in review.text
