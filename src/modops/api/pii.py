"""PII masking where the API hands item text to labelers and reviewers.

The project's kinds (``settings["pii_mask"]``) are cached per process for a few seconds so the
next-task hot path asks the database nothing extra; a settings change reaches every worker
within ``TTL_S``. Unmasking is ``POST /api/v1/items/{id}/unmask`` (reviewers, audited).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, select

from modops.privacy import mask_item_fields, project_kinds
from modops.store.models import Project

TTL_S = 5.0
_kinds: dict[tuple[Engine, str], tuple[tuple[str, ...], float]] = {}


def kinds_for(engine: Engine, project_key: str) -> tuple[str, ...]:
    now = time.monotonic()
    hit = _kinds.get((engine, project_key))
    if hit is None or hit[1] <= now:
        with engine.connect() as conn:
            settings = conn.execute(select(Project.settings).where(
                Project.key == project_key)).scalar()
        if len(_kinds) > 10_000:
            _kinds.clear()
        hit = _kinds[(engine, project_key)] = (project_kinds(settings), now + TTL_S)
    return hit[0]


def mask_view(engine: Engine, view: Any) -> Any:
    """Mask a TaskView/ReviewView's item in place (and return it) per its project's setting."""
    if view is not None:
        mask_item_fields(view.item, kinds_for(engine, view.project_key))
    return view
