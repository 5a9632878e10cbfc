"""Alert triage: who an episode is assigned to, until when it is snoozed, who resolved it.

``assigned_to``: the person working the incident (a username); ``snoozed_until``: the episode
sorts below the others and is shown as snoozed until then (it keeps being evaluated);
``resolved_by``: the person who closed it by hand (NULL when the evaluation found the rule
no longer firing). A recurrence after a manual resolve is a new episode.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as b:
        b.add_column(sa.Column("assigned_to", sa.String(100), nullable=True))
        b.add_column(sa.Column("snoozed_until", sa.DateTime(), nullable=True))
        b.add_column(sa.Column("resolved_by", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as b:
        b.drop_column("resolved_by")
        b.drop_column("snoozed_until")
        b.drop_column("assigned_to")
