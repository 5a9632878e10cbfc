"""Build the demo: by default the 30-day demo world over real BEEP! comments.

The world itself lives in ``modops.simulate.world``; this module keeps the demo's sign-ins,
the dataset readers it shares with the world, and the entry point the CLI calls.
Deterministic for a given size (seeded), and idempotent: running it twice adds nothing.
"""

from __future__ import annotations

import random
import tempfile
from datetime import timedelta
from pathlib import Path

import orjson
from rich.console import Console
from sqlalchemy import Engine, select

from modops.accounts import add_user
from modops.projects import create_project, load_spec
from modops.projects.summary import ProjectSummary, summarize
from modops.queue import ingest_file
from modops.settings import settings
from modops.simulate.progress import Phases, phases
from modops.simulate.world import WorldConfig, build_world, print_world
from modops.store import session_scope, utcnow
from modops.store.models import Project, User

REPO = Path(__file__).resolve().parents[3]
DEMO_PROJECT = "kr-comments"
DEMO_USERS = [
    ("admin", "admin", None, "admin-pass-1"),
    ("manager", "manager", None, "manager-pass-1"),
    ("reviewer", "reviewer", None, "reviewer-pass-1"),
    ("labeler1", "labeler", "Seoul A", "labeler-pass-1"),
    ("labeler2", "labeler", "Seoul A", "labeler-pass-2"),
    ("labeler3", "labeler", "Seoul B", "labeler-pass-3"),
    ("labeler4", "labeler", "Vendor C", "labeler-pass-4"),
]


def data_dir() -> Path:
    """The shipped public datasets (``data/`` in the repository, or MODOPS_DATA_DIR)."""
    return settings().datasets


def beep_unlabeled(limit: int | None = None) -> list[tuple[str, str]]:
    """(comment, news title) pairs from BEEP!'s unlabeled comments (CC BY-SA 4.0)."""
    base = data_dir() / "korean-hate-speech"
    comments = (base / "unlabeled" / "unlabeled_comments_5.txt").read_text("utf-8").splitlines()
    titles = (base / "news_title" / "unlabeled_comments.news_title_5.txt").read_text(
        "utf-8").splitlines()
    pairs = [(c.strip(), t.strip().strip('"')) for c, t in zip(comments, titles, strict=True)
             if c.strip()]
    return pairs[:limit] if limit else pairs


def write_demo_items(path: Path, n_items: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    n = 0
    with path.open("wb") as f:
        for i, (comment, title) in enumerate(beep_unlabeled(n_items)):
            created = now - timedelta(minutes=rng.randint(0, 30 * 24 * 60))
            row = {
                "external_id": f"beep-u-{i:05d}",
                "product": "comment",
                "title": title,
                "comment": comment,
                "created_at": created.isoformat() + "Z",
                "view_count": int(rng.paretovariate(1.2) * 50),
                "user_reported": rng.random() < 0.04,
                "metadata": {"source": "BEEP! unlabeled comments (CC BY-SA 4.0)",
                             "author_region": rng.choice(["KR", "KR", "KR", "US", "JP"])},
            }
            f.write(orjson.dumps(row) + b"\n")
            n += 1
    return n


def build_demo(engine: Engine, n_items: int = 5000, console: Console | None = None, *,
               world: bool = True, config: WorldConfig | None = None,
               steps: Phases | None = None) -> ProjectSummary:
    """Set up the demo and return the comment project's summary.

    By default this builds the 30-day demo world (``modops.simulate.world``): two projects,
    20 simulated labelers, reviewers, gold, audits, appeals, a planted spike and SLA breach,
    about ``n_items`` real comments over the 30 days. ``world=False`` keeps the old, small
    demo: one project with ``n_items`` unlabeled comments queued for people. Either way it is
    idempotent: a second run adds nothing.
    """
    console = console or Console()
    steps = steps or phases(console)
    if world:
        cfg = config or WorldConfig.for_items(n_items)
        load_model(steps)
        summary = build_world(engine, cfg, console, steps)
        if summary is not None:
            print_world(summary, console)
        _print_sign_ins(console)
        return summarize(engine, DEMO_PROJECT)
    with session_scope(engine) as s:
        if s.scalar(select(Project.id).where(Project.key == DEMO_PROJECT)) is None:
            create_project(s, load_spec(REPO / "examples" / "kr-comments.yaml"), actor="demo")
        for username, role, team, password in DEMO_USERS:
            if s.scalar(select(User.id).where(User.username == username)) is None:
                add_user(s, username, role, password=password, team=team, skills=["ko"],
                         actor="demo")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo-items.jsonl"
        write_demo_items(path, n_items)
        report = ingest_file(engine, DEMO_PROJECT, path, "jsonl", actor="demo")
    console.print(f"Demo items: {report.inserted:,} new, {report.skipped_existing:,} present.")
    _print_sign_ins(console)
    return summarize(engine, DEMO_PROJECT)


def load_model(steps: Phases) -> None:
    """Load the built-in Korean model once, as its own phase (it is memoized for the build
    and the server process)."""
    from modops.machine import get_scorer

    with steps.phase("model", "built-in Korean model (load)"):
        get_scorer(None)


def _print_sign_ins(console: Console) -> None:
    console.print("Demo sign-ins (role, username, password):")
    for username, role, _team, password in DEMO_USERS:
        console.print(f"  {role:9} {username:10} {password}")
    console.print("  (the other simulated labelers and reviewers have no password; an admin "
                  "can set one)")
