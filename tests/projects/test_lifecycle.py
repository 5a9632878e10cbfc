"""Policy lifecycle: a live project moves to taxonomy v2 with a label mapping; history kept."""

from __future__ import annotations

import copy
from datetime import datetime

import pytest
from sqlalchemy import Engine, select

from modops.domain import ValidationError
from modops.projects import change_taxonomy, get_project, load_spec, taxonomy_history
from modops.store import session_scope
from modops.store.models import Annotation, AuditLog, Item, User
from tests.analytics.conftest import build_day
from tests.conftest import EXAMPLE_SPEC


def v2_spec() -> dict:
    """v1 with 'profanity' replaced by 'insult' (a renamed policy)."""
    tax = copy.deepcopy(load_spec(EXAMPLE_SPEC)["taxonomy"])
    tax["version"] = 2
    for lab in tax["labels"]:
        if lab["key"] == "profanity":
            lab["key"], lab["name_en"] = "insult", "Insult"
    return tax


def test_taxonomy_v2_for_a_live_project(engine: Engine, project: str) -> None:
    ids = build_day(engine, project)
    with session_scope(engine) as s:
        kim = s.scalar(select(User.id).where(User.username == "kim"))
        s.add(Annotation(project_id=s.get(Item, ids["I11"]).project_id, item_id=ids["I11"],
                         labeler_id=kim, kind="label", labels=["profanity"],
                         submitted_at=datetime(2026, 11, 20, 22)))
    with session_scope(engine) as s:
        p = get_project(s, project)
        with pytest.raises(ValidationError, match="drops profanity"):
            change_taxonomy(s, p, v2_spec(), {}, "minji")
        with pytest.raises(ValidationError, match="does not have: nope"):
            change_taxonomy(s, p, v2_spec(), {"profanity": "nope"}, "minji")
        same = copy.deepcopy(load_spec(EXAMPLE_SPEC)["taxonomy"])
        with pytest.raises(ValidationError, match="already uses"):
            change_taxonomy(s, p, same, {}, "minji")
    with session_scope(engine) as s:
        p = get_project(s, project)
        ch = change_taxonomy(s, p, v2_spec(), {"profanity": "insult"}, "minji",
                             note="욕설 → 모욕: 가이드라인 3.2 개정")
        # I11's open answer and I12's gold answer; I5's decided answer stays as given
        assert ch.relabeled_annotations == 2
    with session_scope(engine) as s:
        p = get_project(s, project)
        assert (p.taxonomy.key, p.taxonomy.version) == ("kr-policy", 2)
        labels = [a.labels for a in s.scalars(select(Annotation).where(
            Annotation.item_id == ids["I11"]).order_by(Annotation.id))]
        assert labels[-1] == ["insult"]
        assert s.get(Item, ids["I12"]).gold_labels == ["insult"]
        assert s.get(Item, ids["I10"]).final_labels == ["profanity"]  # history kept
        (h,) = taxonomy_history(s, project)
        assert (h["from"], h["to"], h["actor"], h["relabeled"]) == (
            "kr-policy v1", "kr-policy v2", "minji", 2)
        assert h["mapping"]["profanity"] == "insult" and h["mapping"]["hate"] == "hate"
        assert h["note"].startswith("욕설")
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "project.taxonomy")).one()
        assert audit.after["mapping"] == {"profanity": "insult"}
        with pytest.raises(ValidationError, match="must be above v2"):  # no going back
            change_taxonomy(s, p, load_spec(EXAMPLE_SPEC)["taxonomy"], {}, "minji")
