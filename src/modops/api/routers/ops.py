"""Background jobs (list, start, retry, download) and reviewers' PII unmasking."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from modops import jobs
from modops.api import policies
from modops.api.auth import Principal, current
from modops.api.deps import engine_of
from modops.api.schemas import UtcDateTime
from modops.domain import NotFound
from modops.privacy import MASKED_FIELDS
from modops.store import session_scope
from modops.store.audit import record
from modops.store.models import User
from modops.store.models_ops import Job

router = APIRouter(prefix="/api/v1", tags=["jobs"])

# What a manager may start over HTTP (imports come in through the upload route).
API_KINDS = ("export", "score", "report", "alerts", "purge")


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    project_key: str | None
    state: str
    progress: float
    progress_note: str | None
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    max_attempts: int
    run_after: UtcDateTime
    created_at: UtcDateTime
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None


class JobIn(BaseModel):
    kind: Literal["export", "score", "report", "alerts", "purge"]
    params: dict[str, Any] = Field(default_factory=dict, max_length=20)
    max_attempts: int = Field(3, ge=1, le=10)


class UnmaskIn(BaseModel):
    reason: str = Field(min_length=5, max_length=1000,
                        description="why the original text is needed (kept in the audit log)")


class UnmaskOut(BaseModel):
    item_id: int
    fields: dict[str, str | None]
    metadata: dict[str, Any] | None


def _may_see_job(s: Any, p: Principal, job: Job) -> bool:
    """A job (its state, result and file) is the caller's only if every project it reads is:
    a report over another team's project is not shown to this team's manager."""
    keys = jobs.job_projects(job.project_key, job.params)
    if not keys:  # system-wide jobs (webhooks, diagnostics)
        return policies.org_wide(p)
    try:
        policies.projects(s, p, keys, "project.manage")
    except NotFound:
        return False
    return True


def _visible_job(s: Any, p: Principal, job_id: int) -> Job:
    job = s.get(Job, job_id)
    if job is None or not _may_see_job(s, p, job):
        raise NotFound(f"no job {job_id}")
    return job


@router.get("/jobs", response_model=list[JobOut])
def list_jobs(request: Request, p: Principal = Depends(current),
              project: str | None = None, state: str | None = None, kind: str | None = None,
              before: int | None = Query(None, ge=1, description="keyset cursor: smallest id "
                                                                 "of the previous page"),
              limit: int = Query(50, ge=1, le=500)) -> list[Job]:
    """Newest first: state, progress, attempts and the last error of every job you manage."""
    policies.require(p, "project.manage")
    with session_scope(engine_of(request)) as s:
        if project:
            keys: list[str] | None = [policies.project(s, p, project, "project.manage").key]
        elif policies.org_wide(p):
            keys = None
        else:
            keys = [pr.key for pr in policies.visible_projects(s, p)]
        found = jobs.list_jobs(engine_of(request), project_keys=keys, state=state, kind=kind,
                               before_id=before, limit=limit)
        return found if keys is None else [j for j in found if _may_see_job(s, p, j)]


@router.post("/projects/{key}/jobs", response_model=JobOut, status_code=202)
def start_job(key: str, body: JobIn, request: Request, p: Principal = Depends(current)) -> Job:
    """Start an export, scoring run, report, alert check or retention purge in the background."""
    with session_scope(engine_of(request)) as s:
        proj = policies.project(s, p, key, "project.manage")
        project_key = proj.key
        # Every project the job will read, not just the one in the path (a report's list).
        policies.projects(s, p, jobs.job_projects(project_key, body.params), "project.manage")
        if body.kind == "purge":
            from modops.ops.retention import check_purge_days

            policies.require(p, "project.purge")
            check_purge_days(proj.settings, body.params.get("days"))
    params = {**body.params, "actor": p.username}
    job_id = jobs.enqueue(engine_of(request), body.kind, params, project_key=project_key,
                          created_by_id=p.id, max_attempts=body.max_attempts)
    return jobs.get_job(engine_of(request), job_id)


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: int, request: Request, p: Principal = Depends(current)) -> Job:
    policies.require(p, "project.manage")
    with session_scope(engine_of(request)) as s:
        return _visible_job(s, p, job_id)


@router.post("/jobs/{job_id}/retry", response_model=JobOut)
def retry_job(job_id: int, request: Request, p: Principal = Depends(current)) -> Job:
    """Queue a failed job again with a fresh attempt budget (audited)."""
    policies.require(p, "project.manage")
    with session_scope(engine_of(request)) as s:
        _visible_job(s, p, job_id)
        actor = s.get(User, p.id)
    jobs.retry(engine_of(request), job_id, actor=actor)
    return jobs.get_job(engine_of(request), job_id)


# Media types of the files jobs write (exports and reports), declared and served alike.
JOB_FILE_MEDIA = {
    ".jsonl": "application/x-ndjson", ".csv": "text/csv", ".json": "application/json",
    ".parquet": "application/vnd.apache.parquet", ".pdf": "application/pdf",
    ".html": "text/html", ".docx": "application/vnd.openxmlformats-officedocument."
                                   "wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.get("/jobs/{job_id}/file", response_class=FileResponse, responses={200: {
    "description": "the file the job wrote",
    "content": {m: BINARY for m in (*JOB_FILE_MEDIA.values(), "application/octet-stream")}}})
def job_file(job_id: int, request: Request, p: Principal = Depends(current)) -> FileResponse:
    """Download what a finished export or report job wrote."""
    from modops.jobs.handlers import job_file_path

    policies.require(p, "project.manage")
    with session_scope(engine_of(request)) as s:
        job = _visible_job(s, p, job_id)
        name = (job.result or {}).get("file") if job.state == jobs.SUCCEEDED else None
    path = job_file_path(str(name)) if name else None
    if path is None:
        raise NotFound(f"job {job_id} has no file")
    return FileResponse(path, filename=path.name, media_type=JOB_FILE_MEDIA.get(
        path.suffix.lower(), "application/octet-stream"))


@router.post("/items/{item_id}/unmask", response_model=UnmaskOut, tags=["review"])
def unmask(item_id: int, body: UnmaskIn, request: Request,
           p: Principal = Depends(current)) -> UnmaskOut:
    """The original, unmasked text of one item, for reviewers; the reason is audited."""
    policies.require(p, "review.work")
    with session_scope(engine_of(request)) as s:
        it = policies.item(s, p, item_id)
        fields = {name: getattr(it, name) for name in MASKED_FIELDS}
        record(s, actor=s.get(User, p.id), action="pii.unmask", entity="item",
               entity_id=item_id, project_id=it.project_id,
               after={"reason": body.reason,
                      "fields": [k for k, v in fields.items() if v]})
        return UnmaskOut(item_id=it.id, fields=fields, metadata=it.meta)
