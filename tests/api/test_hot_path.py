"""The labelers' HTTP hot path: cached bearer tokens stay honest, and next / submit answer
exactly what their documented response models say."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from modops.api import auth, policies
from modops.domain import events
from modops.store import session_scope
from modops.store.models import Annotation, Task, User
from tests.api.world import World


def test_cached_token_dropped_when_its_user_changes(app_client: TestClient, world: World,
                                                    token_for: Callable[[str], dict[str, str]],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "TOKEN_TTL_S", 60.0)  # a slow machine must not outlive the TTL
    bearer = token_for("lab3")
    assert app_client.get("/api/v1/me", headers=bearer).status_code == 200  # now cached
    with session_scope(world.engine) as s:
        s.execute(update(User).where(User.id == world.users["lab3"]).values(active=False))
    # Within the TTL the cache still answers: that is the point of caching...
    assert app_client.get("/api/v1/me", headers=bearer).status_code == 200
    # ...until whatever changed the user says so, as account services do.
    events.publish(events.USER_CHANGED, {"user": "lab3"})
    assert app_client.get("/api/v1/me", headers=bearer).status_code == 401


def test_next_and_submit_bodies_match_their_schemas(app_client: TestClient, world: World,
                                                    token_for: Callable[[str], dict[str, str]]
                                                    ) -> None:
    bearer = token_for("lab1")
    r = app_client.post("/api/v1/projects/kr-web/tasks/next", headers=bearer)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    task = r.json()
    assert set(task) == {"task_id", "kind", "project_key", "item", "leased_at",
                         "lease_expires_at", "machine_suggestion", "machine_why"}
    assert task["project_key"] == "kr-web" and task["kind"] == "label"
    assert task["leased_at"].endswith("Z") and task["lease_expires_at"].endswith("Z")
    assert task["item"]["created_at"] is None or task["item"]["created_at"].endswith("Z")
    # Asking again hands back the same lease.
    assert app_client.post("/api/v1/projects/kr-web/tasks/next",
                           headers=bearer).json()["task_id"] == task["task_id"]
    r = app_client.post(f"/api/v1/tasks/{task['task_id']}/submit", headers=bearer,
                        json={"labels": ["none"]})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    result = r.json()
    assert isinstance(result["annotation_id"], int) and result["item_state"]
    # The task is done: submitting again is a 404 like any task that is not yours to touch.
    again = app_client.post(f"/api/v1/tasks/{task['task_id']}/submit", headers=bearer,
                            json={"labels": ["none"]})
    assert again.status_code == 404


def test_submit_and_next_stores_the_answer_and_hands_out_the_next_task(
        app_client: TestClient, world: World, token_for: Callable[[str], dict[str, str]]) -> None:
    """One request per answer: the labeler gets the stored answer's result and the next lease,
    then a null ``next`` once nothing is left for them."""
    bearer = token_for("lab1")
    task = app_client.post("/api/v1/projects/kr-web/tasks/next", headers=bearer).json()
    served = [task["task_id"]]
    while True:
        r = app_client.post(f"/api/v1/projects/kr-web/tasks/{task['task_id']}/submit-and-next",
                            headers=bearer, json={"labels": ["none"]})
        assert r.status_code == 200 and r.headers["content-type"] == "application/json", r.text
        body = r.json()
        assert isinstance(body["submitted"]["annotation_id"], int)
        if body["next"] is None:
            break
        task = body["next"]
        assert task["project_key"] == "kr-web" and task["lease_expires_at"].endswith("Z")
        assert task["task_id"] not in served
        served.append(task["task_id"])
    with session_scope(world.engine) as s:
        answered = s.scalars(select(Annotation.task_id).where(
            Annotation.labeler_id == world.users["lab1"])).all()
    assert sorted(answered) == sorted(served)
    # The task is done: a second answer to it is a 404 like any task not yours to touch.
    again = app_client.post(f"/api/v1/projects/kr-web/tasks/{served[-1]}/submit-and-next",
                            headers=bearer, json={"labels": ["none"]})
    assert again.status_code == 404


def test_hot_routes_keep_their_documented_responses(app_client: TestClient) -> None:
    paths = app_client.get("/openapi.json").json()["paths"]
    next_ok = paths["/api/v1/projects/{key}/tasks/next"]["post"]["responses"]
    assert next_ok["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/TaskOut")
    assert "204" in next_ok
    submit = paths["/api/v1/tasks/{task_id}/submit"]["post"]
    assert submit["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/SubmitIn")
    assert submit["responses"]["200"]["content"]["application/json"]["schema"]["type"] == \
        "object"
    chained = paths["/api/v1/projects/{key}/tasks/{task_id}/submit-and-next"]["post"]
    assert chained["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] \
        .endswith("/SubmitAndNextOut")


def test_remembered_lease_that_went_elsewhere_writes_nothing(
        app_client: TestClient, world: World,
        token_for: Callable[[str], dict[str, str]]) -> None:
    """The submit check trusts the lease this process handed out; the queue's locked re-check
    still refuses when that lease has since gone to someone else (404, as for any task that is
    not yours), and nothing is written."""
    bearer = token_for("lab1")
    task = app_client.post("/api/v1/projects/kr-web/tasks/next", headers=bearer).json()
    assert (world.engine, task["task_id"]) in policies._leases  # the path under test
    with session_scope(world.engine) as s:  # the lease ran out and lab2 took the slot
        s.execute(update(Task).where(Task.id == task["task_id"])
                  .values(assignee_id=world.users["lab2"]))
        before = s.scalar(select(func.count()).select_from(Annotation))
    r = app_client.post(f"/api/v1/tasks/{task['task_id']}/submit", headers=bearer,
                        json={"labels": ["none"]})
    assert r.status_code == 404
    with session_scope(world.engine) as s:
        assert s.scalar(select(func.count()).select_from(Annotation)) == before
