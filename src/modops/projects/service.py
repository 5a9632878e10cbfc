"""Projects, products and taxonomies: created from a YAML/JSON spec, changed with an audit trail."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from modops.domain import Action, NotFound, ProjectStatus, ValidationError, events
from modops.projects.guidelines import normalize_guidelines
from modops.projects.taxonomy import TaxonomyRules
from modops.store import notices
from modops.store.audit import changed_fields, record
from modops.store.db import utcnow
from modops.store.models import Product, Project, Taxonomy, TaxonomyLabel, Team, User

KNOWN_PRODUCTS: dict[str, tuple[str, str]] = {
    "short_video": ("숏폼 영상", "Short video"),
    "live": ("라이브", "LIVE"),
    "comment": ("댓글", "Comments"),
    "ad": ("광고", "Ads"),
    "profile": ("프로필", "Profiles"),
    "message": ("메시지", "Messages"),
}

# Settings a manager may change after creation, with their validators.
SETTINGS: dict[str, Any] = {
    "name": str,
    "description": str,
    "status": lambda v: ProjectStatus(v).value,
    "overlap_k": lambda v: _bounded_int(v, 1, 20, "overlap_k"),
    "gold_rate": lambda v: _rate(v, "gold_rate"),
    "audit_rate": lambda v: _rate(v, "audit_rate"),
    "sla_minutes": lambda v: _bounded_int(v, 1, 60 * 24 * 90, "sla_minutes"),
    "lease_seconds": lambda v: _bounded_int(v, 10, 24 * 3600, "lease_seconds"),
    "auto_action_threshold": lambda v: None if v is None else _rate(v, "auto_action_threshold"),
    "auto_clear_threshold": lambda v: None if v is None else _rate(v, "auto_clear_threshold"),
    "escalation_threshold": lambda v: _rate(v, "escalation_threshold"),
    "model_version": lambda v: None if v is None else str(v),
    "scorer": lambda v: None if v in (None, "") else str(v),
    "priority_weights": lambda v: _weights(v),
    "required_skills": lambda v: [str(x) for x in v],
    "show_machine_suggestion": bool,
    "settings": lambda v: _settings(v),
}

DEFAULT_PRIORITY_WEIGHTS = {"machine_score": 1.0, "views": 0.5, "sla": 1.0, "reports": 1.0}


def _rate(v: Any, name: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a number between 0 and 1, got {v!r}") from None
    if not 0.0 <= f <= 1.0:
        raise ValidationError(f"{name} must be between 0 and 1, got {f}")
    return f


def _bounded_int(v: Any, lo: int, hi: int, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | str):
        raise ValidationError(f"{name} must be an integer, got {v!r}")
    try:
        i = int(v)
    except ValueError:
        raise ValidationError(f"{name} must be an integer, got {v!r}") from None
    if not lo <= i <= hi:
        raise ValidationError(f"{name} must be between {lo} and {hi}, got {i}")
    return i


def retention_setting(value: Any) -> int | None:
    """``settings.retention_days``: None (keep forever) or a whole number of days, 1-36,500.
    A negative or zero value would make the daily purge delete everything decided (or fail
    every day), so it is refused when set, not discovered at 3 a.m."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"retention_days must be a whole number of days, got {value!r}")
    if not 1 <= value <= 36_500:
        raise ValidationError(f"retention_days must be between 1 and 36500, got {value}")
    return value


def _pii_mask(value: Any) -> Any:
    from modops.privacy import normalize_kinds

    if isinstance(value, bool):
        return value
    if not isinstance(value, list):
        raise ValidationError("pii_mask must be a list of PII kinds (or true / false)")
    try:
        return list(normalize_kinds(value))
    except ValueError as exc:
        raise ValidationError(f"pii_mask: {exc}") from None


def _sla_by_product(value: Any) -> dict[str, int]:
    """``settings.sla_by_product``: product key → SLA minutes (the queue's ``sla_for``)."""
    if not isinstance(value, dict):
        raise ValidationError("sla_by_product must be a mapping of product → minutes")
    return {str(k): _bounded_int(v, 1, 60 * 24 * 90, f"sla_by_product.{k}")
            for k, v in value.items()}


