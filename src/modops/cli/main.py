"""The ``modops`` command line: thin commands over the use cases in the domain packages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from modops.cli import analytics as analytics_cli
from modops.cli import audit as audit_cli
from modops.cli import model as model_cli
from modops.cli import ops as ops_cli
from modops.cli import rules as rules_cli
from modops.cli.common import (
    actor,
    byte_progress,
    console,
    count_progress,
    engine,
    set_actor,
    user_errors,
)
from modops.cli.report import report

app = typer.Typer(help="ModOps: content-labeling and moderation operations.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
project_app = typer.Typer(help="Create and configure projects.", no_args_is_help=True)
users_app = typer.Typer(help="Manage users and teams.", no_args_is_help=True)
app.add_typer(project_app, name="project")
app.add_typer(users_app, name="users")


@app.callback()
def _global(actor_name: Annotated[str | None, typer.Option(
        "--actor", help="Name the audit log records for changes (default: cli:<OS user>)")
        ] = None) -> None:
    set_actor(actor_name)


@app.command()
@user_errors
def init() -> None:
    """Create or upgrade the database schema (MODOPS_DATABASE_URL, default ./modops.db)."""
    from modops.store import database_url

    engine()
    console.print(f"Database ready: {database_url()}")


@app.command("config")
def config_cmd() -> None:
    """Print the effective configuration (every MODOPS_* variable; secrets masked)."""
    from modops.settings import env_name, settings

    current = settings()
    given = {env_name(f) for f in current.model_fields_set}
    table = Table("variable", "value", "from")
    for name, value in current.effective().items():
        table.add_row(name, value, "environment" if name in given else "default")
    console.print(table)


@app.command("import")
@user_errors
def import_cmd(
    project: Annotated[str, typer.Argument(help="Project key")],
    file: Annotated[Path, typer.Argument(help="File to import")],
    fmt: Annotated[str | None, typer.Option("--format", "-f",
                   help="jsonl, csv, parquet or labelstudio (default: from the extension)")] = None,
    max_errors: Annotated[int, typer.Option(help="Bad rows to list before stopping")] = 20,
    media: Annotated[bool, typer.Option(
        "--media", help="Treat media_url as media to store and process: paths relative to "
                        "the file, http(s) URLs fetched in the background")] = False,
) -> None:
    """Import items (and any labels) into a project. All-or-nothing; re-imports add nothing."""
    from modops.queue import ingest_file

    with byte_progress() as bar:
        task = bar.add_task(f"Importing {file.name}", total=file.stat().st_size
                            if file.exists() else None)
        report = ingest_file(
            engine(), project, file, fmt, max_errors=max_errors,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    console.print(
        f"[green]Imported[/green] {report.inserted:,} new items "
        f"({report.skipped_existing:,} already present, {report.annotations:,} annotations, "
        f"{report.decisions:,} decisions) from {report.rows:,} rows in {report.seconds:.1f}s "
        f"({report.items_per_s:,.0f} rows/s)."
    )
    if media:
        from modops.media.pipeline import attach_batch_media

        n = attach_batch_media(engine(), project, report.batch_id, file.resolve().parent,
                               actor="cli")
        console.print(f"Attached {n:,} media files; processing runs as background jobs "
                      "(`modops worker`, or the app's job thread)")
    if report.new_labelers:
        console.print(f"Created {len(report.new_labelers)} inactive labeler accounts for "
                      f"historical labels: {', '.join(report.new_labelers[:10])}")


@app.command("export")
@user_errors
def export_cmd(
    project: Annotated[str, typer.Argument(help="Project key")],
    fmt: Annotated[str, typer.Option("--format", "-f",
                                     help="jsonl, csv, parquet or labelstudio")] = "jsonl",
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write")] = Path(
        "export.jsonl"),
) -> None:
    """Export a project's items with final labels and every annotation (streaming)."""
    from modops.io import export_project
    from modops.projects.summary import summarize

    total = summarize(engine(), project).items
    with count_progress() as bar:
        task = bar.add_task(f"Exporting {project}", total=total)
        report = export_project(engine(), project, fmt, output,
                                progress=lambda n: bar.update(task, completed=n))
        bar.update(task, completed=report.items)
    console.print(f"[green]Exported[/green] {report.items:,} items and {report.annotations:,} "
                  f"annotations to {output} in {report.seconds:.1f}s "
                  f"({report.items_per_s:,.0f} items/s).")


