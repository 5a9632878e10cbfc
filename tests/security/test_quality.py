"""Finding 12: the quality dashboard answered 500 for any project with overlap k = 1 that had
answers (``_within_item_pairs``: "need at least one array to concatenate")."""

from __future__ import annotations

import numpy as np

from modops.quality.agreement import _within_item_pairs, pairwise_cohen_kappa


def test_within_item_pairs_of_single_answers_is_empty():
    i, j = _within_item_pairs(np.array([1, 2, 3, 4], dtype=np.int64))
    assert len(i) == len(j) == 0
    kappa = pairwise_cohen_kappa([1, 2, 3], ["a", "b", "a"], ["x", "y", "x"])
    assert np.isnan(kappa.mean())  # no item was labeled twice: no pair, no kappa


def test_quality_metrics_of_a_k1_project_with_answers(app_client, token_for, world):
    mgr = token_for("manager")
    assert app_client.patch("/api/v1/projects/kr-web/settings", headers=mgr,
                            json={"overlap_k": 1}).status_code == 200
    for who in ("lab1", "lab2"):
        h = token_for(who)
        for _ in range(3):
            t = app_client.post("/api/v1/projects/kr-web/tasks/next", headers=h)
            if t.status_code == 204:
                break
            r = app_client.post(f"/api/v1/tasks/{t.json()['task_id']}/submit", headers=h,
                                json={"labels": ["none"]})
            assert r.status_code == 200, r.text
    r = app_client.get("/api/v1/projects/kr-web/metrics/quality", headers=mgr)
    assert r.status_code == 200, r.text[:500]
    page = app_client.get("/manage/kr-web/analytics/quality", headers=mgr)
    assert page.status_code == 200
