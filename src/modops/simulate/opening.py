"""The demo's opening hour: the world ends with work waiting for every role.

A simulated team that works every item it is given leaves nothing but gold in the queue when
the simulation stops, so a visitor who signs in as a labeler or reviewer would meet an empty
screen. This stage runs after the simulation, at the world's end, through the same queue calls
(``route_items``, ``next_task``, ``flag``, ``open_appeal``) and the same audit sampling:

* **fresh work** — the next comments of the stream that the model is unsure about (between
  the auto-clear and auto-action thresholds) arrive at the end and are routed to people, so
  every demo labeler has real items, with gold mixed in at the project's gold rate;
* **escalations** — simulated labelers (never the demo sign-ins) flag a few of them;
* **appeals** — authors appeal the latest human removals nobody appealed yet;
* **audits** — QA samples the latest decisions not yet audited, as ``record_decision`` would.

Each guarantee is a minimum: whatever the simulation already left open counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

from modops.domain import ModOpsError, TaskKind
from modops.queue import flag, next_task, open_appeal, submit
from modops.queue.core import write_tx
from modops.queue.decisions import AUDIT_INSERT, audit_params, create_task
from modops.simulate.scenario import COMMENTS

if TYPE_CHECKING:
    from modops.simulate.world import _Sim

# the demo's sign-ins keep their queues for the visitor: the opening never works as them
DEMO_SIGN_INS = ("labeler1", "labeler2", "labeler3", "labeler4", "reviewer")
APPEAL_REASONS = ("욕설이 아닙니다 · this is not an insult",
                  "문맥상 농담입니다 · it was a joke in context")


@dataclass(frozen=True, slots=True)
class Opening:
    """How much work the world opens with (minimums, in ``kr-comments``)."""

    fresh_items: int = 60
    escalations: int = 4
    appeals: int = 4
    audits: int = 4


@dataclass(slots=True)
class OpeningSummary:
    fresh_items: int = 0
    open_counts: dict[str, int] = field(default_factory=dict)


def open_the_floor(sim: _Sim, opening: Opening) -> OpeningSummary:
    """Leave ``kr-comments`` with fresh work, escalations, appeals and audits at ``sim.end``."""
    out = OpeningSummary()
    out.fresh_items = _fresh_work(sim, opening.fresh_items)
    _escalations(sim, opening.escalations)
    _appeals(sim, opening.appeals)
    _audits(sim, opening.audits)
    out.open_counts = open_counts(sim.engine, COMMENTS)
    return out


def _fresh_work(sim: _Sim, n: int) -> int:
    """The uncertain comments arrive at the end and are routed to people (the simulation's own
    import and routing); nobody has worked them when the demo opens."""
    config = sim.projects[COMMENTS]
    lo, hi = config.auto_clear_threshold or 0.0, config.auto_action_threshold or 1.0
    items = sim.stream.uncertain(n, sim.end, lo=lo, hi=hi)
    for item in items:
        sim.truth[item.external_id] = item.truth
        sim.product[item.external_id] = item.product
    sim.import_day(sim.end, COMMENTS, items)
    sim.run()
    return len(items)


def _escalations(sim: _Sim, n: int) -> None:
    """Simulated labelers flag fresh items for a reviewer until ``n`` escalations are open."""
    helpers = [a for a in sim.agents if a.username not in DEMO_SIGN_INS]
    for agent in helpers:
        if open_counts(sim.engine, COMMENTS)["review"] >= n:
            return
        task = next_task(sim.engine, COMMENTS, agent.user_id, now=sim.end)
        if task is None:
            continue
        ext = task.item.external_id
        if _is_gold(sim.engine, task.item.id):  # gold is answered, never flagged
            submit(sim.engine, task.task_id, agent.user_id, sim.truth.get(ext, ["none"]),
                   now=sim.end)
            continue
        flag(sim.engine, task.task_id, agent.user_id,
             note="정책 확인 필요 · unsure which policy applies", now=sim.end)


def _appeals(sim: _Sim, n: int) -> None:
    """Authors appeal the latest removals decided by people (never by the demo reviewer,
    who could not then be served the appeal)."""
    missing = n - open_counts(sim.engine, COMMENTS)["appeal"]
    if missing <= 0:
        return
    with sim.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT i.external_id FROM items i JOIN projects p ON p.id = i.project_id "
            "JOIN decisions d ON d.item_id = i.id AND d.current = :t "
            "LEFT JOIN users u ON u.id = d.decided_by_id "
            "WHERE p.key = :k AND i.state = 'decided' AND i.final_action = 'remove' "
            "AND NOT i.is_gold AND (u.username IS NULL OR u.username <> 'reviewer') "
            "AND NOT EXISTS (SELECT 1 FROM appeals a WHERE a.item_id = i.id) "
            "ORDER BY i.decided_at DESC, i.id DESC LIMIT :n"),
            {"t": True, "k": COMMENTS, "n": missing * 2}).scalars().all()
    opened = 0
    for i, ext in enumerate(rows):
        if opened >= missing:
            return
        try:
            open_appeal(sim.engine, COMMENTS, ext, opened_by=f"author:{ext}",
                        reason=APPEAL_REASONS[i % len(APPEAL_REASONS)],
                        now=sim.end - timedelta(minutes=5 * (i + 1)))
            opened += 1
        except ModOpsError:
            continue


def _audits(sim: _Sim, n: int) -> None:
    """QA samples the latest labeler and machine decisions not yet audited."""
    missing = n - open_counts(sim.engine, COMMENTS)["audit"]
    if missing <= 0:
        return
    config = sim.projects[COMMENTS]
    with write_tx(sim.engine) as (conn, _):
        rows = conn.execute(text(
            "SELECT i.id FROM items i JOIN decisions d ON d.item_id = i.id AND d.current = :t "
            "WHERE i.project_id = :p AND i.state = 'decided' AND NOT i.is_gold "
            "AND d.source IN ('labelers', 'machine') "
            "AND NOT EXISTS (SELECT 1 FROM tasks x WHERE x.item_id = i.id AND x.kind = 'audit') "
            "ORDER BY i.decided_at DESC, i.id DESC LIMIT :n"),
            {"t": True, "p": config.id, "n": missing}).scalars().all()
        for item_id in rows:
            create_task(conn, config.id, item_id, TaskKind.AUDIT, sim.end, priority=0.0)
            conn.execute(text(AUDIT_INSERT), audit_params(
                "system", "audit.sample", "item", item_id, config.id,
                after={"reason": "QA spot check"}))


def _is_gold(engine: Engine, item_id: int) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT is_gold FROM items WHERE id = :i"),
                                 {"i": item_id}).scalar())


def open_counts(engine: Engine, project: str) -> dict[str, int]:
    """Open tasks by kind in ``project``; ``label`` counts non-gold items only."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT t.kind, i.is_gold, count(*) FROM tasks t JOIN items i ON i.id = t.item_id "
            "JOIN projects p ON p.id = t.project_id WHERE p.key = :k AND t.state = 'open' "
            "GROUP BY t.kind, i.is_gold"), {"k": project}).all()
    out = {"label": 0, "gold": 0, "review": 0, "appeal": 0, "audit": 0}
    for kind, is_gold, n in rows:
        key = "gold" if kind == "label" and is_gold else kind
        out[key] = out.get(key, 0) + int(n)
    return out