@app.command()
@user_errors
def status(project: Annotated[str, typer.Argument(help="Project key")]) -> None:
    """Print a project's summary: items by state and route, labels, decisions."""
    from modops.projects.summary import summarize

    print_summary(summarize(engine(), project))


def print_summary(s) -> None:
    table = Table(title=f"{s.name} ({s.key})", show_header=False)
    table.add_row("Products", ", ".join(s.products))
    table.add_row("Taxonomy", s.taxonomy)
    table.add_row("Overlap k / SLA", f"{s.overlap_k} / {s.sla_minutes} min")
    table.add_row("Items", f"{s.items:,}")
    table.add_row("By state", ", ".join(f"{k} {v:,}" for k, v in sorted(s.by_state.items())))
    table.add_row("By route", ", ".join(f"{k} {v:,}" for k, v in sorted(s.by_route.items())))
    table.add_row("Annotations", f"{s.annotations:,} by {s.labelers} labelers")
    table.add_row("Decisions", ", ".join(f"{k} {v:,}" for k, v in
                                         sorted(s.decisions_by_action.items())) or "none yet")
    table.add_row("Top final labels", ", ".join(f"{k} {v:,}" for k, v in s.top_labels) or "—")
    console.print(table)


@project_app.command("create")
@user_errors
def project_create(spec: Annotated[Path, typer.Argument(help="project.yaml")]) -> None:
    """Create a project (and its taxonomy version) from a YAML spec; see examples/."""
    from modops.projects import create_project, load_spec
    from modops.store import session_scope

    with session_scope(engine()) as s:
        project = create_project(s, load_spec(spec), actor=actor())
        key, n = project.key, len(project.taxonomy.labels)
    console.print(f"[green]Created project[/green] {key} with {n} taxonomy labels.")


@project_app.command("list")
@user_errors
def project_list() -> None:
    """List projects."""
    from modops.projects import list_projects

    table = Table("key", "name", "status", "overlap", "SLA (min)", "products")
    with Session(engine()) as s:
        for p in list_projects(s):
            table.add_row(p.key, p.name, p.status, str(p.overlap_k), str(p.sla_minutes),
                          ", ".join(x.key for x in p.products))
    console.print(table)


@project_app.command("show")
@user_errors
def project_show(key: Annotated[str, typer.Argument(help="Project key")]) -> None:
    """Show a project's settings and taxonomy."""
    from modops.projects import get_project, project_settings

    with Session(engine()) as s:
        p = get_project(s, key)
        table = Table("setting", "value", title=f"{p.name} ({p.key})")
        for name, value in project_settings(p).items():
            table.add_row(name, str(value))
        console.print(table)
        labels = Table("key", "한국어", "English", "action", "shortcut",
                       title=f"Taxonomy {p.taxonomy.key} v{p.taxonomy.version}"
                       f" ({'multi' if p.taxonomy.multi_label else 'single'}-label)")
        for lab in p.taxonomy.labels:
            indent = "  " if lab.parent_key else ""
            labels.add_row(indent + lab.key, lab.name_ko, lab.name_en, lab.action,
                           lab.shortcut or "")
        console.print(labels)


@project_app.command("set")
@user_errors
def project_set(
    key: Annotated[str, typer.Argument(help="Project key")],
    assignments: Annotated[list[str], typer.Argument(help="setting=value (JSON values allowed)")],
) -> None:
    """Change settings, e.g. ``modops project set kr-comments overlap_k=3 gold_rate=0.05``."""
    import orjson

    from modops.domain import ValidationError
    from modops.projects import get_project, update_project
    from modops.store import session_scope

    changes = {}
    for a in assignments:
        if "=" not in a:
            raise ValidationError(f"expected setting=value, got {a!r}")
        name, raw = a.split("=", 1)
        try:
            changes[name] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            changes[name] = raw
    with session_scope(engine()) as s:
        changed = update_project(s, get_project(s, key), changes, actor=actor())
    console.print(f"Changed: {changed}" if changed else "Nothing changed.")


