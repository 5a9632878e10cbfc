"""Background jobs: run in-process, progress and results recorded, failures retried with
backoff and then shown as failed with their error, a manager's retry, a dead worker's lease
taken over, and the HTTP endpoints (list, start, retry, download)."""

from __future__ import annotations

from datetime import timedelta

import orjson
from sqlalchemy import Engine, select, update

from modops import jobs
from modops.store import session_scope, utcnow
from modops.store.models import AuditLog
from modops.store.models_ops import Job
from tests.conftest import sample_rows


def test_failing_job_is_retried_then_failed_with_its_error_then_retried_by_hand(
        engine: Engine) -> None:
    runner = jobs.ThreadRunner(engine, poll_s=0.05, backoff_s=0.05).start()
    try:
        ok = jobs.enqueue(engine, "sleep", {"steps": 3, "seconds": 0.01})
        bad = jobs.enqueue(engine, "sleep", {"steps": 1, "seconds": 0.01, "fail": True,
                                             "message": "스코어러 응답 없음"}, max_attempts=3)
        done = jobs.wait(engine, ok, timeout_s=20)
        assert (done.state, done.progress, done.result) == ("succeeded", 1.0, {"slept": 3})
        failed = jobs.wait(engine, bad, timeout_s=20)
        assert failed.state == "failed"
        assert failed.attempts == 3  # retried twice after the first failure
        assert failed.error == "스코어러 응답 없음"
        jobs.retry(engine, bad, actor="manager-kim")
        again = jobs.wait(engine, bad, timeout_s=20)
        assert (again.state, again.attempts) == ("failed", 3)
    finally:
        runner.stop()
    with session_scope(engine) as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "job.retry")).all()
        assert [(a.actor, a.entity_id) for a in audit] == [("manager-kim", str(bad))]


def test_a_dead_workers_job_is_taken_again_after_its_lease(engine: Engine) -> None:
    job_id = jobs.enqueue(engine, "sleep", {"steps": 1, "seconds": 0.01})
    assert jobs.core.claim(engine, job_id, worker="host-a:1", lease_s=60)  # then "SIGKILL"
    assert jobs.execute(engine, job_id) is None  # leased: nobody else may take it
    with session_scope(engine) as s:
        s.execute(update(Job).where(Job.id == job_id).values(
            locked_until=utcnow() - timedelta(seconds=1)))
    assert jobs.due_ids(engine) == [job_id]
    assert jobs.execute(engine, job_id, worker="host-b:2") == "succeeded"
    job = jobs.get_job(engine, job_id)
    assert (job.worker, job.attempts) == ("host-b:2", 2)


def test_two_workers_racing_for_one_job_run_it_once(engine: Engine) -> None:
    job_id = jobs.enqueue(engine, "sleep", {"steps": 1, "seconds": 0.0})
    assert jobs.core.claim(engine, job_id, worker="a")
    assert not jobs.core.claim(engine, job_id, worker="b")


def test_export_job_writes_the_file_and_reports_progress(engine: Engine, project: str,
                                                         job_dir) -> None:
    from modops.io import import_file

    path = job_dir.parent / "rows.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in sample_rows()))
    import_file(engine, project, path, "jsonl", actor="test", after_insert=None)
    job_id = jobs.enqueue(engine, "export", {"format": "jsonl"}, project_key=project)
    assert jobs.execute(engine, job_id) == "succeeded"
    job = jobs.get_job(engine, job_id)
    assert job.result["items"] == len(sample_rows())
    with open(job_dir / job.result["file"], "rb") as f:
        lines = f.read().splitlines()
    assert {orjson.loads(x)["external_id"] for x in lines} == {
        r["external_id"] for r in sample_rows()}


