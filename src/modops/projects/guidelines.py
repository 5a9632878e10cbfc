"""Guidelines per label: a definition and positive / negative examples, in Korean and English.

They are stored on the taxonomy version's labels (``taxonomy_labels.guidelines``), so they are
versioned with the taxonomy: a new version carries its own copy (the console's taxonomy
editor copies them forward), and what labelers were told under v1 stays readable afterwards.
Editing the guidelines of the version in force is a setting change: audited
(``taxonomy.guidelines``, before and after).

Read model: :func:`guidelines_for` (the labeling screen's side panel, the editor).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from modops.domain import NotFound, ValidationError, events
from modops.store import notices
from modops.store.audit import record
from modops.store.models import Project, Taxonomy, TaxonomyLabel, User

TEXTS = ("definition_ko", "definition_en")
EXAMPLES = ("positive_ko", "positive_en", "negative_ko", "negative_en")
FIELDS = TEXTS + EXAMPLES
MAX_TEXT = 5000
MAX_EXAMPLES = 30


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"guidelines.{name} must be text")
    if len(value) > MAX_TEXT:
        raise ValidationError(f"guidelines.{name} is longer than {MAX_TEXT} characters")
    return value.strip()


def _examples(name: str, value: Any) -> list[str]:
    if isinstance(value, str):  # one example per line (the console's text areas)
        value = value.splitlines()
    if not isinstance(value, list):
        raise ValidationError(f"guidelines.{name} must be a list of examples")
    out = [_text(name, v) for v in value]
    out = [v for v in out if v]
    if len(out) > MAX_EXAMPLES:
        raise ValidationError(f"guidelines.{name}: at most {MAX_EXAMPLES} examples")
    return out


def normalize_guidelines(value: Any) -> dict[str, Any] | None:
    """A label's guidelines in the stored shape, or None when there are none."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError("guidelines must be a mapping")
    unknown = sorted(set(value) - set(FIELDS))
    if unknown:
        raise ValidationError(f"unknown guideline field {unknown[0]!r}; known: "
                              f"{', '.join(FIELDS)}")
    out: dict[str, Any] = {}
    for name in TEXTS:
        text = _text(name, value.get(name) or "")
        if text:
            out[name] = text
    for name in EXAMPLES:
        examples = _examples(name, value.get(name) or [])
        if examples:
            out[name] = examples
    return out or None


@dataclass(frozen=True, slots=True)
class LabelGuide:
    """One label of a taxonomy version with its guidelines (empty strings / lists if none)."""

    key: str
    parent_key: str | None
    name_ko: str
    name_en: str
    action: str
    shortcut: str | None
    definition_ko: str = ""
    definition_en: str = ""
    positive_ko: tuple[str, ...] = field(default=())
    positive_en: tuple[str, ...] = field(default=())
    negative_ko: tuple[str, ...] = field(default=())
    negative_en: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not any(getattr(self, name) for name in FIELDS)

    def localized(self, locale: str) -> dict[str, Any]:
        """Name, definition and examples in ``locale``, each falling back to the other
        language when only that one was written."""
        first, second = ("ko", "en") if locale == "ko" else ("en", "ko")

        def pick(stem: str) -> Any:
            return getattr(self, f"{stem}_{first}") or getattr(self, f"{stem}_{second}")

        return {"key": self.key, "parent_key": self.parent_key, "name": pick("name"),
                "action": self.action, "shortcut": self.shortcut,
                "definition": pick("definition"), "positive": list(pick("positive")),
                "negative": list(pick("negative"))}

    def as_spec(self) -> dict[str, Any]:
        """The stored guidelines mapping (what :func:`normalize_guidelines` accepts)."""
        return {name: (list(v) if isinstance(v, tuple) else v)
                for name in FIELDS if (v := getattr(self, name))}


def _guide(label: TaxonomyLabel) -> LabelGuide:
    g = label.guidelines or {}
    return LabelGuide(
        key=label.key, parent_key=label.parent_key, name_ko=label.name_ko,
        name_en=label.name_en, action=label.action, shortcut=label.shortcut,
        definition_ko=str(g.get("definition_ko") or ""),
        definition_en=str(g.get("definition_en") or ""),
        **{name: tuple(str(x) for x in g.get(name) or ()) for name in EXAMPLES})


def _project(session: Session, project: Project | str | int) -> Project:
    if isinstance(project, Project):
        return project
    from modops.projects.service import get_project

    return get_project(session, project)


def taxonomy_version(session: Session, project: Project | str | int,
                     version: int | None = None) -> Taxonomy:
    """The project's taxonomy in force, or version ``version`` of the same taxonomy key."""
    proj = _project(session, project)
    if version is None or version == proj.taxonomy.version:
        return proj.taxonomy
    found = session.scalar(select(Taxonomy).options(selectinload(Taxonomy.labels)).where(
        Taxonomy.key == proj.taxonomy.key, Taxonomy.version == int(version)))
    if found is None:
        raise NotFound(f"no taxonomy {proj.taxonomy.key} v{version}")
    return found


def guidelines_for(session: Session, project: Project | str | int,
                   version: int | None = None) -> list[LabelGuide]:
    """Every label of the project's taxonomy (``version``: that version of the same taxonomy;
    default the one in force) in taxonomy order, with its guidelines.

    ``[g.localized(locale) for g in guidelines_for(s, "kr-comments")]`` is what a side panel
    shows."""
    return [_guide(lab) for lab in taxonomy_version(session, project, version).labels]


def set_guidelines(session: Session, project: Project, label_key: str, value: Any,
                   actor: User | str | None) -> bool:
    """Replace one label's guidelines on the project's taxonomy version in force; audited.
    Returns whether anything changed."""
    label = next((lab for lab in project.taxonomy.labels if lab.key == label_key), None)
    if label is None:
        raise NotFound(f"no label {label_key!r} in {project.taxonomy.key} "
                       f"v{project.taxonomy.version}")
    new = normalize_guidelines(value)
    old = label.guidelines
    if (old or None) == new:
        return False
    label.guidelines = new
    session.flush()
    record(session, actor=actor, action="taxonomy.guidelines", entity="taxonomy",
           entity_id=project.taxonomy.id, project_id=project.id,
           before={"label": label_key, "guidelines": old},
           after={"label": label_key, "guidelines": new,
                  "taxonomy": f"{project.taxonomy.key} v{project.taxonomy.version}"})
    notices.publish_change(session, events.PROJECT_CHANGED,
                           {"project": project.key, "changes": {"guidelines": label_key}})
    return True
