"""The labeler's and the reviewer's screens (issue 20): label, history, review, appeals.

Thin views over the queue's use cases and the one policy layer, like ``modops.web.views``.

* A label task is leased when the labeler starts (``POST /label/{key}/start``) or answers the
  previous one, never by opening the page; leaving the page hands it back
  (``POST …/tasks/{id}/leave``, sent by ``app.js`` with ``navigator.sendBeacon``).
* A labeler's last answers can be changed while their item is undecided
  (``modops.queue.answers``, audited as ``label.edit``).
* Reviewers see the decision under review with the machine's score, model version and route,
  and uphold or overturn appeals explicitly; appeals are opened here too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from modops import queue as q
from modops.api import policies
from modops.api.auth import Principal, current
from modops.api.deps import engine_of
from modops.api.readmodels import labeler_stats
from modops.domain import ValidationError
from modops.privacy import mask_pii, project_kinds
from modops.projects import guidelines_for
from modops.queue.answers import answer_for_edit, edit_answer, recent_answers
from modops.store import session_scope
from modops.store.models import Appeal, Item, Task
from modops.web.views import _locale, _pretty, _safe_media, _seconds_left, env, render

router = APIRouter(include_in_schema=False)

DEFAULT_TZ = "Asia/Seoul"
# Command keys are never letters or digits (those are the labels'): KeyboardEvent.code values.
COMMAND_CODES = frozenset({"Enter", "Period", "Semicolon", "Slash", "Backspace", "Escape"})
REVIEW_QUEUES = ("review", "appeal", "audit")


# --- times in the project's time zone --------------------------------------------------------

def project_zone(settings: dict[str, Any] | None) -> ZoneInfo:
    try:
        return ZoneInfo(str((settings or {}).get("timezone") or DEFAULT_TZ))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def local_time(value: datetime | None, zone: ZoneInfo | None = None) -> str:
    """A stored UTC time as people read it: the project's zone, to the minute, zone named."""
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    local = aware.astimezone(zone or ZoneInfo(DEFAULT_TZ))
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


env.filters["local_time"] = local_time


# --- the label panel -------------------------------------------------------------------------

def shortcut_codes(shortcut: str | None) -> str:
    """The physical keys (``KeyboardEvent.code``) of a label's shortcut, so a Korean (or any)
    layout picks the same label: ``a`` → ``KeyA``, ``3`` → ``Digit3 Numpad3``."""
    if not shortcut or len(shortcut) != 1:
        return ""
    ch = shortcut.lower()
    if "a" <= ch <= "z":
        return "Key" + ch.upper()
    if ch.isdigit():
        return f"Digit{ch} Numpad{ch}"
    return ""


def label_groups(project: Any, locale: str) -> list[dict[str, Any]]:
    """The taxonomy as the panel shows it: each parent with its children beneath it."""
    rows: dict[str, dict[str, Any]] = {}
    groups: list[dict[str, Any]] = []
    for lab in project.taxonomy.labels:
        codes = shortcut_codes(lab.shortcut)
        row = {"key": lab.key, "name": lab.name_ko if locale == "ko" else lab.name_en,
               "other": lab.name_en if locale == "ko" else lab.name_ko,
               "shortcut": lab.shortcut if codes else None, "codes": codes,
               "action": lab.action, "description": getattr(lab, "description", None),
               "child": lab.parent_key is not None, "children": []}
        rows[lab.key] = row
        parent = rows.get(lab.parent_key) if lab.parent_key else None
        if parent is not None:
            parent["children"].append(row)
        else:
            groups.append(row)
    return groups


