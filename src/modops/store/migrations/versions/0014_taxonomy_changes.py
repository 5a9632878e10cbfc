"""Policy lifecycle: the history of a project's taxonomy versions with their label mapping.

One row per change of a live project's taxonomy (v1 → v2): the two versions, the mapping of
old label keys to new ones, the guideline note that came with it, who and when. Decisions
made before keep their labels (and their taxonomy version stays stored).

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "taxonomy_changes",
        sa.Column("id", Id, primary_key=True),
        sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("from_taxonomy_id", Id, sa.ForeignKey("taxonomies.id"), nullable=False),
        sa.Column("to_taxonomy_id", Id, sa.ForeignKey("taxonomies.id"), nullable=False),
        sa.Column("mapping", Json, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("relabeled_annotations", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_taxonomy_changes_project", "taxonomy_changes",
                    ["project_id", "changed_at"])


def downgrade() -> None:
    op.drop_index("ix_taxonomy_changes_project", table_name="taxonomy_changes")
    op.drop_table("taxonomy_changes")
