"""Rules as a use case: save versions (new ones in shadow mode), backtest, enable with the
backtest on record, disable, and change thresholds; every change audited, and every change
that alters routing re-routes the queued backlog (``modops.queue.reroute``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from modops.domain import NotFound, PermissionDenied, ValidationError
from modops.projects import get_project, update_project
from modops.rules.backtest import backtest_rule, backtest_thresholds
from modops.rules.engine import DISABLED, LIVE, MODES, SHADOW
from modops.rules.spec import RuleSpec, cond_to_dict, parse_rule, parse_rules
from modops.store import session_scope, utcnow
from modops.store.audit import record
from modops.store.models import Project, User
from modops.store.models_rules import Rule, RuleBacktest

DEFAULT_DAYS = 28
MAX_DAYS = 366


def _labels(project: Project) -> list[str]:
    return [lab.key for lab in project.taxonomy.labels]


def _actor_name(actor: User | str | None) -> str:
    return actor.username if isinstance(actor, User) else (actor or "system")


def _current(s: Session, project_id: int, key: str) -> Rule | None:
    return s.scalar(select(Rule).where(Rule.project_id == project_id, Rule.key == key,
                                       Rule.current.is_(True)))


def check_rules(engine: Engine, project_key: str, text: str, name: str) -> list[RuleSpec]:
    """Parse a rule file against the project's taxonomy (``RuleFileError`` on any problem)."""
    with session_scope(engine) as s:
        labels = _labels(get_project(s, project_key))
    return parse_rules(text, name, labels=labels)


def save_rules(engine: Engine, project_key: str, text: str, *, name: str,
               actor: User | str | None) -> list[dict[str, Any]]:
    """Store every rule of a file: a changed or new rule becomes a new version in shadow mode
    (a live rule's new version waits in shadow for its own backtest); an unchanged one stays
    as it is. All or nothing: one bad rule refuses the whole file (FILE:LINE errors)."""
    with session_scope(engine) as s:
        project = get_project(s, project_key)
        specs = parse_rules(text, name, labels=_labels(project))
        return [_save_one(s, project, spec, actor) for spec in specs]


def _save_one(s: Session, project: Project, spec: RuleSpec,
              actor: User | str | None) -> dict[str, Any]:
    current = _current(s, project.id, spec.key)
    if current is not None and current.source == spec.source:
        return {"id": spec.key, "version": current.version, "mode": current.mode,
                "status": "unchanged"}
    version = (s.scalar(select(func.max(Rule.version)).where(
        Rule.project_id == project.id, Rule.key == spec.key)) or 0) + 1
    if current is not None:
        current.current = False
    s.flush()
    row = Rule(project_id=project.id, key=spec.key, version=version, name=spec.name,
               owner=spec.owner, priority=spec.priority, mode=SHADOW,
               expires_at=spec.expires, source=spec.source, current=True,
               created_by=_actor_name(actor), created_at=utcnow())
    s.add(row)
    s.flush()
    record(s, actor=actor, action="rule.save", entity="rule", entity_id=row.id,
           project_id=project.id,
           before=None if current is None else {"version": current.version,
                                                "mode": current.mode},
           after={"key": spec.key, "version": version, "mode": SHADOW, "owner": spec.owner,
                  "source": spec.source})
    return {"id": spec.key, "version": version, "mode": SHADOW,
            "status": "created" if current is None else "new version"}


def _rule_dict(r: Rule, last: RuleBacktest | None = None) -> dict[str, Any]:
    spec = parse_rule(r.source, f"rule#{r.id}")
    return {"id": r.key, "row_id": r.id, "version": r.version, "name": r.name,
            "owner": r.owner, "priority": r.priority, "mode": r.mode,
            "expires_at": r.expires_at, "source": r.source, "created_by": r.created_by,
            "created_at": r.created_at, "enabled_at": r.enabled_at, "enabled_by": r.enabled_by,
            "backtest_id": r.backtest_id, "override_reason": r.override_reason,
            "when": cond_to_dict(spec.when), "then": [a.to_dict() for a in spec.then],
            "signals": list(spec.signals),
            "last_backtest": None if last is None else _backtest_dict(last)}