def flat_labels(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for g in groups:
        out.append(g)
        out.extend(flat_labels(g["children"]))
    return out


def label_guides(session: Any, project: Any, locale: str) -> dict[str, dict[str, Any]]:
    """Each label's definition and examples in ``locale`` (the side panel), by label key."""
    return {g.key: g.localized(locale) for g in guidelines_for(session, project) if not g.empty}


# --- labeling --------------------------------------------------------------------------------

def _label_context(request: Request, p: Principal, key: str) -> dict[str, Any]:
    with session_scope(engine_of(request)) as s:
        project = policies.project(s, p, key, "task.work")
        locale = _locale(request, p)
        groups = label_groups(project, locale)
        zone = project_zone(project.settings)
        feedback = (project.settings or {}).get("gold_feedback", "batched")
        flat = flat_labels(groups)
        return {"key": key, "project_name": project.name, "groups": groups, "labels": flat,
                "names": {x["key"]: x["name"] for x in flat},
                "multi": project.taxonomy.multi_label, "zone": zone,
                "stats": labeler_stats(s, p.id, include_today=feedback == "immediate"),
                "gold_feedback": feedback if feedback in ("immediate", "batched") else "batched",
                "guidelines": label_guides(s, project, locale)}


def _task_context(view: Any) -> dict[str, Any]:
    return {"task": view, "media": _safe_media(view.item.media_url) if view else None,
            "metadata": _pretty(view.item.metadata) if view else None,
            "seconds_left": _seconds_left(view) if view else 0}


@router.get("/label/{key}")
def label_page(key: str, request: Request, p: Principal = Depends(current)) -> Response:
    """Work in hand if the labeler holds a lease; otherwise a start button. Leases nothing."""
    ctx = _label_context(request, p, key)
    engine = engine_of(request)
    view = q.held_task(engine, key, p.id)
    history = recent_answers(engine, key, p.id)
    done = request.query_params.get("done", "")
    return render(request, "label.html", p, **ctx, **_task_context(view), history=history,
                  done=done if done.isdigit() else "",
                  empty=request.query_params.get("m") == "empty"
                  or request.query_params.get("more") == "0")


@router.post("/label/{key}/start")
def label_start(key: str, request: Request, p: Principal = Depends(current)) -> Response:
    with session_scope(engine_of(request)) as s:
        policies.project(s, p, key, "task.work")
    view = q.next_task(engine_of(request), key, p.id)
    return _see_other(f"/label/{key}" + ("" if view else "?m=empty"))


@router.get("/label/{key}/tasks/{task_id}")
def label_task_get(key: str, task_id: int, p: Principal = Depends(current)) -> Response:
    """Where a sign-in after an expired session lands (its ``next`` was the answer's POST):
    back to the labeling page, whose script then sends the kept answer."""
    return _see_other(f"/label/{quote(key)}")


@router.post("/label/{key}/tasks/{task_id}")
def label_act(key: str, task_id: int, request: Request, p: Principal = Depends(current),
              action: str = Form("submit"), labels: list[str] = Form(default_factory=list),
              note: str = Form("")) -> Response:
    engine = engine_of(request)
    with session_scope(engine) as s:
        policies.project(s, p, key, "task.work")
        policies.task(s, p, task_id, act=True)
    note_value = note.strip() or None
    if action == "skip":
        q.skip(engine, task_id, p.id, reason=note_value)
        flash = "skipped"
    elif action == "flag":
        q.flag(engine, task_id, p.id, note=note_value)
        flash = "flagged"
    elif action == "submit":
        q.submit(engine, task_id, p.id, labels, note=note_value)
        flash = "saved"
    else:
        raise ValidationError(f"unknown action {action!r}")
    # The labeler is at work: the next task is leased now (they answered, so they are here).
    more = q.next_task(engine, key, p.id) is not None
    return _see_other(f"/label/{key}?m={flash}&done={task_id}" + ("" if more else "&more=0"))


@router.post("/label/{key}/tasks/{task_id}/leave")
def label_leave(key: str, task_id: int, request: Request,
                p: Principal = Depends(current)) -> Response:
    """The labeler left the page: the task goes back to the queue (idempotent, 204)."""
    with session_scope(engine_of(request)) as s:
        policies.project(s, p, key, "task.work")
    q.leave(engine_of(request), task_id, p.id)
    return Response(status_code=204)


@router.get("/label/{key}/answers/{annotation_id}")
def answer_page(key: str, annotation_id: int, request: Request,
                p: Principal = Depends(current)) -> Response:
    ctx = _label_context(request, p, key)
    view, given, editable = answer_for_edit(engine_of(request), key, annotation_id, p.id)
    return render(request, "answer.html", p, **ctx, task=view, given=given, editable=editable,
                  past_answer=True,
                  annotation_id=annotation_id, media=_safe_media(view.item.media_url),
                  metadata=_pretty(view.item.metadata))


@router.post("/label/{key}/answers/{annotation_id}")
def answer_edit(key: str, annotation_id: int, request: Request,
                p: Principal = Depends(current),
                labels: list[str] = Form(default_factory=list)) -> Response:
    engine = engine_of(request)
    with session_scope(engine) as s:
        project = policies.project(s, p, key, "task.work")
        project_id = project.id
    edit_answer(engine, annotation_id, p.id, labels, project_id=project_id)
    q.next_task(engine, key, p.id)  # back at work: the task in hand, or the next one
    return _see_other(f"/label/{key}?m=edited")


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- review ----------------------------------------------------------------------------------

def queue_counts(session: Any, project_id: int) -> dict[str, int]:
    """Open (or in-hand) reviews, appeals and audits of the project."""
    rows = session.execute(
        select(Task.kind, func.count()).where(
            Task.project_id == project_id, Task.kind.in_(REVIEW_QUEUES),
            Task.state.in_(("open", "leased"))).group_by(Task.kind)).all()
    counts = dict.fromkeys(REVIEW_QUEUES, 0)
    counts.update({kind: int(n) for kind, n in rows})
    return counts


def _review_context(request: Request, p: Principal, key: str) -> dict[str, Any]:
    with session_scope(engine_of(request)) as s:
        project = policies.project(s, p, key, "review.work")
        locale = _locale(request, p)
        groups = label_groups(project, locale)
        return {"guidelines": label_guides(s, project, locale), "key": key,
                "project_name": project.name, "groups": groups,
                "labels": flat_labels(groups),
                "names": {x["key"]: x["name"] for x in flat_labels(groups)},
                "multi": project.taxonomy.multi_label, "zone": project_zone(project.settings),
                "counts": queue_counts(s, project.id)}


def _render_review(request: Request, p: Principal, ctx: dict[str, Any], view: Any,
                   kind: str | None) -> Response:
    outcome = request.query_params.get("outcome", "")
    from modops.web.author_panel import panel_for

    return render(request, "review.html", p, **ctx, **_task_context(view), kind=kind,
                  reviewing=True, outcome=outcome,
                  author=panel_for(engine_of(request), view))


@router.get("/review/{key}")
def review_page(key: str, request: Request, p: Principal = Depends(current),
                kind: str | None = None) -> Response:
    ctx = _review_context(request, p, key)
    kind = kind if kind in REVIEW_QUEUES else None
    view = q.next_review(engine_of(request), key, p.id,
                         kinds=(kind,) if kind else tuple(REVIEW_QUEUES))
    return _render_review(request, p, ctx, view, kind)


@router.get("/review/{key}/tasks/{task_id}")
def review_task(key: str, task_id: int, request: Request,
                p: Principal = Depends(current)) -> Response:
    """One chosen task from a list (a clicked row): leased to this reviewer if still open."""
    ctx = _review_context(request, p, key)
    view = q.next_review(engine_of(request), key, p.id, task_id=task_id)
    if view is None:
        return _see_other(f"/review/{key}/appeals?m=taken")
    return _render_review(request, p, ctx, view, view.kind)


def _review_labels(action: str, labels: list[str], current: list[str] | None) -> list[str]:
    """Uphold keeps the decision's labels; overturn must change them."""
    if action == "uphold":
        if not current:
            raise ValidationError("there is no decision to uphold")
        return list(current)
    if action == "overturn" and current is not None and sorted(labels) == sorted(current):
        raise ValidationError("to overturn, pick labels different from the decision's")
    return labels


@router.post("/review/{key}/tasks/{task_id}")
def review_act(key: str, task_id: int, request: Request, p: Principal = Depends(current),
               action: str = Form("decide"), labels: list[str] = Form(default_factory=list),
               note: str = Form(""), kind: str = Form("")) -> Response:
    engine = engine_of(request)
    with session_scope(engine) as s:
        policies.project(s, p, key, "review.work")
        policies.task(s, p, task_id, act=True)
        current_labels = s.scalar(select(Item.final_labels).join(
            Task, Task.item_id == Item.id).where(Task.id == task_id))
    back = f"/review/{key}" + (f"?kind={quote(kind)}&" if kind in REVIEW_QUEUES else "?")
    if action == "hand_back":
        q.hand_back(engine, task_id, p.id)
        return _see_other(f"/review/{key}")
    chosen = _review_labels(action, labels, current_labels)
    result = q.decide(engine, task_id, p.id, chosen, note=note.strip() or None)
    outcome = result.appeal_outcome or "decided"
    return _see_other(back + f"m=decided&outcome={outcome}")


# --- appeals ---------------------------------------------------------------------------------

@router.get("/review/{key}/appeals")
def appeals_page(key: str, request: Request, p: Principal = Depends(current)) -> Response:
    ctx = _review_context(request, p, key)
    with session_scope(engine_of(request)) as s:
        project = policies.project(s, p, key, "review.work")
        rows = s.execute(
            select(Appeal, Item.external_id, Item.comment, Item.title, Item.text,
                   Task.id.label("task_id"))
            .join(Item, Item.id == Appeal.item_id)
            .outerjoin(Task, (Task.item_id == Appeal.item_id) & (Task.kind == "appeal")
                       & Task.state.in_(("open", "leased")))
            .where(Appeal.project_id == project.id, Appeal.state == "open")
            .order_by(Appeal.opened_at).limit(200)).all()
        kinds = project_kinds(project.settings)  # the preview is item text: masked like it
        appeals = [{"id": a.id, "external_id": ext, "task_id": task_id,
                    "preview": (mask_pii(c or t or x or "", kinds) or "")[:140],
                    "opened_by": a.opened_by, "reason": mask_pii(a.reason, kinds),
                    "opened_at": a.opened_at}
                   for a, ext, c, t, x, task_id in rows]
    return render(request, "appeals.html", p, **ctx, appeals=appeals, reviewing=True,
                  opened=request.query_params.get("opened", ""),
                  can_open=p.at_least(policies.ACTION_ROLE["appeal.open"]))


@router.post("/review/{key}/appeals")
def appeal_open(key: str, request: Request, p: Principal = Depends(current),
                external_id: str = Form(""), reason: str = Form("")) -> Response:
    """Open an appeal against an item's decision (e.g. the creator disputes a removal)."""
    with session_scope(engine_of(request)) as s:
        policies.project(s, p, key, "appeal.open")
    if not external_id.strip():
        raise ValidationError("an appeal needs the content's id")
    appeal_id = q.open_appeal(engine_of(request), key, external_id.strip(),
                              opened_by=p.username, reason=reason.strip() or None)
    return _see_other(f"/review/{key}/appeals?m=opened&opened={appeal_id}")
