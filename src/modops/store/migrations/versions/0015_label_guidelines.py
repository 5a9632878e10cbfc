"""Guidelines per label, stored with the taxonomy version they belong to.

``taxonomy_labels.guidelines``: the label's definition and positive / negative examples in
Korean and English (``modops.projects.guidelines``). A new taxonomy version carries its own
copy, so what labelers were told under v1 stays readable after v2.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("taxonomy_labels") as batch:
        batch.add_column(sa.Column("guidelines", Json, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("taxonomy_labels") as batch:
        batch.drop_column("guidelines")
