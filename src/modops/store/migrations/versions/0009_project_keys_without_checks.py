"""Tasks, annotations, decisions and routing decisions: ``project_id`` without a per-row
foreign-key check, as items have had since 0008.

The column is the project the row's item belongs to, copied by every writer from that item's
project, and projects are archived, never deleted, so the check could only ever pass. Each row
still references its item (and through it the project), with ``ON DELETE CASCADE``, so a
retention purge of items still removes their work. The checks were a quarter of PostgreSQL's
time to store a routed import (100,000 items routed before storing: 21.8k -> 25.8k items/s,
back to back), and one of the four run on every labeler's submit.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("tasks", "annotations", "decisions", "routing_decisions")
# SQLite's foreign keys have no names: batch mode names them by this convention to drop them
_SQLITE_FK_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        if sqlite:
            with op.batch_alter_table(table, naming_convention=_SQLITE_FK_NAMES) as batch_op:
                batch_op.drop_constraint(f"fk_{table}_project_id_projects", type_="foreignkey")
            if table == "tasks":
                _dispense_index_descending()
        else:
            op.drop_constraint(f"{table}_project_id_fkey", table, type_="foreignkey")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_foreign_key(f"{table}_project_id_fkey", "projects", ["project_id"],
                                        ["id"], ondelete="CASCADE")
        if table == "tasks" and op.get_bind().dialect.name == "sqlite":
            _dispense_index_descending()


def _dispense_index_descending() -> None:
    """SQLite's table rebuild recreates indexes from reflection, which drops ``DESC``: the
    queue's order (priority DESC, id) would then need a sort on every next task."""
    op.drop_index("ix_tasks_dispense", table_name="tasks")
    op.create_index("ix_tasks_dispense", "tasks",
                    ["project_id", "kind", "state", sa.text("priority DESC"), "id"])
