"""The production transport: jobs enqueued through Dramatiq on Redis, run by a separate
``dramatiq`` worker process over PostgreSQL; a failing job retried, then failed with its error."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from modops import jobs
from modops.store import make_engine
from tests.ops.load import REPO, pg_world

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("multiprocess")]
REDIS_URL = os.environ.get("MODOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_jobs_run_on_dramatiq_workers(env, tmp_path) -> None:
    namespace = f"modops-test-{secrets.token_hex(4)}"
    env("MODOPS_REDIS_URL", REDIS_URL)
    env("MODOPS_REDIS_NAMESPACE", namespace)
    env("MODOPS_JOB_DIR", str(tmp_path))
    import importlib

    import modops.jobs.dramatiq_app as dq

    dq = importlib.reload(dq)  # bind the broker to this test's namespace
    with pg_world(labelers=1, items=20, overlap=1) as (url, _tokens):
        worker_env = {**os.environ, "MODOPS_DATABASE_URL": url}
        worker = subprocess.Popen(
            [sys.executable, "-m", "dramatiq", "modops.jobs.dramatiq_app", "--processes", "1",
             "--threads", "2"], env=worker_env, cwd=REPO,
            start_new_session=True)
        engine = make_engine(url)
        try:
            dq.install()
            ok = jobs.enqueue(engine, "export", {"format": "jsonl"}, project_key="crash")
            bad = jobs.enqueue(engine, "sleep", {"steps": 1, "seconds": 0.01, "fail": True},
                               max_attempts=2)
            done = jobs.wait(engine, ok, timeout_s=60)
            assert done.state == "succeeded", done.error
            assert done.result["items"] == 20 and done.worker and ":" in done.worker
            failed = jobs.wait(engine, bad, timeout_s=60)
            assert (failed.state, failed.attempts, failed.error) == (
                "failed", 2, "failed on purpose")
        finally:
            jobs.core.set_notifier(None)
            worker.terminate()
            worker.wait(timeout=30)
            engine.dispose()
