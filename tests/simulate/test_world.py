"""The demo world's headline numbers are internally consistent, and its planted events show.

One small world (≈ 900 comments over 30 days) is built once on SQLite for the module: the
world drives the real queue, so these checks are about the simulator *and* the queue agreeing
with the database — and about the alerts finding what the simulator planted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from statistics import median

import pytest
from rich.console import Console
from sqlalchemy import Engine, text
from sqlalchemy.pool import NullPool

from modops import analytics
from modops.simulate.world import (
    COMMENTS,
    LABELERS,
    LIVE,
    WEAK_LABELERS,
    WorldConfig,
    WorldSummary,
    build_world,
    headline_numbers,
)
from modops.store import make_engine, upgrade

END = datetime(2026, 3, 2, 6)
CONFIG = WorldConfig.for_items(900, end=END)

pytestmark = pytest.mark.xdist_group("simulate-world")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, WorldSummary]]:
    path: Path = tmp_path_factory.mktemp("world") / "world.db"
    engine = make_engine(f"sqlite:///{path}", poolclass=NullPool)
    upgrade(engine)
    summary = build_world(engine, CONFIG, Console(quiet=True))
    assert summary is not None
    yield engine, summary
    engine.dispose()


def scalar(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar() or 0)


def test_decided_items_equal_current_decisions(world: tuple[Engine, WorldSummary]) -> None:
    engine, summary = world
    for key in (COMMENTS, LIVE):
        decided = scalar(engine, "SELECT count(*) FROM items i JOIN projects p ON "
                         "p.id = i.project_id WHERE p.key = :k AND i.final_labels IS NOT NULL",
                         k=key)
        current = scalar(engine, "SELECT count(*) FROM decisions d JOIN projects p ON "
                         "p.id = d.project_id WHERE p.key = :k AND d.current", k=key)
        assert decided == current == summary.by_project[key]["decided"]
        # and never two current decisions for one item
        assert scalar(engine, "SELECT count(*) FROM (SELECT item_id FROM decisions WHERE "
                      "current GROUP BY item_id HAVING count(*) > 1) x") == 0
    assert summary.decided == sum(r["decided"] for r in summary.by_project.values())


def test_per_labeler_counts_sum_to_total(world: tuple[Engine, WorldSummary]) -> None:
    engine, summary = world
    with engine.connect() as conn:
        per_user = conn.execute(text(
            "SELECT labeler_id, count(*) FROM annotations GROUP BY labeler_id")).all()
    assert sum(n for _, n in per_user) == summary.annotations
    assert summary.annotations == sum(r["annotations"] for r in summary.by_project.values())
    labelers = scalar(engine, "SELECT count(DISTINCT a.labeler_id) FROM annotations a JOIN "
                      "users u ON u.id = a.labeler_id WHERE u.role = 'labeler'")
    assert labelers == len(LABELERS) == 20


def test_overlap_never_exceeded(world: tuple[Engine, WorldSummary]) -> None:
    engine, _ = world
    worst = scalar(engine, """
        SELECT count(*) FROM (
          SELECT a.item_id FROM annotations a JOIN items i ON i.id = a.item_id
          JOIN projects p ON p.id = i.project_id WHERE a.kind = 'label'
          GROUP BY a.item_id, p.overlap_k HAVING count(*) > p.overlap_k
              OR count(DISTINCT a.labeler_id) < count(*)) x""")
    assert worst == 0


def _label_count(engine: Engine, label: str, start: datetime, end: datetime) -> int:
    return scalar(engine, "SELECT count(*) FROM items i JOIN projects p ON p.id = i.project_id "
                  "WHERE p.key = :k AND i.decided_at >= :a AND i.decided_at < :b "
                  "AND i.final_labels LIKE :pat", k=COMMENTS, a=start, b=end,
                  pat=f'%"{label}"%')


def test_spike_day_triples_harassment(world: tuple[Engine, WorldSummary]) -> None:
    engine, summary = world
    s0, s1 = summary.spike_window
    spike = _label_count(engine, "harassment", s0, s1)
    baseline = median(_label_count(engine, "harassment", s0 - timedelta(days=k),
                                   s1 - timedelta(days=k)) for k in range(1, 15))
    assert spike >= 2.5 * baseline, (spike, baseline)


def test_breach_day_decides_late_and_ends_past_sla(world: tuple[Engine, WorldSummary]) -> None:
    engine, summary = world
    b0, _b1 = summary.breach_window
    late = scalar(engine, "SELECT count(*) FROM items i JOIN projects p ON p.id = i.project_id "
                  "WHERE p.key = :k AND i.decided_at > i.due_at AND i.decided_at >= :a",
                  k=LIVE, a=b0)
    late_before = scalar(engine, "SELECT count(*) FROM items i JOIN projects p ON "
                         "p.id = i.project_id WHERE p.key = :k AND i.decided_at > i.due_at "
                         "AND i.decided_at < :a", k=LIVE, a=b0)
    assert late >= 5 and late > 3 * late_before, (late, late_before)
    assert summary.by_project[LIVE]["past_sla_open"] >= 1
    # gold items are not content: they never fall due
    assert scalar(engine, "SELECT count(*) FROM items WHERE is_gold AND due_at IS NOT NULL") == 0


def test_weak_labelers_score_lower_on_gold(world: tuple[Engine, WorldSummary]) -> None:
    engine, _ = world
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT u.username, sum(CASE WHEN a.correct THEN 1 ELSE 0 END), count(*) "
            "FROM annotations a JOIN users u ON u.id = a.labeler_id WHERE a.kind = 'gold' "
            "GROUP BY u.username")).all()
    strong = {p.username for p in LABELERS if p.accuracy >= 0.9}
    weak_ok = sum(ok for u, ok, _ in rows if u in WEAK_LABELERS)
    weak_n = sum(n for u, _, n in rows if u in WEAK_LABELERS)
    strong_ok = sum(ok for u, ok, _ in rows if u in strong)
    strong_n = sum(n for u, _, n in rows if u in strong)
    assert weak_n >= 10 and strong_n >= 30
    assert weak_ok / weak_n + 0.15 < strong_ok / strong_n


def test_escalations_appeals_audits_happen(world: tuple[Engine, WorldSummary]) -> None:
    engine, summary = world
    assert summary.escalations > 0 and summary.appeals > 0 and summary.audits_done > 0
    resolved = scalar(engine, "SELECT count(*) FROM appeals WHERE state <> 'open'")
    assert resolved > 0
    assert scalar(engine, "SELECT count(*) FROM annotations WHERE kind = 'review'") > 0
    # simulated time only: nothing happens after the world's end or before its start
    assert scalar(engine, "SELECT count(*) FROM annotations WHERE submitted_at > :e "
                  "OR submitted_at < :s", e=summary.end, s=summary.start) == 0


def test_idempotent(world: tuple[Engine, WorldSummary]) -> None:
    engine, summary = world
    assert build_world(engine, CONFIG, Console(quiet=True)) is None
    again = headline_numbers(engine, summary.start, summary.end, *summary.spike_window)
    assert (again.items, again.annotations, again.decided) == \
        (summary.items, summary.annotations, summary.decided)


def test_alerts_find_the_planted_spike_and_breach(world: tuple[Engine, WorldSummary]) -> None:
    engine, summary = world
    spike = analytics.evaluate_alerts(engine, COMMENTS, summary.spike_window[1])
    assert any(a.rule == "label_spike" and a.subject == "harassment" for a in spike)
    bursts = [a for a in spike if a.rule == "keyword_burst"]
    terms = {a.subject for a in bursts} | {t for a in bursts for t in a.stats["related"]}
    assert terms & {"하정우", "프로포폴"}, terms
    live = analytics.evaluate_alerts(engine, LIVE, summary.end)
    assert any(a.rule == "backlog_past_sla" for a in live)
    # the day before the spike is quiet: no harassment spike there
    quiet = analytics.evaluate_alerts(engine, COMMENTS, summary.spike_window[0])
    assert not any(a.rule == "label_spike" and a.subject == "harassment" for a in quiet)


def test_spike_week_report_lists_the_incident(world: tuple[Engine, WorldSummary]) -> None:
    """The week of the planted spike: its report leads with the stored incident (the
    harassment spike and/or the 하정우/프로포폴 burst), in the Incidents section and first in
    the narrative, with start, peak and the items it touched."""
    from modops.analytics import Period
    from modops.reports.content import build_document, incident_name
    from modops.reports.data import collect

    engine, summary = world
    s0, s1 = summary.spike_window
    week = Period.containing("week", s0)
    data = collect(engine, [COMMENTS], week, now=summary.end)
    incidents = data.projects[0].incidents
    spike = [i for i in incidents if (i.rule == "label_spike" and i.subject == "harassment")
             or (i.rule == "keyword_burst" and i.subject in {"하정우", "프로포폴"})]
    assert spike, [(i.rule, i.subject) for i in incidents]
    first = spike[0]
    # it started during the spike day (or the replay step after it began) and was seen
    assert s0 <= first.start <= s1 + timedelta(hours=CONFIG.alert_step_hours)
    assert first.peak is not None and first.peak_at is not None
    assert first.affected_items and first.affected_items >= 5
    assert any(first.series), first.series  # the timeline has the spike in it
    doc = build_document(data, "ko")
    sec = next(s for s in doc.sections if s.key == "sec_incidents")
    table = next(b for b in sec.blocks if getattr(b, "key", "").endswith("incidents"))
    assert incident_name(first, "ko", data.projects[0]) in [row[1] for row in table.rows]
    summary_text = [b.text for b in doc.sections[0].blocks if getattr(b, "style", "") == "bullet"]
    assert summary_text and summary_text[0].startswith("인시던트:"), summary_text[:3]


def _copy(engine: Engine, dest: Path) -> Engine:
    """A private copy of the module's world (SQLite's backup API), for tests that work in it."""
    import sqlite3

    src_path = engine.url.database
    assert src_path is not None
    with sqlite3.connect(src_path) as src, sqlite3.connect(dest) as dst:
        src.backup(dst)
    return make_engine(f"sqlite:///{dest}", poolclass=NullPool)


def test_the_world_opens_with_work_for_every_role(world: tuple[Engine, WorldSummary],
                                                  tmp_path: Path) -> None:
    """Every demo labeler is handed a real (non-gold) item of kr-comments, gold mixed in at
    the project's rate rather than alone; the demo reviewer has an escalation, an appeal and
    an audit waiting (issue 20: the flagship project used to open with only gold queued)."""
    from modops.queue import next_review, next_task, submit
    from modops.simulate.demo import DEMO_USERS
    from modops.simulate.opening import open_counts

    engine = _copy(world[0], tmp_path / "opening.db")
    counts = open_counts(engine, COMMENTS)
    assert counts["label"] >= 3 * 4, counts  # fresh items for four labelers, k = 3
    assert min(counts["review"], counts["appeal"], counts["audit"]) >= 1, counts
    users = dict(engine.connect().execute(text("SELECT username, id FROM users")).all())
    now = END + timedelta(minutes=1)
    for username, role, _team, _pw in DEMO_USERS:
        if role != "labeler":
            continue
        for _ in range(20):  # gold comes at the gold rate (8 %): answer it and go on
            task = next_task(engine, COMMENTS, users[username], now=now)
            assert task is not None, username
            gold = scalar(engine, "SELECT is_gold FROM items WHERE id = :i", i=task.item.id)
            if not gold:
                break
            submit(engine, task.task_id, users[username], ["none"], now=now)
        else:
            pytest.fail(f"{username} was served only gold")
    for kind in ("review", "appeal", "audit"):
        view = next_review(engine, COMMENTS, users["reviewer"], now=now, kinds=(kind,))
        assert view is not None and view.kind == kind, kind
    engine.dispose()
