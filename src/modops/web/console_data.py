"""The manager's data pages: import by upload, export with filters, period reports — each a
background job whose page shows its progress (htmx polling) and, when done, what it did and
the files to download. No server path is ever shown: uploads are named as uploaded, job files
are served by job id, errors of a refused import say ``FILE:LINE`` with the uploaded name."""

from __future__ import annotations

import re
import secrets
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from modops import jobs
from modops.api import policies
from modops.api.auth import Principal, current
from modops.api.deps import engine_of, settings_of
from modops.domain import NotFound, ValidationError
from modops.io import EXPORT_FORMATS, FORMATS
from modops.io.filtered import STATES, ExportFilter
from modops.jobs.handlers import job_dir, job_file_path
from modops.store import session_scope, utcnow
from modops.store.models import Project
from modops.store.models_ops import Job
from modops.web.console_forms import when
from modops.web.views import render

router = APIRouter(include_in_schema=False)

REPORT_FORMATS = ("html", "xlsx", "docx", "pdf")
PERIOD = re.compile(r"\d{4}-W\d{2}|\d{4}-\d{2}|\d{4}-\d{2}-\d{2}|\d{4}-\d{2}-\d{2}T\d{2}")
RESULT_NUMBERS = ("rows", "inserted", "skipped_existing", "annotations", "decisions", "items")
MEDIA = {".jsonl": "application/x-ndjson", ".csv": "text/csv", ".json": "application/json",
         ".parquet": "application/vnd.apache.parquet", ".pdf": "application/pdf",
         ".html": "text/html", ".xlsx": "application/vnd.openxmlformats-officedocument."
                                        "spreadsheetml.sheet",
         ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _project(request: Request, p: Principal, key: str) -> dict[str, Any]:
    with session_scope(engine_of(request)) as s:
        project: Project = policies.project(s, p, key, "project.manage")
        return {"key": project.key, "project_name": project.name,
                "labels": [(lab.key, lab.name_ko, lab.name_en)
                           for lab in project.taxonomy.labels],
                "products": [x.key for x in project.products]}


# --- jobs: progress, outcome, files ----------------------------------------------------------

def _clean_errors(job: Job) -> list[str]:
    """The job's error as lines a manager may read: the uploaded file's name instead of where
    the server kept it, no job directory, no exception class."""
    if not job.error:
        return []
    text = job.error
    params = job.params or {}
    if params.get("path"):
        text = text.replace(str(params["path"]), str(params.get("shown_name") or "upload"))
    text = text.replace(str(job_dir()) + "/", "").replace(str(job_dir()), "")
    text = re.sub(r"^[A-Za-z]+(Failed|Error): ", "", text)
    return [line for line in text.splitlines() if line.strip()][:50]


def _files(job: Job) -> dict[str, str]:
    """Format → job file name of what the job wrote (reports several, exports one)."""
    if job.state != jobs.SUCCEEDED:
        return {}
    result = job.result or {}
    files = dict(result.get("files") or {})
    if not files and result.get("file") and job.kind == "export":
        files = {str(result.get("format") or "file"): result["file"]}
    return files


def job_view(job: Job) -> dict[str, Any]:
    result = job.result or {}
    params = job.params or {}
    return {"id": job.id, "kind": job.kind, "state": job.state,
            "percent": round((job.progress or 0.0) * 100),
            "note": job.progress_note or "",
            "running": job.state not in (jobs.SUCCEEDED, jobs.FAILED),
            "created": when(job.created_at), "finished": when(job.finished_at),
            "numbers": {k: result[k] for k in RESULT_NUMBERS if isinstance(result.get(k), int)},
            "formats": list(_files(job)),
            "errors": _clean_errors(job) if job.state == jobs.FAILED else [],
            "name": params.get("shown_name") or params.get("period"),
            "filters": params.get("filters") or {}}


def _job(request: Request, p: Principal, key: str, job_id: int) -> Job:
    with session_scope(engine_of(request)) as s:
        policies.project(s, p, key, "project.manage")
        job = s.get(Job, job_id)
        if job is None or job.project_key != key:
            raise NotFound(f"no job {job_id}")
        # every project the job reads must be the caller's (a report over several projects)
        policies.projects(s, p, jobs.job_projects(job.project_key, job.params),
                          "project.manage")
        s.expunge(job)
        return job


def _recent(request: Request, key: str, kind: str) -> list[dict[str, Any]]:
    found = jobs.list_jobs(engine_of(request), project_keys=[key], kind=kind, limit=10)
    return [job_view(j) for j in found]


@router.get("/manage/{key}/jobs/{job_id}")
def job_page(key: str, job_id: int, request: Request,
             p: Principal = Depends(current)) -> Response:
    job = _job(request, p, key, job_id)
    info = _project(request, p, key)
    return render(request, "console/job.html", p, job=job_view(job), key=key,
                  project_name=info["project_name"])


@router.get("/manage/{key}/jobs/{job_id}/status")
def job_status(key: str, job_id: int, request: Request,
               p: Principal = Depends(current)) -> Response:
    """The job panel alone: what the page's htmx polling swaps in until the job is done."""
    return render(request, "console/_job.html", p, job=job_view(_job(request, p, key, job_id)),
                  key=key)


def _download_name(key: str, job: Job, path: Path, fmt: str) -> str:
    params = job.params or {}
    if job.kind == "report":
        return f"{key}-report-{params.get('period', job.id)}-{params.get('lang', 'ko')}" \
               f"{path.suffix}"
    return f"{key}-{job.kind}-{job.id}{path.suffix}"


@router.get("/manage/{key}/jobs/{job_id}/file/{fmt}")
def job_download(key: str, job_id: int, fmt: str, request: Request,
                 p: Principal = Depends(current)) -> Response:
    job = _job(request, p, key, job_id)
    name = _files(job).get(fmt)
    path = job_file_path(str(name)) if name else None
    if path is None:
        raise NotFound(f"job {job_id} has no {fmt} file")
    return FileResponse(path, filename=_download_name(key, job, path, fmt),
                        media_type=MEDIA.get(path.suffix.lower(), "application/octet-stream"))


def _enqueue(request: Request, p: Principal, key: str, kind: str, params: dict[str, Any],
             attempts: int = 3) -> Response:
    job_id = jobs.enqueue(engine_of(request), kind, {**params, "actor": p.username},
                          project_key=key, created_by_id=p.id, max_attempts=attempts)
    return _see_other(f"/manage/{key}/jobs/{job_id}")


# --- import by upload ------------------------------------------------------------------------

def _import_page(request: Request, p: Principal, key: str, *, status_code: int = 200,
                 errors: dict[str, str] | None = None, fmt: str = "") -> Response:
    info = _project(request, p, key)
    return render(request, "console/import.html", p, status_code=status_code,
                  formats=FORMATS, fmt=fmt, errors=errors or {},
                  recent=_recent(request, key, "import"), **info)


@router.get("/manage/{key}/import")
def import_page(key: str, request: Request, p: Principal = Depends(current)) -> Response:
    return _import_page(request, p, key)


def _save_upload(upload: UploadFile, limit: int) -> tuple[Path, str]:
    """The upload in its own directory under the job directory (the import job deletes it,
    imported or refused); its name kept for messages, made safe for the file system."""
    shown = Path(upload.filename or "upload.jsonl").name
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", shown)[:100] or "upload.jsonl"
    folder = job_dir() / "uploads" / secrets.token_hex(8)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / safe
    size = 0
    with path.open("wb") as f:
        while chunk := upload.file.read(1 << 20):
            size += len(chunk)
            if size > limit:
                f.close()
                path.unlink(missing_ok=True)
                raise ValidationError(f"upload larger than {limit:,} bytes")
            f.write(chunk)
    if size == 0:
        path.unlink(missing_ok=True)
        raise ValidationError("empty file")
    return path, shown[:200]


@router.post("/manage/{key}/import")
async def import_submit(key: str, request: Request, p: Principal = Depends(current)) -> Response:
    _project(request, p, key)
    form = await request.form()
    upload, fmt = form.get("file"), str(form.get("format", ""))
    if fmt and fmt not in FORMATS:
        return _import_page(request, p, key, status_code=422, fmt=fmt,
                            errors={"format": "console.err.format"})
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _import_page(request, p, key, status_code=422, fmt=fmt,
                            errors={"file": "console.err.no_file"})
    limit = settings_of(request).max_upload_bytes
    try:
        path, shown = await run_in_threadpool(_save_upload, upload, limit)
    except ValidationError:
        return _import_page(request, p, key, status_code=422, fmt=fmt,
                            errors={"file": "console.err.upload"})
    params = {"path": str(path), "format": fmt or None, "delete_after": True,
              "shown_name": shown}
    # one attempt: a refused file is refused again; the manager fixes it and uploads anew
    return _enqueue(request, p, key, "import", params, attempts=1)


# --- export with filters ---------------------------------------------------------------------

def _export_page(request: Request, p: Principal, key: str, *, status_code: int = 200,
                 errors: dict[str, str] | None = None,
                 values: dict[str, str] | None = None) -> Response:
    info = _project(request, p, key)
    return render(request, "console/export.html", p, status_code=status_code,
                  formats=EXPORT_FORMATS, states=STATES, errors=errors or {},
                  values=values or {"format": "jsonl"},
                  recent=_recent(request, key, "export"), **info)


@router.get("/manage/{key}/export")
def export_page(key: str, request: Request, p: Principal = Depends(current)) -> Response:
    return _export_page(request, p, key)


def _export_errors(values: dict[str, str], info: dict[str, Any]) -> dict[str, str]:
    errors = {}
    if values["format"] not in EXPORT_FORMATS:
        errors["format"] = "console.err.format"
    if values["label"] and values["label"] not in {k for k, _, _ in info["labels"]}:
        errors["label"] = "console.err.invalid"
    if values["product"] and values["product"] not in info["products"]:
        errors["product"] = "console.err.invalid"
    try:
        ExportFilter.parse({k: values[k] for k in ("state", "date_from", "date_to")})
    except ValidationError:
        errors["dates"] = "console.err.dates"
    return errors


@router.post("/manage/{key}/export")
async def export_submit(key: str, request: Request, p: Principal = Depends(current)) -> Response:
    info = _project(request, p, key)
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in
              ("format", "state", "date_from", "date_to", "label", "product")}
    errors = _export_errors(values, info)
    if errors:
        return _export_page(request, p, key, status_code=422, errors=errors, values=values)
    filters = ExportFilter.parse({k: v for k, v in values.items() if k != "format"})
    return _enqueue(request, p, key, "export",
                    {"format": values["format"], "filters": filters.as_params()})


