"""Finding 1: a manager read the report of a project outside their team by naming it in a
report job's ``params.projects`` and downloading the job's file. Every project a job reads now
goes through the same membership rule as ``GET /projects/{key}``: at enqueue, in the worker,
and whenever the job, its result or its file is shown."""

from __future__ import annotations

from sqlalchemy import select

from modops import jobs
from modops.store import session_scope
from modops.store.models import AuditLog, Project, User


def _report(client, headers, projects, path_key="kr-web"):
    return client.post(f"/api/v1/projects/{path_key}/jobs", headers=headers, json={
        "kind": "report", "params": {"projects": projects, "formats": ["html"]}})


def test_report_job_naming_another_teams_project_is_refused(app_client, token_for, world):
    mgr = token_for("manager")  # Seoul A: kr-web yes, busan-only no
    assert app_client.get("/api/v1/projects/busan-only", headers=mgr).status_code == 404
    r = _report(app_client, mgr, ["busan-only"])
    assert r.status_code == 404, r.text
    assert _report(app_client, mgr, ["kr-web", "busan-only"]).status_code == 404
    assert _report(app_client, mgr, ["no-such-project"]).status_code == 404
    bad = app_client.post("/api/v1/projects/kr-web/jobs", headers=mgr, json={
        "kind": "report", "params": {"projects": "busan-only"}})
    assert bad.status_code == 422
    with session_scope(world.engine) as s:  # nothing was queued
        assert not list(s.scalars(select(jobs.core.Job)))
    # Its own project is fine.
    assert _report(app_client, mgr, ["kr-web"]).status_code == 202


def test_a_job_queued_behind_the_api_still_reads_nothing_its_creator_may_not(world):
    """Defence in depth: the worker checks the creator again before it reads anything."""
    job_id = jobs.enqueue(world.engine, "report", {"projects": ["busan-only"],
                                                   "formats": ["html"]},
                          project_key="kr-web", created_by_id=world.users["manager"])
    assert jobs.execute(world.engine, job_id) in ("retrying", "failed")
    job = jobs.get_job(world.engine, job_id)
    assert job.result is None and "busan-only" in (job.error or "")


def test_job_state_result_and_file_need_every_project_the_job_read(app_client, token_for,
                                                                    world):
    """An admin's report over both teams' projects, started from kr-web: kr-web's manager
    must not see it, its result or its file — by id, in the list, or as a download."""
    r = _report(app_client, token_for("admin"), ["kr-web", "busan-only"])
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    job = jobs.wait(world.engine, job_id, timeout_s=120)
    assert job.state == "succeeded", job.error
    admin, mgr, busanmgr = token_for("admin"), token_for("manager"), token_for("busanmgr")
    assert app_client.get(f"/api/v1/jobs/{job_id}/file", headers=admin).status_code == 200
    for h in (mgr, busanmgr):
        assert app_client.get(f"/api/v1/jobs/{job_id}", headers=h).status_code == 404
        assert app_client.get(f"/api/v1/jobs/{job_id}/file", headers=h).status_code == 404
        assert app_client.post(f"/api/v1/jobs/{job_id}/retry", headers=h).status_code == 404
        assert job_id not in {j["id"] for j in app_client.get("/api/v1/jobs", headers=h).json()}
        scoped = app_client.get("/api/v1/jobs", headers=h, params={"project": "kr-web"})
        assert scoped.status_code == 404 or job_id not in {j["id"] for j in scoped.json()}


def test_job_results_name_files_without_server_paths(app_client, token_for, world, job_dir):
    mgr = token_for("manager")
    r = app_client.post("/api/v1/projects/kr-web/jobs", headers=mgr,
                        json={"kind": "export", "params": {"format": "jsonl"}})
    job = jobs.wait(world.engine, r.json()["id"], timeout_s=60)
    assert job.state == "succeeded", job.error
    shown = app_client.get(f"/api/v1/jobs/{job.id}", headers=mgr).json()
    assert str(job_dir) not in str(shown) and not shown["result"]["file"].startswith("/")
    assert app_client.get(f"/api/v1/jobs/{job.id}/file", headers=mgr).status_code == 200


def test_a_result_row_cannot_point_the_download_outside_the_job_directory(
        app_client, token_for, world, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("server secret")
    job_id = jobs.enqueue(world.engine, "sleep", {"steps": 1, "seconds": 0},
                          project_key="kr-web")
    jobs.execute(world.engine, job_id)  # or the app's own runner takes it first
    assert jobs.wait(world.engine, job_id, timeout_s=60).state == "succeeded"
    with session_scope(world.engine) as s:
        s.get(jobs.core.Job, job_id).result = {"file": "../secret.txt"}
    r = app_client.get(f"/api/v1/jobs/{job_id}/file", headers=token_for("admin"))
    assert r.status_code == 404 and "server secret" not in r.text


def test_purge_needs_an_admin_and_honours_the_retention_setting(app_client, token_for, world):
    """Finding 10: a manager purged 1,237 of 1,475 items with ``days: 1`` and no retention."""
    mgr, admin = token_for("manager"), token_for("admin")
    purge = {"kind": "purge", "params": {"days": 1}}
    assert app_client.post("/api/v1/projects/kr-web/jobs", headers=mgr,
                           json=purge).status_code == 403
    # No retention configured: an admin may not pick a period either.
    r = app_client.post("/api/v1/projects/kr-web/jobs", headers=admin, json=purge)
    assert r.status_code == 422 and "retention_days" in r.text
    assert app_client.patch("/api/v1/projects/kr-web/settings", headers=mgr, json={
        "settings": {"retention_days": 30}}).status_code == 200
    for days in (1, 29, "30", True):
        r = app_client.post("/api/v1/projects/kr-web/jobs", headers=admin,
                            json={"kind": "purge", "params": {"days": days}})
        assert r.status_code == 422, (days, r.text)
    # At (or beyond) the setting it runs, and the audit log says who and what.
    for params in ({}, {"days": 45}):
        r = app_client.post("/api/v1/projects/kr-web/jobs", headers=admin,
                            json={"kind": "purge", "params": params})
        assert r.status_code == 202, r.text
        assert jobs.wait(world.engine, r.json()["id"], timeout_s=60).state == "succeeded"
    with session_scope(world.engine) as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.action == "retention.purge")
                         .order_by(AuditLog.id)).all()
        assert [(a.actor, a.after["retention_days"]) for a in rows] == [("admin", 30),
                                                                       ("admin", 45)]
        kr = s.scalar(select(Project).where(Project.key == "kr-web"))
        assert kr is not None and s.get(User, world.users["admin"]) is not None


def test_the_worker_refuses_a_purge_shorter_than_the_setting(world):
    job_id = jobs.enqueue(world.engine, "purge", {"days": 1}, project_key="kr-web")
    assert jobs.execute(world.engine, job_id) in ("retrying", "failed")
    assert "retention_days" in (jobs.get_job(world.engine, job_id).error or "")
