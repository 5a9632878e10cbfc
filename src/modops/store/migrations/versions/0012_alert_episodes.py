"""Alert episodes keep their peak, the items they touched and who acknowledged them.

``peak_observed`` / ``peak_at``: the largest observed value while the episode was open and
when; ``affected_items``: the most items the rule counted in one evaluation (decisions with the
spiking label, texts with the term, items past SLA); ``acknowledged_by`` / ``acknowledged_at``:
the person who took the incident. Existing rows get their last numbers as the peak.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as b:
        b.add_column(sa.Column("peak_observed", sa.Float(), nullable=True))
        b.add_column(sa.Column("peak_at", sa.DateTime(), nullable=True))
        b.add_column(sa.Column("affected_items", sa.Integer(), nullable=True))
        b.add_column(sa.Column("acknowledged_by", sa.String(100), nullable=True))
        b.add_column(sa.Column("acknowledged_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE alerts SET peak_observed = observed, peak_at = last_seen_at")


def downgrade() -> None:
    with op.batch_alter_table("alerts") as b:
        for name in ("acknowledged_at", "acknowledged_by", "affected_items", "peak_at",
                     "peak_observed"):
            b.drop_column(name)
