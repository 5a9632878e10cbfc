"""Media: upload to an item, an item's media (signed URLs), the files themselves, hash banks
and near-duplicate clusters (issue 18; docs/media.md)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from modops.api import policies
from modops.api.auth import Principal, current
from modops.api.deps import engine_of, settings_of
from modops.domain import NotFound, Role, ValidationError
from modops.media import access, banks, clusters, pipeline
from modops.media.blobstore import CHUNK, media_store
from modops.media.views import item_media
from modops.store import session_scope
from modops.store.models import Item, User
from modops.store.models_media import MediaObject

router = APIRouter(prefix="/api/v1", tags=["media"])
BINARY = {"schema": {"type": "string", "format": "binary"}}


class AttachOut(BaseModel):
    id: int
    item_id: int
    state: str
    error: str | None
    sha256: str | None
    media_id: int | None


@router.post("/projects/{key}/items/{external_id}/media", response_model=AttachOut,
             status_code=201)
async def upload_media(key: str, external_id: str, request: Request,
                       file: UploadFile | None = File(None),
                       url: str | None = Form(None, max_length=4000),
                       p: Principal = Depends(current)) -> dict[str, Any]:
    """Attach an image or video to an item: a multipart ``file`` (stored at once, processed in
    the background) or an http(s) ``url`` (fetched in the background through the guarded
    client). A file that cannot be used is recorded on the item as ``media_error``."""
    from starlette.concurrency import run_in_threadpool

    engine = engine_of(request)

    def check() -> tuple[str, User | None]:
        with session_scope(engine) as s:
            proj = policies.project(s, p, key, "project.manage")
            return proj.key, s.get(User, p.id)

    project_key, actor = await run_in_threadpool(check)
    if (file is None) == (url is None):
        raise ValidationError("give either a file or a url")
    if url is not None:
        return await run_in_threadpool(pipeline.attach_url, engine, project_key, external_id,
                                       url, actor=actor)
    assert file is not None

    def chunks() -> Any:
        while data := file.file.read(CHUNK):
            yield data

    return await run_in_threadpool(pipeline.attach_blob_chunks, engine, project_key,
                                   external_id, chunks(), source="upload",
                                   filename=file.filename, actor=actor)


@router.get("/items/{item_id}/media")
def get_item_media(item_id: int, request: Request, p: Principal = Depends(current)) \
        -> dict[str, Any]:
    """An item's files with short-lived signed URLs, keyframes, OCR text (PII masked) and, for
    reviewers and up, the bank-match evidence. Labelers: only an item of a task they hold."""
    with session_scope(engine_of(request)) as s:
        policies.item_media(s, p, item_id)
    return item_media(engine_of(request), item_id, user_id=p.id,
                      secret=settings_of(request).secret_key,
                      evidence=p.at_least(Role.REVIEWER))


@router.get("/media/{token}", response_class=FileResponse,
            responses={200: {"content": {"image/jpeg": BINARY, "video/mp4": BINARY}}})
def media_file(token: str, request: Request, p: Principal = Depends(current)) -> FileResponse:
    """A file, by a signed URL minted for the caller (expires; see docs/media.md)."""
    sha, item_id = access.verify(settings_of(request).secret_key, token, p.id)
    with session_scope(engine_of(request)) as s:
        policies.item_media(s, p, item_id)  # still allowed now (a lease may have ended)
        mime = s.query(MediaObject.mime).filter(MediaObject.sha256 == sha).scalar()
    path = media_store().path(sha)
    if not path.is_file():
        raise NotFound("no such media")
    return FileResponse(path, media_type=mime or "image/jpeg",
                        headers={"Cache-Control": "private, max-age=60",
                                 "Content-Disposition": "inline",
                                 "X-Content-Type-Options": "nosniff"})


class BankIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    policy_label: str = Field(min_length=1, max_length=100)
    action: Literal["auto_action", "review"]
    pdq_threshold: int | None = Field(None, ge=0, le=63)
    description: str | None = Field(None, max_length=2000)


class BankItemIn(BaseModel):
    item_id: int
    note: str | None = Field(None, max_length=1000)


@router.get("/banks")
def list_banks(request: Request, p: Principal = Depends(current)) -> list[dict[str, Any]]:
    policies.require(p, "review.work")
    return banks.list_banks(engine_of(request))


@router.post("/banks", status_code=201)
def create_bank(body: BankIn, request: Request, p: Principal = Depends(current)) \
        -> dict[str, Any]:
    policies.require(p, "bank.manage")
    with session_scope(engine_of(request)) as s:
        actor = s.get(User, p.id)
    return banks.create_bank(engine_of(request), body.name, body.policy_label, body.action,
                             pdq_threshold=body.pdq_threshold, description=body.description,
                             actor=actor)


@router.post("/banks/{name}/items", status_code=201)
def add_to_bank(name: str, body: BankItemIn, request: Request,
                p: Principal = Depends(current)) -> dict[str, Any]:
    """"Add to bank" from a decision: the item's files go into the bank (audited)."""
    policies.require(p, "review.work")
    with session_scope(engine_of(request)) as s:
        policies.item(s, p, body.item_id)
        actor = s.get(User, p.id)
    added = banks.add_item_to_bank(engine_of(request), name, body.item_id, actor=actor,
                                   note=body.note)
    return {"bank": name, "added": added}


