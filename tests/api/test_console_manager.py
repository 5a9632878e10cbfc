"""The manager's console without a browser (SQLite and PostgreSQL): inline errors that keep
the form, project creation, the taxonomy editor's v2 with a mapping, guidelines, import by
upload (a bad file: FILE:LINE, nothing written), export with filters, reports — every
change audited, no server path on any page."""

from __future__ import annotations

import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from modops import jobs
from modops.store import session_scope
from modops.store.models import AuditLog, Item, Project
from tests.api.test_web import _sign_in
from tests.api.world import World


@pytest.fixture(autouse=True)
def _job_files_in_tmp(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MODOPS_JOB_DIR", str(tmp_path / "jobs"))


def _job_id(r) -> int:
    assert r.status_code == 303, r.text[:500]
    m = re.search(r"/jobs/(\d+)$", r.headers["location"])
    assert m, r.headers["location"]
    return int(m.group(1))


def test_invalid_settings_stay_in_the_form_with_inline_errors(app_client: TestClient,
                                                              world: World) -> None:
    csrf = _sign_in(app_client, "manager", "/manage/kr-web/settings")
    form = {"overlap_k": "25", "gold_rate": "1.5", "audit_rate": "0", "sla_minutes": "60",
            "lease_seconds": "600", "auto_action_threshold": "0.2",
            "auto_clear_threshold": "0.4", "escalation_threshold": "0.67", "status": "active",
            "sla.comment": "0", "csrf_token": csrf}
    r = app_client.post("/manage/kr-web/settings", data=form,
                        headers={"Accept-Language": "ko"})
    assert r.status_code == 422
    assert 'id="error-overlap_k"' in r.text and "1에서 20 사이의 정수" in r.text
    assert 'id="error-gold_rate"' in r.text and 'id="error-thresholds"' in r.text
    assert 'id="error-settings"' in r.text
    assert 'value="25"' in r.text and 'value="1.5"' in r.text  # what was typed is kept
    with session_scope(world.engine) as s:
        p = s.scalar(select(Project).where(Project.key == "kr-web"))
        assert p.overlap_k != 25 and p.gold_rate != 1.5
    ok = {**form, "overlap_k": "2", "gold_rate": "0.1", "auto_action_threshold": "0.9",
          "auto_clear_threshold": "0.1", "sla.comment": "90"}
    r = app_client.post("/manage/kr-web/settings", data=ok, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("m=saved")
    with session_scope(world.engine) as s:
        p = s.scalar(select(Project).where(Project.key == "kr-web"))
        assert p.settings["sla_by_product"] == {"comment": 90}
        assert s.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "project.update")) >= 1


