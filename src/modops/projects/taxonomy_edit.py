"""What the console's taxonomy editor needs around ``change_taxonomy``: a version as an
editable spec (guidelines included, so the next version starts with them), the versions of
a taxonomy key, the next free version number, and a spec built from flat editor rows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modops.domain import Action
from modops.store.models import Project, Taxonomy, TaxonomyLabel

LABEL_KEY = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")


def label_spec(lab: TaxonomyLabel) -> dict[str, Any]:
    spec: dict[str, Any] = {"key": lab.key, "name_ko": lab.name_ko, "name_en": lab.name_en,
                            "action": lab.action}
    if lab.shortcut:
        spec["shortcut"] = lab.shortcut
    if lab.description:
        spec["description"] = lab.description
    if lab.guidelines:
        spec["guidelines"] = dict(lab.guidelines)
    return spec


def taxonomy_spec(taxonomy: Taxonomy) -> dict[str, Any]:
    """The version as a nested spec (``ensure_taxonomy``'s input), children under parents."""
    by_key: dict[str, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    for lab in taxonomy.labels:
        spec = by_key[lab.key] = label_spec(lab)
        parent = by_key.get(lab.parent_key) if lab.parent_key else None
        if parent is None:
            roots.append(spec)
        else:
            parent.setdefault("children", []).append(spec)
    return {"key": taxonomy.key, "version": taxonomy.version, "name": taxonomy.name,
            "multi_label": taxonomy.multi_label, "labels": roots}


def taxonomy_versions(session: Session, key: str) -> list[dict[str, Any]]:
    """Every version of taxonomy ``key``, newest first, with its label count and the projects
    using it now."""
    counts = dict(session.execute(
        select(TaxonomyLabel.taxonomy_id, func.count()).join(Taxonomy).where(Taxonomy.key == key)
        .group_by(TaxonomyLabel.taxonomy_id)).all())
    users: dict[int, list[str]] = {}
    for tid, pkey in session.execute(select(Project.taxonomy_id, Project.key)
                                     .order_by(Project.key)).all():
        users.setdefault(tid, []).append(pkey)
    return [{"id": t.id, "key": t.key, "version": t.version, "name": t.name,
             "labels": int(counts.get(t.id, 0)), "created_at": t.created_at,
             "projects": users.get(t.id, [])}
            for t in session.scalars(select(Taxonomy).where(Taxonomy.key == key)
                                     .order_by(Taxonomy.version.desc()))]


def next_version(session: Session, key: str) -> int:
    return int(session.scalar(select(func.max(Taxonomy.version))
                              .where(Taxonomy.key == key)) or 0) + 1


@dataclass
class Row:
    """One label row of the editor form (index ``i``), as typed."""

    i: int
    key: str = ""
    parent: str = ""
    name_ko: str = ""
    name_en: str = ""
    action: str = ""
    shortcut: str = ""
    orig: str = ""  # the key this row had in the version in force (renames keep guidelines)
    guidelines: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)  # catalogue keys

    @property
    def blank(self) -> bool:
        return not (self.key or self.name_ko or self.name_en)


def _row_errors(row: Row, keys: list[str], shortcuts: list[str], roots: set[str]) -> None:
    if not LABEL_KEY.fullmatch(row.key):
        row.errors.append("console.err.label_key")
    elif keys.count(row.key) > 1:
        row.errors.append("console.err.label_twice")
    if not row.name_ko or not row.name_en:
        row.errors.append("console.err.label_names")
    if row.action and row.action not in {a.value for a in Action}:
        row.errors.append("console.err.label_action")
    if row.shortcut and (len(row.shortcut) != 1 or shortcuts.count(row.shortcut) > 1):
        row.errors.append("console.err.shortcut")
    if row.parent and (row.parent not in roots or row.parent == row.key):
        row.errors.append("console.err.parent")


def check_rows(rows: list[Row]) -> list[Row]:
    """The rows that are not blank, each with its errors (catalogue keys): keys unique and
    well-formed, both names, a known action, single-character shortcuts used once, a parent
    that is a top-level label of this draft."""
    kept = [r for r in rows if not r.blank]
    keys = [r.key for r in kept]
    shortcuts = [r.shortcut for r in kept if r.shortcut]
    roots = {r.key for r in kept if not r.parent}
    for row in kept:
        _row_errors(row, keys, shortcuts, roots)
    return kept


def rows_to_spec(rows: list[Row], key: str, version: int, name: str,
                 multi_label: bool) -> dict[str, Any]:
    """Checked rows → the nested spec ``change_taxonomy`` takes (children keep their order
    under their parent; a child with no action inherits its parent's)."""
    specs: dict[str, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    for row in rows:
        spec: dict[str, Any] = {"key": row.key, "name_ko": row.name_ko, "name_en": row.name_en}
        if row.action:
            spec["action"] = row.action
        if row.shortcut:
            spec["shortcut"] = row.shortcut
        if row.guidelines:
            spec["guidelines"] = row.guidelines
        specs[row.key] = spec
    for row in rows:
        if row.parent:
            specs[row.parent].setdefault("children", []).append(specs[row.key])
        else:
            roots.append(specs[row.key])
    return {"key": key, "version": version, "name": name, "multi_label": multi_label,
            "labels": roots}