@router.get("/banks/{name}/hashes", response_class=PlainTextResponse)
def export_hashes(name: str, request: Request, p: Principal = Depends(current)) -> str:
    """The bank as a ThreatExchange hash list (``<signal_type> <signal>`` a line)."""
    policies.require(p, "bank.manage")
    return banks.export_hash_list(engine_of(request), name)


@router.post("/banks/{name}/hashes")
async def import_hashes(name: str, request: Request, signal_type: str | None = None,
                        p: Principal = Depends(current)) -> dict[str, Any]:
    """Add a ThreatExchange hash list (text/plain body; ``signal_type`` reads bare hashes)."""
    from starlette.concurrency import run_in_threadpool

    policies.require(p, "bank.manage")
    body = await request.body()
    if len(body) > 50 << 20:
        raise ValidationError("a hash list may be at most 50 MB")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("a hash list is UTF-8 text") from None
    engine = engine_of(request)

    def run() -> int:
        with session_scope(engine) as s:
            actor = s.get(User, p.id)
        return banks.import_hash_list(engine, name, text, default_type=signal_type, actor=actor)

    return {"bank": name, "added": await run_in_threadpool(run)}


class ClusterDecisionIn(BaseModel):
    labels: list[str] = Field(min_length=1, max_length=20)
    note: str | None = Field(None, max_length=1000)


@router.get("/projects/{key}/clusters/{kind}/{cluster_id}")
def get_cluster(key: str, kind: Literal["media", "text"], cluster_id: int, request: Request,
                p: Principal = Depends(current)) -> list[dict[str, Any]]:
    with session_scope(engine_of(request)) as s:
        proj = policies.project(s, p, key, "item.read")
    return clusters.cluster_members(engine_of(request), proj.key, kind, cluster_id)


@router.post("/projects/{key}/clusters/{kind}/{cluster_id}/decide")
def decide_cluster(key: str, kind: Literal["media", "text"], cluster_id: int,
                   body: ClusterDecisionIn, request: Request,
                   p: Principal = Depends(current)) -> dict[str, Any]:
    """One decision for every undecided item of a cluster (each audited on its own)."""
    with session_scope(engine_of(request)) as s:
        proj = policies.project(s, p, key, "review.work")
        reviewer = s.get_one(User, p.id)
        s.expunge(reviewer)
    return clusters.decide_cluster(engine_of(request), proj.key, kind, cluster_id, body.labels,
                                   reviewer, note=body.note)


__all__ = ["router"]


@router.post("/items/{item_id}/media/unblur", status_code=204)
def unblur(item_id: int, request: Request, p: Principal = Depends(current)) -> None:
    """Record that the caller unblurred an item's media (the screen unblurs after this)."""
    from modops.store.audit import record

    with session_scope(engine_of(request), immediate=True) as s:
        policies.item_media(s, p, item_id)
        project_id = s.scalar(select(Item.project_id).where(Item.id == item_id))
        record(s, actor=s.get(User, p.id), action="media.unblur", entity="item",
               entity_id=item_id, project_id=project_id)