def _gold_feedback(v: Any) -> str:
    """When labelers see their gold accuracy: ``batched`` (totals over earlier days, the
    default: nothing moves right after a gold answer) or ``immediate`` (today's included)."""
    if v not in ("immediate", "batched"):
        raise ValidationError("gold_feedback must be 'immediate' or 'batched'")
    return str(v)


def _time_zone(v: Any) -> str:
    """The zone the project's pages show times in (IANA name; Asia/Seoul by default)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(v))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"timezone: unknown time zone {v!r}") from None
    return str(v)


# Keys inside the free-form ``settings`` mapping that code reads as more than a hint.
_NESTED_SETTINGS = {"retention_days": retention_setting, "pii_mask": _pii_mask,
                    "sla_by_product": _sla_by_product, "gold_feedback": _gold_feedback,
                    "timezone": _time_zone}


def _settings(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ValidationError("settings must be a mapping")
    out = dict(v)
    for name, check in _NESTED_SETTINGS.items():
        if name in out:
            out[name] = check(out[name])
    return out


def _weights(v: Any) -> dict[str, float]:
    if not isinstance(v, dict):
        raise ValidationError("priority_weights must be a mapping of factor → weight")
    unknown = set(v) - set(DEFAULT_PRIORITY_WEIGHTS)
    if unknown:
        raise ValidationError(
            f"unknown priority factor {sorted(unknown)[0]!r}; "
            f"known: {', '.join(DEFAULT_PRIORITY_WEIGHTS)}"
        )
    return {k: float(x) for k, x in v.items()}


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?\s*$")


def parse_duration_minutes(value: Any) -> int:
    """'24h' → 1440, '90m' → 90, '2d' → 2880; a bare number means minutes."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValidationError(f"cannot read duration {value!r}; use e.g. 24h, 90m, 2d")
    n, unit = float(m.group(1)), (m.group(2) or "m")
    factor = {"s": 1 / 60, "m": 1, "min": 1, "h": 60, "d": 1440}[unit]
    return max(1, round(n * factor))


def ensure_product(
    session: Session, key: str, name_ko: str | None = None, name_en: str | None = None
) -> Product:
    product = session.scalar(select(Product).where(Product.key == key))
    if product is None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{1,49}", key):
            raise ValidationError(f"product key {key!r} must be lowercase letters, digits, _")
        ko, en = KNOWN_PRODUCTS.get(key, (name_ko or key, name_en or key))
        product = Product(key=key, name_ko=name_ko or ko, name_en=name_en or en)
        session.add(product)
        session.flush()
    return product


def _flatten_labels(
    labels: list[dict[str, Any]], parent: str | None, out: list[dict[str, Any]]
) -> None:
    for spec in labels:
        if not isinstance(spec, dict) or "key" not in spec:
            raise ValidationError("each taxonomy label needs at least a key")
        parent_action = next((o["action"] for o in out if o["key"] == parent), None)
        action = spec.get("action", parent_action or "remove")
        try:
            action = Action(action).value
        except ValueError:
            raise ValidationError(
                f"label {spec['key']}: action must be remove, restrict or no_action"
            ) from None
        out.append(
            {
                "key": str(spec["key"]),
                "parent_key": parent,
                "name_ko": str(spec.get("name_ko") or spec["key"]),
                "name_en": str(spec.get("name_en") or spec["key"]),
                "description": spec.get("description"),
                "action": action,
                "shortcut": None if spec.get("shortcut") is None else str(spec["shortcut"]),
                "guidelines": normalize_guidelines(spec.get("guidelines")),
            }
        )
        _flatten_labels(spec.get("children") or [], str(spec["key"]), out)


