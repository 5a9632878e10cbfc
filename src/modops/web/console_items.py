"""The manager's investigation pages: item search, one item's whole history, alert triage.

Items: search by external id, text, final label, state and ingest day (KST), keyset pages of
50; the item page shows routing (machine score, thresholds, model version, reason), tasks,
answers, decisions, appeals and the audit entries about any of them. Text is masked like
everywhere else (``modops.privacy``); unmasking stays the audited API call.

Alerts: acknowledge, assign, snooze and resolve, each audited (``modops.notify.alerts``).
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from modops.api import policies
from modops.api.auth import Principal, current
from modops.api.deps import engine_of
from modops.domain import ItemState, NotFound, Role, ValidationError
from modops.domain.fields import TEXT_FIELDS
from modops.notify import alerts as alert_ops
from modops.privacy import mask_pii, project_kinds
from modops.queue.history import PAGE, ItemQuery, item_history, search_items
from modops.store import session_scope
from modops.store.models import Item
from modops.web.console_admin import _day, kst
from modops.web.views import _locale, env, render

router = APIRouter(include_in_schema=False)

ITEM_FILTERS = ("q", "ext", "label", "state", "since", "until")


def _preview(item: Item, kinds: tuple[str, ...]) -> str:
    for name in TEXT_FIELDS:
        value = getattr(item, name)
        if value:
            return (mask_pii(value, kinds) or "")[:160]
    return ""


def _label_names(project: Any, locale: str) -> dict[str, str]:
    return {lab.key: lab.name_ko if locale == "ko" else lab.name_en
            for lab in project.taxonomy.labels}


def _item_row(it: Item, kinds: tuple[str, ...]) -> dict[str, Any]:
    return {"id": it.id, "external_id": it.external_id, "state": it.state, "route": it.route,
            "score": it.machine_score, "labels": it.final_labels or [],
            "ingested_at": kst(it.ingested_at), "decided_at": kst(it.decided_at),
            "preview": _preview(it, kinds)}


@router.get("/manage/{key}/items")
def items_page(key: str, request: Request, p: Principal = Depends(current)) -> Response:
    """Find items: external id (``abc*`` for a prefix), text, final label, state, KST days."""
    params = {k: request.query_params.get(k, "").strip() for k in ITEM_FILTERS}
    raw_before = request.query_params.get("before", "")
    before = int(raw_before) if raw_before.isdigit() else None
    query = ItemQuery(text=params["q"] or None, external_id=params["ext"] or None,
                      label=params["label"] or None, state=params["state"] or None,
                      since=_day(params["since"]), until=_day(params["until"], end=True))
    with session_scope(engine_of(request), immediate=False) as s:
        project = policies.project(s, p, key, "item.read")
        kinds = project_kinds(project.settings)
        found = search_items(s, project.id, query, before=before, limit=PAGE + 1)
        rows = [_item_row(it, kinds) for it in found[:PAGE]]
        names = _label_names(project, _locale(request, p))
        name = project.name
    shown = {k: v for k, v in params.items() if v}
    more = len(found) > PAGE
    return render(request, "console/items.html", p, key=key, project_name=name, items=rows,
                  params=params, names=names, states=[s.value for s in ItemState],
                  searched=bool(shown),
                  next_url=f"/manage/{key}/items?{urlencode({**shown, 'before': rows[-1]['id']})}"
                  if more else None,
                  first_url=f"/manage/{key}/items?{urlencode(shown)}" if before else None)


def _json(value: Any) -> str:
    if value in (None, {}, []):
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _facts(h: Any, kinds: tuple[str, ...], show_gold: bool) -> dict[str, Any]:
    it = h.item
    return {
        "id": it.id, "external_id": it.external_id, "product": h.product, "state": it.state,
        "route": it.route, "score": it.machine_score, "model_version": it.model_version,
        "priority": it.priority, "gold": it.is_gold and show_gold,
        "final_labels": it.final_labels or [], "final_action": it.final_action,
        "created_at": kst(it.created_at), "ingested_at": kst(it.ingested_at),
        "decided_at": kst(it.decided_at), "due_at": kst(it.due_at), "views": it.view_count,
        "texts": [(f, mask_pii(getattr(it, f), kinds)) for f in TEXT_FIELDS if getattr(it, f)]}


def _kind(kind: str, show_gold: bool) -> str:
    """Gold stays unnamed for whoever may not tell it apart (``policies.shown_kind``)."""
    return kind if show_gold or kind != "gold" else "label"


def _answer(h: Any, a: Any, kinds: tuple[str, ...], show_gold: bool) -> dict[str, Any]:
    return {"id": a.id, "who": h.who(a.labeler_id), "kind": _kind(a.kind, show_gold),
            "labels": a.labels, "note": mask_pii(a.note, kinds), "flagged": a.flagged,
            "handle_s": None if a.handle_ms is None else round(a.handle_ms / 1000),
            "correct": a.correct if show_gold else None, "overturned": a.overturned,
            "at": kst(a.submitted_at)}


def _history_view(h: Any, kinds: tuple[str, ...], show_gold: bool) -> dict[str, Any]:
    return {
        **_facts(h, kinds, show_gold),
        "routing": [{"at": kst(r.decided_at), "route": r.route, "score": r.score,
                     "action_at": r.auto_action_threshold, "clear_at": r.auto_clear_threshold,
                     "model": r.model_version, "reason": r.reason, "audit": r.audit_sampled}
                    for r in h.routing],
        "tasks": [{"id": t.id, "kind": _kind(t.kind, show_gold), "state": t.state,
                   "slot": t.slot, "who": h.who(t.assignee_id), "created_at": kst(t.created_at),
                   "done_at": kst(t.done_at)} for t in h.tasks],
        "answers": [_answer(h, a, kinds, show_gold) for a in h.answers],
        "decisions": [{"id": d.id, "labels": d.labels, "action": d.action, "source": d.source,
                       "who": h.who(d.decided_by_id), "at": kst(d.decided_at),
                       "current": d.current, "basis": _json(d.basis)} for d in h.decisions],
        "appeals": [{"id": a.id, "opened_by": a.opened_by, "reason": mask_pii(a.reason, kinds),
                     "state": a.state, "outcome": a.outcome_labels or [],
                     "who": h.who(a.resolved_by_id), "opened_at": kst(a.opened_at),
                     "resolved_at": kst(a.resolved_at)} for a in h.appeals],
        "audit": [{"id": e.id, "at": kst(e.at), "actor": e.actor, "action": e.action,
                   "entity": e.entity, "entity_id": e.entity_id, "after": _json(e.after)}
                  for e in h.audit],
    }


@router.get("/manage/{key}/items/{item_id}")
def item_page(key: str, item_id: int, request: Request,
              p: Principal = Depends(current)) -> Response:
    """Everything that happened to one item, in order."""
    with session_scope(engine_of(request), immediate=False) as s:
        project = policies.project(s, p, key, "item.read")
        it = s.get(Item, item_id)
        if it is None or it.project_id != project.id:
            raise NotFound(f"no item {item_id}")
        view = _history_view(item_history(s, it), project_kinds(project.settings),
                             show_gold=p.at_least(Role.MANAGER))
        names = _label_names(project, _locale(request, p))
        name = project.name
    return render(request, "console/item.html", p, key=key, project_name=name, item=view,
                  names=names, is_admin=p.at_least(Role.ADMIN))


# --- alert triage ----------------------------------------------------------------------------

ALERT_ACTIONS = ("acknowledge", "assign", "snooze", "resolve")
NOTICE_OF = {"acknowledge": "acknowledged", "assign": "assigned", "snooze": "snoozed",
             "resolve": "resolved"}


@router.post("/manage/{key}/alerts/{alert_id}/{action}")
def alert_act(key: str, alert_id: int, action: str, request: Request,
              p: Principal = Depends(current), assignee: str = Form(""),
              hours: str = Form("")) -> Response:
    """Acknowledge / assign / snooze (hours) / resolve one alert episode; audited."""
    if action not in ALERT_ACTIONS:
        raise NotFound(f"no alert action {action!r}")
    with session_scope(engine_of(request)) as s:
        project = policies.project(s, p, key, "project.analytics")
        if action == "acknowledge":
            alert_ops.acknowledge(s, project, alert_id, p.username)
        elif action == "assign":
            alert_ops.assign(s, project, alert_id, assignee.strip() or p.username, p.username)
        elif action == "snooze":
            try:
                span = timedelta(hours=float(hours or 4))
            except ValueError:
                raise ValidationError("snooze hours must be a number") from None
            alert_ops.snooze(s, project, alert_id, span, p.username)
        else:
            alert_ops.resolve(s, project, alert_id, p.username)
    back = f"/manage/{key}/analytics/alerts?m={NOTICE_OF[action]}#alert-{alert_id}"
    return RedirectResponse(back, status_code=303)


def alert_items_url(key: str, rule: str, subject: str | None) -> str | None:
    """The item search that shows what an alert is about (None: a rate with no item list)."""
    base = f"/manage/{key}/items?"
    if rule == "label_spike" and subject:
        return base + urlencode({"label": subject})
    if rule == "keyword_burst" and subject:
        return base + urlencode({"q": subject})
    if rule in ("backlog_past_sla", "backlog_forecast_breach"):
        return base + urlencode({"state": ItemState.QUEUED.value})
    if rule == "model_drift":
        return base + urlencode({"state": ItemState.DECIDED.value})
    return None


def alert_message(rec: Any, locale: str) -> str:
    """The stored message in the page's language; an episode stored before its catalogue
    entry existed holds the bare key, which is rendered now (or the rule's name)."""
    from modops.i18n import has, tr

    text = rec.message_ko if locale == "ko" else rec.message_en
    if not text or not text.startswith("alert.") or " " in text:
        return str(text)
    try:
        return tr(locale, text, **(rec.stats or {})) if has(text) else tr(
            locale, f"alert.rule.{rec.rule}")
    except (KeyError, IndexError, ValueError):
        return tr(locale, f"alert.rule.{rec.rule}")


def alert_rows(records: list[Any], key: str, locale: str) -> list[dict[str, Any]]:
    """The alerts tab's rows: severity-sorted episodes with triage state and item links."""
    from modops.store import utcnow

    now = utcnow()
    return [{"id": r.id, "rule": r.rule, "severity": r.severity, "subject": r.subject,
             "message": alert_message(r, locale), "observed": r.observed,
             "expected": r.expected, "threshold": r.threshold,
             "first_seen_at": kst(r.first_seen_at), "last_seen_at": kst(r.last_seen_at),
             "times_seen": r.times_seen, "resolved": r.resolved_at is not None,
             "resolved_by": r.resolved_by, "acknowledged_by": r.acknowledged_by,
             "assigned_to": r.assigned_to,
             "snoozed_until": kst(r.snoozed_until) if r.snoozed_until and r.snoozed_until > now
             else None, "affected": r.affected_items,
             "items_url": alert_items_url(key, r.rule, r.subject)} for r in records]


def num(value: float | None) -> str:
    """A number as people read it: whole numbers without decimals, rates with three."""
    if value is None:
        return "—"
    if not math.isfinite(value):
        return "∞" if value > 0 else ("-∞" if value < 0 else "—")
    if value == int(value) or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 1 else f"{value:.3f}"


env.globals["num"] = num


# --- per-labeler scorecard -------------------------------------------------------------------

def _card(c: Any) -> dict[str, Any]:
    def share(x: float) -> float | None:
        return None if math.isnan(x) else x

    return {"who": c.key, "volume": c.volume,
            "handle_median": share(c.handle_time_median_s),
            "handle_p90": share(c.handle_time_p90_s),
            "gold_n": c.gold_n, "gold_correct": c.gold_correct, "gold": share(c.gold_accuracy),
            "gold_low": share(c.gold_ci_low), "gold_high": share(c.gold_ci_high),
            "agree_n": c.consensus_n, "agree": share(c.consensus_agreement),
            "escalated": c.escalated_n, "overturned": c.overturned_n,
            "overturn_rate": share(c.overturn_rate)}


@router.get("/manage/{key}/analytics/scorecard")
def scorecard_page(key: str, request: Request, p: Principal = Depends(current),
                   period: str | None = None, kind: str | None = None,
                   product: str | None = None) -> Response:
    """Per labeler: volume, handle time, gold accuracy with its Wilson interval, agreement
    with the final decision, overturns; for the period picked."""
    from modops.analytics.scorecards import labeler_scorecard
    from modops.web.dashboards import PAGES, _context, _page

    ctx = _context(request, p, key, "scorecard", period, kind, product)
    ctx["pages"] = (*PAGES, "scorecard")
    with session_scope(engine_of(request), immediate=False) as s:
        project_id = policies.project(s, p, key, "project.analytics").id
    per = ctx["period"]
    cards = [_card(c) for c in labeler_scorecard(engine_of(request), project_id, per.start,
                                                  per.end)]
    return _page(request, p, "scorecard.html", ctx, cards=cards)
