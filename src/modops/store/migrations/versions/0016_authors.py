"""Authors (issue 19): the items' author fields, the ``authors`` table upserted on ingest,
strikes with decay windows, enforcement actions on accounts and campaigns.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model types: a migration must not change when models change.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id", ondelete="CASCADE")


def upgrade() -> None:
    with op.batch_alter_table("items") as batch_op:
        batch_op.add_column(sa.Column("author_id", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("author_created_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("author_region", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("author_followers", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("author_verified", sa.Boolean(), nullable=True))
    op.create_index("ix_items_author", "items", ["author_id", "created_at"],
                    postgresql_where=sa.text("author_id IS NOT NULL"),
                    sqlite_where=sa.text("author_id IS NOT NULL"))
    op.create_table(
        "authors",
        sa.Column("id", Id, primary_key=True),
        sa.Column("platform_id", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("region", sa.String(16), nullable=True),
        sa.Column("follower_count", sa.BigInteger(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_until", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "strikes",
        sa.Column("id", Id, primary_key=True),
        sa.Column("author_id", Id, _fk("authors"), nullable=False),
        sa.Column("project_id", Id, _fk("projects"), nullable=False),
        sa.Column("item_id", Id, nullable=True),
        sa.Column("policy", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("voided_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_strikes_author", "strikes", ["author_id", "policy", "expires_at"])
    op.create_index("ix_strikes_item", "strikes", ["item_id"])
    op.create_table(
        "enforcements",
        sa.Column("id", Id, primary_key=True),
        sa.Column("author_id", Id, _fk("authors"), nullable=False),
        sa.Column("project_id", Id, _fk("projects"), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("policy", sa.String(100), nullable=True),
        sa.Column("strikes", sa.Integer(), nullable=False),
        sa.Column("item_id", Id, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("appeal_reason", sa.Text(), nullable=True),
        sa.Column("appealed_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(100), nullable=True),
    )
    op.create_index("ix_enforcements_author", "enforcements", ["author_id", "created_at"])
    op.create_index("ix_enforcements_project", "enforcements", ["project_id", "created_at"])
    op.create_table(
        "campaigns",
        sa.Column("id", Id, primary_key=True),
        sa.Column("project_id", Id, _fk("projects"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
        sa.Column("sample", sa.Text(), nullable=True),
        sa.Column("item_ids", Json, nullable=False),
        sa.Column("authors", Json, nullable=False),
        sa.Column("timeline", Json, nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("detected_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("decided_labels", Json, nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_campaigns_project", "campaigns", ["project_id", "last_at"])


def downgrade() -> None:
    for table in ("campaigns", "enforcements", "strikes", "authors"):
        op.drop_table(table)
    op.drop_index("ix_items_author", table_name="items")
    with op.batch_alter_table("items") as batch_op:
        for column in ("author_verified", "author_followers", "author_region",
                       "author_created_at", "author_id"):
            batch_op.drop_column(column)