def _checked_labels(key: str, labels: list[Any]) -> list[dict[str, Any]]:
    """The taxonomy's labels, flattened; none missing, no key or shortcut used twice."""
    flat: list[dict[str, Any]] = []
    _flatten_labels(labels, None, flat)
    if not flat:
        raise ValidationError(f"taxonomy {key} has no labels")
    keys = [x["key"] for x in flat]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValidationError(f"taxonomy {key}: label {dup!r} appears twice")
    shortcuts = [x["shortcut"] for x in flat if x["shortcut"]]
    if len(set(shortcuts)) != len(shortcuts):
        dup = next(s for s in shortcuts if shortcuts.count(s) > 1)
        raise ValidationError(f"taxonomy {key}: shortcut {dup!r} is used twice")
    return flat


def ensure_taxonomy(session: Session, spec: dict[str, Any]) -> Taxonomy:
    """Create a taxonomy version, or reuse it if the same key+version has the same labels."""
    key, version = str(spec.get("key", "")), int(spec.get("version", 1))
    if not key:
        raise ValidationError("taxonomy needs a key")
    flat = _checked_labels(key, spec.get("labels") or [])
    existing = session.scalar(
        select(Taxonomy)
        .options(selectinload(Taxonomy.labels))
        .where(Taxonomy.key == key, Taxonomy.version == version)
    )
    if existing is not None:
        old = [(lab.key, lab.parent_key, lab.action) for lab in existing.labels]
        new = [(x["key"], x["parent_key"], x["action"]) for x in flat]
        if old != new or existing.multi_label != bool(spec.get("multi_label", False)):
            raise ValidationError(
                f"taxonomy {key} v{version} already exists with different labels; "
                f"bump the version to change it"
            )
        return existing
    taxonomy = Taxonomy(
        key=key,
        version=version,
        name=str(spec.get("name") or key),
        multi_label=bool(spec.get("multi_label", False)),
        created_at=utcnow(),
    )
    taxonomy.labels = [TaxonomyLabel(position=i, **x) for i, x in enumerate(flat)]
    session.add(taxonomy)
    session.flush()
    return taxonomy


def load_spec(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path}: cannot read project spec: {exc}") from None
    if not isinstance(spec, dict):
        raise ValidationError(f"{path}: a project spec must be a mapping")
    return spec


def create_project(session: Session, spec: dict[str, Any], actor: User | str | None) -> Project:
    """Create a project (with its taxonomy version, products and teams) from a spec mapping."""
    key = str(spec.get("key", ""))
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{1,99}", key):
        raise ValidationError(f"project key {key!r} must be lowercase letters, digits, - or _")
    if session.scalar(select(Project.id).where(Project.key == key)) is not None:
        raise ValidationError(f"project {key!r} already exists")
    if not isinstance(spec.get("taxonomy"), dict):
        raise ValidationError("project spec needs a taxonomy mapping")
    products = spec.get("products") or []
    if not products:
        raise ValidationError("project spec needs at least one product")
    routing = spec.get("routing") or {}
    now = utcnow()
    project = Project(
        key=key,
        name=str(spec.get("name") or key),
        description=spec.get("description"),
        taxonomy=ensure_taxonomy(session, spec["taxonomy"]),
        status=ProjectStatus.ACTIVE.value,
        created_at=now,
        updated_at=now,
        priority_weights=dict(DEFAULT_PRIORITY_WEIGHTS),
        settings={},
        required_skills=[],
    )
    project.products = [
        ensure_product(session, p)
        if isinstance(p, str)
        else ensure_product(session, p["key"], p.get("name_ko"), p.get("name_en"))
        for p in products
    ]
    project.teams = [ensure_team(session, t) for t in spec.get("teams") or []]
    settings: dict[str, Any] = {
        "overlap_k": spec.get("overlap", spec.get("overlap_k", 1)),
        "gold_rate": spec.get("gold_rate", 0.0),
        "audit_rate": spec.get("audit_rate", 0.0),
        "sla_minutes": parse_duration_minutes(spec.get("sla", "24h")),
        "lease_seconds": parse_duration_minutes(spec.get("lease", "10m")) * 60,
        "auto_action_threshold": routing.get("auto_action"),
        "auto_clear_threshold": routing.get("auto_clear"),
        "escalation_threshold": spec.get("escalation_threshold", 0.5),
        "scorer": routing.get("scorer"),
        "priority_weights": {**DEFAULT_PRIORITY_WEIGHTS, **(spec.get("priority_weights") or {})},
        "required_skills": spec.get("required_skills") or [],
        "show_machine_suggestion": spec.get("show_machine_suggestion", False),
        "status": spec.get("status", "active"),
    }
    for name, value in settings.items():
        setattr(project, name, _validate_setting(name, value))
    _check_thresholds(project)
    session.add(project)
    session.flush()
    record(
        session,
        actor=actor,
        action="project.create",
        entity="project",
        entity_id=project.id,
        project_id=project.id,
        after={"key": key, **project_settings(project)},
    )
    notices.publish_change(session, events.PROJECT_CHANGED, {"project": key})
    return project


