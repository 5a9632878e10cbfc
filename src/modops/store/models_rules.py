"""Rules over signals (``modops.rules``): their versions, backtests and matches.

- ``rules``: one row per version of a rule (a new YAML text is a new version, in shadow
  mode); ``current`` marks the version in force. Enabling records the backtest it was enabled
  on, or an admin's override reason.
- ``rule_backtests``: what a rule version or a threshold change would have done to the
  decided items of the last N days (volume, precision, recall, route changes, examples).
- ``rule_hits``: every match of a live or shadow rule at routing (the shadow log).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from modops.store.models import Base, Id


class Rule(Base):
    __tablename__ = "rules"
    __table_args__ = (
        Index("ux_rules_version", "project_id", "key", "version", unique=True),
        Index("ix_rules_current", "project_id", "current"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(100))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    mode: Mapped[str] = mapped_column(String(10))  # shadow, live, disabled
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(Text)  # the rule's YAML
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    enabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    enabled_by: Mapped[str | None] = mapped_column(String(100))
    backtest_id: Mapped[int | None] = mapped_column(
        ForeignKey("rule_backtests.id", ondelete="SET NULL"))
    override_reason: Mapped[str | None] = mapped_column(Text)


class RuleBacktest(Base):
    __tablename__ = "rule_backtests"
    __table_args__ = (Index("ix_rule_backtests_rule", "project_id", "rule_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # rule, thresholds
    rule_key: Mapped[str | None] = mapped_column(String(100))
    rule_version: Mapped[int | None] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class RuleHit(Base):
    __tablename__ = "rule_hits"
    __table_args__ = (
        Index("ix_rule_hits_rule", "rule_id", "at"),
        Index("ix_rule_hits_item", "item_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    project_id: Mapped[int] = mapped_column(Id)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id", ondelete="CASCADE"))
    mode: Mapped[str] = mapped_column(String(10))
    applied: Mapped[bool] = mapped_column(Boolean, default=False)  # its action was taken
    at: Mapped[datetime] = mapped_column(DateTime)