def test_manager_creates_a_project_in_the_browser(app_client: TestClient, world: World) -> None:
    csrf = _sign_in(app_client, "manager", "/manage/new")
    page = app_client.get("/manage/new")
    assert page.status_code == 200 and 'id="project-form"' in page.text
    bad = {"key": "Bad Key!", "name": "", "taxonomy": "starter", "overlap_k": "3",
           "gold_rate": "0.05", "audit_rate": "0.02", "sla_minutes": "1440",
           "auto_action_threshold": "", "auto_clear_threshold": "",
           "escalation_threshold": "0.66", "csrf_token": csrf,
           "description": "<script>alert(1)</script>"}
    r = app_client.post("/manage/new", data=bad)
    assert r.status_code == 422
    for field in ("key", "name", "products"):
        assert f'id="error-{field}"' in r.text, field
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text  # kept, escaped
    good = {**bad, "key": "kr-live", "name": "라이브 모니터링", "products": ["live", "comment"],
            "sla.live": "60", "teams": ["Seoul A"]}
    r = app_client.post("/manage/new", data=good, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/manage/kr-live/taxonomy?m=saved"
    with session_scope(world.engine) as s:
        p = s.scalar(select(Project).where(Project.key == "kr-live"))
        assert p is not None and p.overlap_k == 3 and p.settings["sla_by_product"] == {"live": 60}
        assert {x.key for x in p.products} == {"live", "comment"}
        actions = set(s.scalars(select(AuditLog.action).where(AuditLog.project_id == p.id)))
        assert "project.create" in actions
    again = app_client.post("/manage/new", data=good)
    assert again.status_code == 422 and 'id="error-key"' in again.text


def _editor_form(page: str) -> dict[str, object]:
    form: dict[str, object] = {}
    for name, value in re.findall(r'<input (?:type="hidden" )?name="([^"]+)"[^>]*?value="([^"]*)"',
                                  page):
        form[name] = value
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        form[name] = chosen.group(1) if chosen else ""
    return form


def test_taxonomy_v2_with_a_mapping_from_the_editor(app_client: TestClient,
                                                    world: World) -> None:
    _sign_in(app_client, "manager", "/manage/kr-web/taxonomy")
    page = app_client.get("/manage/kr-web/taxonomy/edit")
    assert page.status_code == 200
    form = _editor_form(page.text)
    rows = int(form["rows"])
    keys = {form[f"key.{i}"]: i for i in range(rows) if form.get(f"key.{i}")}
    assert "profanity" in keys
    i = keys["profanity"]
    form[f"key.{i}"] = "insult"  # a renamed policy
    form[f"name_en.{i}"] = "Insult"
    blank = next(j for j in range(rows) if not form.get(f"key.{j}"))
    form |= {f"key.{blank}": "hate.<b>", f"name_ko.{blank}": "x", f"name_en.{blank}": "x"}
    r = app_client.post("/manage/kr-web/taxonomy/edit", data={**form, "step": "preview"})
    assert r.status_code == 422 and ("라벨 키는" in r.text or "A label key" in r.text)
    assert "&lt;b&gt;" in r.text
    form |= {f"key.{blank}": "scam", f"name_ko.{blank}": "사기 권유", f"name_en.{blank}": "Scam",
             f"action.{blank}": "remove"}
    r = app_client.post("/manage/kr-web/taxonomy/edit", data={**form, "step": "preview"})
    assert r.status_code == 200 and 'id="map-profanity"' in r.text
    r = app_client.post("/manage/kr-web/taxonomy/edit", data={**form, "step": "apply"})
    assert r.status_code == 422  # profanity not mapped yet
    r = app_client.post("/manage/kr-web/taxonomy/edit",
                        data={**form, "step": "apply", "map.profanity": "insult",
                              "note": "욕설 → 모욕"}, follow_redirects=False)
    assert r.status_code == 303, r.text[:800]
    page = app_client.get("/manage/kr-web/taxonomy")
    assert "v2" in page.text and "욕설 → 모욕" in page.text and "scam" in page.text
    with session_scope(world.engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "project.taxonomy")) == 1
    old = app_client.get("/manage/kr-web/taxonomy?version=1")
    assert old.status_code == 200 and "profanity" in old.text


def test_guidelines_are_edited_and_audited(app_client: TestClient, world: World) -> None:
    csrf = _sign_in(app_client, "manager", "/manage/kr-web/taxonomy/labels/profanity")
    r = app_client.post("/manage/kr-web/taxonomy/labels/profanity", data={
        "csrf_token": csrf, "definition_ko": "욕설·비속어 <img src=x>", "definition_en": "Swearing",
        "positive_ko": "씨발\n개새끼", "negative_ko": "시발점(始發點)"}, follow_redirects=False)
    assert r.status_code == 303
    page = app_client.get("/manage/kr-web/taxonomy")
    assert "&lt;img src=x&gt;" in page.text and "<img src=x>" not in page.text
    with session_scope(world.engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "taxonomy.guidelines")) == 1


