"""Guidelines per label: stored with the taxonomy version, audited when edited, read back in
either language, carried by a new version without touching the old one."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import Engine, select

from modops.domain import NotFound, ValidationError
from modops.projects import (
    change_taxonomy,
    get_project,
    guidelines_for,
    load_spec,
    set_guidelines,
)
from modops.store import session_scope
from modops.store.models import AuditLog
from tests.conftest import EXAMPLE_SPEC


def test_guidelines_are_versioned_audited_and_localized(engine: Engine, project: str) -> None:
    with session_scope(engine) as s:
        p = get_project(s, project)
        assert all(g.empty for g in guidelines_for(s, p))
        changed = set_guidelines(s, p, "profanity", {
            "definition_ko": "비속어·욕설이 포함된 표현", "definition_en": "",
            "positive_ko": "씨발 진짜\n  \n개새끼", "negative_en": ["'damn' in a quote"]},
            actor="minji")
        assert changed
        assert not set_guidelines(s, p, "profanity", {
            "definition_ko": "비속어·욕설이 포함된 표현",
            "positive_ko": ["씨발 진짜", "개새끼"], "negative_en": ["'damn' in a quote"]},
            actor="minji")
    with session_scope(engine) as s:
        guide = {g.key: g for g in guidelines_for(s, project)}["profanity"]
        assert guide.positive_ko == ("씨발 진짜", "개새끼")
        en = guide.localized("en")
        assert en["definition"] == "비속어·욕설이 포함된 표현"  # falls back to Korean
        assert en["negative"] == ["'damn' in a quote"] and en["name"] == "Profanity"
        assert guide.localized("ko")["name"] == "욕설"
        audit = s.scalars(select(AuditLog).where(
            AuditLog.action == "taxonomy.guidelines")).all()
        assert len(audit) == 1 and audit[0].after["label"] == "profanity"
        # v2 carries its own copy; v1's stays readable
        tax = copy.deepcopy(load_spec(EXAMPLE_SPEC)["taxonomy"])
        tax["version"] = 2
        for lab in tax["labels"]:
            if lab["key"] == "profanity":
                lab["guidelines"] = {"definition_ko": "v2 정의", **guide.as_spec()} | {
                    "definition_ko": "v2 정의"}
        change_taxonomy(s, get_project(s, project), tax, {}, "minji")
    with session_scope(engine) as s:
        v2 = {g.key: g for g in guidelines_for(s, project)}
        v1 = {g.key: g for g in guidelines_for(s, project, 1)}
        assert v2["profanity"].definition_ko == "v2 정의"
        assert v1["profanity"].definition_ko == "비속어·욕설이 포함된 표현"
        with pytest.raises(NotFound):
            guidelines_for(s, project, 7)
        with pytest.raises(ValidationError, match="unknown guideline field"):
            set_guidelines(s, get_project(s, project), "spam", {"evil": "x"}, actor="minji")
        with pytest.raises(NotFound):
            set_guidelines(s, get_project(s, project), "nope", {}, actor="minji")
