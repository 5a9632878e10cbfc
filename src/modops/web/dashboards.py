"""Dashboard pages: overview, trends, quality, machine, alerts, staffing for one project.

The numbers come from the read models of ``modops.analytics.readmodels``, the same builders
the JSON API (``modops.api.routers.analytics``) serves, so a page and the API always agree;
this module only formats and charts them. Managers of the project and admins
(``project.analytics``). Charts are server-rendered SVG with Korean text; no script, no inline
style.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from modops.accounts import list_users
from modops.analytics import Period
from modops.analytics import readmodels as rm
from modops.analytics.catalogue import (
    KPIS,
    SPECS,
    UNITS,
    direction,
    format_value,
    metric_name,
    spec,
)
from modops.api import policies
from modops.api.auth import Principal, current
from modops.api.deps import engine_of
from modops.notify.alerts import evaluate_and_record, stored_alerts
from modops.projects import KNOWN_PRODUCTS
from modops.store import session_scope
from modops.web.charts import hbars_svg, lines_svg, sparkline_svg
from modops.web.console_items import NOTICE_OF, alert_rows
from modops.web.i18n import translate
from modops.web.views import _locale, render

router = APIRouter(include_in_schema=False)

# A pair's κ is shown only over this many shared items: below it the 95% interval of κ spans
# more than ±0.3 for typical label rates, so the number says nothing (the pairs are listed).
KAPPA_MIN_N = 30
PAGES = ("overview", "trends", "quality", "machine", "alerts", "staffing")
SHARE_UNITS = {u.key for u in UNITS.values() if u.kind == "pct"}
KST = timedelta(hours=9)  # pages show Korean time; stored times stay UTC


# --------------------------------------------------------------------------- formatting
def fmt(value: float | None, unit: str, locale: str) -> str:
    """A metric value as people read it: the catalogue's one formatter per unit."""
    return format_value(value, unit, locale)


def fmt_delta(delta: float | None, unit: str, locale: str) -> str:
    """Shares move in percentage points (%p); everything else in its own unit."""
    if delta is None:
        return "—"
    sign = "+" if delta > 0 else ""
    if unit in SHARE_UNITS:
        return f"{sign}{delta * 100:.1f}%p"
    return sign + fmt(delta, unit, locale)


def fmt_interval(interval: list[float] | None, unit: str, locale: str) -> str | None:
    if not interval:
        return None
    return f"{fmt(interval[0], unit, locale)} – {fmt(interval[1], unit, locale)}"


def tone(delta: float | None, direction: str, significant: bool = True) -> str:
    """``good``/``bad`` by the metric's direction in the catalogue; ``flat`` when there is no
    change, no direction, or its test does not call it one (analytics.significance: noise is
    not news on a dashboard either)."""
    if not delta or direction == "none" or not significant:
        return "flat"
    return "good" if (delta < 0) == (direction == "down") else "bad"


# --------------------------------------------------------------------------- page context
def _query(period: str, product: str | None, **extra: str) -> str:
    q = {"period": period, **({"product": product} if product else {}), **extra}
    return "?" + urlencode(q)


def _context(request: Request, p: Principal, key: str, page: str, period: str | None,
             kind: str | None, product: str | None) -> dict[str, Any]:
    """What every dashboard page needs: the project, the parsed period and the picker."""
    now = rm.as_of(None)
    with session_scope(engine_of(request)) as s:
        project = policies.project(s, p, key, "project.analytics")
        product = rm.check_product(project, product)
        per = rm.parse_period(period, kind, now)
        products = [x.key for x in project.products]
        labels = {lab.key: (lab.name_ko, lab.name_en) for lab in project.taxonomy.labels}
        name = project.name
    locale = _locale(request, p)
    prev, nxt = per.previous(), Period.containing(per.kind, per.end)
    kinds = {k: Period.containing(k, min(per.start, now)).label  # type: ignore[arg-type]
             for k in rm.PERIOD_KINDS}
    return {"key": key, "page": page, "pages": PAGES, "project_name": name, "period": per,
            "product": product, "products": products, "now": now, "locale": locale,
            "q": lambda **kw: _query(kw.pop("period", per.label), product, **kw),
            "prev_label": prev.label, "next_label": nxt.label if nxt.start <= now else None,
            "kinds": kinds,
            "product_label": lambda k: KNOWN_PRODUCTS.get(k, (k, k))[0 if locale == "ko" else 1],
            "label_name": lambda k: labels.get(k, (k, k))[0 if locale == "ko" else 1],
            "fmt": lambda v, u: fmt(v, u, locale),
            "fmt_delta": lambda v, u: fmt_delta(v, u, locale),
            "fmt_interval": lambda v, u: fmt_interval(v, u, locale),
            "metric_name": lambda n: metric_name(n, locale),
            "metric_definition": lambda n: spec(n).definition(locale) if n in SPECS else ""}


def _page(request: Request, p: Principal, template: str, ctx: dict[str, Any],
          **values: Any) -> Response:
    shown = {k: v for k, v in ctx.items() if k != "locale"}  # render() sets the locale itself
    return render(request, f"dashboards/{template}", p, **shown, **values)


