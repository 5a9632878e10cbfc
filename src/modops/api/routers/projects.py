"""Projects: list, create, settings (audited), summary and dashboard, items, import, export."""

from __future__ import annotations

import io
import json
import queue
import re
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, UploadFile
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from modops.api import policies, schemas
from modops.api.auth import Principal, current
from modops.api.deps import engine_of, settings_of
from modops.api.readmodels import dashboard
from modops.domain import ValidationError
from modops.io import EXPORT_FORMATS, FORMATS, ImportFailed, export_project
from modops.privacy import mask_item_fields, project_kinds
from modops.projects import (
    change_taxonomy,
    create_project,
    project_settings,
    taxonomy_history,
    update_project,
)
from modops.projects.summary import summarize
from modops.store import session_scope
from modops.store.models import Item, Project, User

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])


def project_out(p: Project) -> schemas.ProjectOut:
    return schemas.ProjectOut(
        key=p.key, name=p.name, description=p.description, status=p.status,
        products=[x.key for x in p.products],
        taxonomy=f"{p.taxonomy.key} v{p.taxonomy.version}", multi_label=p.taxonomy.multi_label,
        labels=[schemas.LabelOut(key=lab.key, parent_key=lab.parent_key, name_ko=lab.name_ko,
                                 name_en=lab.name_en, action=lab.action, shortcut=lab.shortcut)
                for lab in p.taxonomy.labels])


def item_detail(it: Item, proj: Project) -> schemas.ItemDetailOut:
    """An item as the API shows it: personal data masked for every caller (the project's
    ``pii_mask`` kinds); the original only through the audited ``POST /items/{id}/unmask``."""
    # the schema's fields are the spec's shown fields (tests/io/test_field_spec.py); the ORM
    # names metadata ``meta`` (``metadata`` is SQLAlchemy's) and holds the product's id
    values = {name: getattr(it, "meta" if name == "metadata" else name)
              for name in schemas.ItemDetailOut.model_fields if name != "product"}
    out = schemas.ItemDetailOut(product=it.product.key if it.product else None, **values)
    mask_item_fields(out, project_kinds(proj.settings))
    return out


@router.get("", response_model=list[schemas.ProjectOut])
def list_(request: Request, p: Principal = Depends(current)) -> list[schemas.ProjectOut]:
    """The projects the caller may work on (labelers: those open to their team)."""
    with session_scope(engine_of(request)) as s:
        from modops.projects import get_project

        return [project_out(get_project(s, x.id)) for x in policies.visible_projects(s, p)]


@router.post("", response_model=schemas.ProjectOut, status_code=201)
def create(spec: dict[str, Any], request: Request,
           p: Principal = Depends(current)) -> schemas.ProjectOut:
    """Create a project from a spec (the same mapping as examples/kr-comments.yaml)."""
    policies.require(p, "project.create")
    with session_scope(engine_of(request)) as s:
        proj = create_project(s, spec, actor=s.get(User, p.id))
        return project_out(proj)


@router.get("/{key}", response_model=schemas.ProjectOut)
def get(key: str, request: Request, p: Principal = Depends(current)) -> schemas.ProjectOut:
    with session_scope(engine_of(request)) as s:
        return project_out(policies.project(s, p, key, "project.read"))


@router.get("/{key}/settings", response_model=schemas.ProjectSettingsOut)
def get_settings(key: str, request: Request,
                 p: Principal = Depends(current)) -> schemas.ProjectSettingsOut:
    with session_scope(engine_of(request)) as s:
        proj = policies.project(s, p, key, "project.manage")
        return schemas.ProjectSettingsOut(key=proj.key, settings=project_settings(proj))


@router.patch("/{key}/settings", response_model=schemas.ProjectSettingsOut)
def patch_settings(key: str, body: schemas.SettingsIn, request: Request,
                   p: Principal = Depends(current)) -> schemas.ProjectSettingsOut:
    """Change any subset of settings atomically; the audit log records exactly what changed."""
    changes = body.model_dump()
    with session_scope(engine_of(request)) as s:
        proj = policies.project(s, p, key, "project.manage")
        update_project(s, proj, changes, actor=s.get(User, p.id))
        return schemas.ProjectSettingsOut(key=proj.key, settings=project_settings(proj))


