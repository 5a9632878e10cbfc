"""The queue over HTTP: next task, submit, skip, flag; reviews and decisions; annotations.

Every handler asks ``policies`` first: a labeler can only touch a task leased to them, and
gets 404 for anything else, so ids cannot be probed.

The labelers' hot pair (next + submit) runs policy, domain call and JSON encoding in one
worker-thread hop and returns the encoded body: a sync handler with a response model costs
FastAPI a second hop (it validates the return value in the thread pool) plus that validation.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from modops import queue as q
from modops.api import policies, schemas
from modops.api.auth import Principal, current
from modops.api.deps import engine_of
from modops.domain import NotFound, PermissionDenied
from modops.store import session_scope

router = APIRouter(prefix="/api/v1", tags=["queue"])


def _json(body: bytes | str) -> Response:
    return Response(body, media_type="application/json")


def _lease_next(engine: Engine, p: Principal, key: str) -> Response:
    policies.project_id(engine, p, key, "task.work")
    view = q.next_task(engine, key, p.id)
    if view is None:
        return Response(status_code=204)
    policies.remember_lease(engine, view.task_id, p.id,
                            (view.lease_expires_at - view.leased_at).total_seconds())
    # What response_model=TaskOut would send (same fields, UTC times with Z), encoded once.
    return _json(schemas.TaskOut.model_validate(view).model_dump_json())


@router.post("/projects/{key}/tasks/next", response_model=schemas.TaskOut,
             responses={204: {"description": "nothing to do right now"}})
async def next_task(key: str, request: Request, p: Principal = Depends(current)) -> Response:
    """Lease the next task (or get back the one already leased); 204 when the queue is empty."""
    return await run_in_threadpool(_lease_next, engine_of(request), p, key)


@router.get("/tasks/{task_id}", response_model=schemas.TaskStateOut)
def get_task(task_id: int, request: Request,
             p: Principal = Depends(current)) -> schemas.TaskStateOut:
    with session_scope(engine_of(request)) as s:
        t = policies.task(s, p, task_id)
        return schemas.TaskStateOut(id=t.id, kind=policies.shown_kind(p, t.kind, t.assignee_id),
                                    state=t.state, item_id=t.item_id,
                                    lease_expires_at=t.lease_expires_at)


def _submit_answer(engine: Engine, p: Principal, task_id: int, body: schemas.SubmitIn) \
        -> Response:
    policies.own_leased_task(engine, p, task_id)
    try:
        result = q.submit(engine, task_id, p.id, body.labels, note=body.note)
    except PermissionDenied as exc:  # the lease ran out and went to someone else meanwhile
        raise NotFound(f"no task {task_id}") from exc
    finally:
        policies.forget_lease(engine, task_id)
    return _json(orjson.dumps(asdict(result)))


@router.post("/tasks/{task_id}/submit", response_model=dict[str, Any])
async def submit(task_id: int, body: schemas.SubmitIn, request: Request,
                 p: Principal = Depends(current)) -> Response:
    return await run_in_threadpool(_submit_answer, engine_of(request), p, task_id, body)


def _submit_and_lease(engine: Engine, p: Principal, key: str, task_id: int,
                      body: schemas.SubmitIn) -> Response:
    policies.project_id(engine, p, key, "task.work")
    policies.own_leased_task(engine, p, task_id)
    try:
        result, view = q.submit_and_next(engine, key, task_id, p.id, body.labels, note=body.note)
    except PermissionDenied as exc:  # the lease ran out and went to someone else meanwhile
        raise NotFound(f"no task {task_id}") from exc
    finally:
        policies.forget_lease(engine, task_id)
    if view is not None:
        policies.remember_lease(engine, view.task_id, p.id,
                                (view.lease_expires_at - view.leased_at).total_seconds())
    out = schemas.SubmitAndNextOut(
        submitted=schemas.SubmitResultOut.model_validate(asdict(result)),
        next=None if view is None else schemas.TaskOut.model_validate(view))
    return _json(out.model_dump_json())


@router.post("/projects/{key}/tasks/{task_id}/submit-and-next",
             response_model=schemas.SubmitAndNextOut)
async def submit_and_next(key: str, task_id: int, body: schemas.SubmitIn, request: Request,
                          p: Principal = Depends(current)) -> Response:
    """Submit the answer to a leased task and lease the next one of the project, in one request:
    a labeling client's loop at half the requests. ``next`` is null when the queue is empty."""
    return await run_in_threadpool(_submit_and_lease, engine_of(request), p, key, task_id, body)


@router.post("/tasks/{task_id}/skip", status_code=204)
def skip(task_id: int, request: Request, p: Principal = Depends(current),
         body: schemas.SkipIn | None = None) -> None:
    with session_scope(engine_of(request)) as s:
        policies.task(s, p, task_id, act=True)
    q.skip(engine_of(request), task_id, p.id, reason=body.reason if body else None)


@router.post("/tasks/{task_id}/flag", status_code=204)
def flag(task_id: int, request: Request, p: Principal = Depends(current),
         body: schemas.FlagIn | None = None) -> None:
    with session_scope(engine_of(request)) as s:
        policies.task(s, p, task_id, act=True)
    q.flag(engine_of(request), task_id, p.id, note=body.note if body else None)


@router.get("/annotations/{annotation_id}", response_model=schemas.AnnotationOut)
def get_annotation(annotation_id: int, request: Request,
                   p: Principal = Depends(current)) -> schemas.AnnotationOut:
    with session_scope(engine_of(request)) as s:
        a = policies.annotation(s, p, annotation_id)
        out = schemas.AnnotationOut.model_validate(a)
        out.kind = policies.shown_kind(p, a.kind, a.labeler_id)
        return out


@router.post("/projects/{key}/reviews/next", tags=["review"],
             responses={204: {"description": "no escalations, appeals or audits waiting"}})
def next_review(key: str, request: Request, p: Principal = Depends(current)) -> Any:
    """Lease the next escalation / appeal / audit with every label side by side."""
    policies.project_id(engine_of(request), p, key, "review.work")
    view = q.next_review(engine_of(request), key, p.id)
    if view is None:
        return Response(status_code=204)
    return asdict(view)


@router.post("/reviews/{task_id}/decide", tags=["review"])
def decide(task_id: int, body: schemas.SubmitIn, request: Request,
           p: Principal = Depends(current)) -> dict[str, Any]:
    """Decide an escalation (overturning labelers who differ), an audit, or an appeal."""
    with session_scope(engine_of(request)) as s:
        policies.require(p, "review.work")
        policies.task(s, p, task_id, act=True)
    return asdict(q.decide(engine_of(request), task_id, p.id, body.labels, note=body.note))


@router.post("/reviews/{task_id}/hand-back", status_code=204, tags=["review"])
def hand_back(task_id: int, request: Request, p: Principal = Depends(current)) -> None:
    with session_scope(engine_of(request)) as s:
        policies.require(p, "review.work")
        policies.task(s, p, task_id, act=True)
    q.hand_back(engine_of(request), task_id, p.id)
