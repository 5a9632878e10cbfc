"""Investigation read models: find items of a project, and one item's whole history.

Read only. ``search_items`` pages by id (newest first, keyset: ``before`` = the last id seen)
over ``ix_items_project_id``, so a page costs about the same on the 100,000th item as on
the first; the filters narrow the walk (external id by its unique index). ``item_history``
gathers everything that happened to one item: routing (score, thresholds, model version,
reason), tasks, answers, decisions, appeals, and the audit entries naming any of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from modops.domain.fields import TEXT_FIELDS
from modops.store.models import (
    Annotation,
    Appeal,
    AuditLog,
    Decision,
    Item,
    Product,
    RoutingDecision,
    Task,
    User,
)

PAGE = 50


@dataclass(frozen=True)
class ItemQuery:
    """What a manager looks for. ``text`` matches inside any text field (case as typed);
    ``external_id`` exactly or, ending in ``*``, by prefix; ``label`` among the final labels;
    ``since``/``until`` bound the ingest time (naive UTC, ``until`` exclusive)."""

    text: str | None = None
    external_id: str | None = None
    label: str | None = None
    state: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self, project_id: int) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = [Item.project_id == project_id]
        ext = (self.external_id or "").strip()
        if ext.endswith("*"):
            conds.append(Item.external_id.startswith(ext[:-1], autoescape=True))
        elif ext:
            conds.append(Item.external_id == ext)
        if self.text:
            conds.append(or_(*(getattr(Item, f).contains(self.text, autoescape=True)
                               for f in TEXT_FIELDS)))
        if self.label:
            quoted = '"' + self.label.replace('"', "") + '"'
            conds.append(cast(Item.final_labels, String).contains(quoted, autoescape=True))
        if self.state:
            conds.append(Item.state == self.state)
        if self.since is not None:
            conds.append(Item.ingested_at >= self.since)
        if self.until is not None:
            conds.append(Item.ingested_at < self.until)
        return conds


def search_items(session: Session, project_id: int, query: ItemQuery, *,
                 before: int | None = None, limit: int = PAGE) -> list[Item]:
    """Matching items, newest first; ``before`` continues after the last id of a page."""
    q = select(Item).where(*query.where(project_id))
    if before is not None:
        q = q.where(Item.id < before)
    return list(session.scalars(q.order_by(Item.id.desc()).limit(max(1, min(limit, 500)))))


@dataclass
class ItemHistory:
    """One item and everything recorded about it, each list oldest first."""

    item: Item
    product: str
    routing: list[RoutingDecision] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    answers: list[Annotation] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    appeals: list[Appeal] = field(default_factory=list)
    audit: list[AuditLog] = field(default_factory=list)
    users: dict[int, str] = field(default_factory=dict)

    def who(self, user_id: int | None) -> str:
        return "" if user_id is None else self.users.get(user_id, f"#{user_id}")


def _rows(session: Session, model: Any, item_id: int) -> list[Any]:
    return list(session.scalars(select(model).where(model.item_id == item_id)
                                .order_by(model.id)))


def item_history(session: Session, item: Item, audit_limit: int = 500) -> ItemHistory:
    """The history of ``item`` (already checked by the caller's policy)."""
    product = session.scalar(select(Product.key).where(Product.id == item.product_id)) or ""
    h = ItemHistory(item=item, product=product,
                    routing=_rows(session, RoutingDecision, item.id),
                    tasks=_rows(session, Task, item.id),
                    answers=_rows(session, Annotation, item.id),
                    decisions=_rows(session, Decision, item.id),
                    appeals=_rows(session, Appeal, item.id))
    refs = {"item": [item.id], "annotation": [a.id for a in h.answers],
            "decision": [d.id for d in h.decisions], "appeal": [a.id for a in h.appeals],
            "task": [t.id for t in h.tasks]}
    named = [and_(AuditLog.entity == entity, AuditLog.entity_id.in_([str(i) for i in ids]))
             for entity, ids in refs.items() if ids]
    h.audit = list(session.scalars(select(AuditLog).where(or_(*named))
                                   .order_by(AuditLog.id).limit(audit_limit)))
    ids = {t.assignee_id for t in h.tasks} | {a.labeler_id for a in h.answers} | {
        d.decided_by_id for d in h.decisions} | {a.resolved_by_id for a in h.appeals}
    ids.discard(None)
    if ids:
        h.users = {i: n for i, n in session.execute(
            select(User.id, User.username).where(User.id.in_(ids)))}
    return h
