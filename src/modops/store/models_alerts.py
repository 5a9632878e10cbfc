"""The ``alerts`` table: raised alerts kept so they appear on the dashboard and can be audited.

``modops.analytics.evaluate_alerts`` only evaluates; this table is what makes an alert a thing
with a history. One row is one *episode*: while the same rule keeps firing for the same subject
(label, keyword) the row is updated (``last_seen_at``, ``times_seen``, latest numbers) instead
of a new row being written, so a check every 15 minutes does not flood the list or the
webhook. When an evaluation no longer raises it, ``resolved_at`` is set; a later recurrence is a
new episode (and a new webhook delivery).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from modops.store.models import Base, Id


class AlertRecord(Base):
    """One alert episode with the numbers it was raised on (observed, expected, threshold)."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_project_seen", "project_id", "last_seen_at"),
        Index("ix_alerts_open", "project_id", "rule", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(50))
    severity: Mapped[str] = mapped_column(String(20))  # info / warning / critical
    subject: Mapped[str | None] = mapped_column(String(200))  # label key or keyword
    message_en: Mapped[str] = mapped_column(Text)
    message_ko: Mapped[str] = mapped_column(Text)
    observed: Mapped[float] = mapped_column(Float)
    expected: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    stats: Mapped[dict[str, Any]]
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    times_seen: Mapped[int] = mapped_column(Integer, default=1)
    resolved_at: Mapped[datetime | None]
    peak_observed: Mapped[float | None] = mapped_column(Float)  # largest observed while open
    peak_at: Mapped[datetime | None]
    affected_items: Mapped[int | None] = mapped_column(Integer)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    acknowledged_at: Mapped[datetime | None]
    assigned_to: Mapped[str | None] = mapped_column(String(100))  # migration 0018
    snoozed_until: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))  # None: the rule stopped
