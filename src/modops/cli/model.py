"""``modops model …``: train, evaluate, score files, choose routing thresholds, retrain, promote."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(help="The built-in Korean harmful-content model: train, eval, score, "
                       "thresholds, retrain, promote.", no_args_is_help=True)
console = Console()


def _read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """CSV, TSV or JSONL rows as dicts, in file order."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)
        return
    delimiter = "\t" if suffix in (".tsv", ".tab") else ","
    with path.open(encoding="utf-8-sig", newline="") as fh:
        yield from csv.DictReader(fh, delimiter=delimiter)


@app.command()
def train(
    register: bool = typer.Option(True, help="Register the new version in MODOPS_MODEL_DIR."),
    promote: bool = typer.Option(False, help="Also make it the active model."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Also write the .npz here."),
    limit: int | None = typer.Option(None, help="Subsample each dataset (smoke runs)."),
) -> None:
    """Train the built-in model from the shipped data (fixed seeds; a few minutes on 2 cores)."""
    from modops.machine.model import TrainConfig
    from modops.machine.model import train as train_model
    from modops.machine.registry import Registry

    t0 = time.perf_counter()
    model = train_model(TrainConfig(limit=limit), log=lambda m: console.print(f"  {m}"))
    console.print(f"trained [bold]{model.model_version}[/] in {time.perf_counter() - t0:.0f}s")
    if output:
        model.save(output)
        console.print(f"wrote {output}")
    if register:
        reg = Registry()
        reg.register(model, {"cv_macro_f1": model.meta.get("cv_macro_f1"), "source": "train"})
        if promote:
            reg.promote(model.model_version)
        console.print(f"registered in {reg.root}" + (" and promoted" if promote else ""))


def _report_table(rep: Any) -> Table:
    table = Table(title=f"{rep.name} — macro-F1 {rep.macro_f1:.4f}")
    for col in ("label", "precision", "recall", "F1", "support"):
        table.add_column(col, justify="left" if col == "label" else "right")
    for i, lab in enumerate(rep.labels):
        table.add_row(lab, f"{rep.precision[i]:.3f}", f"{rep.recall[i]:.3f}", f"{rep.f1[i]:.3f}",
                      str(rep.support[i]))
    return table


@app.command("eval")
def eval_(
    model_version: str | None = typer.Option(None, "--model-version", help="Default: active."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the reports as JSON."),
) -> None:
    """Evaluate on BEEP! dev (3-class) and K-MHaS test (multi-label); never used in training."""
    from modops.machine.evaluate import evaluate_beep, evaluate_kmhas
    from modops.machine.registry import Registry

    model = Registry().load(model_version)
    console.print(f"model [bold]{model.model_version}[/]")
    beep, kmhas = evaluate_beep(model), evaluate_kmhas(model)
    console.print(_report_table(beep))
    cm = Table(title="BEEP! dev confusion matrix (rows = gold, columns = predicted)")
    cm.add_column("gold \\ pred")
    for lab in beep.labels:
        cm.add_column(lab, justify="right")
    for lab, row in zip(beep.labels, beep.confusion or [], strict=True):
        cm.add_row(lab, *map(str, row))
    console.print(cm)
    console.print(f"expected calibration error (top label, 10 bins): {beep.ece:.4f}; "
                  f"harm (1 - p(none)) ECE: {beep.extra['harm_ece']:.4f}")
    console.print(_report_table(kmhas))
    console.print(f"K-MHaS micro-F1 {kmhas.micro_f1:.4f} · exact match "
                  f"{kmhas.extra['exact_match']:.4f}")
    if json_out:
        json_out.write_text(json.dumps({"model_version": model.model_version,
                                        "beep_dev": beep.to_dict(),
                                        "kmhas_test": kmhas.to_dict()}, indent=2))


@app.command()
def score(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, TSV or JSONL."),
    text_column: str = typer.Option("text", "--text-column", help="Column holding the text."),
    output: Path = typer.Option(..., "--output", "-o", help="JSONL out, one object per row."),
    scorer_spec: str | None = typer.Option(None, "--scorer", help="builtin | entrypoint:… | URL"),
    batch_size: int = typer.Option(2048, help="Rows per scoring batch."),
) -> None:
    """Score every row of FILE; output rows are in input order."""
    import orjson

    from modops.machine.scoring import get_scorer

    scorer = get_scorer(scorer_spec)
    rows = list(_read_rows(file))
    with output.open("wb") as out, Progress(
        TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    ) as progress:
        task = progress.add_task("score", total=len(rows))
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            texts = [str(r.get(text_column) or "") for r in batch]
            for s in scorer.score(texts):
                d = s.to_dict()
                d.pop("extra", None)
                out.write(orjson.dumps(d) + b"\n")
            progress.advance(task, len(batch))
    console.print(f"scored {len(rows):,} rows with {scorer.model_version} → {output}")


MIN_PROJECT_LABELS = 200


@app.command()
def thresholds(
    project: str = typer.Argument(..., help="Project key to store the thresholds on."),
    auto_action_precision: float = typer.Option(0.95, help="Precision target of auto-actions."),
    auto_clear_recall: float = typer.Option(0.98, help="Harmful-item recall kept above low."),
    validation: Path | None = typer.Option(
        None, help="In-domain labels instead of the project's own: CSV/TSV/JSONL with text + "
                   "label (taxonomy label keys, comma-separated; none/0/empty = no violation)."),
    text_column: str = typer.Option("text", "--text-column"),
    label_column: str = typer.Option("label", "--label-column"),
    min_labels: int = typer.Option(MIN_PROJECT_LABELS, help="In-domain human labels a policy "
                                   "needs before it may be automated."),
    dry_run: bool = typer.Option(False, help="Only print; do not store on the project."),
) -> None:
    """Per policy: the auto-action threshold reaching the precision target on in-domain human
    labels (never on fewer than --min-labels); harm's auto-clear threshold at the recall target.

    Policies without enough in-domain labels are never auto-actioned. Without them, the
    auto-clear threshold comes from BEEP! dev (out of domain), at the stated recall target.
    """
    from modops.machine.registry import Registry
    from modops.machine.routing_choice import choose_routing, labels_of_rows

    model = Registry().load()
    rules = _project_rules(project)
    if validation is None:
        rows = _project_labels(project)
        texts, human = [r.text for r in rows], [list(r.labels) for r in rows]
        source = f"{len(rows):,} final human labels of project {project}"
    else:
        file_rows = list(_read_rows(validation))
        texts, human = labels_of_rows(file_rows, text_column, label_column)
        source = f"{len(file_rows):,} labeled rows of {validation.name}"
    choice = choose_routing(model, rules, texts, human, source, auto_action_precision,
                            auto_clear_recall, min_labels)
    th = choice.harm
    console.print(_policy_table(project, model.model_version, choice.policies,
                                auto_action_precision))
    high = None if th.high == float("inf") else th.high
    console.print(f"harm: auto-action ≥ {'never' if high is None else f'{high:.4f}'}, "
                  f"auto-clear < {th.low:.4f} (recall {th.achieved_recall:.3f} kept above it; "
                  f"validation: {choice.clear_source})")
    if not dry_run:
        store_thresholds(project, th, {c.policy: c.to_setting() for c in choice.policies})
        console.print(f"stored on project {project}")


def _policy_table(project: str, version: str, chosen: list[Any], target: float) -> Table:
    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v:.3f}"

    def ci(v: tuple[float, float] | None) -> str:
        return "" if v is None else f" [{v[0]:.3f}, {v[1]:.3f}]"

    table = Table(title=f"per-policy auto-action thresholds for {project} ({version}, "
                        f"precision target {target:.2f}; validation: "
                        f"{chosen[0].validation if chosen else 'none'})")
    for col in ("policy", "label", "threshold", "precision [95% CI]", "recall [95% CI]",
                "volume", "n", "positives", "why not automated"):
        table.add_column(col, justify="left" if col in ("policy", "label", "why not automated")
                         else "right")
    for c in chosen:
        table.add_row(c.policy, c.label or "—", "never" if c.threshold is None
                      else f"{c.threshold:.4f}", pct(c.precision) + ci(c.precision_ci),
                      pct(c.recall) + ci(c.recall_ci), f"{c.volume:.1%}", str(c.n),
                      str(c.positives), c.reason)
    return table


def _project_rules(project: str) -> dict[str, str]:
    """The project's taxonomy: label key → action."""
    from modops.cli.common import engine
    from modops.projects import get_project
    from modops.store.db import session_scope

    with session_scope(engine()) as session:
        p = get_project(session, project)
        return {lab.key: lab.action for lab in p.taxonomy.labels}


def store_thresholds(project_key: str, th: Any,
                     policy_thresholds: dict[str, Any] | None = None) -> None:
    """Write the thresholds and model version onto the project (audited like any setting)."""
    from modops.cli.common import actor, engine
    from modops.projects import get_project, update_project
    from modops.store.db import session_scope

    with session_scope(engine()) as session:
        project = get_project(session, project_key)
        changes: dict[str, Any] = {
            "auto_action_threshold": None if th.high == float("inf") else th.high,
            "auto_clear_threshold": th.low,
            "model_version": th.model_version,
        }
        if policy_thresholds is not None:
            changes["settings"] = {**(project.settings or {}),
                                   "policy_thresholds": policy_thresholds}
        update_project(session, project, changes, actor=actor())


def _project_labels(project: str) -> list[Any]:
    from modops.cli.common import engine
    from modops.machine.project_labels import human_labels

    return human_labels(engine(), project)


@app.command()
def retrain(
    project: str | None = typer.Argument(None, help="Project whose final human labels to add."),
    labels: Path | None = typer.Option(None, "--labels", exists=True,
                                       help="Or: a CSV/TSV/JSONL file of human labels."),
    text_column: str = typer.Option("text", "--text-column"),
    label_column: str = typer.Option("label", "--label-column",
                                     help="hate / offensive / none per row."),
) -> None:
    """Train a candidate on base data + human labels; compare on a held-out slice; register.

    The candidate is NOT promoted: run `modops model promote VERSION` after reading the numbers.
    """
    from modops.machine.retrain import retrain as do_retrain

    if labels is not None:
        rows = list(_read_rows(labels))
        pairs = [(str(r.get(text_column) or ""), str(r.get(label_column) or "").strip().lower())
                 for r in rows]
    elif project is not None:
        pairs = [(r.text, r.severity) for r in _project_labels(project)]
        console.print(f"{len(pairs):,} final human labels from project {project}")
    else:
        raise typer.BadParameter("give a PROJECT or --labels FILE")
    res = do_retrain(pairs, log=lambda m: console.print(f"  {m}"))
    old = "n/a" if res.old_macro_f1 is None else f"{res.old_macro_f1:.4f}"
    console.print(f"candidate [bold]{res.new_version}[/] (from {res.old_version}): held-out "
                  f"macro-F1 {old} → {res.new_macro_f1:.4f} on {res.n_holdout} rows; "
                  f"trained with {res.n_extra_train} extra rows. Not promoted.")


@app.command()
def promote(version: str = typer.Argument(..., help="A registered model version.")) -> None:
    """Make VERSION the active model for scoring."""
    from modops.machine.registry import Registry

    Registry().promote(version)
    console.print(f"active model: {version}")


@app.command("list")
def list_versions() -> None:
    """Registered versions and which one is active."""
    from modops.machine.registry import SHIPPED, Registry

    table = Table(title="model versions")
    for col in ("version", "active", "cv macro-F1", "parent"):
        table.add_column(col)
    for rec in Registry().versions():
        cv = rec.get("cv_macro_f1")
        table.add_row(rec["model_version"], "✓" if rec["active"] else "",
                      f"{cv:.4f}" if isinstance(cv, float) else "", str(rec.get("parent") or ""))
    console.print(table)
    console.print(f"shipped artifact: {SHIPPED}")
