"""Media: content-addressed files, item media, hash banks, matches, near-duplicate clusters,
and the items' ``ocr_text`` (issue 18; docs/media.md).

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model types: a migration must not change when models change.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("items") as batch_op:
        batch_op.add_column(sa.Column("ocr_text", sa.Text(), nullable=True))
    op.create_table(
        "media_objects",
        sa.Column("id", Id, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("md5", sa.String(32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mime", sa.String(50), nullable=True),
        sa.Column("kind", sa.String(20), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("codec", sa.String(50), nullable=True),
        sa.Column("pdq", sa.String(64), nullable=True),
        sa.Column("pdq_quality", sa.Integer(), nullable=True),
        sa.Column("vpdq", sa.Text(), nullable=True),
        sa.Column("keyframes", Json, nullable=True),
        sa.Column("ocr_text", sa.Text(), nullable=True),
        sa.Column("pipeline_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("processed_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "item_media",
        sa.Column("id", Id, primary_key=True),
        sa.Column("project_id", Id, nullable=False),
        sa.Column("item_id", Id, sa.ForeignKey("items.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("filename", sa.String(255), nullable=True),
        sa.Column("media_id", Id, sa.ForeignKey("media_objects.id"), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("item_id", "position", name="uq_item_media_position"),
    )
    op.create_index("ix_item_media_media", "item_media", ["media_id"])
    op.create_index("ix_item_media_project_state", "item_media", ["project_id", "state"])
    op.create_table(
        "hash_banks",
        sa.Column("id", Id, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("policy_label", sa.String(100), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("pdq_threshold", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "bank_entries",
        sa.Column("id", Id, primary_key=True),
        sa.Column("bank_id", Id, sa.ForeignKey("hash_banks.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("signal_type", sa.String(20), nullable=False),
        sa.Column("signal", sa.Text(), nullable=False),
        sa.Column("signal_key", sa.String(64), nullable=False),
        sa.Column("added_version", sa.Integer(), nullable=False),
        sa.Column("source_item_id", Id, sa.ForeignKey("items.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("source_media_id", Id, sa.ForeignKey("media_objects.id"), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("added_by", sa.String(100), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("bank_id", "signal_type", "signal_key",
                            name="uq_bank_entries_signal"),
    )
    op.create_index("ix_bank_entries_type", "bank_entries", ["signal_type", "bank_id"])
    op.create_table(
        "media_matches",
        sa.Column("id", Id, primary_key=True),
        sa.Column("project_id", Id, nullable=False),
        sa.Column("item_id", Id, sa.ForeignKey("items.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("media_id", Id, sa.ForeignKey("media_objects.id"), nullable=False),
        sa.Column("bank_id", Id, sa.ForeignKey("hash_banks.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("bank_version", sa.Integer(), nullable=False),
        sa.Column("entry_id", Id, sa.ForeignKey("bank_entries.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("signal_type", sa.String(20), nullable=False),
        sa.Column("distance", sa.Float(), nullable=False),
        sa.Column("detail", Json, nullable=False),
        sa.Column("matched_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_media_matches_item", "media_matches", ["item_id"])
    op.create_index("ix_media_matches_project_at", "media_matches", ["project_id", "matched_at"])
    op.create_table(
        "item_clusters",
        sa.Column("id", Id, primary_key=True),
        sa.Column("project_id", Id, nullable=False),
        sa.Column("item_id", Id, sa.ForeignKey("items.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("cluster_id", Id, nullable=False),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("item_id", "kind", name="uq_item_clusters_item_kind"),
    )
    op.create_index("ix_item_clusters_cluster", "item_clusters",
                    ["project_id", "kind", "cluster_id"])


def downgrade() -> None:
    op.drop_index("ix_item_clusters_cluster", table_name="item_clusters")
    op.drop_table("item_clusters")
    op.drop_index("ix_media_matches_project_at", table_name="media_matches")
    op.drop_index("ix_media_matches_item", table_name="media_matches")
    op.drop_table("media_matches")
    op.drop_index("ix_bank_entries_type", table_name="bank_entries")
    op.drop_table("bank_entries")
    op.drop_table("hash_banks")
    op.drop_index("ix_item_media_project_state", table_name="item_media")
    op.drop_index("ix_item_media_media", table_name="item_media")
    op.drop_table("item_media")
    op.drop_table("media_objects")
    with op.batch_alter_table("items") as batch_op:
        batch_op.drop_column("ocr_text")