def _backtest_dict(b: RuleBacktest) -> dict[str, Any]:
    return {"id": b.id, "kind": b.kind, "rule": b.rule_key, "version": b.rule_version,
            "days": b.days, "created_by": b.created_by, "created_at": b.created_at,
            **b.result}


def _last_backtest(s: Session, project_id: int, key: str, version: int) -> RuleBacktest | None:
    return s.scalar(select(RuleBacktest).where(
        RuleBacktest.project_id == project_id, RuleBacktest.kind == "rule",
        RuleBacktest.rule_key == key, RuleBacktest.rule_version == version)
        .order_by(RuleBacktest.id.desc()).limit(1))


def list_rules(engine: Engine, project_key: str) -> list[dict[str, Any]]:
    """The project's rules (current versions) with their last backtest."""
    with session_scope(engine) as s:
        project = get_project(s, project_key)
        rows = s.scalars(select(Rule).where(Rule.project_id == project.id,
                                            Rule.current.is_(True)).order_by(Rule.key)).all()
        return [_rule_dict(r, _last_backtest(s, project.id, r.key, r.version)) for r in rows]


def get_rule(engine: Engine, project_key: str, key: str) -> dict[str, Any]:
    """One rule: its current version, every earlier version and its backtests."""
    with session_scope(engine) as s:
        project = get_project(s, project_key)
        current = _current(s, project.id, key)
        if current is None:
            raise NotFound(f"no rule {key!r} in project {project_key!r}")
        out = _rule_dict(current, _last_backtest(s, project.id, key, current.version))
        out["versions"] = [{"version": r.version, "mode": r.mode, "created_by": r.created_by,
                            "created_at": r.created_at} for r in s.scalars(
            select(Rule).where(Rule.project_id == project.id, Rule.key == key)
            .order_by(Rule.version.desc()))]
        out["backtests"] = [_backtest_dict(b) for b in s.scalars(
            select(RuleBacktest).where(RuleBacktest.project_id == project.id,
                                       RuleBacktest.rule_key == key)
            .order_by(RuleBacktest.id.desc()).limit(20))]
        return out


def _days(days: int) -> int:
    if not 1 <= int(days) <= MAX_DAYS:
        raise ValidationError(f"days must be 1–{MAX_DAYS}")
    return int(days)


def run_backtest(engine: Engine, project_key: str, *, key: str | None = None,
                 text: str | None = None, days: int = DEFAULT_DAYS,
                 actor: User | str | None = None, now: datetime | None = None) \
        -> dict[str, Any]:
    """Backtest a stored rule (its current version) or a draft (its YAML), and keep the
    result: enabling a version needs a backtest of that version on record."""
    days, now = _days(days), now or utcnow()
    with session_scope(engine) as s:
        project = get_project(s, project_key)
        if text is not None:
            spec, version = parse_rule(text, "draft", labels=_labels(project)), None
            stored = _current(s, project.id, spec.key)
            if stored is not None and stored.source == spec.source:
                version = stored.version
        else:
            stored = _current(s, project.id, key or "")
            if stored is None:
                raise NotFound(f"no rule {key!r} in project {project_key!r}")
            spec, version = parse_rule(stored.source, f"rule#{stored.id}"), stored.version
        result = backtest_rule(s.connection(), project.id, spec, days=days, now=now)
        row = RuleBacktest(project_id=project.id, kind="rule", rule_key=spec.key,
                           rule_version=version, days=days, params={"source": spec.source},
                           result=result, created_by=_actor_name(actor), created_at=now)
        s.add(row)
        s.flush()
        return _backtest_dict(row)


def run_threshold_backtest(engine: Engine, project_key: str, *, auto_action: float | None,
                           auto_clear: float | None, days: int = DEFAULT_DAYS,
                           actor: User | str | None = None,
                           now: datetime | None = None) -> dict[str, Any]:
    days, now = _days(days), now or utcnow()
    with session_scope(engine) as s:
        project = get_project(s, project_key)
        current = {"auto_action": project.auto_action_threshold,
                   "auto_clear": project.auto_clear_threshold}
        result = backtest_thresholds(s.connection(), project.id, auto_action=auto_action,
                                     auto_clear=auto_clear, current=current, days=days,
                                     now=now)
        row = RuleBacktest(project_id=project.id, kind="thresholds", rule_key=None,
                           rule_version=None, days=days,
                           params={"auto_action": auto_action, "auto_clear": auto_clear},
                           result=result, created_by=_actor_name(actor), created_at=now)
        s.add(row)
        s.flush()
        return _backtest_dict(row)


