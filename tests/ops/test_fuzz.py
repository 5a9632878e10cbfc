"""schemathesis against the OpenAPI spec, authenticated as each role, on SQLite and PostgreSQL:
no 5xx, no response that violates its declared status code, content type or schema.

Part of ``make test`` as a bounded, derandomized run (``FUZZ_EXAMPLES`` per operation, the
same requests every time). ``make fuzz`` runs longer with a fresh seed
(``MODOPS_FUZZ_EXAMPLES``, ``MODOPS_FUZZ_SEED``); a failure names the seed to replay it.

Random path parameters almost never name a real project, task or job, so every path
parameter is drawn half the time from the ids and keys of a seeded world (leased, submitted
and escalated tasks, a succeeded export job with its file, a failed job, a webhook): the 200
responses, where most schema bugs live, are checked on every run, not one run in four.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from modops import jobs
from modops.accounts import create_token
from modops.api import Settings, create_app
from modops.store import session_scope
from modops.store.models import Annotation, Item, Task, User
from modops.store.models_ops import Job
from modops.store.models_web import ApiToken, Webhook
from tests.api.world import OTHER, PROJECT, build_world

FUZZ_EXAMPLES = 10  # per operation and store in `make test`: under a minute on 2 cores
EXAMPLES = int(os.environ.get("MODOPS_FUZZ_EXAMPLES", FUZZ_EXAMPLES))
SEED = os.environ.get("MODOPS_FUZZ_SEED")  # unset: derandomized (the same run every time)
ROLES = ("lab1", "reviewer", "manager", "admin")
# schemathesis gives up on a response after 10 s by default; the first alert evaluation in a
# process loads the Korean tokenizer (Kiwi, ~10 s on a busy 2-core machine), which is latency,
# not a contract violation
TIMEOUT_S = 120
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _work(client: TestClient, tokens: dict[str, str]) -> None:
    """Three labelers disagree on a few items (escalations for the reviewer), one keeps a
    lease, a manager starts jobs and registers a webhook."""
    for name, labels in (("lab1", ["none"]), ("lab2", ["profanity"]), ("lab3", ["spam"])):
        h = _bearer(tokens[name])
        for _ in range(3):
            r = client.post(f"/api/v1/projects/{PROJECT}/tasks/next", headers=h)
            assert r.status_code == 200, r.text
            r = client.post(f"/api/v1/tasks/{r.json()['task_id']}/submit", headers=h,
                            json={"labels": labels})
            assert r.status_code == 200, r.text
    assert client.post(f"/api/v1/projects/{PROJECT}/tasks/next",
                       headers=_bearer(tokens["lab1"])).status_code == 200  # a live lease
    h = _bearer(tokens["manager"])
    # (no report job: its alert check loads the Korean tokenizer, ~10 s per process, and
    # adds nothing to the contract of /jobs/{id}/file that the export does not)
    r = client.post(f"/api/v1/projects/{PROJECT}/jobs", headers=h,
                    json={"kind": "export", "params": {}})
    assert r.status_code == 202, r.text
    r = client.post("/api/v1/webhooks", headers=_bearer(tokens["admin"]),
                    json={"url": "https://hooks.example.com/hook", "project": PROJECT})
    assert r.status_code == 201, r.text


def _known_values(engine: Engine) -> dict[str, list[Any]]:
    """Real values for every path parameter of the spec, by parameter name."""
    with session_scope(engine) as s:
        return {
            "key": [PROJECT, OTHER],
            "external_id": ["c-0", "c-1", "b-0"],
            "item_id": list(s.scalars(select(Item.id).order_by(Item.id).limit(6))),
            "task_id": list(s.scalars(select(Task.id).where(Task.assignee_id.is_not(None))
                                      .order_by(Task.id.desc()).limit(12))),
            "annotation_id": list(s.scalars(select(Annotation.id))),
            "job_id": list(s.scalars(select(Job.id))),
            "hook_id": list(s.scalars(select(Webhook.id))),
            # spare tokens only: DELETE /tokens/{id} must not revoke the roles' own
            "token_id": list(s.scalars(select(ApiToken.id).where(ApiToken.name == "spare"))),
        }


@pytest.fixture
def fuzz_app(engine: Engine, tmp_path: Path,
             env: Callable[[str, str], None]) -> Iterator[tuple[Any, dict[str, str],
                                                                dict[str, list[Any]]]]:
    env("MODOPS_JOB_DIR", str(tmp_path / "jobs"))
    world = build_world(engine)
    tokens = {}
    with session_scope(engine) as s:
        for name in (*ROLES, "lab2", "lab3"):
            tokens[name] = create_token(s, s.get(User, world.users[name]), "fuzz").token
            create_token(s, s.get(User, world.users[name]), "spare")
    app = create_app(engine, Settings(secret_key="fuzz", webhook_dispatch=False, jobs=False,
                                      rate_limit_rps=0))
    with TestClient(app) as client:
        _work(client, tokens)
    # Run the queued export here (no runner in the app), and fail one job, so
    # /jobs/{id}/file serves a real file and /jobs/{id}/retry has something to retry.
    for job_id in jobs.due_ids(engine):
        assert jobs.execute(engine, job_id) == jobs.SUCCEEDED, jobs.get_job(engine, job_id).error
    failing = jobs.enqueue(engine, "sleep", {"steps": 1, "seconds": 0, "fail": True},
                           project_key=PROJECT, max_attempts=1)
    assert jobs.execute(engine, failing) == jobs.FAILED
    yield app, tokens, _known_values(engine)


@pytest.mark.slow
def test_api_fuzz(fuzz_app, store_name: str) -> None:
    """Every operation of the spec, ``EXAMPLES`` generated requests each, sent as every role.

    Driven with the programmatic API (Hypothesis ``given`` per operation) rather than the
    pytest plugin, which does not support this pytest version's collection."""
    app, tokens, known = fuzz_app
    spec = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    ran = 0
    operations = [result.ok() for result in spec.get_all_operations()]
    # Every operation runs. Destructive ones (DELETE, sign-out) go last, so they spoil the
    # world only for each other; DELETE /tokens/{id} is pointed at spare tokens.
    operations.sort(key=lambda op: op.method.upper() == "DELETE" or op.path.endswith("/logout"))
    for op in operations:
        names = [p.name for p in op.path_parameters if known.get(p.name)]
        real = st.fixed_dictionaries({n: st.none() | st.sampled_from(known[n]) for n in names})

        @given(case=op.as_strategy(), overrides=real)
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  derandomize=SEED is None, suppress_health_check=list(HealthCheck))
        def run(case: Any, overrides: dict[str, Any]) -> None:
            for name, value in overrides.items():
                if value is not None:
                    case.path_parameters[name] = value
            for role in ROLES:
                case.call_and_validate(headers=_bearer(tokens[role]), checks=CHECKS,
                                       timeout=TIMEOUT_S)

        if SEED is not None:
            run = seed(int(SEED))(run)
        try:
            run()
            ran += 1
        # collect every operation's failure, then fail once (schemathesis reports several
        # at once as a FailureGroup, a BaseExceptionGroup)
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:3000]}")
    assert ran + len(failures) == len(operations) > 20
    replay = f"MODOPS_FUZZ_SEED={SEED}" if SEED is not None else "derandomized"
    assert not failures, f"[{store_name}, {EXAMPLES} examples, {replay}]\n\n" + \
        "\n\n".join(failures)


