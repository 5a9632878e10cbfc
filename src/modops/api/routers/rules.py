"""Rules over signals (docs/rules.md): the signal registry, rule versions, backtests, modes and
threshold changes. Managers of the project; enabling without a backtest needs an admin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from modops.api import policies
from modops.api.auth import Principal, current
from modops.api.deps import engine_of
from modops.domain import Role
from modops.rules import service
from modops.rules.signals import all_families, all_signals
from modops.store import session_scope

router = APIRouter(prefix="/api/v1", tags=["rules"])


class RuleFile(BaseModel):
    yaml: str = Field(max_length=200_000, description="A rule file (YAML): one rule or "
                      "'rules:' with a list")
    name: str = Field("rules.yaml", max_length=200, description="Shown in FILE:LINE errors")


class BacktestIn(BaseModel):
    days: int = Field(service.DEFAULT_DAYS, ge=1, le=service.MAX_DAYS)
    yaml: str | None = Field(None, max_length=200_000,
                             description="Backtest this draft instead of the stored version")


class ModeIn(BaseModel):
    mode: str = Field(description="live, shadow or disabled")
    backtest_id: int | None = None
    override_reason: str | None = Field(None, max_length=2000)


class ThresholdsIn(BaseModel):
    auto_action: float | None = Field(None, ge=0.0, le=1.0)
    auto_clear: float | None = Field(None, ge=0.0, le=1.0)
    days: int = Field(service.DEFAULT_DAYS, ge=1, le=service.MAX_DAYS)


def _manage(request: Request, p: Principal, key: str) -> None:
    with session_scope(engine_of(request), immediate=False) as s:
        policies.project(s, p, key, "rules.manage")


@router.get("/signals")
def signals(p: Principal = Depends(current)) -> dict[str, Any]:
    """Every signal rules can test: name, type, unit, source, what it is."""
    policies.require(p, "rules.manage")
    return {"signals": [{"name": s.name, "type": s.type.value, "unit": s.unit,
                         "source": s.source, "doc": s.doc} for s in all_signals()],
            "families": [{"prefix": f.prefix, "type": f.type.value, "unit": f.unit,
                          "source": f.source, "doc": f.doc, "examples": list(f.examples)}
                         for f in all_families()]}


@router.get("/projects/{key}/rules")
def list_rules(key: str, request: Request, p: Principal = Depends(current)) -> dict[str, Any]:
    _manage(request, p, key)
    return {"rules": service.list_rules(engine_of(request), key)}


@router.post("/projects/{key}/rules")
def save_rules(key: str, body: RuleFile, request: Request,
               p: Principal = Depends(current)) -> dict[str, Any]:
    """Store a rule file: new and changed rules become new versions in shadow mode. A bad
    file is refused whole (422, every problem as FILE:LINE)."""
    _manage(request, p, key)
    return {"rules": service.save_rules(engine_of(request), key, body.yaml, name=body.name,
                                        actor=p.username)}


@router.get("/projects/{key}/rules/{name}")
def get_rule(key: str, name: str, request: Request,
             p: Principal = Depends(current)) -> dict[str, Any]:
    _manage(request, p, key)
    return service.get_rule(engine_of(request), key, name)


@router.post("/projects/{key}/rules/{name}/backtest")
def backtest(key: str, name: str, body: BacktestIn, request: Request,
             p: Principal = Depends(current)) -> dict[str, Any]:
    """Run the rule (or a draft of it) over the decided items of the last N days; kept."""
    _manage(request, p, key)
    return service.run_backtest(engine_of(request), key, key=None if body.yaml else name,
                                text=body.yaml, days=body.days, actor=p.username)


@router.post("/projects/{key}/rules/{name}/mode")
def set_mode(key: str, name: str, body: ModeIn, request: Request,
             p: Principal = Depends(current)) -> dict[str, Any]:
    """live (needs a backtest of this version, or an admin's override reason), shadow or
    disabled; a change to or from live re-routes the queued backlog."""
    _manage(request, p, key)
    return service.set_mode(engine_of(request), key, name, body.mode, actor=p.username,
                            admin=p.at_least(Role.ADMIN), backtest_id=body.backtest_id,
                            override_reason=body.override_reason)


@router.post("/projects/{key}/thresholds/backtest")
def thresholds_backtest(key: str, body: ThresholdsIn, request: Request,
                        p: Principal = Depends(current)) -> dict[str, Any]:
    _manage(request, p, key)
    return service.run_threshold_backtest(engine_of(request), key,
                                          auto_action=body.auto_action,
                                          auto_clear=body.auto_clear, days=body.days,
                                          actor=p.username)


@router.post("/projects/{key}/thresholds")
def thresholds(key: str, body: ThresholdsIn, request: Request,
               p: Principal = Depends(current)) -> dict[str, Any]:
    """New routing thresholds; the queued backlog is re-routed (both audited)."""
    _manage(request, p, key)
    return service.change_thresholds(engine_of(request), key, auto_action=body.auto_action,
                                     auto_clear=body.auto_clear, actor=p.username)
