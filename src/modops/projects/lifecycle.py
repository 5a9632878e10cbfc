"""Policy lifecycle: moving a live project to a new taxonomy version.

A policy change (v1 → v2: a label split, merged, renamed or retired) must not stop the queue
or rewrite history. :func:`change_taxonomy` creates (or reuses) the new version, checks a
mapping from every old label the new version drops to a label it has, switches the project,
relabels the answers of items still being labeled and the gold answers (so consensus and gold
scoring use one vocabulary), and keeps the change with its mapping and guideline note in
``taxonomy_changes`` and the audit log. Decided items keep their labels and their version.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modops.domain import ValidationError, events
from modops.projects.service import ensure_taxonomy, get_project
from modops.store import notices
from modops.store.audit import record
from modops.store.db import utcnow
from modops.store.models import Annotation, Item, Project, Taxonomy, TaxonomyChange, User


def _map(labels: list[Any] | None, mapping: dict[str, str]) -> list[Any] | None:
    if labels is None:
        return None
    out: list[Any] = []
    for lab in labels:
        new = mapping.get(str(lab), lab)
        if new not in out:
            out.append(new)
    return out


def change_taxonomy(session: Session, project: Project, spec: dict[str, Any],
                    mapping: dict[str, str] | None, actor: User | str | None,
                    note: str | None = None) -> TaxonomyChange:
    """Move ``project`` to the taxonomy ``spec`` (see module docstring).

    ``mapping``: old label key → new label key. Every old label the new version no longer has
    must be mapped; a label kept under the same key maps to itself unless mapped otherwise.
    """
    mapping = {str(k): str(v) for k, v in (mapping or {}).items()}
    old: Taxonomy = project.taxonomy
    new = ensure_taxonomy(session, spec)
    if new.id == old.id:
        raise ValidationError(f"project {project.key} already uses {old.key} v{old.version}")
    if new.key == old.key and new.version <= old.version:
        raise ValidationError(f"taxonomy {new.key}: the new version must be above "
                              f"v{old.version}, got v{new.version}")
    old_keys = {lab.key for lab in old.labels}
    new_keys = {lab.key for lab in new.labels}
    bad_from = sorted(set(mapping) - old_keys)
    if bad_from:
        raise ValidationError(f"mapping names labels {old.key} v{old.version} does not have: "
                              f"{', '.join(bad_from)}")
    bad_to = sorted({v for v in mapping.values()} - new_keys)
    if bad_to:
        raise ValidationError(f"mapping targets labels {new.key} v{new.version} does not "
                              f"have: {', '.join(bad_to)}")
    unmapped = sorted(old_keys - new_keys - set(mapping))
    if unmapped:
        raise ValidationError(f"{new.key} v{new.version} drops {', '.join(unmapped)}: map each "
                              f"to a new label (old=new)")
    full = {k: mapping.get(k, k) for k in sorted(old_keys)}
    changed = {k: v for k, v in full.items() if k != v}
    relabeled = 0
    if changed:
        # answers already scored against gold stay as given; the gold answer itself moves
        open_items = select(Item.id).where(Item.project_id == project.id,
                                           Item.decided_at.is_(None), Item.is_gold.is_(False))
        for ann in session.scalars(select(Annotation).where(Annotation.item_id.in_(open_items))):
            new_labels = _map(ann.labels, changed)
            if new_labels is not None and new_labels != ann.labels:
                ann.labels = new_labels
                relabeled += 1
        for item in session.scalars(select(Item).where(Item.project_id == project.id,
                                                       Item.is_gold)):
            mapped = _map(item.gold_labels, changed)
            if mapped != item.gold_labels:
                item.gold_labels = mapped
                relabeled += 1
    who = actor.username if isinstance(actor, User) else (actor or "system")
    change = TaxonomyChange(project_id=project.id, from_taxonomy_id=old.id,
                            to_taxonomy_id=new.id, mapping=full, note=note,
                            relabeled_annotations=relabeled, actor=who, changed_at=utcnow())
    session.add(change)
    project.taxonomy_id = new.id
    project.updated_at = utcnow()
    session.flush()
    session.expire(project, ["taxonomy"])
    record(session, actor=actor, action="project.taxonomy", entity="project",
           entity_id=project.id, project_id=project.id,
           before={"taxonomy": f"{old.key} v{old.version}"},
           after={"taxonomy": f"{new.key} v{new.version}", "mapping": changed,
                  "relabeled": relabeled, "note": note})
    notices.publish_change(session, events.PROJECT_CHANGED,
                           {"project": project.key,
                            "changes": {"taxonomy": f"{new.key} v{new.version}"}})
    return change


def taxonomy_history(session: Session, project_key: str) -> list[dict[str, Any]]:
    """The project's taxonomy changes, oldest first, with both versions named."""
    project = get_project(session, project_key)
    names = {t.id: f"{t.key} v{t.version}" for t in session.scalars(select(Taxonomy))}
    return [{"from": names.get(c.from_taxonomy_id), "to": names.get(c.to_taxonomy_id),
             "mapping": c.mapping, "note": c.note, "relabeled": c.relabeled_annotations,
             "actor": c.actor, "changed_at": c.changed_at.isoformat()}
            for c in session.scalars(select(TaxonomyChange)
                                     .where(TaxonomyChange.project_id == project.id)
                                     .order_by(TaxonomyChange.changed_at, TaxonomyChange.id))]
