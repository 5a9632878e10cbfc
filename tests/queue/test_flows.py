"""The queue's promises, each as a scenario an operations team relies on."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from modops.domain import IllegalTransition, NotFound, PermissionDenied, ValidationError
from modops.queue import (
    decide,
    flag,
    next_review,
    next_task,
    open_appeal,
    skip,
    submit,
    submit_and_next,
)
from modops.store import session_scope, utcnow
from modops.store.models import AuditLog, Decision, Item, RoutingDecision
from tests.queue.helpers import add_items, human_project, make_users, simple_items


def labels_of(engine: Engine, external_id: str) -> list[str] | None:
    with session_scope(engine) as s:
        return s.scalar(select(Item.final_labels).where(Item.external_id == external_id))


def test_overlap_k_distinct_labelers_then_majority_decides(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=3)
    add_items(engine, project, tmp_path, simple_items(1))
    a, b, c, d = make_users(engine, 4)
    answers = {a: ["profanity"], b: ["profanity"], c: ["none"]}
    for user, labels in answers.items():
        task = next_task(engine, project, user)
        assert task is not None and task.item.external_id == "i-00000"
        result = submit(engine, task.task_id, user, labels)
    assert result.item_state == "decided" and result.decided_labels == ["profanity"]
    assert next_task(engine, project, d) is None  # k slots used: a fourth labeler gets nothing
    with session_scope(engine) as s:
        decision = s.scalars(select(Decision)).one()
        assert (decision.source, decision.action) == ("labelers", "restrict")
        assert decision.basis["share"] == pytest.approx(2 / 3, abs=1e-4)


def test_a_labeler_never_gets_the_same_item_twice(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=3)
    add_items(engine, project, tmp_path, simple_items(4))
    (a,) = make_users(engine, 1)
    seen = []
    while (task := next_task(engine, project, a)) is not None:
        seen.append(task.item.external_id)
        submit(engine, task.task_id, a, ["none"])
    assert sorted(seen) == [f"i-{i:05d}" for i in range(4)]


def test_submit_and_next_answers_then_leases_the_next_task(engine: Engine,
                                                           tmp_path: Path) -> None:
    project = human_project(engine, k=1)
    add_items(engine, project, tmp_path, simple_items(3))
    (a,) = make_users(engine, 1)
    task = next_task(engine, project, a)
    seen = []
    while task is not None:
        seen.append(task.item.external_id)
        result, following = submit_and_next(engine, project, task.task_id, a, ["profanity"])
        assert result.item_state == "decided" and result.decided_labels == ["profanity"]
        assert following is None or following.task_id != task.task_id
        task = following
    assert sorted(seen) == ["i-00000", "i-00001", "i-00002"]
    assert all(labels_of(engine, x) == ["profanity"] for x in seen)


def test_submit_and_next_refuses_a_task_of_another_project(engine: Engine,
                                                           tmp_path: Path) -> None:
    """The project named is the one whose next task is leased: a task of another project is
    not found there, and nothing is written."""
    project = human_project(engine, k=1)
    other = human_project(engine, k=1, key="other")
    add_items(engine, project, tmp_path, simple_items(1))
    (a,) = make_users(engine, 1)
    task = next_task(engine, project, a)
    assert task is not None
    with pytest.raises(NotFound):
        submit_and_next(engine, other, task.task_id, a, ["none"])
    assert labels_of(engine, "i-00000") is None
    result, following = submit_and_next(engine, project, task.task_id, a, ["none"])
    assert result.item_state == "decided" and following is None


def test_next_task_resumes_the_lease_you_hold(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=1)
    add_items(engine, project, tmp_path, simple_items(3))
    (a,) = make_users(engine, 1)
    first = next_task(engine, project, a)
    again = next_task(engine, project, a)
    assert first is not None and again is not None and first.task_id == again.task_id


def test_expired_lease_returns_the_slot_to_the_queue(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=1)
    add_items(engine, project, tmp_path, simple_items(1))
    a, b = make_users(engine, 2)
    now = utcnow()
    task = next_task(engine, project, a, now=now)
    assert task is not None and task.lease_expires_at == task.leased_at + timedelta(minutes=10)
    assert next_task(engine, project, b, now=now + timedelta(minutes=5)) is None
    later = now + timedelta(minutes=11)
    taken = next_task(engine, project, b, now=later)
    assert taken is not None and taken.task_id == task.task_id
    with pytest.raises(PermissionDenied, match="not leased to you"):
        submit(engine, task.task_id, a, ["none"], now=later)
    submit(engine, taken.task_id, b, ["none"], now=later)


def test_skip_puts_the_slot_back_and_hides_the_item_from_that_labeler(
        engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=1)
    add_items(engine, project, tmp_path, simple_items(1))
    a, b = make_users(engine, 2)
    task = next_task(engine, project, a)
    skip(engine, task.task_id, a, reason="모르는 은어")
    assert next_task(engine, project, a) is None
    other = next_task(engine, project, b)
    assert other is not None and other.task_id == task.task_id


def test_team_and_skill_restrictions(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, "restricted", k=1, teams=["Seoul A"],
                            required_skills=["ko"])
    add_items(engine, project, tmp_path, simple_items(2))
    (outsider,) = make_users(engine, 1, prefix="out", team="Vendor C", skills=["ko"])
    (no_skill,) = make_users(engine, 1, prefix="noskill", team="Seoul A", skills=["en"])
    (member,) = make_users(engine, 1, prefix="member", team="Seoul A", skills=["ko"])
    with pytest.raises(PermissionDenied, match="restricted to its teams"):
        next_task(engine, project, outsider)
    with pytest.raises(PermissionDenied, match="needs the skill 'ko'"):
        next_task(engine, project, no_skill)
    assert next_task(engine, project, member) is not None
    # a slot can also need a skill of its own (e.g. minor safety specialists)
    with engine.begin() as conn:
        conn.execute(text("UPDATE tasks SET required_skill = 'minor_safety' WHERE state = 'open'"))
    (member2,) = make_users(engine, 1, prefix="member2", team="Seoul A", skills=["ko"])
    assert next_task(engine, project, member2) is None
    (specialist,) = make_users(engine, 1, prefix="spec", team="Seoul A",
                               skills=["ko", "minor_safety"])
    assert next_task(engine, project, specialist) is not None


def test_priority_order_reports_views_score_deadline_then_oldest(
        engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=1,
                            priority_weights={"machine_score": 1.0, "views": 0.5, "sla": 1.0,
                                              "reports": 2.0})
    rows = [
        {"external_id": "plain-old", "product": "comment", "comment": "a", "machine_score": 0.5},
        {"external_id": "plain-new", "product": "comment", "comment": "b", "machine_score": 0.5},
        {"external_id": "viral", "product": "comment", "comment": "c", "machine_score": 0.5,
         "view_count": 1_000_000},
        {"external_id": "likely-harm", "product": "comment", "comment": "d",
         "machine_score": 0.9},
        {"external_id": "reported", "product": "comment", "comment": "e", "machine_score": 0.2,
         "user_reported": True},
    ]
    add_items(engine, project, tmp_path, rows)
    (a,) = make_users(engine, 1)
    order = []
    while (task := next_task(engine, project, a)) is not None:
        order.append(task.item.external_id)
        submit(engine, task.task_id, a, ["none"])
    # reported: 2 + .2 = 2.2; viral: .5 + .5 = 1.0; likely-harm .9; then the tie, oldest first
    assert order == ["reported", "viral", "likely-harm", "plain-old", "plain-new"]


def test_sla_deadline_urgency_puts_live_first(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=1, settings={"sla_by_product": {"live": 60}})
    add_items(engine, project, tmp_path, [
        {"external_id": "comment", "product": "comment", "comment": "a", "machine_score": 0.5},
        {"external_id": "live", "product": "live", "comment": "b", "machine_score": 0.5}])
    (a,) = make_users(engine, 1)
    assert next_task(engine, project, a).item.external_id == "live"  # due in 1 h, not 24 h


def test_disagreement_escalates_and_the_reviewer_overrides(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=3)
    add_items(engine, project, tmp_path, simple_items(1))
    a, b, c = make_users(engine, 3)
    (rev,) = make_users(engine, 1, role="reviewer", prefix="rev")
    for user, labels in ((a, ["hate"]), (b, ["harassment"]), (c, ["none"])):
        result = submit(engine, next_task(engine, project, user).task_id, user, labels)
    assert result.escalated and result.item_state == "escalated"
    with pytest.raises(PermissionDenied):
        next_review(engine, project, a)  # labelers do not review
    review = next_review(engine, project, rev)
    assert review is not None and review.reason == "labelers disagree"
    assert sorted(x.labeler for x in review.annotations) == ["lab0", "lab1", "lab2"]
    outcome = decide(engine, review.task_id, rev, ["harassment"])
    assert outcome.source == "reviewer" and outcome.overturned == ["lab0", "lab2"]
    assert labels_of(engine, "i-00000") == ["harassment"]
    with session_scope(engine) as s:
        flags = dict(s.execute(text("SELECT u.username, a.overturned FROM annotations a "
                                    "JOIN users u ON u.id = a.labeler_id WHERE a.kind = 'label'")
                               ).all())
    assert flags == {"lab0": True, "lab1": False, "lab2": True}


def test_flag_sends_an_item_straight_to_review(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=3)
    add_items(engine, project, tmp_path, simple_items(1))
    a, b = make_users(engine, 2)
    (rev,) = make_users(engine, 1, role="reviewer", prefix="rev")
    flag(engine, next_task(engine, project, a).task_id, a, note="자해 암시 — 긴급")
    assert next_task(engine, project, b) is None  # remaining slots were cancelled
    review = next_review(engine, project, rev)
    assert review.reason == "flagged by a labeler" and review.annotations[0].flagged


def test_appeal_upheld_and_overturned(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=1)
    add_items(engine, project, tmp_path, simple_items(2))
    (a,) = make_users(engine, 1)
    r1, r2 = make_users(engine, 2, role="reviewer", prefix="rev")
    for _ in range(2):
        submit(engine, next_task(engine, project, a).task_id, a, ["profanity"])
    with pytest.raises(NotFound):
        decide(engine, 10_000, r1, ["none"])  # no such task
    open_appeal(engine, project, "i-00000", opened_by="creator:123", reason="욕 아니에요")
    open_appeal(engine, project, "i-00001", opened_by="creator:456")
    with pytest.raises(IllegalTransition, match="cannot go from appealed to appealed"):
        open_appeal(engine, project, "i-00001", opened_by="creator:456")
    first = next_review(engine, project, r1)
    assert first.kind == "appeal" and first.current_labels == ["profanity"]
    upheld = decide(engine, first.task_id, r1, ["profanity"])
    second = next_review(engine, project, r2)
    overturned = decide(engine, second.task_id, r2, ["none"])
    assert (upheld.appeal_outcome, overturned.appeal_outcome) == ("upheld", "overturned")
    assert labels_of(engine, second.item.external_id) == ["none"]
    with session_scope(engine) as s:
        states = sorted(s.scalars(text("SELECT state FROM appeals")).all())
        assert states == ["overturned", "upheld"]
        sources = s.scalars(select(Decision.source).where(Decision.current.is_(True))).all()
        assert sorted(sources) == ["appeal", "labelers"]


def test_submit_validates_labels_against_the_taxonomy(engine: Engine, tmp_path: Path) -> None:
    project = human_project(engine, k=1)
    add_items(engine, project, tmp_path, simple_items(1))
    (a,) = make_users(engine, 1)
    task = next_task(engine, project, a)
    with pytest.raises(ValidationError, match="not in taxonomy"):
        submit(engine, task.task_id, a, ["toxic"])
    with pytest.raises(ValidationError, match="single-label"):
        submit(engine, task.task_id, a, ["hate", "spam"])
    done = submit(engine, task.task_id, a, ["spam"])
    with pytest.raises(IllegalTransition, match="cannot go from done"):
        submit(engine, task.task_id, a, ["spam"])
    with session_scope(engine) as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "label.submit")).one()
        assert entry.actor == "lab0" and entry.after["labels"] == ["spam"]
        assert entry.entity_id == str(done.annotation_id)


def test_machine_routing_by_thresholds_with_audit_sampling(engine: Engine,
                                                            tmp_path: Path) -> None:
    project = human_project(engine, k=2, audit_rate=1.0,
                            routing={"auto_action": 0.9, "auto_clear": 0.1})
    add_items(engine, project, tmp_path, [
        {"external_id": "bad", "product": "comment", "comment": "x", "machine_score": 0.95},
        {"external_id": "fine", "product": "comment", "comment": "y", "machine_score": 0.02},
        {"external_id": "unsure", "product": "comment", "comment": "z", "machine_score": 0.5},
        {"external_id": "unscored", "product": "comment", "comment": "w"}])
    with session_scope(engine) as s:
        routes = dict(s.execute(select(Item.external_id, Item.route)).all())
        assert routes == {"bad": "auto_action", "fine": "auto_clear", "unsure": "human",
                          "unscored": "unscored"}
        decisions = {r.item_id: r for r in s.scalars(select(RoutingDecision))}
        assert {(d.score, d.auto_action_threshold, d.auto_clear_threshold, d.audit_sampled)
                for d in decisions.values() if d.route == "auto_action"} == {
            (0.95, 0.9, 0.1, True)}
        assert labels_of(engine, "fine") == ["none"]
        tasks = s.execute(text("SELECT kind, count(*) FROM tasks GROUP BY kind")).all()
        assert dict(tasks) == {"audit": 2, "label": 4}  # 2 audits; k=2 slots × 2 human items


def test_personal_data_is_masked_where_work_is_handed_out(engine: Engine,
                                                          tmp_path: Path) -> None:
    project = human_project(engine, k=1)
    add_items(engine, project, tmp_path, [
        {"external_id": "pii", "product": "comment",
         "comment": "연락주세요 010-1234-5678, 주민번호 900101-1234567",
         "metadata": {"author_email": "minji@example.com"}}])
    (a,) = make_users(engine, 1)
    task = next_task(engine, project, a)
    assert "1234-5678" not in task.item.comment and "1234567" not in task.item.comment
    assert "연락주세요" in task.item.comment
    assert "minji@" not in str(task.item.metadata)


def test_never_twice_is_checked_per_candidate_slot_however_long_the_history(
        engine: Engine, tmp_path: Path) -> None:
    """"Never an item they already had" is one (item, labeler) probe for each candidate slot,
    whatever the planner's statistics say. Planned as an anti-join, PostgreSQL read the
    labeler's whole history for every next task, so dispensing slowed down with every answer
    (2 ms → 6 ms per pair over 12,000). Checked by the plan's shape, not by a clock."""
    from modops.queue import dispense
    from modops.queue.core import cached_project, read_actor

    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs a correlated NOT EXISTS once per candidate row as written")
    project = human_project(engine, k=1)
    add_items(engine, project, tmp_path, simple_items(50))
    (labeler,) = make_users(engine, 1)
    for _ in range(20):
        task = next_task(engine, project, labeler)
        assert task is not None
        submit(engine, task.task_id, labeler, ["none"])
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE tasks")
    actor = read_actor(engine, labeler)
    statement, params = dispense._label_slot_sql(actor, lock=True)
    with engine.connect() as conn:
        plan = "\n".join(conn.execute(text("EXPLAIN " + statement), {
            "p": cached_project(engine, project).id, "u": labeler, **params}).scalars())
    assert "Anti Join" not in plan and "SubPlan" in plan, plan