@router.put("/{key}/taxonomy")
def put_taxonomy(key: str, body: schemas.TaxonomyChangeIn, request: Request,
                 p: Principal = Depends(current)) -> dict[str, Any]:
    """Move the live project to a new taxonomy version with a mapping of old labels to new
    ones (every dropped label mapped) and the guideline note; answers of undecided items and
    gold answers are relabeled, decided items keep theirs. Audited; kept in the history."""
    with session_scope(engine_of(request)) as s:
        proj = policies.project(s, p, key, "project.manage")
        ch = change_taxonomy(s, proj, body.taxonomy, body.mapping, s.get(User, p.id),
                             body.note)
        return {"project": key, "relabeled": ch.relabeled_annotations,
                "history": taxonomy_history(s, key)}


@router.get("/{key}/taxonomy/history")
def get_taxonomy_history(key: str, request: Request,
                         p: Principal = Depends(current)) -> list[dict[str, Any]]:
    """Every taxonomy change of the project, oldest first, with its mapping and note."""
    with session_scope(engine_of(request)) as s:
        policies.project(s, p, key, "project.manage")
        return taxonomy_history(s, key)


@router.get("/{key}/summary", response_model=schemas.SummaryOut)
def summary(key: str, request: Request, p: Principal = Depends(current)) -> schemas.SummaryOut:
    with session_scope(engine_of(request)) as s:
        policies.project(s, p, key, "project.stats")
    sm = summarize(engine_of(request), key)
    return schemas.SummaryOut(key=sm.key, name=sm.name, items=sm.items, by_state=sm.by_state,
                              by_route=sm.by_route, annotations=sm.annotations,
                              labelers=sm.labelers, decisions_by_action=sm.decisions_by_action,
                              top_labels=[schemas.LabelCount(label=k, count=n)
                                          for k, n in sm.top_labels])


@router.get("/{key}/dashboard")
def project_dashboard(key: str, request: Request,
                      p: Principal = Depends(current)) -> dict[str, Any]:
    """Progress, backlog, SLA attainment and hourly throughput (last 24 h)."""
    with session_scope(engine_of(request)) as s:
        proj = policies.project(s, p, key, "project.stats")
        return dashboard(s, proj).as_dict()


@router.get("/{key}/items", response_model=list[schemas.ItemDetailOut])
def items(key: str, request: Request, p: Principal = Depends(current),
          after: int = Query(0, ge=0, description="keyset cursor: last id of the previous page"),
          limit: int = Query(100, ge=1, le=1000),
          state: str | None = None) -> list[schemas.ItemDetailOut]:
    with session_scope(engine_of(request)) as s:
        proj = policies.project(s, p, key, "item.read")
        q = select(Item).where(Item.project_id == proj.id, Item.id > after)
        if state:
            q = q.where(Item.state == state)
        return [item_detail(it, proj) for it in s.scalars(q.order_by(Item.id).limit(limit))]


@router.get("/{key}/items/{external_id}", response_model=schemas.ItemDetailOut)
def item_by_external(key: str, external_id: str, request: Request,
                     p: Principal = Depends(current)) -> schemas.ItemDetailOut:
    from modops.domain import NotFound

    with session_scope(engine_of(request)) as s:
        proj = policies.project(s, p, key, "item.read")
        it = s.scalar(select(Item).where(Item.project_id == proj.id,
                                         Item.external_id == external_id))
        if it is None:
            raise NotFound(f"no item {external_id!r} in project {key}")
        return item_detail(it, proj)


def _run_import(request: Request, key: str, path: Path, fmt: str | None,
                actor: str, shown_name: str) -> schemas.ImportOut:
    from modops.queue import ingest_file

    try:
        report = ingest_file(engine_of(request), key, path, fmt, actor=actor)
    except ImportFailed as exc:  # say the uploaded name, not our temp path
        raise ImportFailed([e.replace(str(path), shown_name) for e in exc.errors],
                           exc.more) from None
    return schemas.ImportOut(inserted=report.inserted, skipped_existing=report.skipped_existing,
                             rows=report.rows, annotations=report.annotations,
                             decisions=report.decisions)


@router.post("/{key}/import", response_model=schemas.ImportOut)
def import_upload(key: str, file: UploadFile, request: Request,
                  p: Principal = Depends(current),
                  format: str | None = Query(None, description=", ".join(FORMATS))
                  ) -> schemas.ImportOut:
    """Upload a JSONL/CSV/Parquet/Label Studio file. All-or-nothing; errors say FILE:LINE."""
    with session_scope(engine_of(request)) as s:
        policies.project(s, p, key, "project.manage")
    limit = settings_of(request).max_upload_bytes
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(file.filename or "upload.jsonl").name)[:100]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        size = 0
        with path.open("wb") as f:
            while chunk := file.file.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise ValidationError(f"upload larger than {limit:,} bytes")
                f.write(chunk)
        return _run_import(request, key, path, format, p.username, name)


