"""A taxonomy spec is checked before anything is stored: a key, at least one label, no label
key or keyboard shortcut used twice; the same key and version is reused only if unchanged."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from modops.domain import ValidationError
from modops.projects.service import ensure_taxonomy
from modops.store import session_scope

LABELS = [{"key": "none", "action": "no_action", "shortcut": "1"},
          {"key": "hate", "shortcut": "2", "children": [{"key": "hate.gender"}]}]


@pytest.mark.parametrize(("spec", "message"), [
    ({"labels": LABELS}, "taxonomy needs a key"),
    ({"key": "t", "labels": []}, "taxonomy t has no labels"),
    ({"key": "t", "labels": [*LABELS, {"key": "hate"}]}, "label 'hate' appears twice"),
    ({"key": "t", "labels": [*LABELS, {"key": "spam", "shortcut": "1"}]},
     "shortcut '1' is used twice"),
])
def test_a_bad_spec_is_refused_with_the_reason(engine: Engine, spec: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message), session_scope(engine) as s:
        ensure_taxonomy(s, spec)


def test_the_same_version_is_reused_only_unchanged(engine: Engine) -> None:
    with session_scope(engine) as s:
        first = ensure_taxonomy(s, {"key": "t", "version": 1, "labels": LABELS})
        assert [lab.key for lab in first.labels] == ["none", "hate", "hate.gender"]
        assert first.labels[2].action == "remove"  # inherited from its parent's default
        assert ensure_taxonomy(s, {"key": "t", "version": 1, "labels": LABELS}).id == first.id
    with pytest.raises(ValidationError, match="bump the version"), session_scope(engine) as s:
        ensure_taxonomy(s, {"key": "t", "version": 1, "labels": LABELS[:1]})
