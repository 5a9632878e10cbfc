"""The demo world's scenario: its size and dates, its two projects, and the people in it.

Part of the demo world (``modops.simulate.world`` runs it): ``agents`` holds who works in it,
``stream`` what arrives, this module the projects and settings they meet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from modops.accounts import add_user
from modops.projects import create_project, load_spec, update_project
from modops.simulate.agents import LABELERS, REVIEWERS, SHIFT_HOURS, TEAMS
from modops.store import session_scope
from modops.store.models import Project, User

REPO = Path(__file__).resolve().parents[3]
COMMENTS = "kr-comments"
LIVE = "kr-live"
WORLD_MARKER = "demo_world"  # projects.settings key on kr-live: the world was built
ATTRIBUTION = (
    "Korean comments: BEEP! Korean HateSpeech Dataset (Moon, Cho & Lee, SocialNLP 2020, "
    "https://github.com/kocohub/korean-hate-speech), CC BY-SA 4.0."
)
# Comments whose news title mentions this story are held back for the spike day.
SPIKE_TERMS = ("프로포폴", "하정우")
TICK = timedelta(minutes=30)  # content arrives in half-hourly batches


@dataclass(frozen=True, slots=True)
class WorldConfig:
    """Size and shape of the world. ``end=None`` ends it now (floored to the hour)."""

    seed: int = 9
    days: int = 30
    comments_per_day: int = 125  # kr-comments stream (comment 80 %, short_video 20 %)
    live_per_day: int = 42  # kr-live stream
    gold_items: int = 150
    end: datetime | None = None
    spike_days_before_end: int = 4  # the spike day ends this many days before ``end``
    spike_factor: float = 0.8  # extra celebrity comments on the spike day, × comments_per_day
    raid_items: int = 200  # LIVE chat-raid items on the final day (one on-call labeler)
    live_offline_hours: int = 6  # the LIVE team is offline for the last hours (≥ 5)
    appeal_rate: float = 0.06  # share of removals the author appeals
    # the alert scheduler, replayed over the last days of the world (one report week and the
    # day before it) so its incidents are stored episodes, as a deployment's 15-minute job
    # would have left them; each evaluation costs a keyword scan, hence the coarser step
    alert_replay_days: int = 8
    alert_step_hours: float = 6.0
    # the world opens with work for every role (``modops.simulate.opening``)
    open_work: bool = True

    @classmethod
    def for_items(cls, n_items: int, **kw: Any) -> WorldConfig:
        """A world whose 30-day stream holds about ``n_items`` comments (3:1 comments:LIVE)."""
        days = int(kw.pop("days", 30))
        per_day = max(4, n_items // days)
        return cls(days=days, comments_per_day=max(3, round(per_day * 0.75)),
                   live_per_day=max(1, round(per_day * 0.25)), **kw)


@dataclass(slots=True)
class WorldSummary:
    """The headline numbers the demo prints (and the tests check against the database)."""

    start: datetime
    end: datetime
    spike_window: tuple[datetime, datetime]
    breach_window: tuple[datetime, datetime]
    items: int = 0
    gold_items: int = 0
    annotations: int = 0
    decided: int = 0
    escalations: int = 0
    appeals: int = 0
    audits_done: int = 0
    queue_calls: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    by_project: dict[str, dict[str, int]] = field(default_factory=dict)



def project_specs() -> tuple[dict[str, Any], dict[str, Any]]:
    comments = load_spec(REPO / "examples" / "kr-comments.yaml")
    # 2 of 3 agreeing labelers decide (share 0.667); weaker agreement goes to a reviewer
    comments.update({"gold_rate": 0.08, "audit_rate": 0.03, "escalation_threshold": 0.66,
                     "routing": {"auto_action": 0.9, "auto_clear": 0.08}})
    live = {
        **comments,
        "key": LIVE,
        "name": "LIVE 실시간 채팅 모니터링 (LIVE chat)",
        "description": "LIVE chat and LIVE titles: one labeler per item, 1 h SLA, audited.",
        "products": ["live"],
        "overlap": 1,
        "gold_rate": 0.0,
        "audit_rate": 0.08,
        "sla": "1h",
        "lease": "10m",
        "routing": {"auto_action": 0.9, "auto_clear": 0.08},
        "priority_weights": {"machine_score": 1.0, "views": 1.0, "sla": 4.0, "reports": 2.0},
    }
    return comments, live


def world_exists(engine: Engine) -> bool:
    """True if a demo world was built in this store (its marker is on the kr-live project)."""
    with session_scope(engine) as s:
        project = s.scalar(select(Project).where(Project.key == LIVE))
        return project is not None and WORLD_MARKER in (project.settings or {})


def create_world_projects(engine: Engine, cfg: WorldConfig, start: datetime,
                           end: datetime) -> None:
    from modops.simulate.demo import DEMO_USERS

    comments, live = project_specs()
    with session_scope(engine) as s:
        existing = s.scalar(select(Project).where(Project.key == COMMENTS))
        if existing is None:
            project = create_project(s, comments, actor="demo")
        else:
            project = existing
            update_project(s, project, {"gold_rate": 0.08, "audit_rate": 0.03,
                                        "auto_action_threshold": 0.9,
                                        "auto_clear_threshold": 0.08,
                                        "escalation_threshold": 0.66}, actor="demo")
        update_project(s, project, {"settings": {
            **(project.settings or {}), "sla_by_product": {"short_video": 12 * 60},
            "prevalence_rate": 0.02, "score_on_ingest": True}}, actor="demo")
        lp = create_project(s, live, actor="demo")
        update_project(s, lp, {"settings": {
            "sla_by_product": {"live": 60}, "prevalence_rate": 0.02, "score_on_ingest": True,
            WORLD_MARKER: {"seed": cfg.seed, "days": cfg.days, "start": start.isoformat(),
                           "end": end.isoformat(), "building": True}}}, actor="demo")
        from modops.projects.service import ensure_team

        for team in TEAMS:
            t = ensure_team(s, team.name)
            t.vendor, t.hourly_cost, t.currency = team.vendor, team.hourly_cost, "KRW"
            t.shift_start_utc, t.shift_hours = team.shift_start_utc, SHIFT_HOURS
        have = set(s.scalars(select(User.username)))
        demo_pw = {u: pw for u, _r, _t, pw in DEMO_USERS}
        for username, role, team_name, password in DEMO_USERS:
            if username not in have and role != "labeler":
                add_user(s, username, role, password=password, team=team_name, skills=["ko"],
                         actor="demo")
                have.add(username)
        for p in LABELERS:
            if p.username not in have:
                add_user(s, p.username, "labeler", password=demo_pw.get(p.username, p.password),
                         team=p.team, skills=["ko"], actor="demo")
        for r in REVIEWERS:
            if r.username not in have:
                add_user(s, r.username, "reviewer", password=r.password, team=r.team,
                         skills=["ko"], actor="demo")