@users_app.command("add")
@user_errors
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin, manager, reviewer or labeler")] = "labeler",
    team: Annotated[str | None, typer.Option(help="Team name (created if new)")] = None,
    skill: Annotated[list[str] | None, typer.Option(help="Skill tag, repeatable")] = None,
    password: Annotated[str | None, typer.Option(help="Sign-in password (≥ 8 characters)")] = None,
) -> None:
    """Add a user."""
    from modops.accounts import add_user
    from modops.store import session_scope

    with session_scope(engine()) as s:
        add_user(s, username, role, password=password, team=team, skills=skill or [],
                 actor=actor())
    console.print(f"[green]Added[/green] {role} {username}.")


@project_app.command("taxonomy")
@user_errors
def project_taxonomy(
    key: Annotated[str, typer.Argument(help="Project key")],
    spec: Annotated[Path | None, typer.Argument(help="YAML with the new taxonomy (a project "
                                                     "spec or just its taxonomy mapping)")
                    ] = None,
    maps: Annotated[list[str] | None, typer.Option("--map", help="old=new label mapping "
                                                   "(repeat)")] = None,
    note: Annotated[str | None, typer.Option(help="The guideline change that comes with "
                                             "it")] = None,
) -> None:
    """Move a live project to a new taxonomy version, or (no SPEC) show its history."""
    import yaml

    from modops.domain import ValidationError
    from modops.projects import change_taxonomy, get_project, taxonomy_history
    from modops.store import session_scope

    with session_scope(engine()) as s:
        if spec is None:
            for h in taxonomy_history(s, key):
                console.print(f"{h['changed_at']} {h['from']} → {h['to']} by {h['actor']}: "
                              f"{h['relabeled']} answers relabeled; mapping "
                              f"{ {k: v for k, v in h['mapping'].items() if k != v} }"
                              f"{' — ' + h['note'] if h['note'] else ''}", markup=False)
            return
        try:
            doc = yaml.safe_load(spec.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ValidationError(f"{spec}: cannot read taxonomy: {exc}") from None
        tax = doc.get("taxonomy", doc) if isinstance(doc, dict) else None
        if not isinstance(tax, dict):
            raise ValidationError(f"{spec}: expected a taxonomy mapping")
        mapping = {}
        for m in maps or []:
            old, sep, new = m.partition("=")
            if not sep or not old or not new:
                raise ValidationError(f"--map {m!r}: use old=new")
            mapping[old.strip()] = new.strip()
        project = get_project(s, key)
        ch = change_taxonomy(s, project, tax, mapping, actor(), note)
        console.print(f"{key}: taxonomy {tax.get('key')} v{tax.get('version')} in force; "
                      f"{ch.relabeled_annotations} answers of undecided items relabeled")


@users_app.command("team")
@user_errors
def users_team(
    name: Annotated[str, typer.Argument(help="Team name (created if new)")],
    vendor: Annotated[str | None, typer.Option(help="Vendor company, if outsourced")] = None,
    hourly_cost: Annotated[float | None, typer.Option(help="Cost per labeler-hour")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code (default KRW)")] = None,
    shift_start_utc: Annotated[int | None, typer.Option(help="Daily shift start, UTC hour "
                                                             "(09 KST = 0)")] = None,
    shift_hours: Annotated[int | None, typer.Option(help="Shift length in hours")] = None,
) -> None:
    """Set a team's vendor, hourly cost and currency, and its shift (staffing roster)."""
    from modops.accounts import update_team
    from modops.store import session_scope

    given = {"vendor": vendor, "hourly_cost": hourly_cost, "currency": currency,
             "shift_start_utc": shift_start_utc, "shift_hours": shift_hours}
    with session_scope(engine()) as s:
        t = update_team(s, name, {k: v for k, v in given.items() if v is not None},
                        actor=actor())
        cost = "—" if t.hourly_cost is None else f"{t.hourly_cost:,.0f} {t.currency}/h"
        shift = ("—" if t.shift_start_utc is None else
                 f"{t.shift_start_utc:02d}:00 UTC + {t.shift_hours or 8} h")
        console.print(f"team {t.name}: vendor {t.vendor or '—'}, cost {cost}, shift {shift}")


@users_app.command("list")
@user_errors
def users_list() -> None:
    """List users."""
    from modops.accounts import list_users

    table = Table("id", "username", "role", "team", "skills", "active")
    with Session(engine()) as s:
        for u in list_users(s):
            table.add_row(str(u.id), u.username, u.role, u.team.name if u.team else "",
                          ", ".join(u.skills), "yes" if u.active else "no")
    console.print(table)


@users_app.command("deactivate")
@user_errors
def users_deactivate(username: str) -> None:
    """Offboard a user: no more sign-ins, every session ended, every API token revoked."""
    from modops.accounts import deactivate_user, get_user
    from modops.store import session_scope

    with session_scope(engine()) as s:
        done = deactivate_user(s, get_user(s, username), actor="cli")
    console.print(f"[green]Deactivated[/green] {username}: {done['sessions_ended']} sessions "
                  f"ended, {done['tokens_revoked']} tokens revoked.")


@users_app.command("reset-password")
@user_errors
def users_reset_password(
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          confirmation_prompt=True,
                                          help="The new password (asked for if not given)")],
) -> None:
    """Set a user's password (the password policy applies) and end their sessions."""
    from modops.accounts import get_user, set_password
    from modops.store import session_scope

    with session_scope(engine()) as s:
        set_password(s, get_user(s, username), password, actor="cli")
    console.print(f"[green]Password set[/green] for {username}; their sessions ended.")


