"""Queue: routing decisions, skips, appeals; SLA deadlines, skills and the one-slot-per-labeler
guarantee on tasks; gold correctness and overturns on annotations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 08:56:27.254032

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "routing_decisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("auto_action_threshold", sa.Float(), nullable=True),
        sa.Column("auto_clear_threshold", sa.Float(), nullable=True),
        sa.Column("route", sa.String(length=20), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=True),
        sa.Column("audit_sampled", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_routing_item", ["item_id"], unique=False)
        batch_op.create_index("ix_routing_project_at", ["project_id", "decided_at"], unique=False)

    op.create_table(
        "skips",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "user_id"),
    )
    op.create_table(
        "appeals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "decision_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("opened_by", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column(
            "resolved_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column(
            "outcome_labels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.create_index("ix_appeals_project_state", ["project_id", "state"], unique=False)

    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("correct", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("overturned", sa.Boolean(), nullable=True))

    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("views_at_decision", sa.BigInteger(), nullable=True))

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_item")
        batch_op.create_index("ix_tasks_item_assignee", ["item_id", "assignee_id"], unique=False)
        batch_op.add_column(sa.Column("required_skill", sa.String(length=50), nullable=True))
        batch_op.add_column(
            sa.Column(
                "team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_index("ix_tasks_lease_expiry", ["state", "lease_expires_at"], unique=False)
        batch_op.create_index(
            "uq_tasks_label_slot_per_labeler",
            ["item_id", "assignee_id"],
            unique=True,
            postgresql_where=sa.text("assignee_id IS NOT NULL AND kind = 'label'"),
            sqlite_where=sa.text("assignee_id IS NOT NULL AND kind = 'label'"),
        )
        batch_op.create_foreign_key("fk_tasks_team_id_teams", "teams", ["team_id"], ["id"])

    # Served in index order: most urgent first, ties oldest first. Outside the batch block:
    # SQLite's table rebuild cannot copy an index with a DESC expression.
    op.drop_index("ix_tasks_dispense", table_name="tasks")
    op.create_index(
        "ix_tasks_dispense",
        "tasks",
        ["project_id", "kind", "state", sa.text("priority DESC"), "id"],
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_tasks_dispense", table_name="tasks")
    op.create_index("ix_tasks_dispense", "tasks", ["project_id", "state", "priority", "id"])
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_constraint("fk_tasks_team_id_teams", type_="foreignkey")
        batch_op.drop_index(
            "uq_tasks_label_slot_per_labeler",
            postgresql_where=sa.text("assignee_id IS NOT NULL AND kind = 'label'"),
            sqlite_where=sa.text("assignee_id IS NOT NULL AND kind = 'label'"),
        )
        batch_op.drop_index("ix_tasks_lease_expiry")
        batch_op.drop_column("team_id")
        batch_op.drop_column("required_skill")
        batch_op.drop_index("ix_tasks_item_assignee")
        batch_op.create_index("ix_tasks_item", ["item_id"], unique=False)

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("due_at")

    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("views_at_decision")

    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_column("overturned")
        batch_op.drop_column("correct")

    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_appeals_project_state")

    op.drop_table("appeals")
    op.drop_table("skips")
    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_routing_project_at")
        batch_op.drop_index("ix_routing_item")

    op.drop_table("routing_decisions")
