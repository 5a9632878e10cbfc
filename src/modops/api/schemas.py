"""Request and response bodies (pydantic); what /docs shows to integrators."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer


def _utc_iso(value: datetime) -> str:
    """Stored times are naive UTC; on the wire they say so (RFC 3339 with Z)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat() + "Z"


UtcDateTime = Annotated[datetime, PlainSerializer(_utc_iso, return_type=str, when_used="json")]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LoginIn(BaseModel):
    username: str
    password: str


class MeOut(Out):
    id: int
    username: str
    display_name: str
    role: str
    team_id: int | None
    locale: str


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    username: str | None = Field(None, description="admins may create tokens for other users")
    days: int | None = Field(None, ge=1, le=36_500, description="lifetime in days (at most "
                             "MODOPS_TOKEN_DAYS, 90 by default, which is also the default)")


class PasswordIn(BaseModel):
    password: str = Field(min_length=1, max_length=1000)


class TokenOut(Out):
    id: int
    prefix: str
    name: str
    user_id: int
    created_at: UtcDateTime
    last_used_at: UtcDateTime | None = None
    revoked_at: UtcDateTime | None = None


class NewTokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    token: str = Field(description="shown once: store it now, it cannot be read again")


class UserIn(BaseModel):
    username: str
    role: str
    password: str | None = None
    team: str | None = None
    skills: list[str] = []
    display_name: str | None = None


class UserOut(Out):
    id: int
    username: str
    display_name: str | None
    role: str
    team_id: int | None
    skills: list[Any]
    active: bool


class TeamOut(Out):
    id: int
    name: str
    vendor: str | None
    hourly_cost: float | None = None
    currency: str = "KRW"
    shift_start_utc: int | None = None
    shift_hours: int | None = None


class TeamIn(BaseModel):
    """Fields to set on a team (absent ones are left as they are)."""

    vendor: str | None = None
    hourly_cost: float | None = Field(None, ge=0)
    currency: str | None = Field(None, pattern="^[A-Za-z]{3}$")
    shift_start_utc: int | None = Field(None, ge=0, le=23)
    shift_hours: int | None = Field(None, ge=1, le=24)


class LabelOut(BaseModel):
    key: str
    parent_key: str | None
    name_ko: str
    name_en: str
    action: str
    shortcut: str | None


class ProjectOut(BaseModel):
    key: str
    name: str
    description: str | None
    status: str
    products: list[str]
    taxonomy: str
    multi_label: bool
    labels: list[LabelOut]


class ProjectSettingsOut(BaseModel):
    key: str
    settings: dict[str, Any]


class SettingsIn(BaseModel):
    """Any subset of the project settings; unknown names are rejected with 422."""

    model_config = ConfigDict(extra="allow")


# An object, not a (label, count) tuple: a tuple becomes OpenAPI 3.1 ``prefixItems``, which
# client generators and schemathesis misread.
class LabelCount(BaseModel):
    """A final label and how many decided items carry it."""

    label: str
    count: int


class SummaryOut(BaseModel):
    key: str
    name: str
    items: int
    by_state: dict[str, int]
    by_route: dict[str, int]
    annotations: int
    labelers: int
    decisions_by_action: dict[str, int]
    top_labels: list[LabelCount]


class ItemOut(Out):
    """An item as a person working on it sees it: ``id`` and the item field spec's shown
    fields (``modops.domain.fields.SHOWN_FIELDS``; checked by tests/io/test_field_spec.py)."""

    id: int
    external_id: str
    product: Any = None
    title: str | None = None
    caption: str | None = None
    comment: str | None = None
    transcript: str | None = None
    text: str | None = None
    media_url: str | None = None
    metadata: dict[str, Any] | None = None
    language: str | None = None
    created_at: UtcDateTime | None = None
    view_count: int | None = None
    user_reported: bool | None = None


class ItemDetailOut(ItemOut):
    state: str
    route: str | None
    machine_score: float | None
    final_labels: list[Any] | None
    final_action: str | None
    decided_at: UtcDateTime | None
    #: the author (the platform's account) as it was when the item was posted
    author_id: str | None = None
    author_created_at: UtcDateTime | None = None
    author_region: str | None = None
    author_followers: int | None = None
    author_verified: bool | None = None


class TaskOut(Out):
    task_id: int
    kind: str
    project_key: str
    item: ItemOut
    leased_at: UtcDateTime | None = None
    lease_expires_at: UtcDateTime | None = None
    machine_suggestion: Any = None
    #: why the machine scored the item so: per policy, what fired, its score and the words it
    #: matched (reviewers always; labelers where the project shows the machine's suggestion)
    machine_why: list[dict[str, Any]] = []


class TaskStateOut(Out):
    id: int
    kind: str
    state: str
    item_id: int
    lease_expires_at: UtcDateTime | None


class SubmitResultOut(BaseModel):
    annotation_id: int
    item_state: str
    decided_labels: list[str] | None = None
    escalated: bool = False


class SubmitAndNextOut(BaseModel):
    """An answer stored and the labeler's next task leased: ``next`` is null when none is left."""

    submitted: SubmitResultOut
    next: TaskOut | None = None


class SubmitIn(BaseModel):
    labels: list[str]
    note: str | None = Field(None, max_length=5000)


class SkipIn(BaseModel):
    reason: str | None = Field(None, max_length=2000)


class FlagIn(BaseModel):
    note: str | None = Field(None, max_length=5000)


class AnnotationOut(Out):
    id: int
    item_id: int
    task_id: int | None
    labeler_id: int
    kind: str
    labels: list[Any]
    note: str | None
    submitted_at: UtcDateTime


class AppealIn(BaseModel):
    external_id: str
    opened_by: str = Field(min_length=1, max_length=100)
    reason: str | None = Field(None, max_length=5000)


class ImportOut(BaseModel):
    inserted: int
    skipped_existing: int
    rows: int
    annotations: int
    decisions: int


class WebhookIn(BaseModel):
    url: str
    project: str | None = Field(None, description="project key; omit for all projects (admin)")
    events: list[str] = Field(default_factory=list, description="empty: every event")


class WebhookOut(Out):
    id: int
    project_id: int | None
    url: str
    events: list[Any]
    active: bool
    created_at: UtcDateTime


class NewWebhookOut(WebhookOut):
    secret: str = Field(description="HMAC-SHA256 key for X-ModOps-Signature")


class DeliveryOut(Out):
    id: int
    webhook_id: int
    event: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: UtcDateTime
    delivered_at: UtcDateTime | None
    next_attempt_at: UtcDateTime | None


class StatsOut(BaseModel):
    today: int
    gold_answered: int
    gold_correct: int
    gold_accuracy: float | None


class TaxonomyChangeIn(BaseModel):
    """A new taxonomy version for a live project (see ``modops.projects.lifecycle``)."""

    taxonomy: dict[str, Any]
    mapping: dict[str, str] = Field(default_factory=dict)
    note: str | None = Field(None, max_length=5000)