@users_app.command("end-sessions")
@user_errors
def users_end_sessions(username: str) -> None:
    """Sign a user out of every browser."""
    from modops.accounts import end_user_sessions, get_user
    from modops.store import session_scope

    with session_scope(engine()) as s:
        n = end_user_sessions(s, get_user(s, username), actor="cli")
    console.print(f"Ended {n} sessions of {username}.")


@app.command()
@user_errors
def demo(
    items: Annotated[int, typer.Option(help="How many real comments to load")] = 5000,
    serve_ui: Annotated[bool, typer.Option("--serve/--no-serve",
                                           help="Serve the web UI afterwards")] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Set up the demo: a Korean comment-moderation project with real BEEP! comments.

    Every phase prints a line and its time (a progress bar on a terminal); see docs/demo.md.
    """
    from modops.simulate.demo import build_demo
    from modops.simulate.progress import phases

    steps = phases(console)
    with steps.phase("schema", "database schema (migrations)"):
        store = engine()
    summary = build_demo(store, n_items=items, console=console, steps=steps)
    print_summary(summary)
    console.print("demo: ready in " + ", ".join(f"{k} {v:.1f} s"
                                                for k, v in steps.seconds.items()))
    if serve_ui:
        console.print(f"demo: serving on http://{host}:{port}/login (Ctrl+C stops it)")
        serve(host=host, port=port)


@app.command()
@user_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(help="Uvicorn worker processes")] = 1,
) -> None:
    """Serve the web UI and the REST API (OpenAPI at /docs)."""
    from modops.cli.serve import serve as run

    run(host, port, workers=workers)


# Every dependency is mandatory: a sub-command whose module fails to import fails the CLI.
app.add_typer(model_cli.app, name="model", help="The built-in Korean model: train, eval, score.")
app.command("report")(report)
ops_cli.register(app)  # backup, restore, purge, worker and the jobs sub-app
analytics_cli.register(app)  # metrics, alerts, transparency
audit_cli.register(app)  # the audit log
rules_cli.register(app)  # signals, rules, backtests

if __name__ == "__main__":  # pragma: no cover
    app()