def ensure_team(session: Session, name: str) -> Team:
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        team = Team(name=name, created_at=utcnow())
        session.add(team)
        session.flush()
    return team


def _validate_setting(name: str, value: Any) -> Any:
    if name not in SETTINGS:
        raise ValidationError(f"unknown project setting {name!r}")
    try:
        return SETTINGS[name](value)
    except ValueError as exc:
        raise ValidationError(f"{name}: {exc}") from None


def _check_thresholds(project: Project) -> None:
    hi, lo = project.auto_action_threshold, project.auto_clear_threshold
    if hi is not None and lo is not None and lo > hi:
        raise ValidationError(
            f"auto_clear threshold ({lo}) must not be above the auto_action threshold ({hi})"
        )


def setting_errors(changes: dict[str, Any]) -> dict[str, str]:
    """Every setting in ``changes`` that ``update_project`` would refuse, with the reason:
    forms show each next to its field (and keep what was typed) instead of failing on the
    first. ``"thresholds"`` names the auto-clear / auto-action order."""
    errors: dict[str, str] = {}
    valid: dict[str, Any] = {}
    for name, value in changes.items():
        try:
            valid[name] = _validate_setting(name, value)
        except ValidationError as exc:
            errors[name] = str(exc)
    hi, lo = valid.get("auto_action_threshold"), valid.get("auto_clear_threshold")
    if hi is not None and lo is not None and lo > hi:
        errors["thresholds"] = (f"auto_clear threshold ({lo}) must not be above the "
                                f"auto_action threshold ({hi})")
    return errors


def project_settings(project: Project) -> dict[str, Any]:
    return {name: getattr(project, name) for name in SETTINGS}


def update_project(
    session: Session, project: Project, changes: dict[str, Any], actor: User | str | None
) -> dict[str, Any]:
    """Apply setting changes atomically; the audit log gets exactly the fields that changed."""
    before = project_settings(project)
    for name, value in changes.items():
        setattr(project, name, _validate_setting(name, value))
    _check_thresholds(project)
    old, new = changed_fields(before, project_settings(project))
    if new:
        project.updated_at = utcnow()
        record(
            session,
            actor=actor,
            action="project.update",
            entity="project",
            entity_id=project.id,
            project_id=project.id,
            before=old,
            after=new,
        )
        notices.publish_change(session, events.PROJECT_CHANGED,
                               {"project": project.key, "changes": new})
    return new


def get_project(session: Session, key_or_id: str | int) -> Project:
    query = select(Project).options(
        selectinload(Project.taxonomy).selectinload(Taxonomy.labels),
        selectinload(Project.products),
        selectinload(Project.teams),
    )
    # isdigit() alone accepts '¹' and other digits int() refuses (a 500 the fuzzer found)
    if isinstance(key_or_id, int) or (str(key_or_id).isascii()
                                      and str(key_or_id).isdigit()):
        project = session.scalar(query.where(Project.id == int(key_or_id)))
    else:
        project = session.scalar(query.where(Project.key == str(key_or_id)))
    if project is None:
        raise NotFound(f"no project {key_or_id!r}")
    return project


def list_projects(session: Session) -> list[Project]:
    return list(session.scalars(select(Project).order_by(Project.id)))


def rules_for(project: Project) -> TaxonomyRules:
    return TaxonomyRules.from_model(project.taxonomy)