def test_jobs_over_http_list_start_retry_and_download(app_client, token_for, world) -> None:
    mgr = token_for("manager")
    r = app_client.post(f"/api/v1/projects/{world.project}/jobs", headers=mgr,
                        json={"kind": "export", "params": {"format": "csv"}})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    job = jobs.wait(world.engine, job_id, timeout_s=30)
    assert job.state == "succeeded", job.error
    listed = app_client.get("/api/v1/jobs", headers=mgr, params={"limit": 10}).json()
    assert [j["id"] for j in listed] == [job_id]
    f = app_client.get(f"/api/v1/jobs/{job_id}/file", headers=mgr)
    assert f.status_code == 200
    assert f.content.count(b"\n") >= 12  # the world's items, one row each, plus the header
    # Another team's manager cannot see it; a labeler may not list jobs at all.
    assert app_client.get(f"/api/v1/jobs/{job_id}", headers=token_for("busanmgr")).status_code \
        == 404
    assert app_client.get("/api/v1/jobs", headers=token_for("busanmgr")).json() == []
    assert app_client.get("/api/v1/jobs", headers=token_for("lab1")).status_code == 403
    # Only failed jobs can be retried.
    assert app_client.post(f"/api/v1/jobs/{job_id}/retry", headers=mgr).status_code == 409
    with session_scope(world.engine) as s:
        s.execute(update(Job).where(Job.id == job_id).values(state="failed", error="boom"))
    r = app_client.post(f"/api/v1/jobs/{job_id}/retry", headers=mgr)
    assert r.status_code == 200 and r.json()["state"] in {"queued", "running", "succeeded"}
    assert jobs.wait(world.engine, job_id, timeout_s=30).state == "succeeded"


def test_report_job_writes_into_the_job_directory(engine: Engine, project: str,
                                                  job_dir) -> None:
    job_id = jobs.enqueue(engine, "report", {"formats": ["html"]}, project_key=project)
    assert jobs.execute(engine, job_id) == "succeeded", jobs.get_job(engine, job_id).error
    result = jobs.get_job(engine, job_id).result
    assert set(result["files"]) == {"html"}
    # Named relative to the job directory: results never show where the server keeps files.
    assert not result["file"].startswith("/") and result["file"].endswith(".html")
    assert (job_dir / result["file"]).is_file() and str(job_dir) not in str(result)


def test_job_threads_run_at_background_priority_and_the_caller_keeps_its_own(
        engine: Engine, env, job_handler) -> None:
    """Linux nice is per thread: the runner's job thread is lowered (and SCHED_BATCH), the
    thread that started it (an app server's) is not."""
    import os

    @job_handler("test-priority")
    def probe(ctx: jobs.JobContext) -> dict[str, int]:
        return {"nice": os.getpriority(os.PRIO_PROCESS, 0), "policy": os.sched_getscheduler(0)}

    env("MODOPS_JOB_NICE", "7")
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    runner = jobs.ThreadRunner(engine, poll_s=0.05).start()
    try:
        done = jobs.wait(engine, jobs.enqueue(engine, "test-priority"), timeout_s=20)
    finally:
        runner.stop()
    assert done.state == "succeeded", done.error
    assert done.result == {"nice": max(mine, 7), "policy": os.SCHED_BATCH}
    assert os.getpriority(os.PRIO_PROCESS, 0) == mine


def test_job_sessions_yield_on_postgresql_and_app_sessions_do_not(
        engine: Engine, store_name: str, env, job_handler) -> None:
    """A job's database work runs without parallel workers, in the same schema as the app;
    the app's own sessions keep the defaults."""
    from sqlalchemy import text

    @job_handler("test-session")
    def probe(ctx: jobs.JobContext) -> dict[str, object]:
        if store_name == "sqlite":
            return {"same": ctx.engine is engine}
        with ctx.engine.connect() as conn:
            return {"parallel": conn.execute(text(
                        "SHOW max_parallel_workers_per_gather")).scalar_one(),
                    "jobs_visible": conn.execute(text("SELECT count(*) FROM jobs")).scalar_one()}

    env("MODOPS_JOB_NICE", "6")
    job_id = jobs.enqueue(engine, "test-session")
    assert jobs.execute(engine, job_id) == "succeeded", jobs.get_job(engine, job_id).error
    result = jobs.get_job(engine, job_id).result
    if store_name == "sqlite":
        assert result == {"same": True}
        return
    assert result["parallel"] == "0" and result["jobs_visible"] == 1
    with engine.connect() as conn:
        assert conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar_one() != "0"


def test_test_handlers_are_not_left_registered() -> None:
    """The two probes above registered through the ``job_handler`` fixture (test order: this
    file runs top to bottom, and under xdist --dist loadgroup in one worker or another: then
    the kinds were never registered in this process either)."""
    assert not {"test-priority", "test-session"} & set(jobs.HANDLERS)