def _jsonl_line(row: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(row) + b"\n"
    except orjson.JSONEncodeError:  # JSON allows integers beyond 64 bits: the validator
        return json.dumps(row, ensure_ascii=False).encode() + b"\n"  # names them, FILE:LINE


@router.post("/{key}/items", response_model=schemas.ImportOut)
def push_items(key: str, rows: list[dict[str, Any]], request: Request,
               p: Principal = Depends(current)) -> schemas.ImportOut:
    """Push items as JSON (the JSONL row format); same validation as a file import."""
    with session_scope(engine_of(request)) as s:
        policies.project(s, p, key, "project.manage")
    if len(rows) > 50_000:
        raise ValidationError("push at most 50,000 items per request; upload a file for more")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "request.jsonl"
        path.write_bytes(b"".join(_jsonl_line(r) for r in rows))
        return _run_import(request, key, path, "jsonl", p.username, "request")


class _Pipe(io.RawIOBase):
    """A write-only binary stream feeding a bounded queue (back-pressure on the exporter)."""

    def __init__(self) -> None:
        super().__init__()
        self.q: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=32)
        self.cancelled = False
        self.pos = 0
        self._buf = bytearray()

    def write(self, data: Any) -> int:
        if self.cancelled:
            raise BrokenPipeError("client went away")
        self._buf += data
        self.pos += len(data)
        if len(self._buf) >= 1 << 16:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self._buf:
            self.q.put(bytes(self._buf))
            self._buf.clear()

    def close(self) -> None:  # writers may close their wrapper; the stream ends at put(None)
        self.flush()

    def tell(self) -> int:
        return self.pos

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False


MEDIA = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8",
         "parquet": "application/vnd.apache.parquet", "labelstudio": "application/json"}
EXT = {"jsonl": "jsonl", "csv": "csv", "parquet": "parquet", "labelstudio": "json"}
# What the spec promises: a download in one of the formats' media types, not a JSON body.
EXPORT_CONTENT = {m.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
                  for m in MEDIA.values()}


@router.get("/{key}/export", response_class=StreamingResponse,
            responses={200: {"description": "the export file", "content": EXPORT_CONTENT}})
def export(key: str, request: Request, p: Principal = Depends(current),
           format: str = Query("jsonl", description=", ".join(EXPORT_FORMATS))
           ) -> StreamingResponse:
    """Stream the whole project (items, annotations, decisions) while it is being read."""
    with session_scope(engine_of(request)) as s:
        policies.project(s, p, key, "project.manage")
    if format not in EXPORT_FORMATS:
        raise ValidationError(f"unknown format {format!r}; use one of {', '.join(EXPORT_FORMATS)}")
    engine = engine_of(request)
    pipe = _Pipe()

    def produce() -> None:
        try:
            export_project(engine, key, format, pipe)  # type: ignore[arg-type]
            pipe.flush()
            pipe.q.put(None)
        except BaseException as exc:  # surfaces as a truncated (failed) download
            pipe.q.put(exc)

    def chunks() -> Iterator[bytes]:
        worker = threading.Thread(target=produce, name=f"export-{key}", daemon=True)
        worker.start()
        try:
            while True:
                chunk = pipe.q.get()
                if chunk is None:
                    return
                if isinstance(chunk, BaseException):
                    raise chunk
                yield chunk
        finally:
            pipe.cancelled = True
            while worker.is_alive():  # unblock a producer stuck on a full queue
                try:
                    pipe.q.get_nowait()
                except queue.Empty:
                    worker.join(0.05)

    filename = f"{key}.{EXT[format]}"
    return StreamingResponse(chunks(), media_type=MEDIA[format],
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/{key}/appeals", status_code=201, tags=["review"])
def open_appeal(key: str, body: schemas.AppealIn, request: Request,
                p: Principal = Depends(current)) -> dict[str, int]:
    """Re-open a decided item for senior review (from a manager or an integrating system)."""
    from modops import queue as q

    with session_scope(engine_of(request)) as s:
        policies.project(s, p, key, "project.manage")
    appeal_id = q.open_appeal(engine_of(request), key, body.external_id,
                              opened_by=body.opened_by, reason=body.reason)
    return {"appeal_id": appeal_id}
