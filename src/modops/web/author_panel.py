"""The review screen's author panel (issue 19): the item's author, their recent items,
decisions, strikes and enforcement, from the read model ``modops.authors.author_panel``.
Item texts are masked like any item text and escaped by the template (hostile content)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from modops.authors import author_panel
from modops.privacy import mask_pii, project_kinds
from modops.store import session_scope, utcnow
from modops.store.models import Item, Project


def panel_for(engine: Engine, view: Any) -> Any:
    """The author panel of the task's item, or None (no task, or an item without author)."""
    if view is None:
        return None
    item_id = getattr(view.item, "id", None)
    with session_scope(engine) as s:
        row = s.execute(select(Item.project_id, Item.author_id).where(Item.id == item_id)).first()
        if row is None or row.author_id is None:
            return None
        panel = author_panel(s, row.project_id, row.author_id, utcnow())
        settings = s.scalar(select(Project.settings).where(Project.id == row.project_id))
    if panel is not None:
        kinds = project_kinds(settings)
        for r in panel.recent:
            r["text"] = mask_pii(r["text"], kinds) or ""
    return panel
