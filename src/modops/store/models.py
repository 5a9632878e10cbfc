"""SQLAlchemy models: the one schema that runs on SQLite (embedded) and PostgreSQL (production).

Times are naive UTC everywhere (``modops.store.db.utcnow``) so both engines compare them the
same way. JSON columns are JSONB on PostgreSQL. Every change of a label or a setting is also
written to ``audit_log``, which the database itself keeps append-only (see the migration).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite so autoincrement works on both.
Id = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: Json,
        list[Any]: Json,
        datetime: DateTime(),
    }


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    vendor: Mapped[str | None] = mapped_column(String(100))
    hourly_cost: Mapped[float | None] = mapped_column(Float)  # for cost per item
    currency: Mapped[str] = mapped_column(String(3), default="KRW", server_default="KRW")
    # the team's daily shift, for the staffing roster (None: not scheduled)
    shift_start_utc: Mapped[int | None] = mapped_column(Integer)
    shift_hours: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # modops.domain.Role
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    skills: Mapped[list[Any]] = mapped_column(default=list)  # e.g. ["ko", "minor_safety"]
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(5), default="ko")
    created_at: Mapped[datetime]

    team: Mapped[Team | None] = relationship()


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(50), unique=True)  # short_video, live, comment, ad
    name_ko: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))


class Taxonomy(Base):
    """A versioned policy taxonomy; projects pin one version, so old labels keep their meaning."""

    __tablename__ = "taxonomies"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    multi_label: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]

    labels: Mapped[list[TaxonomyLabel]] = relationship(
        back_populates="taxonomy", order_by="TaxonomyLabel.position", cascade="all, delete-orphan"
    )


class TaxonomyLabel(Base):
    __tablename__ = "taxonomy_labels"
    __table_args__ = (UniqueConstraint("taxonomy_id", "key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    taxonomy_id: Mapped[int] = mapped_column(ForeignKey("taxonomies.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    parent_key: Mapped[str | None] = mapped_column(String(100))
    name_ko: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(20))  # modops.domain.Action
    shortcut: Mapped[str | None] = mapped_column(String(5))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # definition and examples, KO/EN (modops.projects.guidelines; migration 0015)
    guidelines: Mapped[dict[str, Any] | None] = mapped_column(Json)

    taxonomy: Mapped[Taxonomy] = relationship(back_populates="labels")


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    taxonomy_id: Mapped[int] = mapped_column(ForeignKey("taxonomies.id"))
    status: Mapped[str] = mapped_column(String(20))  # modops.domain.ProjectStatus
    overlap_k: Mapped[int] = mapped_column(Integer, default=1)
    gold_rate: Mapped[float] = mapped_column(Float, default=0.0)
    audit_rate: Mapped[float] = mapped_column(Float, default=0.0)
    sla_minutes: Mapped[int] = mapped_column(Integer, default=24 * 60)
    lease_seconds: Mapped[int] = mapped_column(Integer, default=600)
    auto_action_threshold: Mapped[float | None] = mapped_column(Float)
    auto_clear_threshold: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[str | None] = mapped_column(String(100))
    scorer: Mapped[str | None] = mapped_column(String(500))  # None = built-in model
    priority_weights: Mapped[dict[str, Any]] = mapped_column(default=dict)
    escalation_threshold: Mapped[float] = mapped_column(Float, default=0.5)
    required_skills: Mapped[list[Any]] = mapped_column(default=list)
    show_machine_suggestion: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    taxonomy: Mapped[Taxonomy] = relationship()
    products: Mapped[list[Product]] = relationship(secondary="project_products")
    teams: Mapped[list[Team]] = relationship(secondary="project_teams")


class ProjectProduct(Base):
    __tablename__ = "project_products"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)


class ProjectTeam(Base):
    """Teams a project's queue is restricted to (no rows: any labeler may work on it)."""

    __tablename__ = "project_teams"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)


