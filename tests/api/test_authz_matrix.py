"""Every route × every role (and anonymous) gets the right status, on SQLite and PostgreSQL.

Columns: anonymous, a labeler of the project (lab1), its reviewer, its manager, an admin, a
labeler of another team (busan) and a manager of another team (busanmgr). Object-level misses
are 404 (ids tell a prober nothing); role-level misses are 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.world import World

ROLES = ("anon", "lab1", "reviewer", "manager", "admin", "busan", "busanmgr")
OK = {200, 204}  # "served" or "nothing to serve" — both are allowed answers
A, L, R, M, D, B, BM = range(7)


@pytest.fixture(autouse=True)
def _job_files_in_tmp(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MODOPS_JOB_DIR", str(tmp_path / "jobs"))


def _setup(client: TestClient, token_for: Callable[[str], dict[str, str]]) -> dict[str, Any]:
    """lab1: one submitted answer and one task in hand; lab2: the same; a manager webhook."""
    ids: dict[str, Any] = {}
    for who in ("lab1", "lab2"):
        h = token_for(who)
        first = client.post("/api/v1/projects/kr-web/tasks/next", headers=h).json()
        sub = client.post(f"/api/v1/tasks/{first['task_id']}/submit", headers=h,
                          json={"labels": ["none"]})
        assert sub.status_code == 200, sub.text
        ids[f"{who}_ann"] = sub.json()["annotation_id"]
        held = client.post("/api/v1/projects/kr-web/tasks/next", headers=h).json()
        ids[f"{who}_task"] = held["task_id"]
    hook = client.post("/api/v1/webhooks", headers=token_for("manager"),
                       json={"url": "https://hooks.example.com/hook", "project": "kr-web"})
    assert hook.status_code == 201, hook.text
    ids["hook"] = hook.json()["id"]
    # Jobs with files: kr-web's own export, and an admin's report over both teams' projects
    # (started from kr-web): nobody who cannot open busan-only may see the second or its file.
    from modops import jobs

    for name, who, body in (
            ("export_job", "manager", {"kind": "export", "params": {"format": "csv"}}),
            ("cross_job", "admin", {"kind": "report", "params": {
                "projects": ["kr-web", "busan-only"], "formats": ["html"]}})):
        r = client.post("/api/v1/projects/kr-web/jobs", headers=token_for(who), json=body)
        assert r.status_code == 202, r.text
        ids[name] = r.json()["id"]
    for name in ("export_job", "cross_job"):
        job = jobs.wait(client.app.state.engine, ids[name], timeout_s=120)
        assert job.state == "succeeded", job.error
    return ids


# (method, path, json body, expected per role in ROLES order)
MATRIX: list[tuple[str, str, Any, tuple[Any, ...]]] = [
    ("GET", "/api/v1/me", None, (401, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/me/stats", None, (401, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/tokens", None, (401, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/projects", None, (401, 200, 200, 200, 200, 200, 200)),
    ("POST", "/api/v1/projects", {"key": "x"}, (401, 403, 403, 422, 422, 403, 422)),
    ("GET", "/api/v1/projects/kr-web", None, (401, 200, 200, 200, 200, 404, 404)),
    ("GET", "/api/v1/projects/busan-only", None, (401, 404, 404, 404, 200, 200, 200)),
    ("GET", "/api/v1/projects/kr-web/settings", None, (401, 403, 403, 200, 200, 403, 404)),
    ("PATCH", "/api/v1/projects/kr-web/settings", {"overlap_k": 3},
     (401, 403, 403, 200, 200, 403, 404)),
    ("PUT", "/api/v1/projects/kr-web/taxonomy", {"taxonomy": {"key": "x"}},
     (401, 403, 403, 422, 422, 403, 404)),
    ("GET", "/api/v1/projects/kr-web/taxonomy/history", None,
     (401, 403, 403, 200, 200, 403, 404)),
    ("GET", "/api/v1/projects/kr-web/summary", None, (401, 403, 200, 200, 200, 403, 404)),
    ("GET", "/api/v1/projects/kr-web/dashboard", None, (401, 403, 200, 200, 200, 403, 404)),
    ("GET", "/api/v1/projects/kr-web/items", None, (401, 403, 200, 200, 200, 403, 404)),
    ("GET", "/api/v1/projects/kr-web/items/c-1", None, (401, 403, 200, 200, 200, 403, 404)),
    # An empty push reaches the importer (422 "no rows"): the policy let managers through.
    ("POST", "/api/v1/projects/kr-web/items", [], (401, 403, 403, 422, 422, 403, 404)),
    ("GET", "/api/v1/projects/kr-web/export", None, (401, 403, 403, 200, 200, 403, 404)),
    ("POST", "/api/v1/projects/kr-web/appeals",
     {"external_id": "no-such", "opened_by": "creator"}, (401, 403, 403, 404, 404, 403, 404)),
    ("POST", "/api/v1/projects/kr-web/tasks/next", None, (401, 200, OK, OK, OK, 404, 404)),
    ("POST", "/api/v1/projects/busan-only/tasks/next", None, (401, 404, 404, 404, OK, OK, OK)),
    ("GET", "/api/v1/tasks/{lab1_task}", None, (401, 200, 200, 200, 200, 404, 404)),
    ("GET", "/api/v1/tasks/{lab2_task}", None, (401, 404, 200, 200, 200, 404, 404)),
    ("GET", "/api/v1/tasks/999999", None, (401, 404, 404, 404, 404, 404, 404)),
    ("POST", "/api/v1/tasks/{lab2_task}/submit", {"labels": ["none"]},
     (401, 404, 404, 404, 404, 404, 404)),
    ("POST", "/api/v1/projects/kr-web/tasks/{lab2_task}/submit-and-next", {"labels": ["none"]},
     (401, 404, 404, 404, 404, 404, 404)),
    ("POST", "/api/v1/tasks/{lab2_task}/skip", None, (401, 404, 404, 404, 404, 404, 404)),
    ("POST", "/api/v1/tasks/{lab2_task}/flag", None, (401, 404, 404, 404, 404, 404, 404)),
    ("GET", "/api/v1/annotations/{lab1_ann}", None, (401, 200, 200, 200, 200, 404, 404)),
    ("GET", "/api/v1/annotations/{lab2_ann}", None, (401, 404, 200, 200, 200, 404, 404)),
    ("POST", "/api/v1/projects/kr-web/reviews/next", None, (401, 403, OK, OK, OK, 403, 404)),
    ("POST", "/api/v1/reviews/{lab2_task}/decide", {"labels": ["none"]},
     (401, 403, 404, 404, 404, 403, 404)),
    ("POST", "/api/v1/reviews/{lab2_task}/hand-back", None, (401, 403, 404, 404, 404, 403, 404)),
    ("GET", "/api/v1/users", None, (401, 403, 403, 200, 200, 403, 200)),
    ("POST", "/api/v1/users",
     {"username": "newbie", "role": "labeler", "password": "river-lamp-stone-8"},
     (401, 403, 403, 403, 201, 403, 403)),
    # Offboarding (admins only): lab3 is no column here, so switching it off changes nothing.
    ("POST", "/api/v1/users/lab3/deactivate", None, (401, 403, 403, 403, 200, 403, 403)),
    ("POST", "/api/v1/users/lab3/activate", None, (401, 403, 403, 403, 200, 403, 403)),
    ("PUT", "/api/v1/users/lab3/password", {"password": "copper-meadow-52"},
     (401, 403, 403, 403, 204, 403, 403)),
    ("DELETE", "/api/v1/users/lab3/sessions", None, (401, 403, 403, 403, 204, 403, 403)),
    ("POST", "/api/v1/users/nobody/deactivate", None, (401, 403, 403, 403, 404, 403, 403)),
    ("GET", "/api/v1/teams", None, (401, 403, 403, 200, 200, 403, 200)),
    ("PUT", "/api/v1/teams/Seoul A", {"hourly_cost": 24000, "currency": "KRW"},
     (401, 403, 403, 403, 200, 403, 403)),
    ("GET", "/api/v1/webhooks", None, (401, 403, 403, 200, 200, 403, 200)),
    ("POST", "/api/v1/webhooks", {"url": "https://hooks.example.com/x", "project": "kr-web"},
     (401, 403, 403, 201, 201, 403, 404)),
    ("POST", "/api/v1/webhooks", {"url": "https://hooks.example.com/all"},
     (401, 403, 403, 403, 201, 403, 403)),
    ("GET", "/api/v1/webhooks/{hook}/deliveries", None, (401, 403, 403, 200, 200, 403, 404)),
    # Background jobs (managers of the project, admins) and reviewers' audited PII unmask.
    ("GET", "/api/v1/jobs", None, (401, 403, 403, 200, 200, 403, 200)),
    ("POST", "/api/v1/projects/kr-web/jobs", {"kind": "export"},
     (401, 403, 403, 202, 202, 403, 404)),
    # Purging is an admin's (and within the project's retention setting only).
    ("POST", "/api/v1/projects/kr-web/jobs", {"kind": "purge"},
     (401, 403, 403, 403, 202, 403, 404)),
    # A report reads every project it names: all of them must be the caller's.
    ("POST", "/api/v1/projects/kr-web/jobs",
     {"kind": "report", "params": {"projects": ["busan-only"]}},
     (401, 403, 403, 404, 202, 403, 404)),
    ("POST", "/api/v1/projects/busan-only/jobs",
     {"kind": "report", "params": {"projects": ["kr-web"]}},
     (401, 403, 403, 404, 202, 403, 404)),
    ("GET", "/api/v1/jobs/{export_job}", None, (401, 403, 403, 200, 200, 403, 404)),
    ("GET", "/api/v1/jobs/{export_job}/file", None, (401, 403, 403, 200, 200, 403, 404)),
    ("GET", "/api/v1/jobs/{cross_job}", None, (401, 403, 403, 404, 200, 403, 404)),
    ("GET", "/api/v1/jobs/{cross_job}/file", None, (401, 403, 403, 404, 200, 403, 404)),
    ("POST", "/api/v1/jobs/{cross_job}/retry", None, (401, 403, 403, 404, 409, 403, 404)),
    ("GET", "/api/v1/jobs/999999", None, (401, 403, 403, 404, 404, 403, 404)),
    ("POST", "/api/v1/jobs/999999/retry", None, (401, 403, 403, 404, 404, 403, 404)),
    ("GET", "/api/v1/jobs/999999/file", None, (401, 403, 403, 404, 404, 403, 404)),
    ("POST", "/api/v1/items/999999/unmask", {"reason": "doxxing report"},
     (401, 403, 404, 404, 404, 403, 404)),
    # Analytics (dashboards' numbers): managers of the project and admins.
    ("GET", "/api/v1/projects/kr-web/metrics", None, (401, 403, 403, 200, 200, 403, 404)),
    ("GET", "/api/v1/projects/busan-only/metrics", None, (401, 403, 403, 404, 200, 403, 200)),
    ("GET", "/api/v1/projects/kr-web/metrics/labels", None, (401, 403, 403, 200, 200, 403, 404)),
    ("GET", "/api/v1/projects/kr-web/metrics/quality", None,
     (401, 403, 403, 200, 200, 403, 404)),
    ("GET", "/api/v1/projects/kr-web/metrics/machine", None,
     (401, 403, 403, 200, 200, 403, 404)),
    ("GET", "/api/v1/projects/kr-web/staffing", None, (401, 403, 403, 200, 200, 403, 404)),
    ("GET", "/api/v1/projects/kr-web/alerts", None, (401, 403, 403, 200, 200, 403, 404)),
    ("POST", "/api/v1/projects/kr-web/alerts/evaluate", None,
     (401, 403, 403, 200, 200, 403, 404)),
    ("GET", "/api/v1/projects/kr-web/transparency.csv", None,
     (401, 403, 403, 200, 200, 403, 404)),
    # Media (issue 18): uploads by managers; files only by signed URL to who may see the item;
    # hash banks: reviewers list and add from a decision, managers create, import, export.
    ("POST", "/api/v1/projects/kr-web/items/c-1/media", None,
     (401, 403, 403, 422, 422, 403, 404)),
    ("GET", "/api/v1/items/999999/media", None, (401, 404, 404, 404, 404, 404, 404)),
    ("POST", "/api/v1/items/999999/media/unblur", None, (401, 404, 404, 404, 404, 404, 404)),
    ("GET", "/api/v1/media/not-a-token", None, (401, 404, 404, 404, 404, 404, 404)),
    ("GET", "/api/v1/banks", None, (401, 403, 200, 200, 200, 403, 200)),
    # the first manager creates the bank; later callers find the name taken
    ("POST", "/api/v1/banks", {"name": "b", "policy_label": "violence", "action": "review"},
     (401, 403, 403, 201, 422, 403, 422)),
    ("POST", "/api/v1/banks/nope/items", {"item_id": 999999},
     (401, 403, 404, 404, 404, 403, 404)),
    ("GET", "/api/v1/banks/nope/hashes", None, (401, 403, 403, 404, 404, 403, 404)),
    ("POST", "/api/v1/banks/nope/hashes", None, (401, 403, 403, 404, 404, 403, 404)),
    ("GET", "/api/v1/projects/kr-web/clusters/text/1", None,
     (401, 403, 200, 200, 200, 403, 404)),
    ("POST", "/api/v1/projects/kr-web/clusters/text/1/decide", {"labels": ["none"]},
     (401, 403, 404, 404, 404, 403, 404)),
    ("GET", "/api/v1/audit", None, (401, 403, 403, 403, 200, 403, 403)),
    ("GET", "/api/v1/audit.csv", None, (401, 403, 403, 403, 200, 403, 403)),
    ("GET", "/api/v1/projects/kr-web/transparency/dsa", None,
     (401, 403, 403, 200, 200, 403, 404)),
    # Rules over signals (issue 19): managers of the project; a bad file is refused (422).
    ("GET", "/api/v1/signals", None, (401, 403, 403, 200, 200, 403, 200)),
    ("GET", "/api/v1/projects/kr-web/rules", None, (401, 403, 403, 200, 200, 403, 404)),
    ("POST", "/api/v1/projects/kr-web/rules", {"yaml": "rules: [", "name": "x.yaml"},
     (401, 403, 403, 422, 422, 403, 404)),
    ("GET", "/api/v1/projects/kr-web/rules/nope", None, (401, 403, 403, 404, 404, 403, 404)),
    ("POST", "/api/v1/projects/kr-web/rules/nope/backtest", {"days": 7},
     (401, 403, 403, 404, 404, 403, 404)),
    ("POST", "/api/v1/projects/kr-web/rules/nope/mode", {"mode": "live"},
     (401, 403, 403, 404, 404, 403, 404)),
    ("POST", "/api/v1/projects/kr-web/thresholds/backtest", {"auto_action": 0.9, "days": 7},
     (401, 403, 403, 200, 200, 403, 404)),
    ("POST", "/api/v1/projects/kr-web/thresholds", {"auto_action": 0.1, "auto_clear": 0.9},
     (401, 403, 403, 422, 422, 403, 404)),
    # Web pages: anonymous is sent to sign in (303); the same policy answers for everyone else.
    ("GET", "/", None, (303, 200, 200, 200, 200, 200, 200)),
    ("GET", "/label/kr-web", None, (303, 200, 200, 200, 200, 404, 404)),
    ("GET", "/label/busan-only", None, (303, 404, 404, 404, 200, 200, 200)),
    ("GET", "/review/kr-web", None, (303, 403, 200, 200, 200, 403, 404)),
    # The labeler's and reviewer's screens (issue 20): start, leave, a past answer, a chosen
    # review task, an appeal opened from the UI.
    ("POST", "/label/kr-web/start", None, (303, 303, 303, 303, 303, 404, 404)),
    ("GET", "/label/kr-web/tasks/{lab1_task}", None, (303, 303, 303, 303, 303, 303, 303)),
    ("POST", "/label/kr-web/tasks/{lab2_task}/leave", None, (303, 204, 204, 204, 204, 404, 404)),
    ("GET", "/label/kr-web/answers/{lab1_ann}", None, (303, 200, 404, 404, 404, 404, 404)),
    ("POST", "/label/kr-web/answers/{lab1_ann}", None, (303, 422, 404, 404, 404, 404, 404)),
    ("GET", "/review/kr-web/tasks/{lab2_task}", None, (303, 403, 303, 303, 303, 403, 404)),
    ("POST", "/review/kr-web/appeals", None, (303, 403, 422, 422, 422, 403, 404)),
    ("GET", "/review/kr-web/appeals", None, (303, 403, 200, 200, 200, 403, 404)),
    ("GET", "/manage", None, (303, 403, 200, 200, 200, 403, 200)),
    ("GET", "/manage/kr-web", None, (303, 403, 200, 200, 200, 403, 404)),
    ("GET", "/manage/kr-web/settings", None, (303, 403, 403, 200, 200, 403, 404)),
    ("GET", "/manage/kr-web/webhooks", None, (303, 403, 403, 200, 200, 403, 404)),
    ("GET", "/manage/kr-web/analytics", None, (303, 403, 403, 200, 200, 403, 404)),
    ("GET", "/manage/busan-only/analytics", None, (303, 403, 403, 404, 200, 403, 200)),
    ("GET", "/manage/kr-web/analytics/trends", None, (303, 403, 403, 200, 200, 403, 404)),
    ("GET", "/manage/kr-web/analytics/quality", None, (303, 403, 403, 200, 200, 403, 404)),
    ("GET", "/manage/kr-web/analytics/machine", None, (303, 403, 403, 200, 200, 403, 404)),
    ("GET", "/manage/kr-web/analytics/alerts", None, (303, 403, 403, 200, 200, 403, 404)),
    ("POST", "/manage/kr-web/analytics/alerts", None, (303, 403, 403, 303, 303, 403, 404)),
    ("GET", "/manage/kr-web/analytics/staffing", None, (303, 403, 403, 200, 200, 403, 404)),
    ("GET", "/users", None, (303, 403, 403, 200, 200, 403, 200)),
    # The console (issue 20): own tokens for everyone; users, audit log for admins; teams.
    ("GET", "/tokens", None, (303, 200, 200, 200, 200, 200, 200)),
    ("POST", "/tokens/999999/revoke", None, (303, 404, 404, 404, 404, 404, 404)),
    ("GET", "/audit", None, (303, 403, 403, 403, 200, 403, 403)),
    ("GET", "/audit.csv", None, (303, 403, 403, 403, 200, 403, 403)),
    ("GET", "/admin/users/lab3", None, (303, 403, 403, 403, 200, 403, 403)),
    ("POST", "/admin/users/lab3/sessions", None, (303, 403, 403, 403, 303, 403, 403)),
    ("GET", "/admin/teams", None, (303, 403, 403, 200, 200, 403, 200)),
    ("GET", "/manage/kr-web/items", None, (303, 403, 200, 200, 200, 403, 404)),
    ("GET", "/manage/busan-only/items", None, (303, 403, 404, 404, 200, 403, 200)),
    ("GET", "/manage/kr-web/items/999999", None, (303, 403, 404, 404, 404, 403, 404)),
    ("POST", "/manage/kr-web/alerts/999999/acknowledge", None,
     (303, 403, 403, 404, 404, 403, 404)),
    ("GET", "/manage/kr-web/analytics/scorecard", None, (303, 403, 403, 200, 200, 403, 404)),
    ("GET", "/no/such/page", None, (404, 404, 404, 404, 404, 404, 404)),
    # The manager's console (issue 20): project create, taxonomy editor, import, export,
    # reports and the job pages (a report over another team's project is not theirs).
    ("GET", "/manage/new", None, (303, 403, 403, 200, 200, 403, 200)),
    ("POST", "/manage/new", None, (303, 403, 403, 422, 422, 403, 422)),
    ("GET", "/manage/kr-web/taxonomy", None, (303, 403, 403, 200, 200, 403, 404)),
    ("GET", "/manage/kr-web/taxonomy/edit", None, (303, 403, 403, 200, 200, 403, 404)),
    ("POST", "/manage/kr-web/taxonomy/edit", None, (303, 403, 403, 422, 422, 403, 404)),
    ("GET", "/manage/kr-web/taxonomy/labels/none", None, (303, 403, 403, 200, 200, 403, 404)),
    ("POST", "/manage/kr-web/taxonomy/labels/none", None,
     (303, 403, 403, 303, 303, 403, 404)),
    ("GET", "/manage/kr-web/import", None, (303, 403, 403, 200, 200, 403, 404)),
    ("POST", "/manage/kr-web/import", None, (303, 403, 403, 422, 422, 403, 404)),
    ("GET", "/manage/kr-web/export", None, (303, 403, 403, 200, 200, 403, 404)),
    ("POST", "/manage/kr-web/export", None, (303, 403, 403, 422, 422, 403, 404)),
    ("GET", "/manage/kr-web/reports", None, (303, 403, 403, 200, 200, 403, 404)),
    ("POST", "/manage/kr-web/reports", None, (303, 403, 403, 422, 422, 403, 404)),
    ("GET", "/manage/kr-web/jobs/{export_job}", None, (303, 403, 403, 200, 200, 403, 404)),
    ("GET", "/manage/kr-web/jobs/{export_job}/status", None,
     (303, 403, 403, 200, 200, 403, 404)),
    ("GET", "/manage/kr-web/jobs/{export_job}/file/csv", None,
     (303, 403, 403, 200, 200, 403, 404)),
    ("GET", "/manage/kr-web/jobs/{cross_job}", None, (303, 403, 403, 404, 200, 403, 404)),
    ("GET", "/manage/kr-web/jobs/{cross_job}/file/html", None,
     (303, 403, 403, 404, 200, 403, 404)),
    ("GET", "/manage/kr-web/jobs/999999", None, (303, 403, 403, 404, 404, 403, 404)),
    # Rules (issue 19): authoring, backtest, enable — managers of the project.
    ("GET", "/manage/kr-web/rules", None, (303, 403, 403, 200, 200, 403, 404)),
    ("POST", "/manage/kr-web/rules", None, (303, 403, 403, 422, 422, 403, 404)),
    ("GET", "/manage/kr-web/rules/nope", None, (303, 403, 403, 404, 404, 403, 404)),
    ("POST", "/manage/kr-web/rules/nope/backtest", None, (303, 403, 403, 404, 404, 403, 404)),
    ("POST", "/manage/kr-web/rules/nope/mode", None, (303, 403, 403, 404, 404, 403, 404)),
    ("GET", "/login", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/healthz", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/docs", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/openapi.json", None, (200, 200, 200, 200, 200, 200, 200)),
]


def test_every_route_every_role(app_client: TestClient, token_for, world: World) -> None:
    ids = _setup(app_client, token_for)
    failures = []
    for method, template, body, expected in MATRIX:
        path = template.format(**ids)
        for role, want in zip(ROLES, expected, strict=True):
            headers = {} if role == "anon" else token_for(role)
            r = app_client.request(method, path, headers=headers, json=body,
                                   follow_redirects=False)
            ok = r.status_code in want if isinstance(want, set) else r.status_code == want
            if not ok:
                failures.append(f"{method} {template} as {role}: {r.status_code} "
                                f"(want {want}) {r.text[:120]}")
    assert not failures, "\n".join(failures)


def test_every_api_route_is_in_the_matrix(app_client: TestClient) -> None:
    """A new route cannot ship without an authorization row."""
    covered = {(m, t.split("?")[0]) for m, t, _, _ in MATRIX}
    spec = app_client.get("/openapi.json").json()
    missing = []
    for path, ops in spec["paths"].items():
        for method in ops:
            norm = path
            for name in ("task_id", "annotation_id", "hook_id", "token_id", "key",
                         "external_id", "job_id", "item_id", "name", "token", "kind",
                         "cluster_id", "username"):
                norm = norm.replace("{" + name + "}", "*")
            if not any(m == method.upper() and _match(norm, t) for m, t in covered):
                missing.append(f"{method.upper()} {path}")
    assert not missing or set(missing) <= ALLOWED_ELSEWHERE, missing


# Tested in test_api.py and tests/security with their own setup (they revoke or consume what
# they touch).
ALLOWED_ELSEWHERE = {"POST /api/v1/auth/login", "POST /api/v1/auth/logout",
                     "POST /api/v1/tokens", "DELETE /api/v1/tokens/{token_id}",
                     "POST /api/v1/tokens/{token_id}/rotate",
                     "DELETE /api/v1/webhooks/{hook_id}", "POST /api/v1/projects/{key}/import"}


def _match(norm: str, template: str) -> bool:
    parts, tparts = norm.split("/"), template.split("/")
    if len(parts) != len(tparts):
        return False
    return all(a == "*" or a == b for a, b in zip(parts, tparts, strict=True))


@pytest.mark.parametrize("path", ["/api/v1/projects/busan-only", "/api/v1/projects/2"])
def test_labeler_cannot_see_other_teams_project_by_key_or_id(app_client, token_for, path):
    r = app_client.get(path, headers=token_for("lab1"))
    assert r.status_code == 404


def test_labeler_cannot_read_other_labelers_tasks_or_answers_by_guessing(
        app_client: TestClient, token_for, world: World) -> None:
    ids = _setup(app_client, token_for)
    h = token_for("lab1")
    own = {ids["lab1_task"]}
    for task_id in range(1, 80):
        r = app_client.get(f"/api/v1/tasks/{task_id}", headers=h)
        assert r.status_code == (200 if task_id in own else 404), (task_id, r.text)
    for ann_id in range(1, 40):
        r = app_client.get(f"/api/v1/annotations/{ann_id}", headers=h)
        assert r.status_code == (200 if ann_id == ids["lab1_ann"] else 404), ann_id
    # The task payload a labeler gets never carries other labelers' answers.
    task = app_client.post("/api/v1/projects/kr-web/tasks/next", headers=h).json()
    assert "annotations" not in task and "labeler" not in str(task)


def test_teamless_staff_are_org_wide_but_teamless_labelers_are_not(app_client, world) -> None:
    """Central reviewers/managers (no team) see every project; a labeler without a team only
    those open to everyone."""
    from modops.accounts import add_user, create_token
    from modops.store import session_scope

    headers = {}
    with session_scope(world.engine) as s:
        for name, role in (("hq-manager", "manager"), ("hq-reviewer", "reviewer"),
                           ("drifter", "labeler")):
            u = add_user(s, name, role, skills=["ko"], actor="test")
            headers[name] = {"Authorization": f"Bearer {create_token(s, u, 't').token}"}
    for path in ("/api/v1/projects/kr-web", "/api/v1/projects/busan-only"):
        assert app_client.get(path, headers=headers["hq-manager"]).status_code == 200
        assert app_client.get(path, headers=headers["hq-reviewer"]).status_code == 200
        assert app_client.get(path, headers=headers["drifter"]).status_code == 404
    assert app_client.get("/api/v1/projects/kr-web/settings",
                          headers=headers["hq-manager"]).status_code == 200
    assert app_client.get("/api/v1/projects/kr-web/settings",
                          headers=headers["hq-reviewer"]).status_code == 403


def test_every_served_api_route_is_in_openapi(app_client: TestClient) -> None:
    """What the app serves under /api is what OpenAPI documents (and so what schemathesis
    fuzzes and the matrix guard above sees): no router mounted with ``include_in_schema=False``
    and no route hidden."""
    from fastapi.routing import iter_route_contexts

    # every route the app matches, included routers flattened (FastAPI's own walk)
    routes = list(iter_route_contexts(app_client.app.routes))  # type: ignore[attr-defined]
    served = {(m, r.path_format) for r in routes if (r.path_format or "").startswith("/api/")
              for m in (r.methods or ()) if m != "HEAD"}
    spec = app_client.get("/openapi.json").json()
    documented = {(m.upper(), path) for path, ops in spec["paths"].items() for m in ops}
    assert served, "no /api routes found"
    assert served - documented == set()
    assert {p for _, p in documented} <= {p for _, p in served}
    # the analytics API in particular (it used to be mounted through the web router)
    for path in ("/api/v1/projects/{key}/metrics", "/api/v1/projects/{key}/metrics/quality",
                 "/api/v1/projects/{key}/transparency.csv", "/api/v1/projects/{key}/alerts"):
        assert path in spec["paths"], path
        assert "analytics" in next(iter(spec["paths"][path].values()))["tags"]
