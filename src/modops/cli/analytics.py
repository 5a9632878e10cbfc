"""``modops metrics`` and ``modops alerts``: the analytics numbers and incidents from a shell.

Thin: every number is ``modops.analytics``'s, every episode change ``modops.notify.alerts``'.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from modops.cli.common import actor, console, engine, user_errors

alerts_app = typer.Typer(help="Alert episodes (incidents): list, evaluate, replay, acknowledge.",
                         no_args_is_help=True)


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).replace(tzinfo=None) if text else None


@user_errors
def metrics(
    project: Annotated[str, typer.Argument(help="Project key")],
    period: Annotated[str, typer.Option("--period", "-p", help="2026-W47, 2026-11, "
                                        "2026-11-20 or 2026-11-20T09")],
    product: Annotated[str | None, typer.Option(help="Only this product")] = None,
    now: Annotated[str | None, typer.Option(help="As-of time, ISO UTC")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Every metric of a period with its n (denominator) and 95% interval."""
    from modops.analytics import Filters, compute_metrics

    ms = compute_metrics(engine(), period, Filters(project=project, product=product),
                         now=_at(now))
    if as_json:
        print(json.dumps({"period": str(ms.period), "as_of": ms.as_of.isoformat(),
                          "metrics": {m.name: _plain(m.to_dict()) for m in ms}},
                         ensure_ascii=False, indent=1))
        return
    table = Table(title=f"{project} · {ms.period} (as of {ms.as_of:%Y-%m-%d %H:%M} UTC)")
    for col, just in (("metric", "left"), ("value", "right"), ("numerator", "right"),
                      ("n", "right"), ("95% interval", "right"), ("unit", "left")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for m in ms:
        ci = f"{m.interval[0]:.4g} – {m.interval[1]:.4g}" if m.interval else ""
        table.add_row(m.name, _num(m.value), _num(m.numerator), _num(m.denominator), ci,
                      m.unit)
    console.print(table)


def _num(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.4g}"


def _plain(v: Any) -> Any:
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


@alerts_app.command("list")
@user_errors
def list_alerts(project: Annotated[str, typer.Argument(help="Project key")],
                limit: Annotated[int, typer.Option(help="Most recent episodes")] = 50) -> None:
    """Stored episodes: open first, then the most recently seen."""
    from modops.notify.alerts import stored_alerts
    from modops.projects import get_project
    from modops.store import session_scope

    with session_scope(engine()) as s:
        p = get_project(s, project)
        table = Table(title=f"alert episodes of {project} (times UTC)")
        for col in ("id", "rule", "subject", "severity", "start", "peak", "peak at", "end",
                    "items", "acknowledged"):
            table.add_column(col)
        for r in stored_alerts(s, p, limit):
            table.add_row(str(r.id), r.rule, escape(r.subject or ""), r.severity,
                          f"{r.first_seen_at:%m-%d %H:%M}", _num(r.peak_observed),
                          f"{r.peak_at:%m-%d %H:%M}" if r.peak_at else "",
                          f"{r.resolved_at:%m-%d %H:%M}" if r.resolved_at else "open",
                          _num(r.affected_items), escape(r.acknowledged_by or ""))
        console.print(table)


@alerts_app.command("evaluate")
@user_errors
def evaluate(project: Annotated[str, typer.Argument(help="Project key")],
             at: Annotated[str | None, typer.Option(help="Evaluate as of, ISO UTC")] = None
             ) -> None:
    """Evaluate every rule now (or at ``--at``) and keep the episodes."""
    from modops.notify.alerts import evaluate_and_record

    rec = evaluate_and_record(engine(), project, _at(at))
    console.print(f"{len(rec.raised)} raised: {len(rec.opened)} new, {len(rec.updated)} "
                  f"still open, {len(rec.resolved)} resolved")


@alerts_app.command("replay")
@user_errors
def replay(project: Annotated[str, typer.Argument(help="Project key")],
           start: Annotated[str, typer.Option("--from", help="ISO UTC")],
           end: Annotated[str, typer.Option("--to", help="ISO UTC")],
           step_hours: Annotated[float, typer.Option(help="Hours between evaluations")] = 3.0,
           ) -> None:
    """Evaluate the rules over a past period as the scheduler would have (episodes first
    seen in the window are replaced; no webhooks)."""
    from modops.notify.alerts import replay_alerts

    a, b = _at(start), _at(end)
    assert a is not None and b is not None
    n = replay_alerts(engine(), project, a, b, timedelta(hours=step_hours))
    console.print(f"replayed {n} evaluations of {project} from {a} to {b}")


@alerts_app.command("ack")
@user_errors
def ack(project: Annotated[str, typer.Argument(help="Project key")],
        alert_id: Annotated[int, typer.Argument(help="Episode id (modops alerts list)")]) -> None:
    """Acknowledge an episode as the current actor (``--actor`` or the OS user); audited."""
    from modops.notify.alerts import acknowledge
    from modops.projects import get_project
    from modops.store import session_scope

    with session_scope(engine()) as s:
        p = get_project(s, project)
        rec = acknowledge(s, p, alert_id, actor())
        console.print(f"alert {rec.id} acknowledged by {escape(rec.acknowledged_by or '')} "
                      f"at {rec.acknowledged_at:%Y-%m-%d %H:%M} UTC")


@user_errors
def transparency(
    project: Annotated[str, typer.Argument(help="Project key")],
    period: Annotated[str, typer.Option("--period", "-p", help="2026-11, 2026-W47, …")],
    sor: Annotated[str | None, typer.Option(help="Write the statements of reasons (CSV) "
                                            "to this file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print everything as JSON")] = False,
) -> None:
    """DSA-style summary, statements of reasons and the KCSC (방송통신심의위원회) summary."""
    from pathlib import Path

    from modops.analytics import Filters
    from modops.analytics.dsa import dsa_export, statements_csv

    out = dsa_export(engine(), period, Filters(project=project))
    if sor:
        Path(sor).write_text(statements_csv(out), encoding="utf-8")
    if as_json:
        print(json.dumps(_plain(out), ensure_ascii=False, indent=1, default=str))
        return
    table = Table(title=f"{project} · {period}: transparency summary")
    table.add_column("item")
    table.add_column("value", justify="right")
    for k, v in out["summary"].items():
        table.add_row(k, "—" if v is None else str(v))
    console.print(table)
    kcsc = Table(title="KCSC categories (방송통신심의위원회 분류)")
    for col in ("분류", "category", "decisions"):
        kcsc.add_column(col)
    for r in out["kcsc"]:
        kcsc.add_row(r["category_ko"], r["category_en"], str(r["decisions"]))
    console.print(kcsc)
    if sor:
        console.print(f"wrote {len(out['statements_of_reasons'])} statements of reasons to "
                      f"{escape(sor)}")


def register(app: typer.Typer) -> None:
    app.command("metrics")(metrics)
    app.command("transparency")(transparency)
    app.add_typer(alerts_app, name="alerts")
