"""Routing by policy, safe by default (issue 17): a policy is auto-actioned only with a
threshold chosen on enough in-domain human labels, with its own label and action; trivial
text is never auto-actioned; a strong bank hit is never auto-cleared."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import orjson
import pytest

from modops.domain import Action
from modops.projects.taxonomy import LabelInfo, TaxonomyRules
from modops.queue.config import ProjectConfig, loads
from modops.queue.planning import RoutePlanner, policy_auto_action, policy_label

NOW = datetime(2026, 12, 1, 9, 0)
LABELS = {
    "none": ("none", None, Action.NO_ACTION),
    "hate": ("hate", None, Action.REMOVE),
    "harassment": ("harassment", None, Action.REMOVE),
    "profanity": ("profanity", None, Action.RESTRICT),
    "illegal_goods": ("illegal_goods", None, Action.REMOVE),
    "illegal_goods.gambling": ("illegal_goods.gambling", "illegal_goods", Action.REMOVE),
    "spam": ("spam", None, Action.REMOVE),
}


def project(policy_thresholds: dict[str, Any] | None = None, hi: float | None = None,
            lo: float | None = None, **settings: Any) -> ProjectConfig:
    rules = TaxonomyRules("t", 1, False, {
        k: LabelInfo(k, parent, k, k, action, None) for k, (_, parent, action) in
        LABELS.items()})
    return ProjectConfig(
        id=1, key="p", status="active", overlap_k=1, gold_rate=0.0, audit_rate=0.0,
        sla_minutes=60, lease_seconds=600, auto_action_threshold=hi, auto_clear_threshold=lo,
        escalation_threshold=0.5, priority_weights={}, required_skills=(), team_ids=(),
        show_machine_suggestion=False, model_version=None, scorer=None,
        settings={"prevalence_rate": 0.0, "policy_thresholds": policy_thresholds or {},
                  **settings},
        rules=rules)


def detail(policies: dict[str, float], *, trivial: bool = False,
           bank: str | None = None) -> dict[str, Any]:
    evidence = {p: {"source": "head", "name": p, "score": s} for p, s in policies.items()}
    if bank:
        evidence[bank] = {"source": "bank", "name": "gambling-ko/site_code",
                          "score": policies[bank], "match": "가입코드", "span": [0, 4]}
    out: dict[str, Any] = {"severity": {"hate": policies.get("hate", 0.0),
                                        "offensive": policies.get("harassment", 0.0),
                                        "none": 0.1}, "profanity": policies.get("profanity", 0),
                           "policies": policies, "evidence": evidence}
    if trivial:
        out["trivial"] = True
    return out


def plan(p: ProjectConfig, score: float, d: dict[str, Any] | None) -> Any:
    return RoutePlanner(p, NOW, random.Random(1)).plan(
        product="comment", score=score, detail=d, version="m", views=0, reported=False,
        ingested_at=NOW, is_gold=False)


def thresholds(n: int) -> dict[str, Any]:
    return {"profanity": {"threshold": 0.8, "n": n},
            "illegal_goods.gambling": {"threshold": 0.7, "n": n},
            "hate": {"threshold": 0.9, "n": n}}


def test_policy_with_fewer_than_200_labels_is_never_auto_actioned() -> None:
    d = detail({"profanity": 0.99, "illegal_goods.gambling": 0.99, "hate": 0.99})
    r = plan(project(thresholds(199)), 0.99, d)
    assert r.route == "human" and r.final_action is None
    # the same scores with 200 labels behind each threshold are automated
    assert plan(project(thresholds(200)), 0.99, d).route == "auto_action"
    # and a project may ask for more labels than the default
    assert plan(project(thresholds(200), min_policy_labels=500), 0.99, d).route == "human"


def test_auto_action_applies_the_policys_own_label_and_action() -> None:
    r = plan(project(thresholds(300)), 0.6, detail({"profanity": 0.95, "hate": 0.2}))
    assert r.route == "auto_action"
    assert orjson.loads(r.final_labels) == ["profanity"] and r.final_action == "restrict"
    basis = orjson.loads(r.basis)
    assert basis["policy"] == "profanity" and basis["threshold"] == 0.8

    # a child policy the taxonomy has is applied as itself, with its parent's action
    r = plan(project(thresholds(300)), 0.3, detail({"illegal_goods.gambling": 0.9},
                                                   bank="illegal_goods.gambling"))
    assert orjson.loads(r.final_labels) == ["illegal_goods.gambling"]
    assert r.final_action == "remove"
    assert orjson.loads(r.basis)["evidence"]["name"] == "gambling-ko/site_code"


def test_the_widest_margin_wins() -> None:
    d = detail({"profanity": 0.85, "illegal_goods.gambling": 0.99})
    assert policy_auto_action(project(thresholds(300)), d, 200)[1] == "illegal_goods.gambling"


def test_policy_label_falls_back_to_the_parent() -> None:
    p = project()
    assert policy_label(p, "illegal_goods.gambling") == "illegal_goods.gambling"
    assert policy_label(p, "illegal_goods.drugs") == "illegal_goods"
    assert policy_label(p, "fraud.voice_phishing") is None


def test_trivial_text_is_never_auto_actioned() -> None:
    d = detail({"profanity": 0.99, "hate": 0.99}, trivial=True)
    for p in (project(thresholds(1000)), project(hi=0.5, lo=0.1)):
        assert plan(p, 0.99, d).route != "auto_action"


def test_a_strong_bank_hit_is_never_auto_cleared() -> None:
    p = project(hi=0.95, lo=0.3)
    quiet = detail({"hate": 0.01})
    assert plan(p, 0.05, quiet).route == "auto_clear"
    loud = detail({"hate": 0.01, "illegal_goods.gambling": 0.9}, bank="illegal_goods.gambling")
    assert plan(p, 0.05, loud).route == "human"


def test_legacy_harm_threshold_labels_by_the_strongest_policy() -> None:
    r = plan(project(hi=0.9), 0.95, detail({"profanity": 0.9, "hate": 0.3, "harassment": 0.2}))
    assert r.route == "auto_action"
    assert orjson.loads(r.final_labels) == ["profanity"] and r.final_action == "restrict"


@pytest.mark.parametrize("n", [0, 150])
def test_fresh_project_defaults_automate_nothing(n: int) -> None:
    p = project(thresholds(n))
    assert plan(p, 0.999, detail({"hate": 0.999, "profanity": 0.999})).route == "human"


TRIVIAL = ["ㅋㅋ", "", "?", "ㅎㅎㅎㅎ", "😀😀😀"]
LOOKALIKES = ["이 노선의 시발점이 어디야?", "병신년 새해 복 많이 받으세요 (丙申年)",
              "새끼손가락 걸고 약속해", "한남대교 지금 많이 막히나요?",
              "개새끼 귀엽다 우리 강아지", "수박씨 발라먹기 귀찮아", "시험 때문에 죽어라 공부했다",
              "아버지 십팔번은 트로트다", "길에서 새끼 고양이를 구조했어요"]
OBVIOUS = "씨발 개새끼야 꺼져 진짜 병신같네"


def _routes(engine, key: str, tmp_path, texts: list[str]) -> dict[str, tuple[str, Any, Any]]:
    from sqlalchemy import text as sql_text

    from tests.queue.helpers import add_items

    rows = [{"external_id": f"t-{i:03d}", "product": "comment", "comment": t}
            for i, t in enumerate(texts)]
    add_items(engine, key, tmp_path, rows, f"{key}.jsonl")
    with engine.connect() as conn:
        got = conn.execute(sql_text(
            "SELECT external_id, route, final_labels, final_action FROM items i "
            "JOIN projects p ON p.id = i.project_id WHERE p.key = :k"), {"k": key}).all()
    by_id = {r.external_id: (r.route, r.final_labels, r.final_action) for r in got}
    return {t: by_id[f"t-{i:03d}"] for i, t in enumerate(texts)}


def test_trivial_text_and_lookalikes_are_never_auto_actioned_on_import(
        fresh_engine, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in model scores on import; a fresh project automates nothing, and a project
    that does automate (harm ≥ 0.9, and profanity/hate/harassment with 500 labels behind
    each threshold) still leaves trivial text and the look-alikes to people."""
    from modops.machine.registry import SHIPPED
    from modops.projects import get_project, update_project
    from modops.store import session_scope
    from tests.queue.helpers import human_project

    if not SHIPPED.exists():
        pytest.skip("no shipped artifact")
    monkeypatch.setenv("MODOPS_MODEL_DIR", str(tmp_path / "models"))
    engine = fresh_engine()
    texts = TRIVIAL + LOOKALIKES + [OBVIOUS]
    human_project(engine, "fresh", k=1, settings={"score_on_ingest": True})
    fresh = _routes(engine, "fresh", tmp_path, texts)
    assert all(route != "auto_action" for route, _, _ in fresh.values()), fresh

    human_project(engine, "auto", k=1, routing={"auto_action": 0.9},
                  settings={"score_on_ingest": True})
    with session_scope(engine) as s:
        p = get_project(s, "auto")
        update_project(s, p, {"settings": {**p.settings, "policy_thresholds": {
            "profanity": {"threshold": 0.9, "n": 500},
            "hate": {"threshold": 0.9, "n": 500},
            "harassment": {"threshold": 0.9, "n": 500}}}}, actor="test")
    auto = _routes(engine, "auto", tmp_path, texts)
    for t in TRIVIAL + LOOKALIKES:
        assert auto[t][0] != "auto_action", (t, auto[t])
    route, labels, action = auto[OBVIOUS]
    assert route == "auto_action" and loads(labels) == ["profanity"]
    assert action == "restrict"
