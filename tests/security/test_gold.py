"""Finding 9: ``GET /api/v1/tasks/{id}`` answered ``"kind": "gold"`` to the labeler holding it,
and a wrong answer said "Does not match the gold answer: …" (naming the answer)."""

from __future__ import annotations

import orjson

from tests.api.world import import_rows


def _gold_task(app_client, token_for, world):
    import_rows(world.engine, "kr-web", [{"external_id": "g-1", "product": "comment",
                                          "comment": "골드 문제", "is_gold": True,
                                          "gold_labels": ["profanity"]}])
    assert app_client.patch("/api/v1/projects/kr-web/settings", headers=token_for("manager"),
                            json={"gold_rate": 1.0}).status_code == 200
    lab = token_for("lab1")
    task = app_client.post("/api/v1/projects/kr-web/tasks/next", headers=lab).json()
    assert task["item"]["external_id"] == "g-1"
    return lab, task


def test_the_labeler_never_sees_that_a_task_is_gold(app_client, token_for, world):
    lab, task = _gold_task(app_client, token_for, world)
    seen = app_client.get(f"/api/v1/tasks/{task['task_id']}", headers=lab).json()
    assert seen["kind"] == "label"
    r = app_client.post(f"/api/v1/tasks/{task['task_id']}/submit", headers=lab,
                        json={"labels": ["none"]})  # wrong on purpose
    assert r.status_code == 200
    body = r.json()
    assert "gold" not in orjson.dumps(body).decode().lower()
    assert "profanity" not in r.text and "정답" not in r.text
    ann = app_client.get(f"/api/v1/annotations/{body['annotation_id']}", headers=lab).json()
    assert ann["kind"] == "label"
    # Reviewers and managers still see what it was (they run the gold program).
    rev = app_client.get(f"/api/v1/annotations/{body['annotation_id']}",
                         headers=token_for("reviewer")).json()
    assert rev["kind"] == "gold"


def test_submit_and_next_and_the_web_form_say_nothing_either(app_client, token_for, world):
    lab, task = _gold_task(app_client, token_for, world)
    r = app_client.post(f"/api/v1/projects/kr-web/tasks/{task['task_id']}/submit-and-next",
                        headers=lab, json={"labels": ["none"]})
    assert r.status_code == 200 and "gold" not in r.text.lower()
    assert "profanity" not in orjson.dumps(r.json()["submitted"]).decode()
