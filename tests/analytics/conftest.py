"""A one-day fixture small enough to compute every metric by hand (see test_metrics.py).

Day under test: 2026-11-20 (UTC). Items I1–I14 are described where they are built; the
expected numbers in the tests are derived from these rows only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from modops.store import session_scope
from modops.store.models import (
    Annotation,
    Appeal,
    Decision,
    Item,
    Product,
    Project,
    RoutingDecision,
    Task,
    Team,
    User,
)

D = datetime(2026, 11, 20)


def h(hours: float, day: datetime = D) -> datetime:
    return day + timedelta(hours=hours)


def build_day(engine: Engine, project_key: str) -> dict[str, int]:
    """Insert the hand-computed day; returns item ids by name."""
    with session_scope(engine) as s:
        proj = s.scalar(select(Project).where(Project.key == project_key))
        assert proj is not None
        pid = proj.id
        prod = {p.key: p.id for p in s.scalars(select(Product))}
        teams = {t.name: t for t in s.scalars(select(Team))}
        teams["Seoul A"].hourly_cost = 20.0
        teams["Seoul B"].hourly_cost = 30.0
        users = {}
        for name, role, team in [("kim", "labeler", "Seoul A"), ("lee", "labeler", "Seoul A"),
                                 ("park", "labeler", "Seoul B"), ("rev", "reviewer", None)]:
            u = User(username=name, role=role, team_id=teams[team].id if team else None,
                     created_at=h(-100))
            s.add(u)
            users[name] = u
        s.flush()
        uid = {k: u.id for k, u in users.items()}

        ids: dict[str, int] = {}

        def item(name: str, product: str = "comment", *, created: datetime,
                 ingested: datetime | None = None, route: str | None = "human",
                 score: float | None = None, decided: datetime | None = None,
                 labels: list[str] | None = None, action: str | None = None,
                 source: str | None = None, views_at: int | None = None,
                 reported: datetime | None = None, escalated: datetime | None = None,
                 sample: bool = False, views: int = 0, state: str | None = None,
                 due: bool = True, **kw: Any) -> Item:
            ing = ingested or created
            it = Item(project_id=pid, external_id=name, product_id=prod[product],
                      comment=f"{name} 댓글", created_at=created, ingested_at=ing,
                      view_count=views, user_reported=reported is not None,
                      reported_at=reported, state=state or ("decided" if decided else "queued"),
                      route=route, machine_score=score,
                      model_version="m1" if score is not None else None,
                      in_prevalence_sample=sample, final_labels=labels, final_action=action,
                      decided_at=decided, due_at=ing + timedelta(hours=24) if due else None,
                      escalated_at=escalated, **kw)
            s.add(it)
            s.flush()
            ids[name] = it.id
            if route is not None:
                s.add(RoutingDecision(project_id=pid, item_id=it.id, score=score,
                                      auto_action_threshold=0.97, auto_clear_threshold=0.03,
                                      route=route, model_version=it.model_version,
                                      decided_at=ing))
            if decided is not None and source is not None:
                s.add(Decision(project_id=pid, item_id=it.id, labels=labels, action=action,
                               source=source, decided_at=decided, current=True,
                               views_at_decision=views_at))
            return it

        # I1 comment, machine flagged (human band), 3 labelers agree: removed 8 h after
        # creation with 0 views; appealed at 23:00 (still open).
        item("I1", created=h(-2), ingested=h(0), score=0.8, decided=h(6),
             labels=["harassment"], action="remove", source="labelers", views_at=0,
             state="appealed")
        # I2 auto-actioned at ingestion (restrict), 10 views; audited, audit agrees.
        item("I2", created=h(1), route="auto_action", score=0.99, decided=h(1),
             labels=["profanity"], action="restrict", source="machine", views_at=10)
        # I3 short video, ingested 11-18, user report after machine flag; escalated,
        # reviewer removes at 12:00 on 11-20: 60 h after creation, SLA missed.
        item("I3", "short_video", created=h(-48), score=0.4, decided=h(12),
             labels=["hate.gender"], action="remove", source="reviewer", views_at=500,
             reported=h(-47), escalated=h(10))
        # I4 unscored (model down), user report, removed 2 h after creation, 0 views.
        item("I4", created=h(2), route="unscored", decided=h(4), labels=["spam"],
             action="remove", source="labelers", views_at=0, reported=h(2.5))
        # I5 human band, no violation.
        item("I5", created=h(3), score=0.4, decided=h(5), labels=["none"],
             action="no_action", source="labelers", views_at=3)
        # I6 auto-cleared by the machine; no SLA deadline stored (falls back to project SLA).
        item("I6", created=h(3), route="auto_clear", score=0.01, decided=h(3), labels=["none"],
             action="no_action", source="machine", views_at=0, due=False)
        # I7–I10: the uniform prevalence sample (views 100, 300, 600, 0).
        item("I7", created=h(6.5), ingested=h(7), route="auto_clear", score=0.02,
             decided=h(8), labels=["none"], action="no_action", source="labelers",
             views_at=50, sample=True, views=100)
        item("I8", created=h(7), ingested=h(7.5), score=0.3, decided=h(9),
             labels=["harassment"], action="remove", source="labelers", views_at=20,
             sample=True, views=300)
        item("I9", created=h(7.5), ingested=h(8), score=0.45, decided=h(9.5), labels=["none"],
             action="no_action", source="labelers", views_at=400, sample=True, views=600)
        item("I10", created=h(7.5), ingested=h(8), score=0.55, decided=h(10),
             labels=["profanity"], action="restrict", source="labelers", views_at=0,
             sample=True, views=0, reported=h(7.75))  # reported before the machine saw it
        # I11 still queued at the end of the day.
        item("I11", created=h(20.5), route="human", score=0.5)
        # I12 gold item (answer: profanity).
        item("I12", created=h(0), route=None, is_gold=True, gold_labels=["profanity"])
        # I13 decided the day before (outside the period).
        item("I13", created=h(-3), score=0.5, decided=h(-1), labels=["none"],
             action="no_action", source="labelers", views_at=0)
        # I14 auto-actioned the day before (spam); audited at 01:00 (audit says none);
        # the appeal overturned it at 02:00, so its decision in force is the appeal's.
        i14 = item("I14", created=h(-0.5), route="auto_action", score=0.99, decided=h(2),
                   labels=["none"], action="no_action", source="appeal", views_at=5)
        machine14 = Decision(project_id=pid, item_id=i14.id, labels=["spam"], action="remove",
                             source="machine", decided_at=h(-0.5), current=False,
                             views_at_decision=0)
        s.add(machine14)
        s.flush()

        # ------------------------------------------------------------- tasks + annotations
        def work(name: str, who: str, kind: str, labels: list[str], submit: float,
                 handle_s: float | None, created: datetime | None = None,
                 correct: bool | None = None, start: float | None = None) -> None:
            start_at = h(start) if start is not None else h(submit) - timedelta(
                seconds=handle_s or 0)
            t = Task(project_id=pid, item_id=ids[name], kind=kind, state="done",
                     assignee_id=uid[who], leased_at=start_at, created_at=created or h(0),
                     done_at=h(submit))
            s.add(t)
            s.flush()
            s.add(Annotation(project_id=pid, item_id=ids[name], task_id=t.id,
                             labeler_id=uid[who], kind=kind, labels=labels,
                             started_at=start_at, submitted_at=h(submit),
                             handle_ms=None if handle_s is None else int(handle_s * 1000),
                             correct=correct))

        m = 1 / 60  # one minute, in hours
        # label slots: handle times 10 … 100 s; I3's tasks were created on 11-18
        work("I1", "kim", "label", ["harassment"], 5 + 10 * m, 10)
        work("I1", "lee", "label", ["harassment"], 5 + 20 * m, 20)
        work("I1", "park", "label", ["harassment"], 5 + 30 * m, 30)
        work("I3", "kim", "label", ["hate.gender"], 9 + 10 * m, 40, created=h(-48))
        work("I3", "lee", "label", ["harassment"], 9 + 20 * m, 50, created=h(-48))
        work("I3", "park", "label", ["hate.gender"], 9 + 30 * m, 60, created=h(-48))
        work("I5", "kim", "label", ["none"], 4 + 10 * m, 70)
        work("I5", "lee", "label", ["none"], 4 + 20 * m, 80)
        work("I5", "park", "label", ["profanity"], 4 + 30 * m, 90)
        # I11: handle_ms missing -> lease start to submit (100 s) is used
        work("I11", "kim", "label", ["none"], 21, None, start=21 - 100 / 3600)
        # gold: 110, 120, 130 s; lee is wrong
        work("I12", "kim", "gold", ["profanity"], 5 + 40 * m, 110, correct=True)
        work("I12", "lee", "gold", ["none"], 10, 120, correct=False)
        work("I12", "park", "gold", ["profanity"], 10.5, 130, correct=True)
        # review of the escalated I3: 190 s
        work("I3", "rev", "review", ["hate.gender"], 11, 190, created=h(10))
        # audits: 140 … 180 s
        work("I14", "rev", "audit", ["none"], 1, 140)  # vs machine "spam" in force: error
        work("I2", "rev", "audit", ["profanity"], 13, 150)  # agrees
        work("I6", "rev", "audit", ["spam"], 13 + 10 * m, 160)  # machine said none: error
        work("I1", "rev", "audit", ["harassment"], 14, 170)  # agrees
        work("I5", "rev", "audit", ["profanity"], 14 + 10 * m, 180)  # labelers said none: error

        # outside the period: a label task done on 11-19
        work("I13", "kim", "label", ["none"], -1.5, 15, created=h(-3))
        s.add(Annotation(project_id=pid, item_id=ids["I12"], labeler_id=uid["kim"],
                         kind="gold", labels=["none"], submitted_at=h(-2), handle_ms=5000,
                         correct=False))
        # backlog at 11-21 00:00: open/leased tasks, one done only after midnight, one
        # cancelled (never backlog)
        for name, kind, state, created, done in [
            ("I11", "label", "open", h(20.5), None),
            ("I11", "label", "leased", h(20.5), None),
            ("I1", "appeal", "open", h(23.5), None),
            ("I13", "review", "open", h(-60), None),
            ("I12", "gold", "done", h(22), h(25)),
            ("I11", "label", "cancelled", h(20.5), None),
        ]:
            s.add(Task(project_id=pid, item_id=ids[name], kind=kind, state=state,
                       created_at=created, done_at=done,
                       assignee_id=uid["park"] if state in ("leased", "done") else None))

        # ------------------------------------------------------------- appeals
        dec = {d.item_id: d.id for d in s.scalars(select(Decision).where(Decision.current))}
        s.add(Appeal(project_id=pid, item_id=ids["I1"], decision_id=dec[ids["I1"]],
                     opened_by="author", opened_at=h(23), state="open"))
        s.add(Appeal(project_id=pid, item_id=ids["I3"], decision_id=dec[ids["I3"]],
                     opened_by="author", opened_at=h(13), state="upheld",
                     resolved_by_id=uid["rev"], resolved_at=h(15)))
        s.add(Appeal(project_id=pid, item_id=ids["I14"], decision_id=machine14.id,
                     opened_by="author", opened_at=h(-0.25), state="overturned",
                     resolved_by_id=uid["rev"], resolved_at=h(2), outcome_labels=["none"]))
    return ids


@pytest.fixture
def day(engine: Engine, project: str) -> dict[str, int]:
    return build_day(engine, project)
