"""Per-labeler scorecards of one project over a period, fed from the store.

The arithmetic is ``modops.quality.scorecard`` (gold accuracy with a 95% Wilson interval,
agreement with the item's final decision, handle time median and p90, volume, overturns);
this module only reads the answers: every label and gold answer submitted in the period,
with its item's gold answer and final labels. A multi-label answer is compared as a whole
(its sorted labels joined), so partial matches do not count as agreement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from modops.quality import Scorecard, labeler_scorecards
from modops.store import session_scope
from modops.store.models import Annotation, Item, User

KINDS = ("label", "gold")


def _joined(labels: Any) -> str | None:
    return "|".join(sorted(str(x) for x in labels)) if labels else None


def labeler_scorecard(engine: Engine, project_id: int, start: datetime,
                      end: datetime) -> list[Scorecard]:
    """One scorecard per labeler (keyed by username), busiest first."""
    q = (select(User.username, Annotation.item_id, Annotation.labels, Annotation.handle_ms,
                Annotation.overturned, Item.is_gold, Item.gold_labels, Item.final_labels)
         .join(User, User.id == Annotation.labeler_id)
         .join(Item, Item.id == Annotation.item_id)
         .where(Annotation.project_id == project_id, Annotation.kind.in_(KINDS),
                Annotation.flagged.is_(False), Annotation.submitted_at >= start,
                Annotation.submitted_at < end))
    with session_scope(engine, immediate=False) as s:
        rows = [{"labeler": r.username, "item": r.item_id, "label": _joined(r.labels) or "",
                 "handle_time_s": None if r.handle_ms is None else r.handle_ms / 1000.0,
                 "is_gold": bool(r.is_gold), "gold_label": _joined(r.gold_labels),
                 "consensus_label": None if r.is_gold else _joined(r.final_labels),
                 "overturned": r.overturned} for r in s.execute(q)]
    if not rows:
        return []
    return sorted(labeler_scorecards(rows), key=lambda c: (-c.volume, str(c.key)))
