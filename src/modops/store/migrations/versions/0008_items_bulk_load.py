"""Items: no per-row foreign-key checks on the bulk-loaded columns; the decided-time index
holds decided items only.

``items.project_id`` and ``items.product_id`` stay plain integer columns. Every writer resolves
both from the project it writes into (the importer rejects a product the project does not
cover, naming the file and line), and projects and products are archived, never deleted, so
the checks could only ever pass. They cost a bulk load dearly: on a 1M-item import the two
per-row checks were 12 µs of the PostgreSQL server's 30 µs per row (26k -> 39k items/s) and a
sixth of SQLite's time (43k -> 52k items/s). Tasks, annotations and decisions keep theirs.

Items are imported undecided, so ``ix_items_project_decided`` is partial (``decided_at IS NOT
NULL``): an import no longer writes a million entries of NULL into it, and every query that
uses it (``decided_at >= :start``) implies the condition.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite's foreign keys have no names: batch mode names them by this convention to drop them
_SQLITE_FK_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
_DECIDED_WHERE = "decided_at IS NOT NULL"


def upgrade() -> None:
    op.drop_index("ix_items_project_decided", table_name="items")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("items", naming_convention=_SQLITE_FK_NAMES) as batch_op:
            batch_op.drop_constraint("fk_items_project_id_projects", type_="foreignkey")
            batch_op.drop_constraint("fk_items_product_id_products", type_="foreignkey")
    else:
        op.drop_constraint("items_project_id_fkey", "items", type_="foreignkey")
        op.drop_constraint("items_product_id_fkey", "items", type_="foreignkey")
    op.create_index("ix_items_project_decided", "items", ["project_id", "decided_at"],
                    postgresql_where=sa.text(_DECIDED_WHERE),
                    sqlite_where=sa.text(_DECIDED_WHERE))


def downgrade() -> None:
    op.drop_index("ix_items_project_decided", table_name="items")
    with op.batch_alter_table("items") as batch_op:
        batch_op.create_foreign_key("items_project_id_fkey", "projects", ["project_id"], ["id"],
                                    ondelete="CASCADE")
        batch_op.create_foreign_key("items_product_id_fkey", "products", ["product_id"], ["id"])
    op.create_index("ix_items_project_decided", "items", ["project_id", "decided_at"])
