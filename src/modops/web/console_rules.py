"""The manager's rules pages (docs/rules.md): author a rule in YAML with inline FILE:LINE
errors, see its backtest (numbers and a chart), enable it on that backtest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from modops.api import policies
from modops.api.auth import Principal, current
from modops.api.deps import engine_of
from modops.domain import ModOpsError, Role
from modops.rules import service
from modops.rules.spec import RuleFileError
from modops.store import session_scope, utcnow
from modops.web.charts import lines_svg
from modops.web.i18n import translate
from modops.web.views import _locale, render

router = APIRouter(include_in_schema=False)

EXAMPLE = """id: reported-gambling
name: 신고된 도박 광고
owner: {owner}
priority: 5
when:
  all:
    - reported: true
    - score: {{gte: 0.5}}
then:
  - auto_action: {{label: illegal_goods.gambling, enforcement: remove}}
"""


def _project(request: Request, p: Principal, key: str) -> dict[str, Any]:
    with session_scope(engine_of(request), immediate=False) as s:
        project = policies.project(s, p, key, "rules.manage")
        return {"key": project.key, "project_name": project.name}


def _list_page(request: Request, p: Principal, key: str, *, status_code: int = 200,
               source: str | None = None, errors: list[str] | None = None) -> Response:
    info = _project(request, p, key)
    return render(request, "console/rules.html", p, status_code=status_code,
                  rules=service.list_rules(engine_of(request), key),
                  source=source if source is not None else EXAMPLE.format(owner=p.username),
                  errors=errors or [], **info)


@router.get("/manage/{key}/rules")
def rules_page(key: str, request: Request, p: Principal = Depends(current)) -> Response:
    return _list_page(request, p, key)


@router.post("/manage/{key}/rules")
async def rules_save(key: str, request: Request, p: Principal = Depends(current)) -> Response:
    _project(request, p, key)
    form = await request.form()
    source = str(form.get("yaml", ""))
    try:
        saved = service.save_rules(engine_of(request), key, source, name="rule.yaml",
                                   actor=p.username)
    except RuleFileError as exc:
        return _list_page(request, p, key, status_code=422, source=source, errors=exc.errors)
    if len(saved) == 1:
        return RedirectResponse(f"/manage/{key}/rules/{saved[0]['id']}", status_code=303)
    return RedirectResponse(f"/manage/{key}/rules", status_code=303)


def _chart(bt: dict[str, Any], locale_t: Any) -> Any:
    today = utcnow().date()
    daily = bt.get("daily") or []
    days = [(today - timedelta(days=d["days_ago"])).isoformat() for d in daily]
    return lines_svg(days, {"matched": [d["matched"] for d in daily],
                            "correct": [d["correct"] for d in daily]},
                     {"matched": locale_t("rules.matched"), "correct": locale_t("rules.correct")},
                     title=locale_t("rules.chart_title"), x_label=locale_t("rules.chart_x"),
                     y_label=locale_t("rules.chart_y"))


def _rule_page(request: Request, p: Principal, key: str, name: str, *,
               status_code: int = 200, error: str | None = None) -> Response:
    info = _project(request, p, key)
    rule = service.get_rule(engine_of(request), key, name)
    locale = _locale(request, p)
    bt = rule.get("last_backtest")
    chart = _chart(bt, lambda k: translate(locale, k)) if bt else None
    return render(request, "console/rule.html", p, status_code=status_code, rule=rule, bt=bt,
                  chart=chart, error=error, is_admin=p.at_least(Role.ADMIN), **info)


@router.get("/manage/{key}/rules/{name}")
def rule_page(key: str, name: str, request: Request,
              p: Principal = Depends(current)) -> Response:
    return _rule_page(request, p, key, name)


@router.post("/manage/{key}/rules/{name}/backtest")
async def rule_backtest(key: str, name: str, request: Request,
                        p: Principal = Depends(current)) -> Response:
    _project(request, p, key)
    form = await request.form()
    try:
        days = int(str(form.get("days", service.DEFAULT_DAYS)))
        service.run_backtest(engine_of(request), key, key=name, days=days, actor=p.username)
    except (ValueError, ModOpsError) as exc:
        return _rule_page(request, p, key, name, status_code=422, error=str(exc))
    return RedirectResponse(f"/manage/{key}/rules/{name}#backtest", status_code=303)


@router.post("/manage/{key}/rules/{name}/mode")
async def rule_mode(key: str, name: str, request: Request,
                    p: Principal = Depends(current)) -> Response:
    _project(request, p, key)
    form = await request.form()
    reason = str(form.get("override_reason", "")).strip() or None
    try:
        service.set_mode(engine_of(request), key, name, str(form.get("mode", "")),
                         actor=p.username, admin=p.at_least(Role.ADMIN),
                         override_reason=reason)
    except ModOpsError as exc:
        return _rule_page(request, p, key, name, status_code=422, error=str(exc))
    return RedirectResponse(f"/manage/{key}/rules/{name}", status_code=303)