class Item(Base):
    """A piece of content under moderation. Its text is hostile input: never trust it."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("project_id", "external_id", name="uq_items_project_external"),
        Index("ix_items_project_id", "project_id", "id"),
        Index("ix_items_project_created", "project_id", "created_at"),
        Index("ix_items_project_decided", "project_id", "decided_at",  # period metrics
              postgresql_where=text("decided_at IS NOT NULL"),
              sqlite_where=text("decided_at IS NOT NULL")),
        Index("ix_items_project_ingested", "project_id", "ingested_at"),  # alerts, prevalence
        Index("ix_items_author", "author_id", "created_at",  # the author panel, strikes
              postgresql_where=text("author_id IS NOT NULL"),
              sqlite_where=text("author_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # project and product are resolved by every writer, never foreign keys: a bulk load would
    # pay two checks per row for references that cannot dangle (migration 0008 says why)
    project_id: Mapped[int] = mapped_column(Id)
    external_id: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[int] = mapped_column(Id)
    title: Mapped[str | None] = mapped_column(Text)
    caption: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)  # any other body text (e.g. Label Studio "text")
    media_url: Mapped[str | None] = mapped_column(Text)
    # Korean text read off the item's images and keyframes (modops.media.pipeline); scored
    # with the other text fields
    ocr_text: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata", Json)
    language: Mapped[str] = mapped_column(String(10), default="ko")
    created_at: Mapped[datetime]
    ingested_at: Mapped[datetime]
    view_count: Mapped[int] = mapped_column(BigInteger, default=0)
    user_reported: Mapped[bool] = mapped_column(Boolean, default=False)
    reported_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(20))  # modops.domain.ItemState
    route: Mapped[str | None] = mapped_column(String(20))  # modops.domain.Route
    machine_score: Mapped[float | None] = mapped_column(Float)
    # the author as the platform saw it when the item was posted (the ``authors`` table keeps
    # each account's latest facts); author_id is the platform's account id
    author_id: Mapped[str | None] = mapped_column(String(200))
    author_created_at: Mapped[datetime | None]
    author_region: Mapped[str | None] = mapped_column(String(16))
    author_followers: Mapped[int | None] = mapped_column(BigInteger)
    author_verified: Mapped[bool | None] = mapped_column(Boolean)
    machine_scores: Mapped[dict[str, Any] | None] = mapped_column(Json)
    model_version: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    is_gold: Mapped[bool] = mapped_column(Boolean, default=False)
    gold_labels: Mapped[list[Any] | None] = mapped_column(Json)
    in_prevalence_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    final_labels: Mapped[list[Any] | None] = mapped_column(Json)
    final_action: Mapped[str | None] = mapped_column(String(20))
    decided_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]  # SLA deadline: ingestion + the project's (product's) SLA
    escalated_at: Mapped[datetime | None]
    import_batch: Mapped[str | None] = mapped_column(String(50))

    product: Mapped[Product] = relationship(
        primaryjoin="Item.product_id == Product.id", foreign_keys="Item.product_id")


class Task(Base):
    """One unit of work on an item: one of the k label slots, a gold, audit, review or appeal."""

    __tablename__ = "tasks"
    __table_args__ = (
        # next_task walks this index in order: most urgent first, ties oldest first
        Index("ix_tasks_dispense", "project_id", "kind", "state", text("priority DESC"), "id"),
        Index("ix_tasks_item_assignee", "item_id", "assignee_id"),  # "never the same item twice"
        Index("ix_tasks_assignee", "assignee_id", "state"),
        Index("ix_tasks_lease_expiry", "state", "lease_expires_at"),
        # The database, not only the code, guarantees a labeler holds at most one of an
        # item's k label slots: overlap means k *distinct* labelers.
        Index(
            "uq_tasks_label_slot_per_labeler",
            "item_id",
            "assignee_id",
            unique=True,
            postgresql_where=text("assignee_id IS NOT NULL AND kind = 'label'"),
            sqlite_where=text("assignee_id IS NOT NULL AND kind = 'label'"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    project_id: Mapped[int] = mapped_column(Id)  # no foreign key: migration 0009
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # modops.domain.TaskKind
    state: Mapped[str] = mapped_column(String(20))  # modops.domain.TaskState
    slot: Mapped[int] = mapped_column(Integer, default=0)
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    required_skill: Mapped[str | None] = mapped_column(String(50))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    leased_at: Mapped[datetime | None]
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class Annotation(Base):
    """One person's labels for one item (a label slot, gold, audit, review or appeal)."""

    __tablename__ = "annotations"
    __table_args__ = (
        Index("ix_annotations_item", "item_id"),
        Index("ix_annotations_labeler", "labeler_id", "submitted_at"),
        Index("ix_annotations_project_kind_submitted", "project_id", "kind", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    project_id: Mapped[int] = mapped_column(Id)  # no foreign key: migration 0009
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    labeler_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20), default="label")  # modops.domain.TaskKind
    labels: Mapped[list[Any]]
    note: Mapped[str | None] = mapped_column(Text)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime]
    handle_ms: Mapped[int | None] = mapped_column(BigInteger)
    correct: Mapped[bool | None] = mapped_column(Boolean)  # gold answers: scored on submit
    overturned: Mapped[bool | None] = mapped_column(Boolean)  # set when a reviewer decides


