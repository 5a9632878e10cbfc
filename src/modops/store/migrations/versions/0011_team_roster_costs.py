"""Teams carry their schedule (for the staffing roster) and the currency of their hourly cost.

``shift_start_utc`` / ``shift_hours``: the team's daily shift (UTC hour it starts, its length);
null = no schedule given (the staffing plan then uses three 8-hour shifts). ``currency``: ISO
4217 code of ``hourly_cost``, KRW unless set.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("teams") as b:
        b.add_column(sa.Column("shift_start_utc", sa.Integer(), nullable=True))
        b.add_column(sa.Column("shift_hours", sa.Integer(), nullable=True))
        b.add_column(sa.Column("currency", sa.String(3), nullable=False,
                               server_default="KRW"))


def downgrade() -> None:
    with op.batch_alter_table("teams") as b:
        b.drop_column("currency")
        b.drop_column("shift_hours")
        b.drop_column("shift_start_utc")
