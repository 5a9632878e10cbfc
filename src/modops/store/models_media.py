"""Tables for media: content-addressed files, the items that carry them, hash banks, matches
and near-duplicate clusters (issue 18; docs/media.md).

A file is stored once per SHA-256 (``media_objects``), whatever number of items carry it, and is
processed once: probe, keyframes, PDQ/vPDQ, OCR. ``item_media`` links an item to a file (or to
a URL still to fetch) and carries the per-item state a person sees: ``media_error`` with the
reason when the file could not be had or read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from modops.store.models import Base, Id


class MediaObject(Base):
    """One stored file, named by its SHA-256; what processing learnt about it."""

    __tablename__ = "media_objects"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    md5: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str | None] = mapped_column(String(50))  # sniffed from the bytes, never trusted
    kind: Mapped[str | None] = mapped_column(String(20))  # image, video
    state: Mapped[str] = mapped_column(String(20))  # pending, ready, media_error
    error: Mapped[str | None] = mapped_column(Text)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float)
    codec: Mapped[str | None] = mapped_column(String(50))
    pdq: Mapped[str | None] = mapped_column(String(64))  # hex; first keyframe's for a video
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    vpdq: Mapped[str | None] = mapped_column(Text)  # ThreatExchange's vPDQ signal string
    keyframes: Mapped[list[Any] | None]  # [{"t", "sha256", "pdq", "quality"}]
    ocr_text: Mapped[str | None] = mapped_column(Text)
    pipeline_version: Mapped[int] = mapped_column(Integer, default=0)  # 0 = never processed
    created_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]


class ItemMedia(Base):
    """A file an item carries (position order), or the URL it is to be fetched from."""

    __tablename__ = "item_media"
    __table_args__ = (
        UniqueConstraint("item_id", "position", name="uq_item_media_position"),
        Index("ix_item_media_media", "media_id"),
        Index("ix_item_media_project_state", "project_id", "state"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    project_id: Mapped[int] = mapped_column(Id)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(20))  # path, upload, url
    source_url: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(String(255))  # as given (shown, never used)
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media_objects.id"))
    state: Mapped[str] = mapped_column(String(20))  # fetching, pending, ready, media_error
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class HashBank(Base):
    """A list of known-bad hashes (HMA's "bank"): a match routes by ``action``."""

    __tablename__ = "hash_banks"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    policy_label: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))  # auto_action, review
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # +1 on every change of content
    pdq_threshold: Mapped[int] = mapped_column(Integer, default=31)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class BankEntry(Base):
    """One signal in a bank (ThreatExchange signal type + signal string)."""

    __tablename__ = "bank_entries"
    __table_args__ = (
        UniqueConstraint("bank_id", "signal_type", "signal_key", name="uq_bank_entries_signal"),
        Index("ix_bank_entries_type", "signal_type", "bank_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("hash_banks.id", ondelete="CASCADE"))
    signal_type: Mapped[str] = mapped_column(String(20))  # pdq, vpdq, md5, sha256
    signal: Mapped[str] = mapped_column(Text)
    signal_key: Mapped[str] = mapped_column(String(64))  # sha256 of the signal (uniqueness)
    added_version: Mapped[int] = mapped_column(Integer)
    source_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("items.id", ondelete="SET NULL"))
    source_media_id: Mapped[int | None] = mapped_column(ForeignKey("media_objects.id"))
    note: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime]


class MediaMatch(Base):
    """Evidence that an item's media matched a bank: which entry, at what distance."""

    __tablename__ = "media_matches"
    __table_args__ = (
        Index("ix_media_matches_item", "item_id"),
        Index("ix_media_matches_project_at", "project_id", "matched_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    project_id: Mapped[int] = mapped_column(Id)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    media_id: Mapped[int] = mapped_column(ForeignKey("media_objects.id"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("hash_banks.id", ondelete="CASCADE"))
    bank_version: Mapped[int] = mapped_column(Integer)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("bank_entries.id",
                                                            ondelete="SET NULL"))
    signal_type: Mapped[str] = mapped_column(String(20))
    distance: Mapped[float] = mapped_column(Float)  # PDQ bits; vPDQ: 100 - query match %
    detail: Mapped[dict[str, Any]]
    matched_at: Mapped[datetime]


class ItemCluster(Base):
    """An item's near-duplicate cluster (``kind`` media or text); ``cluster_id`` is the id of
    the cluster's first item, so merging two clusters is one UPDATE."""

    __tablename__ = "item_clusters"
    __table_args__ = (
        UniqueConstraint("item_id", "kind", name="uq_item_clusters_item_kind"),
        Index("ix_item_clusters_cluster", "project_id", "kind", "cluster_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    project_id: Mapped[int] = mapped_column(Id)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    cluster_id: Mapped[int] = mapped_column(Id)
    similarity: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime]
