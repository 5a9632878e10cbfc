"""Items by ingestion time: keyword-burst text windows and the prevalence sample read a
time range of one project's items (a full scan of ``items`` per query without it).

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_items_project_ingested", "items", ["project_id", "ingested_at"])


def downgrade() -> None:
    op.drop_index("ix_items_project_ingested", table_name="items")
