"""Analytics JSON API: the dashboard's numbers for other systems.

Every endpoint authorizes (``project.analytics`` in the one policy layer: managers of the
project and admins) and returns a builder of :mod:`modops.analytics.readmodels`, the same
builders the web dashboard (``modops.web.dashboards``) renders, so a number on a page and in
the API can never disagree.

Periods are ``2026-11-20`` (day), ``2026-W47`` (ISO week) or ``2026-11`` (month), default the
current ISO week; ``now`` (naive UTC ISO time) pins "as of" for reproducible reads.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from modops import analytics as an
from modops.analytics.dsa import dsa_export
from modops.analytics.readmodels import (
    as_of,
    check_product,
    label_series,
    machine,
    overview,
    parse_period,
    plain_object,
    quality,
    staffing,
)
from modops.api import policies
from modops.api.auth import Principal, current
from modops.api.deps import engine_of
from modops.notify.alerts import alert_out, evaluate_and_record, stored_alerts
from modops.store import session_scope
from modops.store.models import Project

router = APIRouter(prefix="/api/v1/projects", tags=["analytics"])
CSV_CONTENT = {"text/csv": {"schema": {"type": "string"}}}


def project_for(session: Session, principal: Principal, key: str) -> Project:
    return policies.project(session, principal, key, "project.analytics")


# --------------------------------------------------------------------------- routes
@router.get("/{key}/metrics")
def metrics_api(key: str, request: Request, p: Principal = Depends(current),
                period: str | None = None, kind: str | None = None,
                product: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Every metric of the period (value, numerator, denominator, interval, unit,
    methodology version) with the delta to the period before and KPI sparklines."""
    engine = engine_of(request)
    at = as_of(now)
    with session_scope(engine) as s:
        product = check_product(project_for(s, p, key), product)
    return overview(engine, key, parse_period(period, kind, at), product, at)


@router.get("/{key}/metrics/labels")
def label_series_api(key: str, request: Request, p: Principal = Depends(current),
                     period: str | None = None, kind: str | None = None,
                     product: str | None = None, now: datetime | None = None
                     ) -> dict[str, Any]:
    """Items decided per day per final policy label."""
    engine = engine_of(request)
    with session_scope(engine) as s:
        product = check_product(project_for(s, p, key), product)
    return label_series(engine, key, parse_period(period, kind, as_of(now)), product)


@router.get("/{key}/metrics/quality")
def quality_api(key: str, request: Request, p: Principal = Depends(current),
                period: str | None = None, kind: str | None = None,
                product: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Gold accuracy by labeler, agreement, audit error, team scorecards."""
    engine = engine_of(request)
    at = as_of(now)
    with session_scope(engine) as s:
        project = project_for(s, p, key)
        product = check_product(project, product)
        return quality(engine, s, project, parse_period(period, kind, at), product, at)


@router.get("/{key}/metrics/machine")
def machine_api(key: str, request: Request, p: Principal = Depends(current),
                period: str | None = None, kind: str | None = None,
                product: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Model precision/recall/F1 against final human labels, auto-action precision,
    automated share."""
    engine = engine_of(request)
    at = as_of(now)
    with session_scope(engine) as s:
        product = check_product(project_for(s, p, key), product)
    return machine(engine, key, parse_period(period, kind, at), product, at)


@router.get("/{key}/staffing")
def staffing_api(key: str, request: Request, p: Principal = Depends(current),
                 now: datetime | None = None,
                 target_service_level: float = Query(0.8, gt=0, lt=1)) -> dict[str, Any]:
    """Erlang C per queue and UTC hour against the project's SLAs (live products' own SLA),
    with shrinkage, and what each shift of the team roster must field."""
    engine = engine_of(request)
    with session_scope(engine) as s:
        project_for(s, p, key)
    return staffing(engine, key, as_of(now), target_service_level)


@router.get("/{key}/alerts")
def alerts_api(key: str, request: Request,
               p: Principal = Depends(current)) -> list[dict[str, Any]]:
    """Stored alert episodes: open first, then most recently seen."""
    with session_scope(engine_of(request)) as s:
        project = project_for(s, p, key)
        return [alert_out(r, key) for r in stored_alerts(s, project)]


@router.post("/{key}/alerts/evaluate")
def evaluate_api(key: str, request: Request, p: Principal = Depends(current),
                 now: datetime | None = None) -> dict[str, Any]:
    """Evaluate every rule now, store the result, queue new episodes to webhooks."""
    engine = engine_of(request)
    with session_scope(engine) as s:
        project_for(s, p, key)
    rec = evaluate_and_record(engine, key, as_of(now))
    with session_scope(engine) as s:
        project = project_for(s, p, key)
        rows = [alert_out(r, key) for r in stored_alerts(s, project)]
    return plain_object({"raised": [asdict(a) for a in rec.raised], "opened": rec.opened,
                         "updated": rec.updated, "resolved": rec.resolved, "alerts": rows})


@router.get("/{key}/transparency.csv", response_class=Response,
            responses={200: {"description": "the CSV file", "content": CSV_CONTENT}})
def transparency_api(key: str, request: Request, p: Principal = Depends(current),
                     period: str | None = None, kind: str | None = None,
                     product: str | None = None, now: datetime | None = None) -> Response:
    """DSA-style transparency CSV (UTF-8 with BOM so Excel opens the Korean names)."""
    engine = engine_of(request)
    at = as_of(now)
    with session_scope(engine) as s:
        product = check_product(project_for(s, p, key), product)
    per = parse_period(period, kind, at)
    body = an.transparency_csv(engine, per, an.Filters(project=key, product=product), at)
    name = f"transparency-{key}-{per.label}.csv"
    return Response("\ufeff" + body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/{key}/transparency/dsa")
def dsa_api(key: str, request: Request, p: Principal = Depends(current),
            period: str | None = None, kind: str | None = None,
            product: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """DSA statements of reasons (decision, ground, category, automated detection and
    decision, source, territorial scope), the summary (notices, complaints, median time to
    action; account suspensions not recorded) and the KCSC category summary."""
    engine = engine_of(request)
    at = as_of(now)
    with session_scope(engine) as s:
        product = check_product(project_for(s, p, key), product)
    per = parse_period(period, kind, at)
    return plain_object(dsa_export(engine, per, an.Filters(project=key, product=product), at))
