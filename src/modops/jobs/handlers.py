"""The built-in job kinds: thin wrappers that call one use case each and report progress.

Files a job writes (exports, reports) go to ``MODOPS_JOB_DIR`` (default ``./.modops/jobs``,
git-ignored): on several hosts that must be a shared volume, since the worker that writes the
file is not the app server that serves it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from modops.jobs.core import JobContext, JobFailed, handler
from modops.settings import settings
from modops.store import session_scope, utcnow


def job_dir() -> Path:
    path = settings().job_dir.resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def job_file_name(path: Path) -> str:
    """How a job's result names a file it wrote: relative to the job directory, so a result
    (shown to managers over the API) never tells anyone where the server keeps its files."""
    return path.resolve().relative_to(job_dir()).as_posix()


def job_file_path(name: str) -> Path | None:
    """The file a result names, if it is a file inside the job directory (else None: a result
    row is data, and data does not get to choose which file the server sends)."""
    root = job_dir()
    path = (root / name).resolve()  # an absolute name (results before names were relative)
    return path if root in path.parents and path.is_file() else None  # stays absolute


def _project_items(ctx: JobContext) -> int:
    from modops.store.models import Item, Project

    with session_scope(ctx.engine) as s:
        return int(s.scalar(select(func.count()).select_from(Item).join(
            Project, Project.id == Item.project_id).where(Project.key == ctx.project_key)) or 0)


def _need_project(ctx: JobContext) -> str:
    if not ctx.project_key:
        raise JobFailed(f"a {ctx.kind} job needs a project")
    return ctx.project_key


@handler("export")
def export(ctx: JobContext) -> dict[str, Any]:
    """Export a project to a file: long exports never run inside a request (they time out)."""
    from modops.io.exporter import EXPORT_FORMATS, export_project

    key = _need_project(ctx)
    fmt = str(ctx.params.get("format", "jsonl"))
    if fmt not in EXPORT_FORMATS:
        raise JobFailed(f"unknown export format {fmt!r}")
    ext = {"labelstudio": "json"}.get(fmt, fmt)
    out = job_dir() / f"export-{ctx.job_id}-{key}.{ext}"
    total = max(1, _project_items(ctx))

    def progress(n: int) -> None:
        ctx.progress(n / total, f"{n:,} / {total:,}")

    if ctx.params.get("filters"):  # the console's export with filters (modops.io.filtered)
        from modops.io.filtered import ExportFilter, export_filtered

        report = export_filtered(ctx.engine, key, fmt, out,
                                 ExportFilter.parse(ctx.params["filters"]), progress=progress)
    else:
        report = export_project(ctx.engine, key, fmt, out, progress=progress)
    return {"file": job_file_name(out), "format": fmt, "items": report.items,
            "annotations": report.annotations, "seconds": round(report.seconds, 2)}


@handler("import")
def import_(ctx: JobContext) -> dict[str, Any]:
    """Import a file already on the server (an upload saved by the API, or a path)."""
    from modops.queue import ingest_file

    key = _need_project(ctx)
    path = Path(str(ctx.params.get("path", "")))
    size = max(1, path.stat().st_size) if path.is_file() else 1
    try:
        report = ingest_file(ctx.engine, key, path, ctx.params.get("format"),
                             actor=ctx.params.get("actor", "job"),
                             progress=lambda done, _n: ctx.progress(done / size))
        if ctx.params.get("media"):  # media_url values are media: paths next to the file
            from modops.media.pipeline import attach_batch_media

            attach_batch_media(ctx.engine, key, report.batch_id, path.resolve().parent,
                               actor=str(ctx.params.get("actor", "job")))
    finally:  # an upload refused (FILE:LINE errors) goes too: nothing of it is kept
        if ctx.params.get("delete_after"):
            path.unlink(missing_ok=True)
    # (ImportReport has slots: no __dict__ for vars(); the file's server path is left out)
    from dataclasses import fields

    return {f.name: v for f in fields(report) if f.name != "file"
            and isinstance(v := getattr(report, f.name), int | float | str)}


@handler("score")
def score(ctx: JobContext) -> dict[str, Any]:
    """Score and route every item still waiting for the model (large batches, model outages)."""
    from dataclasses import asdict

    from modops.queue import route_pending

    ctx.progress(0.0, "scoring")
    return asdict(route_pending(ctx.engine, _need_project(ctx)))


@handler("alerts")
def alerts(ctx: JobContext) -> dict[str, Any]:
    """The scheduled alert check: evaluate every rule, store the episodes the dashboard shows,
    and send new ones to webhooks (the same path as the dashboard's "evaluate now")."""
    from dataclasses import asdict

    from modops.notify.alerts import evaluate_and_record

    done = evaluate_and_record(ctx.engine, _need_project(ctx), utcnow())
    return {"alerts": [{k: (v.isoformat() if hasattr(v, "isoformat") else v)
                        for k, v in asdict(a).items()} for a in done.raised],
            "opened": done.opened, "updated": done.updated, "resolved": done.resolved}


@handler("report")
def report(ctx: JobContext) -> dict[str, Any]:
    """A report file. Uses ``modops.reports.build_report`` when the reports package has it,
    else writes the collected numbers as JSON (the data every renderer draws from)."""
    import orjson

    from modops import reports
    from modops.domain import NotFound
    from modops.jobs.core import job_projects
    from modops.projects.access import check_user_sees

    projects = ctx.params.get("projects") or [_need_project(ctx)]
    # The request that queued this was checked; check again here, with the job's creator, so a
    # job row queued some other way (or a creator since moved to another team) reads nothing
    # its creator may not open.
    with session_scope(ctx.engine) as s:
        try:
            check_user_sees(s, ctx.created_by_id, job_projects(ctx.project_key, ctx.params))
        except NotFound as exc:
            raise JobFailed(str(exc)) from None
    period = str(ctx.params.get("period") or utcnow().strftime("%G-W%V"))  # this ISO week
    build = getattr(reports, "build_report", None)
    if build is not None:
        out_dir = job_dir() / f"report-{ctx.job_id}"
        out_dir.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {"lang": str(ctx.params.get("lang", "ko")), "out_dir": out_dir}
        if ctx.params.get("formats"):
            kwargs["formats"] = list(ctx.params["formats"])
        ctx.progress(0.1, "collecting")
        made = build(ctx.engine, list(projects), period, **kwargs)
        files = {fmt: job_file_name(path) for fmt, path in made.items()}
        first = files.get("pdf") or files.get("html") or next(iter(files.values()), None)
        return {"file": first, "files": files, "period": period}
    from modops.reports.data import collect

    ctx.progress(0.1, "collecting")
    data = collect(ctx.engine, list(projects), period)
    out = job_dir() / f"report-{ctx.job_id}.json"
    out.write_bytes(orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS))
    return {"file": job_file_name(out), "format": "json"}


