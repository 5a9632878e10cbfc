"""Tables for operations: background jobs.

The ``jobs`` table is the source of truth for every background job (import, export, scoring,
report, alert check, webhook sweep), whatever transport carries it (Dramatiq over Redis in
production, an in-process thread in the embedded default). Keeping the state here and not in
the broker is what makes jobs visible in the UI, retryable by a manager, and resumable after a
crash: a worker that dies leaves a row whose lease (``locked_until``) expires and is taken
again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from modops.store.models import Base, Id


class Job(Base):
    """One background job: queued → running → succeeded | failed (retrying in between)."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_due", "state", "run_after"),
        Index("ix_jobs_project", "project_key", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))  # modops.jobs.registry names
    project_key: Mapped[str | None] = mapped_column(String(100))
    params: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(20))  # queued, running, retrying, succeeded, failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1
    progress_note: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    run_after: Mapped[datetime]  # not before: backoff after a failure
    locked_until: Mapped[datetime | None]  # the running worker's lease, renewed by progress
    worker: Mapped[str | None] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
