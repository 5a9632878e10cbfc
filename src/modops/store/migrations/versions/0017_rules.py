"""Rules over signals (issue 19): rule versions, backtests and the match log.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "rule_backtests",
        sa.Column("id", Id, primary_key=True),
        sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("rule_key", sa.String(100), nullable=True),
        sa.Column("rule_version", sa.Integer(), nullable=True),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("params", Json, nullable=False),
        sa.Column("result", Json, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_rule_backtests_rule", "rule_backtests", ["project_id", "rule_key"])
    op.create_table(
        "rules",
        sa.Column("id", Id, primary_key=True),
        sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("enabled_at", sa.DateTime(), nullable=True),
        sa.Column("enabled_by", sa.String(100), nullable=True),
        sa.Column("backtest_id", Id, sa.ForeignKey("rule_backtests.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
    )
    op.create_index("ux_rules_version", "rules", ["project_id", "key", "version"], unique=True)
    op.create_index("ix_rules_current", "rules", ["project_id", "current"])
    op.create_table(
        "rule_hits",
        sa.Column("id", Id, primary_key=True),
        sa.Column("project_id", Id, nullable=False),
        sa.Column("item_id", Id, sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("rule_id", Id, sa.ForeignKey("rules.id", ondelete="CASCADE"), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_rule_hits_rule", "rule_hits", ["rule_id", "at"])
    op.create_index("ix_rule_hits_item", "rule_hits", ["item_id"])


def downgrade() -> None:
    op.drop_table("rule_hits")
    op.drop_table("rules")
    op.drop_table("rule_backtests")