class Decision(Base):
    """A final (or superseded) decision on an item, with who or what made it and why."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_item", "item_id"),
        Index("ix_decisions_project_at", "project_id", "decided_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    project_id: Mapped[int] = mapped_column(Id)  # no foreign key: migration 0009
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    labels: Mapped[list[Any]]
    action: Mapped[str] = mapped_column(String(20))  # modops.domain.Action
    source: Mapped[str] = mapped_column(String(20))  # modops.domain.DecisionSource
    basis: Mapped[dict[str, Any]] = mapped_column(default=dict)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime]
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    views_at_decision: Mapped[int | None] = mapped_column(BigInteger)


class RoutingDecision(Base):
    """Why the machine sent an item where it did: score, thresholds and model version."""

    __tablename__ = "routing_decisions"
    __table_args__ = (
        Index("ix_routing_item", "item_id"),
        Index("ix_routing_project_at", "project_id", "decided_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    project_id: Mapped[int] = mapped_column(Id)  # no foreign key: migration 0009
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    score: Mapped[float | None] = mapped_column(Float)
    auto_action_threshold: Mapped[float | None] = mapped_column(Float)
    auto_clear_threshold: Mapped[float | None] = mapped_column(Float)
    route: Mapped[str] = mapped_column(String(20))  # modops.domain.Route
    model_version: Mapped[str | None] = mapped_column(String(100))
    audit_sampled: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime]


class Skip(Base):
    """A labeler passed on an item: they are never served it again."""

    __tablename__ = "skips"
    __table_args__ = (UniqueConstraint("item_id", "user_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class Appeal(Base):
    """A decided item re-opened for senior review; the outcome is upheld or overturned."""

    __tablename__ = "appeals"
    __table_args__ = (Index("ix_appeals_project_state", "project_id", "state"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    opened_by: Mapped[str] = mapped_column(String(100))  # the content's author, a system, …
    reason: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20))  # open, upheld, overturned
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    outcome_labels: Mapped[list[Any] | None] = mapped_column(Json)


class AuditLog(Base):
    """Append-only: the migration installs triggers that reject UPDATE and DELETE."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_entity", "entity", "entity_id"),
        Index("ix_audit_project_at", "project_id", "at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(100))  # username, or "system"/"cli"
    action: Mapped[str] = mapped_column(String(50))  # e.g. label.submit, project.update
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    project_id: Mapped[int | None] = mapped_column(BigInteger)
    before: Mapped[dict[str, Any] | None] = mapped_column(Json)
    after: Mapped[dict[str, Any] | None] = mapped_column(Json)


class TaxonomyChange(Base):
    """A live project moved to another taxonomy version (policy lifecycle, migration 0014)."""

    __tablename__ = "taxonomy_changes"
    __table_args__ = (Index("ix_taxonomy_changes_project", "project_id", "changed_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    from_taxonomy_id: Mapped[int] = mapped_column(ForeignKey("taxonomies.id"))
    to_taxonomy_id: Mapped[int] = mapped_column(ForeignKey("taxonomies.id"))
    mapping: Mapped[dict[str, Any]]
    note: Mapped[str | None] = mapped_column(Text)
    relabeled_annotations: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime]
