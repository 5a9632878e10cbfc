"""``modops rules``: signals, rule files, backtests, enabling (thin: ``modops.rules.service``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import typer
from rich.table import Table

from modops.cli.common import actor, console, engine, err_console, user_errors

rules_app = typer.Typer(help="Rules over signals: validate, load, backtest, enable "
                        "(docs/rules.md).",
                        no_args_is_help=True)
F = TypeVar("F", bound=Callable[..., Any])


def _file_errors(fn: F) -> F:
    """A refused rule file: every FILE:LINE problem on its own line, exit code 2."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from modops.rules.spec import RuleFileError

        try:
            return fn(*args, **kwargs)
        except RuleFileError as exc:
            for line in exc.errors:
                err_console.print(line, markup=False, highlight=False, soft_wrap=True)
            err_console.print("[red]Rule file refused: nothing changed.[/red]")
            raise typer.Exit(2) from None
    return cast(F, wrapper)


def _rate(r: dict[str, Any] | None) -> str:
    if not r or r.get("value") is None:
        return "—"
    return f"{r['value']:.1%} [{r['low']:.1%}, {r['high']:.1%}] ({r['hits']}/{r['n']})"


@rules_app.command("signals")
def signals_cmd() -> None:
    """Every signal a rule can test, with its type and unit."""
    from modops.rules.signals import all_families, all_signals

    table = Table("signal", "type", "unit", "source", "what")
    for s in all_signals():
        table.add_row(s.name, s.type.value, s.unit, s.source, s.doc)
    for f in all_families():
        table.add_row(f.prefix + "<key>", f.type.value, f.unit, f.source, f.doc)
    console.print(table)


@rules_app.command("validate")
@user_errors
@_file_errors
def validate(file: Annotated[Path, typer.Argument(help="Rule file (YAML)")],
             project: Annotated[str | None, typer.Option(
                 help="Also check labels against this project's taxonomy")] = None) -> None:
    """Check a rule file: every problem as FILE:LINE, exit code 2 if any."""
    from modops.rules.service import check_rules
    from modops.rules.spec import parse_rules

    text = file.read_text(encoding="utf-8")
    specs = check_rules(engine(), project, text, str(file)) if project else \
        parse_rules(text, str(file))
    console.print(f"{file}: {len(specs)} rule(s), valid: " + ", ".join(s.key for s in specs))


@rules_app.command("load")
@user_errors
@_file_errors
def load(project: Annotated[str, typer.Argument(help="Project key")],
         file: Annotated[Path, typer.Argument(help="Rule file (YAML)")]) -> None:
    """Store a file's rules: new and changed rules become new versions in shadow mode."""
    from modops.rules.service import save_rules

    for r in save_rules(engine(), project, file.read_text(encoding="utf-8"), name=str(file),
                        actor=actor()):
        console.print(f"{r['id']}: v{r['version']} {r['mode']} ({r['status']})")


@rules_app.command("list")
@user_errors
def list_cmd(project: Annotated[str, typer.Argument(help="Project key")]) -> None:
    """The project's rules: version, mode, owner, last backtest."""
    from modops.rules.service import list_rules

    table = Table("rule", "version", "mode", "owner", "priority", "matched", "precision",
                  "recall")
    for r in list_rules(engine(), project):
        bt = r["last_backtest"] or {}
        table.add_row(r["id"], str(r["version"]), r["mode"], r["owner"], str(r["priority"]),
                      str(bt.get("matched", "—")), _rate(bt.get("precision")),
                      _rate(bt.get("recall")))
    console.print(table)


def _print_backtest(bt: dict[str, Any]) -> None:
    console.print(f"backtest #{bt['id']} of {bt.get('rule') or 'thresholds'} over "
                  f"{bt['days']} days: {bt['items']:,} decided items, {bt['seconds']} s")
    console.print(f"  matched: {bt['matched']:,}  route changes: {bt['route_changes']:,}")
    for name in ("precision", "recall", "auto_action_precision", "auto_clear_precision"):
        if name in bt:
            console.print(f"  {name}: {_rate(bt[name])}")


@rules_app.command("backtest")
@user_errors
@_file_errors
def backtest(project: Annotated[str, typer.Argument(help="Project key")],
             rule: Annotated[str | None, typer.Argument(help="Stored rule id")] = None,
             file: Annotated[Path | None, typer.Option(help="Backtest a draft rule file "
                                                       "(one rule) instead")] = None,
             days: Annotated[int, typer.Option(help="Window: the last N days")] = 28,
             auto_action: Annotated[float | None, typer.Option(
                 help="Backtest these thresholds instead of a rule")] = None,
             auto_clear: Annotated[float | None, typer.Option()] = None) -> None:
    """What a rule (or a threshold change) would have done to decided items."""
    from modops.rules import service

    if auto_action is not None or auto_clear is not None:
        _print_backtest(service.run_threshold_backtest(
            engine(), project, auto_action=auto_action, auto_clear=auto_clear, days=days,
            actor=actor()))
        return
    text = file.read_text(encoding="utf-8") if file else None
    if text is None and not rule:
        raise typer.BadParameter("give a rule id or --file")
    _print_backtest(service.run_backtest(engine(), project, key=rule, text=text, days=days,
                                         actor=actor()))


@rules_app.command("enable")
@user_errors
def enable(project: Annotated[str, typer.Argument(help="Project key")],
           rule: Annotated[str, typer.Argument(help="Rule id")],
           backtest_id: Annotated[int | None, typer.Option(
               "--backtest", help="The backtest to enable it on (default: its latest)")] = None,
           override: Annotated[str | None, typer.Option(
               help="Enable without a backtest; the reason is audited")] = None) -> None:
    """Make a rule live (it needs a backtest of its version, or --override REASON); the
    queued backlog is re-routed."""
    from modops.rules.service import set_mode

    # the CLI runs with the database's own rights: an operator, like an admin
    out = set_mode(engine(), project, rule, "live", actor=actor(), admin=True,
                   backtest_id=backtest_id, override_reason=override)
    console.print(f"{rule}: live (backtest {out.get('backtest_id') or 'overridden'}); "
                  f"re-routed: {(out.get('reroute') or {}).get('decided', 0)} decided, "
                  f"{(out.get('reroute') or {}).get('requeued', 0)} re-queued")


@rules_app.command("disable")
@user_errors
def disable(project: Annotated[str, typer.Argument(help="Project key")],
            rule: Annotated[str, typer.Argument(help="Rule id")],
            shadow: Annotated[bool, typer.Option(
                help="Back to shadow mode (still evaluated and logged)")] = False) -> None:
    """Stop a rule acting (disabled, or --shadow)."""
    from modops.rules.service import set_mode

    out = set_mode(engine(), project, rule, "shadow" if shadow else "disabled", actor=actor())
    console.print(f"{rule}: {out['mode']}")


@rules_app.command("thresholds")
@user_errors
def thresholds(project: Annotated[str, typer.Argument(help="Project key")],
               auto_action: Annotated[float | None, typer.Option()] = None,
               auto_clear: Annotated[float | None, typer.Option()] = None) -> None:
    """Set the routing thresholds and re-route the queued backlog (both audited)."""
    from modops.rules.service import change_thresholds

    out = change_thresholds(engine(), project, auto_action=auto_action, auto_clear=auto_clear,
                            actor=actor())
    rr = out.get("reroute") or {}
    console.print(f"changed: {out['changed'] or 'nothing'}; re-routed: "
                  f"{rr.get('decided', 0)} decided, {rr.get('requeued', 0)} re-queued")


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")