# --- reports ---------------------------------------------------------------------------------

def _this_week() -> str:
    return utcnow().strftime("%G-W%V")


def _reports_page(request: Request, p: Principal, key: str, *, status_code: int = 200,
                  errors: dict[str, str] | None = None,
                  values: dict[str, Any] | None = None) -> Response:
    info = _project(request, p, key)
    return render(request, "console/reports.html", p, status_code=status_code,
                  report_formats=REPORT_FORMATS, errors=errors or {},
                  values=values or {"period": _this_week(), "lang": "ko",
                                    "formats": ["html", "xlsx"]},
                  recent=_recent(request, key, "report"), today=date.today().isoformat(),
                  **info)


@router.get("/manage/{key}/reports")
def reports_page(key: str, request: Request, p: Principal = Depends(current)) -> Response:
    return _reports_page(request, p, key)


@router.post("/manage/{key}/reports")
async def reports_submit(key: str, request: Request,
                         p: Principal = Depends(current)) -> Response:
    _project(request, p, key)
    form = await request.form()
    period, lang = str(form.get("period", "")).strip(), str(form.get("lang", "ko"))
    formats = [str(x) for x in form.getlist("formats")]
    values: dict[str, Any] = {"period": period, "lang": lang, "formats": formats}
    errors = {}
    if not PERIOD.fullmatch(period):
        errors["period"] = "console.err.period"
    if lang not in ("ko", "en"):
        errors["lang"] = "console.err.invalid"
    if not formats or not set(formats) <= set(REPORT_FORMATS):
        errors["formats"] = "console.err.formats"
    if errors:
        return _reports_page(request, p, key, status_code=422, errors=errors, values=values)
    return _enqueue(request, p, key, "report", {"projects": [key], **values})