# --------------------------------------------------------------------------- pages
@router.get("/manage/{key}/analytics")
def overview_page(key: str, request: Request, p: Principal = Depends(current),
                  period: str | None = None, kind: str | None = None,
                  product: str | None = None) -> Response:
    """KPIs with period-over-period deltas and sparklines, plus the backlog by age."""
    ctx = _context(request, p, key, "overview", period, kind, product)
    data = rm.overview(engine_of(request), key, ctx["period"], ctx["product"], ctx["now"])
    locale = ctx["locale"]
    kpis = []
    for name in KPIS:
        m = data["metrics"][name]
        spark = data["sparklines"][name]
        kpis.append({"name": name, "m": m,
                     "tone": tone(m["delta"], direction(name), m.get("significant", False)),
                     "spark": sparkline_svg(spark["values"], title=translate(
                         locale, "dash.spark", metric=metric_name(name, locale),
                         n=len(spark["values"])))})
    buckets = [n for n in data["metrics"] if n.startswith("backlog_age_")]
    return _page(request, p, "overview.html", ctx, data=data, kpis=kpis, buckets=buckets)


@router.get("/manage/{key}/analytics/trends")
def trends_page(key: str, request: Request, p: Principal = Depends(current),
                period: str | None = None, kind: str | None = None,
                product: str | None = None) -> Response:
    """Per-policy-label daily volume, and the delta of every metric to the period before."""
    ctx = _context(request, p, key, "trends", period, kind, product)
    engine = engine_of(request)
    series = rm.label_series(engine, key, ctx["period"], ctx["product"])
    locale = ctx["locale"]
    names = {k: ctx["label_name"](k) for k in series["counts"]}
    chart = lines_svg(series["days"], series["counts"], names,
                      title=translate(locale, "dash.label_volume"),
                      x_label=translate(locale, "dash.day_utc"),
                      y_label=translate(locale, "dash.items"))
    data = rm.overview(engine, key, ctx["period"], ctx["product"], ctx["now"])
    return _page(request, p, "trends.html", ctx, chart=chart, series=series, data=data)


@router.get("/manage/{key}/analytics/quality")
def quality_page(key: str, request: Request, p: Principal = Depends(current),
                 period: str | None = None, kind: str | None = None,
                 product: str | None = None) -> Response:
    ctx = _context(request, p, key, "quality", period, kind, product)
    engine = engine_of(request)
    with session_scope(engine) as s:
        project = policies.project(s, p, key, "project.analytics")
        data = rm.quality(engine, s, project, ctx["period"], ctx["product"], ctx["now"])
    locale = ctx["locale"]
    rows = [(u, m["value"], tuple(m["interval"]) if m["interval"] else None,
             f"{fmt(m['value'], 'share', locale)} (n={m['denominator']:.0f})")
            for u, m in data["gold_accuracy_by_labeler"].items()]
    chart = hbars_svg(rows, title=translate(locale, "dash.gold_by_labeler")) if rows else None
    return _page(request, p, "quality.html", ctx, data=data, chart=chart,
                 team_metrics=rm.TEAM_METRICS, kappa_min_n=KAPPA_MIN_N)


@router.get("/manage/{key}/analytics/machine")
def machine_page(key: str, request: Request, p: Principal = Depends(current),
                 period: str | None = None, kind: str | None = None,
                 product: str | None = None) -> Response:
    ctx = _context(request, p, key, "machine", period, kind, product)
    data = rm.machine(engine_of(request), key, ctx["period"], ctx["product"], ctx["now"])
    locale = ctx["locale"]
    rows = [(metric_name(n, locale), m["value"],
             tuple(m["interval"]) if m["interval"] else None, fmt(m["value"], m["unit"], locale))
            for n, m in data["metrics"].items()
            if n in ("machine_precision", "machine_recall", "machine_f1",
                     "auto_action_precision", "automated_share")]
    chart = hbars_svg(rows, title=translate(locale, "dash.machine_vs_human"))
    f1 = data["metrics"]["machine_f1"]["detail"]
    return _page(request, p, "machine.html", ctx, data=data, chart=chart, confusion=f1)


@router.get("/manage/{key}/analytics/alerts")
def alerts_page(key: str, request: Request, p: Principal = Depends(current),
                period: str | None = None, kind: str | None = None,
                product: str | None = None) -> Response:
    """Stored alert episodes (open first) with their numbers; a button evaluates now."""
    ctx = _context(request, p, key, "alerts", period, kind, product)
    with session_scope(engine_of(request)) as s:
        project = policies.project(s, p, key, "project.analytics")
        rows = alert_rows(stored_alerts(s, project), key, ctx["locale"])
        staff = [u.username for u in list_users(s) if u.active and u.role != "labeler"]
    done = request.query_params.get("evaluated")
    notice = request.query_params.get("m")
    return _page(request, p, "alerts.html", ctx, alerts=rows, evaluated=done, staff=staff,
                 notice=notice if notice in NOTICE_OF.values() else None)


@router.post("/manage/{key}/analytics/alerts")
def alerts_evaluate(key: str, request: Request, p: Principal = Depends(current)) -> Response:
    """Evaluate on demand (CSRF-checked by ``current``), store, webhook, back to the list."""
    with session_scope(engine_of(request)) as s:
        policies.project(s, p, key, "project.analytics")
    rec = evaluate_and_record(engine_of(request), key)
    return RedirectResponse(f"/manage/{key}/analytics/alerts?evaluated={len(rec.raised)}",
                            status_code=303)


@router.get("/manage/{key}/analytics/staffing")
def staffing_page(key: str, request: Request, p: Principal = Depends(current),
                  period: str | None = None, kind: str | None = None,
                  product: str | None = None, target_service_level: float = 0.8) -> Response:
    """The staffing plan (Erlang C per queue and hour, shrinkage, roster), as of now."""
    ctx = _context(request, p, key, "staffing", period, kind, product)
    sl = min(max(target_service_level, 0.01), 0.999)
    data = rm.staffing(engine_of(request), key, ctx["now"], sl)
    return _page(request, p, "staffing.html", ctx, data=data, target_service_level=sl)