@handler("webhooks")
def webhooks(ctx: JobContext) -> dict[str, Any]:
    """Deliver every due webhook (for deployments whose app servers run no dispatcher)."""
    from modops.net.outbound import GuardedClient, OutboundPolicy
    from modops.notify.webhooks import deliver_due

    n = 0
    # the guarded client, as the app's dispatcher uses: a plain one would skip the SSRF rules
    with GuardedClient(OutboundPolicy.from_env()) as client:
        while (k := deliver_due(ctx.engine, client)) > 0:
            n += k
            ctx.progress(0.5, f"{n} attempted")
    return {"attempted": n}


@handler("purge")
def purge(ctx: JobContext) -> dict[str, Any]:
    """Data retention: delete the project's items older than its ``retention_days``."""
    from modops.domain import ValidationError
    from modops.ops.retention import purge_project

    try:
        return purge_project(ctx.engine, _need_project(ctx), days=ctx.params.get("days"),
                             actor=str(ctx.params.get("actor", "retention")))
    except ValidationError as exc:  # the same refusal the API gave when it was queued
        raise JobFailed(str(exc)) from None


@handler("sleep")
def sleep(ctx: JobContext) -> dict[str, Any]:
    """A diagnostic job: sleeps, reporting progress; ``fail=true`` makes it raise (smoke tests
    of a deployment's workers and of the retry path)."""
    import time

    steps = int(ctx.params.get("steps", 5))
    for i in range(steps):
        time.sleep(float(ctx.params.get("seconds", 0.1)))
        ctx.progress((i + 1) / steps)
    if ctx.params.get("fail"):
        raise JobFailed(str(ctx.params.get("message", "failed on purpose")))
    return {"slept": steps}


@handler("media_fetch")
def media_fetch(ctx: JobContext) -> dict[str, Any]:
    """Fetch a media URL through the guarded client (size and time limits), then process it."""
    from modops.media.pipeline import fetch_media

    return fetch_media(ctx.engine, int(ctx.params["item_media_id"]))


@handler("media_process")
def media_process(ctx: JobContext) -> dict[str, Any]:
    """Probe, keyframes, hashes, OCR of one stored file; bank matches and routing of the items
    that carry it. Idempotent: a file done at this pipeline version is not redone."""
    from modops.media.pipeline import process_media

    ctx.progress(0.05, "processing")
    return process_media(ctx.engine, int(ctx.params["media_id"]),
                         force=bool(ctx.params.get("force")))


@handler("text_clusters")
def text_clusters(ctx: JobContext) -> dict[str, Any]:
    """Recompute the project's near-duplicate text clusters (MinHash LSH)."""
    from modops.media.clusters import cluster_texts

    return cluster_texts(ctx.engine, _need_project(ctx), progress=ctx.progress)
