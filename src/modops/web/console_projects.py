"""The manager's project pages: create a project, edit its taxonomy into a new version and
move the live project onto it (label mapping, history kept), and write each label's
guidelines. Every change goes through the projects use cases, so it is validated and
audited there; refused input comes back next to its field with the form kept (422)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from starlette.concurrency import run_in_threadpool

from modops.api import policies
from modops.api.auth import Principal, current
from modops.api.deps import engine_of
from modops.domain import Action, ValidationError
from modops.projects import (
    KNOWN_PRODUCTS,
    change_taxonomy,
    create_project,
    get_project,
    guidelines_for,
    set_guidelines,
    setting_errors,
    taxonomy_history,
    update_project,
)
from modops.projects.guidelines import EXAMPLES, FIELDS
from modops.projects.taxonomy_edit import (
    Row,
    check_rows,
    next_version,
    rows_to_spec,
    taxonomy_spec,
    taxonomy_versions,
)
from modops.store import session_scope
from modops.store.models import Project, Taxonomy, Team, User
from modops.web.console_forms import EDITABLE, error_keys, settings_changes, when
from modops.web.views import render

router = APIRouter(include_in_schema=False)

CREATE_FIELDS = tuple(f for f in EDITABLE if f != "lease_seconds")
PROJECT_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{1,99}")
ACTIONS = tuple(a.value for a in Action)
BLANK_ROWS = 3  # empty rows the editor offers for new labels
DEFAULTS = {"overlap_k": 3, "gold_rate": 0.05, "audit_rate": 0.02, "sla_minutes": 1440,
            "auto_action_threshold": "", "auto_clear_threshold": "",
            "escalation_threshold": 0.66}


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _actor(s: Any, p: Principal) -> User | None:
    return s.get(User, p.id)


# --- create a project ------------------------------------------------------------------------

def _create_choices(s: Any) -> dict[str, Any]:
    taxonomies = [{"id": t.id, "label": f"{t.name} · {t.key} v{t.version}"}
                  for t in s.scalars(select(Taxonomy).order_by(Taxonomy.key,
                                                               Taxonomy.version.desc()))]
    teams = list(s.scalars(select(Team.name).order_by(Team.name)))
    return {"taxonomies": taxonomies, "teams": teams, "all_products": list(KNOWN_PRODUCTS),
            "fields": CREATE_FIELDS}


@router.get("/manage/new")
def new_project_page(request: Request, p: Principal = Depends(current)) -> Response:
    policies.require(p, "project.create")
    with session_scope(engine_of(request)) as s:
        choices = _create_choices(s)
    values: dict[str, Any] = {**DEFAULTS, "products": ["comment"], "teams": [],
                              "taxonomy": str(choices["taxonomies"][0]["id"])
                              if choices["taxonomies"] else "starter"}
    return render(request, "console/project_new.html", p, values=values, errors={}, **choices)


def _starter_taxonomy(key: str, name: str) -> dict[str, Any]:
    return {"key": f"{key}-policy", "version": 1, "name": name or key, "labels": [
        {"key": "none", "name_ko": "위반 없음", "name_en": "No violation",
         "action": "no_action", "shortcut": "0"},
        {"key": "violation", "name_ko": "위반", "name_en": "Violation", "action": "remove",
         "shortcut": "1"}]}


def _basic_errors(s: Any, form: Mapping[str, Any], typed: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    key = typed["key"]
    if not PROJECT_KEY.fullmatch(key):
        errors["key"] = "console.err.key"
    elif s.scalar(select(Project.id).where(Project.key == key)) is not None:
        errors["key"] = "console.err.key_taken"
    if not typed["name"]:
        errors["name"] = "console.err.name"
    if not typed["products"] or not set(typed["products"]) <= set(KNOWN_PRODUCTS):
        errors["products"] = "console.err.products"
    if typed["taxonomy"] != "starter" and (
            not typed["taxonomy"].isdigit() or s.get(Taxonomy, int(typed["taxonomy"])) is None):
        errors["taxonomy"] = "console.err.taxonomy"
    return errors


def _create_spec(s: Any, typed: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    if typed["taxonomy"] == "starter":
        taxonomy = _starter_taxonomy(typed["key"], typed["name"])
    else:
        tax = s.scalar(select(Taxonomy).options(selectinload(Taxonomy.labels))
                       .where(Taxonomy.id == int(typed["taxonomy"])))
        taxonomy = taxonomy_spec(tax)
    return {"key": typed["key"], "name": typed["name"],
            "description": typed["description"] or None, "products": typed["products"],
            "teams": typed["teams"], "taxonomy": taxonomy, "overlap": changes["overlap_k"],
            "gold_rate": changes["gold_rate"], "audit_rate": changes["audit_rate"],
            "sla": int(changes["sla_minutes"]),
            "escalation_threshold": changes["escalation_threshold"],
            "routing": {"auto_action": changes["auto_action_threshold"],
                        "auto_clear": changes["auto_clear_threshold"]}}


def _typed_project(form: Any) -> dict[str, Any]:
    return {"key": str(form.get("key", "")).strip(), "name": str(form.get("name", "")).strip(),
            "description": str(form.get("description", "")).strip(),
            "products": [str(x) for x in form.getlist("products")],
            "teams": [str(x) for x in form.getlist("teams")],
            "taxonomy": str(form.get("taxonomy", "")).strip()}


def _create(request: Request, p: Principal, form: Any) -> tuple[str | None, dict[str, Any],
                                                                 dict[str, str]]:
    """(the new project's key, what was typed, errors): the key is None when refused."""
    typed = _typed_project(form)
    with session_scope(engine_of(request)) as s:
        errors = _basic_errors(s, form, typed)
        changes, raw = settings_changes(form, typed["products"])
        changes.pop("lease_seconds", None)
        errors |= error_keys(setting_errors(changes))
        typed |= raw
        if errors:
            return None, typed, errors
        project = create_project(s, _create_spec(s, typed, changes), actor=_actor(s, p))
        if changes["settings"]:
            update_project(s, project, {"settings": changes["settings"]}, actor=_actor(s, p))
        return project.key, typed, {}


@router.post("/manage/new")
async def new_project_submit(request: Request, p: Principal = Depends(current)) -> Response:
    policies.require(p, "project.create")
    form = await request.form()
    try:
        key, typed, errors = await run_in_threadpool(_create, request, p, form)
    except ValidationError as exc:  # a check only the use case makes (e.g. a taxonomy clash)
        key, typed, errors = None, _typed_project(form), {"form": str(exc)}
    if key is not None:
        return _see_other(f"/manage/{key}/taxonomy?m=saved")
    with session_scope(engine_of(request)) as s:
        choices = _create_choices(s)
    return render(request, "console/project_new.html", p, status_code=422, values=typed,
                  errors=errors, **choices)


# --- the taxonomy: versions, history, guidelines --------------------------------------------

def _tree(guides: list[Any], locale: str) -> list[dict[str, Any]]:
    out = []
    for g in guides:
        row = g.localized(locale)
        row |= {"name_ko": g.name_ko, "name_en": g.name_en, "child": g.parent_key is not None,
                "has_guidelines": not g.empty}
        out.append(row)
    return out


@router.get("/manage/{key}/taxonomy")
def taxonomy_page(key: str, request: Request, p: Principal = Depends(current),
                  version: int | None = None) -> Response:
    from modops.web.views import _locale

    with session_scope(engine_of(request)) as s:
        project = policies.project(s, p, key, "project.manage")
        guides = guidelines_for(s, project, version)
        current = project.taxonomy.version
        shown = version or current
        values: dict[str, Any] = {
            "name": project.name, "tax_key": project.taxonomy.key,
            "tax_name": project.taxonomy.name, "current": current, "shown": shown,
            "versions": taxonomy_versions(s, project.taxonomy.key),
            "history": taxonomy_history(s, key)}
    return render(request, "console/taxonomy.html", p, key=key, project_name=values["name"],
                  labels=_tree(guides, _locale(request, p)), when=when, **values)


@router.get("/manage/{key}/taxonomy/labels/{label}")
def guidelines_page(key: str, label: str, request: Request,
                    p: Principal = Depends(current)) -> Response:
    with session_scope(engine_of(request)) as s:
        project = policies.project(s, p, key, "project.manage")
        guide = _guide(s, project, label)
        values = {f: "\n".join(v) if f in EXAMPLES else v
                  for f in FIELDS for v in [getattr(guide, f)]}
        name = project.name
    return render(request, "console/guidelines.html", p, key=key, project_name=name,
                  guide=guide, values=values, errors={})


def _guide(s: Any, project: Project, label: str) -> Any:
    from modops.domain import NotFound

    guide = next((g for g in guidelines_for(s, project) if g.key == label), None)
    if guide is None:
        raise NotFound(f"no label {label!r}")
    return guide


@router.post("/manage/{key}/taxonomy/labels/{label}")
async def guidelines_submit(key: str, label: str, request: Request,
                            p: Principal = Depends(current)) -> Response:
    form = await request.form()
    values = {f: str(form.get(f, "")) for f in FIELDS}

    def apply() -> tuple[bool | None, Any, str]:
        with session_scope(engine_of(request)) as s:
            project = policies.project(s, p, key, "project.manage")
            try:
                return set_guidelines(s, project, label, values, _actor(s, p)), None, ""
            except ValidationError as exc:
                return None, _guide(s, project, label), str(exc)

    changed, guide, error = await run_in_threadpool(apply)
    if changed is None:
        return render(request, "console/guidelines.html", p, status_code=422, key=key,
                      project_name=key, guide=guide, values=values,
                      errors={"form": error})
    return _see_other(f"/manage/{key}/taxonomy?m={'saved' if changed else 'nochange'}")


# --- the taxonomy editor: a new version, then the live project moved onto it ----------------

def _rows_from(project: Project) -> list[Row]:
    labels = project.taxonomy.labels
    rows = [Row(i, lab.key, lab.parent_key or "", lab.name_ko, lab.name_en, lab.action,
                lab.shortcut or "", lab.key) for i, lab in enumerate(labels)]
    return rows + [Row(len(rows) + j) for j in range(BLANK_ROWS)]


def _rows_typed(form: Any) -> list[Row]:
    typed = str(form.get("rows", "0"))
    count = min(int(typed) if typed.isdigit() else 0, 500)

    def cell(name: str, i: int) -> str:
        return str(form.get(f"{name}.{i}", "")).strip()

    return [Row(i) if form.get(f"drop.{i}") == "on" else
            Row(i, key=cell("key", i), parent=cell("parent", i), name_ko=cell("name_ko", i),
                name_en=cell("name_en", i), action=cell("action", i),
                shortcut=cell("shortcut", i), orig=cell("orig", i))
            for i in range(count)]


def _editor(request: Request, p: Principal, project: Project, rows: list[Row],
            **extra: Any) -> Response:
    values = {"rows": rows, "actions": ACTIONS, "old": project.taxonomy,
              "roots": [r.key for r in rows if r.key and not r.parent],
              "tax_name": extra.pop("tax_name", project.taxonomy.name),
              "multi": extra.pop("multi", project.taxonomy.multi_label),
              "note": extra.pop("note", ""), "mapping": extra.pop("mapping", {}),
              "dropped": extra.pop("dropped", []), "new_keys": extra.pop("new_keys", []),
              "errors": extra.pop("errors", {})}
    return render(request, "console/taxonomy_edit.html", p, key=project.key,
                  project_name=project.name, **values, **extra)


@router.get("/manage/{key}/taxonomy/edit")
def taxonomy_editor(key: str, request: Request, p: Principal = Depends(current)) -> Response:
    with session_scope(engine_of(request)) as s:
        project = policies.project(s, p, key, "project.manage")
        return _editor(request, p, project, _rows_from(project),
                       version=next_version(s, project.taxonomy.key))


def _carry_guidelines(project: Project, rows: list[Row]) -> None:
    """A kept (or renamed: ``orig.N``) label starts the new version with its guidelines."""
    old = {lab.key: lab.guidelines for lab in project.taxonomy.labels}
    for row in rows:
        row.guidelines = old.get(row.orig or row.key) or old.get(row.key)


def _plan(project: Project, rows: list[Row], form: Any) -> dict[str, Any]:
    old_keys = [lab.key for lab in project.taxonomy.labels]
    new_keys = [r.key for r in rows]
    dropped = [k for k in old_keys if k not in new_keys]
    mapping = {k: str(form.get(f"map.{k}", "")) for k in dropped}
    return {"dropped": dropped, "new_keys": new_keys,
            "mapping": {k: v for k, v in mapping.items() if v in new_keys}}


def _taxonomy_submit(request: Request, p: Principal, key: str, form: Any) -> Response:
    with session_scope(engine_of(request)) as s:
        project = policies.project(s, p, key, "project.manage")
        version = next_version(s, project.taxonomy.key)
        typed = _rows_typed(form)
        rows = check_rows(typed)
        kept = {"tax_name": str(form.get("tax_name", "")).strip() or project.taxonomy.name,
                "multi": form.get("multi_label") == "on",
                "note": str(form.get("note", "")).strip(), "version": version}
        plan = _plan(project, rows, form)
        shown = rows + [Row(len(typed) + j) for j in range(BLANK_ROWS)]
        if not rows or any(r.errors for r in rows):
            return _editor(request, p, project, shown, status_code=422, **kept, **plan,
                           errors={"form": "console.err.rows" if rows else "console.err.empty"})
        unmapped = [k for k in plan["dropped"] if k not in plan["mapping"]]
        if form.get("step") != "apply" or unmapped:
            errors = {"form": "console.err.unmapped"} if form.get("step") == "apply" else {}
            return _editor(request, p, project, shown, preview=True, errors=errors,
                           status_code=422 if errors else 200, **kept, **plan)
        _carry_guidelines(project, rows)
        spec = rows_to_spec(rows, project.taxonomy.key, version, kept["tax_name"],
                            kept["multi"])
        try:
            change_taxonomy(s, project, spec, plan["mapping"], _actor(s, p),
                            kept["note"] or None)
        except ValidationError as exc:
            s.rollback()  # nothing of the refused version stays (all-or-nothing)
            project = get_project(s, key)
            return _editor(request, p, project, shown, preview=True, status_code=422,
                           **kept, **plan, errors={"detail": str(exc)})
    return _see_other(f"/manage/{key}/taxonomy?m=saved")


@router.post("/manage/{key}/taxonomy/edit")
async def taxonomy_editor_submit(key: str, request: Request,
                                 p: Principal = Depends(current)) -> Response:
    form = await request.form()
    return await run_in_threadpool(_taxonomy_submit, request, p, key, form)