def test_import_upload_refused_then_accepted_with_progress_page(app_client: TestClient,
                                                                world: World) -> None:
    csrf = _sign_in(app_client, "manager", "/manage/kr-web/import")
    with session_scope(world.engine) as s:
        before = s.scalar(select(func.count()).select_from(Item))
    bad = b'{"external_id": "n-1", "comment": "ok"}\n{"external_id": "n-2"\n'
    r = app_client.post("/manage/kr-web/import", data={"csrf_token": csrf},
                        files={"file": ("내 파일.jsonl", io.BytesIO(bad), "application/json")},
                        follow_redirects=False)
    job_id = _job_id(r)
    job = jobs.wait(world.engine, job_id, timeout_s=60)
    assert job.state == "failed"
    page = app_client.get(f"/manage/kr-web/jobs/{job_id}")
    assert "내 파일.jsonl:2" in page.text, page.text
    assert "uploads" not in page.text and "/tmp" not in page.text
    with session_scope(world.engine) as s:
        assert s.scalar(select(func.count()).select_from(Item)) == before  # nothing written
    good = b"".join(json.dumps({"external_id": f"n-{i}", "comment": f"댓글 {i}",
                                "product": "comment"}, ensure_ascii=False).encode() + b"\n"
                    for i in range(5))
    r = app_client.post("/manage/kr-web/import", data={"csrf_token": csrf},
                        files={"file": ("good.jsonl", io.BytesIO(good), "application/json")},
                        follow_redirects=False)
    job_id = _job_id(r)
    assert jobs.wait(world.engine, job_id, timeout_s=60).state == "succeeded"
    status = app_client.get(f"/manage/kr-web/jobs/{job_id}/status")
    assert 'data-n="inserted">5<' in status.text and "hx-get" not in status.text
    none = app_client.post("/manage/kr-web/import", data={"csrf_token": csrf})
    assert none.status_code == 422 and 'id="error-file"' in none.text


def test_export_with_filters_and_report_download(app_client: TestClient, world: World) -> None:
    csrf = _sign_in(app_client, "manager", "/manage/kr-web/export")
    bad = app_client.post("/manage/kr-web/export", data={
        "csrf_token": csrf, "format": "jsonl", "date_from": "2026-12-31",
        "date_to": "2026-01-01"})
    assert bad.status_code == 422 and 'id="error-dates"' in bad.text
    r = app_client.post("/manage/kr-web/export", data={
        "csrf_token": csrf, "format": "jsonl", "state": "queued", "product": "comment"},
        follow_redirects=False)
    job_id = _job_id(r)
    assert jobs.wait(world.engine, job_id, timeout_s=60).state == "succeeded"
    file = app_client.get(f"/manage/kr-web/jobs/{job_id}/file/jsonl")
    assert file.status_code == 200
    rows = [json.loads(line) for line in file.text.splitlines()]
    assert rows and all(x["state"] == "queued" and x["product"] == "comment" for x in rows)
    assert "attachment" in file.headers["content-disposition"]
    r = app_client.post("/manage/kr-web/reports", data={
        "csrf_token": csrf, "period": "last week", "lang": "ko", "formats": ["html"]})
    assert r.status_code == 422 and 'id="error-period"' in r.text
    r = app_client.post("/manage/kr-web/reports", data={
        "csrf_token": csrf, "period": "2026-W47", "lang": "en", "formats": ["html"]},
        follow_redirects=False)
    job_id = _job_id(r)
    job = jobs.wait(world.engine, job_id, timeout_s=120)
    assert job.state == "succeeded", job.error
    page = app_client.get(f"/manage/kr-web/jobs/{job_id}")
    assert 'id="download-html"' in page.text and ".modops" not in page.text
    html = app_client.get(f"/manage/kr-web/jobs/{job_id}/file/html")
    assert html.status_code == 200 and "kr-web-report-2026-W47-en.html" in \
        html.headers["content-disposition"]
    # another team's manager cannot see the job or its file
    _sign_in(app_client, "busanmgr", "/manage")
    assert app_client.get(f"/manage/kr-web/jobs/{job_id}").status_code == 404
    assert app_client.get(f"/manage/kr-web/jobs/{job_id}/file/html").status_code == 404
