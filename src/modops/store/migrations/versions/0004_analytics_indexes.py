"""Indexes for period analytics: items by decision time, annotations by kind and time.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_items_project_decided", "items", ["project_id", "decided_at"])
    op.drop_index("ix_annotations_project_submitted", table_name="annotations")
    op.create_index("ix_annotations_project_kind_submitted", "annotations",
                    ["project_id", "kind", "submitted_at"])


def downgrade() -> None:
    op.drop_index("ix_annotations_project_kind_submitted", table_name="annotations")
    op.create_index("ix_annotations_project_submitted", "annotations",
                    ["project_id", "submitted_at"])
    op.drop_index("ix_items_project_decided", table_name="items")