def test_fuzz_findings_stay_fixed(fuzz_app, store_name: str) -> None:
    """What earlier fuzz runs found, pinned: each was a 500 or a schema violation."""
    app, tokens, _ = fuzz_app
    admin = _bearer(tokens["admin"])
    with TestClient(app, raise_server_exceptions=False) as client:
        # PostgreSQL refuses NUL in text: a 422 (SQLite stores it: no such user, 401)
        r = client.post("/api/v1/auth/login", json={"username": "\x00", "password": "x"})
        assert r.status_code == (422 if store_name == "postgresql" else 401), r.text
        # an id beyond 64 bits names nothing, on either store
        assert client.get(f"/api/v1/tasks/{2 ** 63}", headers=admin).status_code == 404
        assert client.get(f"/api/v1/annotations/{2 ** 64}", headers=admin).status_code == 404
        # a key str.isdigit() calls a number and int() refuses
        assert client.get("/api/v1/projects/\u00b9/export", headers=admin).status_code == 404
        # an integer JSON allows but no store holds
        r = client.post(f"/api/v1/projects/{PROJECT}/items", headers=admin,
                        json=[{"external_id": "big", "view_count": 2 ** 64}])
        assert r.status_code == 422, r.text
        # top labels are objects (a tuple's prefixItems is misread by validators)
        r = client.get(f"/api/v1/projects/{PROJECT}/summary", headers=admin)
        assert r.status_code == 200
        assert all(set(x) == {"label", "count"} for x in r.json()["top_labels"])
        # job times carry their zone, like every other time the API serves
        job = client.get("/api/v1/jobs", headers=admin).json()[0]
        assert job["created_at"].endswith("Z")
