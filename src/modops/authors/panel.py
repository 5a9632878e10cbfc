"""The author panel's read model: who posted an item, what else they posted, what was decided
and what strikes and enforcement they carry (the review screen shows it; docs/rules.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modops.authors.enforcement import live_strikes, status_in_force
from modops.store.models import Item
from modops.store.models_authors import Author, Enforcement, Strike

RECENT_ITEMS = 10


@dataclass
class AuthorPanel:
    platform_id: str
    created_at: datetime | None
    age_days: float | None
    region: str | None
    followers: int | None
    verified: bool | None
    status: str
    status_until: datetime | None
    items_total: int
    removed_total: int
    #: [{id, external_id, text, created_at, state, final_labels, final_action}], newest first
    recent: list[dict[str, Any]] = field(default_factory=list)
    strikes: dict[str, int] = field(default_factory=dict)  # live strikes per policy
    strikes_total: int = 0  # every strike ever (voided ones excepted)
    enforcements: list[dict[str, Any]] = field(default_factory=list)


def _text(it: Item) -> str:
    body = it.comment or it.caption or it.text or it.title or it.transcript or ""
    return body[:200]


def author_panel(s: Session, project_id: int, platform_id: str | None,
                 now: datetime) -> AuthorPanel | None:
    """The panel of ``platform_id`` within one project, or None when the item has no author.
    Texts are hostile input: the template escapes them (and masks nothing here: the caller
    masks personal data as for any item text)."""
    if not platform_id:
        return None
    author = s.scalar(select(Author).where(Author.platform_id == platform_id))
    items = list(s.scalars(select(Item).where(
        Item.project_id == project_id, Item.author_id == platform_id)
        .order_by(Item.created_at.desc(), Item.id.desc()).limit(RECENT_ITEMS)))
    total = s.query(Item.id).filter(Item.project_id == project_id,
                                    Item.author_id == platform_id).count()
    removed = s.query(Item.id).filter(Item.project_id == project_id,
                                      Item.author_id == platform_id,
                                      Item.final_action.in_(("remove", "restrict"))).count()
    created = (author.created_at if author is not None else None) or next(
        (it.author_created_at for it in items if it.author_created_at is not None), None)
    panel = AuthorPanel(
        platform_id=platform_id, created_at=created,
        age_days=None if created is None else round((now - created).total_seconds() / 86400, 1),
        region=None, followers=None, verified=None, status="active", status_until=None,
        items_total=total, removed_total=removed,
        recent=[{"id": it.id, "external_id": it.external_id, "text": _text(it),
                 "created_at": it.created_at, "state": it.state,
                 "final_labels": it.final_labels or [], "final_action": it.final_action}
                for it in items])
    if author is not None:
        _with_account(s, panel, author, project_id, now)
    return panel


def _with_account(s: Session, panel: AuthorPanel, author: Author, project_id: int,
                  now: datetime) -> None:
    """The account's latest facts, strikes and enforcement."""
    panel.region, panel.followers, panel.verified = (author.region, author.follower_count,
                                                     author.verified)
    panel.status, panel.status_until = status_in_force(author, now), author.status_until
    panel.strikes = dict(live_strikes(s, author.id, now, project_id))
    panel.strikes_total = s.query(Strike.id).filter(
        Strike.author_id == author.id, Strike.voided_at.is_(None)).count()
    panel.enforcements = [
        {"id": e.id, "action": e.action, "policy": e.policy, "strikes": e.strikes,
         "created_at": e.created_at, "until": e.until, "state": e.state}
        for e in s.scalars(select(Enforcement).where(Enforcement.author_id == author.id)
                           .order_by(Enforcement.created_at.desc()).limit(10))]