def _enable_basis(s: Session, project_id: int, rule: Rule, backtest_id: int | None,
                  override_reason: str | None, admin: bool) -> RuleBacktest | None:
    """The backtest a version is enabled on; without one, an admin's reason."""
    if backtest_id is not None:
        bt = s.get(RuleBacktest, backtest_id)
        if bt is None or bt.project_id != project_id or bt.rule_key != rule.key \
                or bt.rule_version != rule.version:
            raise ValidationError(f"backtest {backtest_id} is not of {rule.key} "
                                  f"version {rule.version}")
        return bt
    bt = _last_backtest(s, project_id, rule.key, rule.version)
    if bt is not None and not override_reason:
        return bt
    if not override_reason:
        raise ValidationError(f"run a backtest of {rule.key} version {rule.version} before "
                              "enabling it (or an admin overrides with a reason)")
    if not admin:
        raise PermissionDenied("only an admin may enable a rule without a backtest")
    return None


def set_mode(engine: Engine, project_key: str, key: str, mode: str, *,
             actor: User | str | None, admin: bool = False, backtest_id: int | None = None,
             override_reason: str | None = None, reroute: bool = True) -> dict[str, Any]:
    """Switch a rule's current version to live, shadow or disabled (audited). Going live
    records the backtest it was enabled on (or an admin's override reason). A change that
    alters routing (to or from live) re-routes the queued backlog."""
    if mode not in MODES:
        raise ValidationError(f"mode must be one of {', '.join(MODES)}")
    with session_scope(engine) as s:
        project = get_project(s, project_key)
        rule = _current(s, project.id, key)
        if rule is None:
            raise NotFound(f"no rule {key!r} in project {project_key!r}")
        before = {"mode": rule.mode, "version": rule.version}
        after: dict[str, Any] = {"mode": mode, "version": rule.version}
        if mode == LIVE:
            bt = _enable_basis(s, project.id, rule, backtest_id, override_reason, admin)
            rule.backtest_id = bt.id if bt is not None else None
            rule.override_reason = None if bt is not None else override_reason
            rule.enabled_at, rule.enabled_by = utcnow(), _actor_name(actor)
            after.update(backtest_id=rule.backtest_id, override_reason=rule.override_reason,
                         backtest=None if bt is None else {
                             k: bt.result.get(k) for k in ("matched", "precision", "recall",
                                                           "route_changes", "days")})
        changed_routing = LIVE in (rule.mode, mode) and rule.mode != mode
        rule.mode = mode
        record(s, actor=actor, action="rule.mode", entity="rule", entity_id=rule.id,
               project_id=project.id, before=before, after=after)
    out: dict[str, Any] = {"id": key, **after}
    if reroute and changed_routing:
        out["reroute"] = reroute_backlog(engine, project_key, actor=actor,
                                         reason=f"rule {key} v{before['version']} {mode}")
    return out


def reroute_backlog(engine: Engine, project_key: str, *, actor: User | str | None,
                    reason: str) -> dict[str, Any]:
    from modops.queue.reroute import reroute_queued  # (queue imports the rules engine)

    return reroute_queued(engine, project_key, actor=_actor_name(actor),
                          reason=reason).as_dict()


def change_thresholds(engine: Engine, project_key: str, *, auto_action: float | None,
                      auto_clear: float | None, actor: User | str | None) -> dict[str, Any]:
    """New routing thresholds (audited as a project change), then the queued backlog is
    re-routed under them (audited)."""
    with session_scope(engine) as s:
        changed = update_project(s, get_project(s, project_key),
                                 {"auto_action_threshold": auto_action,
                                  "auto_clear_threshold": auto_clear}, actor)
    out: dict[str, Any] = {"changed": changed}
    if changed:
        out["reroute"] = reroute_backlog(engine, project_key, actor=actor,
                                         reason=f"thresholds {changed}")
    return out


__all__ = ["DEFAULT_DAYS", "DISABLED", "LIVE", "SHADOW", "change_thresholds", "check_rules",
           "get_rule", "list_rules", "reroute_backlog", "run_backtest",
           "run_threshold_backtest", "save_rules", "set_mode"]
