"""Authors (the platform's accounts that post items), their strikes, the enforcement actions
taken on them and the campaigns (coordinated behaviour) they take part in.

``modops.authors`` is the use-case package over these tables; ``docs/rules.md`` documents
strikes, their decay windows and the enforcement webhooks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from modops.store.models import Base, Id


class Author(Base):
    """One platform account, as last seen on ingest (upserted in bulk by the importer)."""

    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime | None]  # when the account was created on the platform
    region: Mapped[str | None] = mapped_column(String(16))
    follower_count: Mapped[int | None] = mapped_column(BigInteger)
    verified: Mapped[bool | None] = mapped_column(Boolean)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    #: the enforcement in force: active / warned / restricted / suspended / banned
    status: Mapped[str] = mapped_column(String(20), default="active")
    status_until: Mapped[datetime | None]


class Strike(Base):
    """One strike on an author under one policy (label), from one removal decision. It counts
    until ``expires_at`` (the project's decay window for the policy), or until voided by an
    appeal."""

    __tablename__ = "strikes"
    __table_args__ = (
        Index("ix_strikes_author", "author_id", "policy", "expires_at"),
        Index("ix_strikes_item", "item_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int | None] = mapped_column(Id)
    policy: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    voided_at: Mapped[datetime | None]
    voided_reason: Mapped[str | None] = mapped_column(Text)


class Enforcement(Base):
    """One enforcement action on an author (warn, restrict, suspend, ban): recorded, sent to
    the platform as a signed webhook (event ``account.enforcement``) and appealable."""

    __tablename__ = "enforcements"
    __table_args__ = (
        Index("ix_enforcements_author", "author_id", "created_at"),
        Index("ix_enforcements_project", "project_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(20))  # warn / restrict / suspend / ban
    policy: Mapped[str | None] = mapped_column(String(100))
    strikes: Mapped[int] = mapped_column(Integer, default=0)  # in the window when taken
    item_id: Mapped[int | None] = mapped_column(Id)
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))  # strikes / manual / campaign / rule
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    until: Mapped[datetime | None]  # restrict / suspend end; None: until lifted (ban: never)
    #: in_force / appealed / upheld / overturned
    state: Mapped[str] = mapped_column(String(20), default="in_force")
    appeal_reason: Mapped[str | None] = mapped_column(Text)
    appealed_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))


class Campaign(Base):
    """Coordinated behaviour: many accounts posting near-duplicate text (MinHash LSH) or
    matching media within a window. One decision applies to every item of it."""

    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_project", "project_id", "last_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # text / media
    signature: Mapped[str] = mapped_column(String(100))  # stable key of the cluster
    sample: Mapped[str | None] = mapped_column(Text)  # one member's text (hostile: escape)
    item_ids: Mapped[list[Any]]
    authors: Mapped[list[Any]]  # platform ids
    #: the timeline: [[iso time, platform id, item id], …] in time order
    timeline: Mapped[list[Any]]
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    detected_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20), default="open")  # open / decided
    decided_labels: Mapped[list[Any] | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
