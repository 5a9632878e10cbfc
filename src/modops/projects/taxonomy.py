"""Taxonomy rules: which label sets are valid, and what action a set of labels implies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from modops.domain import Action, ValidationError

# Most severe first: a decision takes the most severe action among its labels.
ACTION_SEVERITY = {Action.REMOVE: 2, Action.RESTRICT: 1, Action.NO_ACTION: 0}


@dataclass(frozen=True, slots=True)
class LabelInfo:
    key: str
    parent_key: str | None
    name_ko: str
    name_en: str
    action: Action
    shortcut: str | None


@dataclass(frozen=True, slots=True)
class TaxonomyRules:
    """An immutable, cheap-to-check view of one taxonomy version."""

    key: str
    version: int
    multi_label: bool
    labels: dict[str, LabelInfo]

    @classmethod
    def from_model(cls, taxonomy) -> TaxonomyRules:
        return cls(
            key=taxonomy.key,
            version=taxonomy.version,
            multi_label=taxonomy.multi_label,
            labels={
                lab.key: LabelInfo(
                    lab.key,
                    lab.parent_key,
                    lab.name_ko,
                    lab.name_en,
                    Action(lab.action),
                    lab.shortcut,
                )
                for lab in taxonomy.labels
            },
        )

    def validate(self, labels: Sequence[str] | object) -> list[str]:
        """Return the labels in canonical order or raise ``ValidationError`` saying why not."""
        if not isinstance(labels, list | tuple) or not all(isinstance(x, str) for x in labels):
            raise ValidationError("labels must be a list of label keys")
        if not labels:
            raise ValidationError("at least one label is required")
        unknown = [x for x in labels if x not in self.labels]
        if unknown:
            raise ValidationError(
                f"label {unknown[0]!r} is not in taxonomy {self.key} v{self.version}"
            )
        unique = list(dict.fromkeys(labels))
        if not self.multi_label and len(unique) > 1:
            raise ValidationError(
                f"taxonomy {self.key} v{self.version} is single-label; got {len(unique)} labels"
            )
        if len(unique) > 1 and any(self.labels[x].action == Action.NO_ACTION for x in unique):
            raise ValidationError("a 'no violation' label cannot be combined with other labels")
        order = {k: i for i, k in enumerate(self.labels)}
        return sorted(unique, key=order.__getitem__)

    def action_for(self, labels: Iterable[str]) -> Action:
        actions = [self.labels[x].action for x in labels]
        if not actions:
            return Action.NO_ACTION
        return max(actions, key=ACTION_SEVERITY.__getitem__)

    def is_violation(self, labels: Iterable[str]) -> bool:
        return self.action_for(labels) != Action.NO_ACTION
