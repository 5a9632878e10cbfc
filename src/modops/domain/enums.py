"""Enumerations shared by every layer. Stored as their string values."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Roles in order of privilege; see ``Role.at_least``."""

    LABELER = "labeler"
    REVIEWER = "reviewer"
    MANAGER = "manager"
    ADMIN = "admin"

    def at_least(self, other: Role) -> bool:
        order = [Role.LABELER, Role.REVIEWER, Role.MANAGER, Role.ADMIN]
        return order.index(self) >= order.index(other)

    def org_wide(self, team_id: int | None) -> bool:
        """Admins, and reviewers or managers without a team (central staff), belong to every
        project; everyone else only to projects open to all or to their team."""
        return self == Role.ADMIN or (team_id is None and self.at_least(Role.REVIEWER))


class ProjectStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class Route(StrEnum):
    """Where the machine pre-screen sent an item."""

    AUTO_ACTION = "auto_action"
    AUTO_CLEAR = "auto_clear"
    HUMAN = "human"
    UNSCORED = "unscored"  # no model ran (or it was down): humans decide


class ItemState(StrEnum):
    NEW = "new"  # stored, not yet routed
    QUEUED = "queued"  # waiting for human labels
    ESCALATED = "escalated"  # waiting for a reviewer
    DECIDED = "decided"  # final decision recorded
    APPEALED = "appealed"  # decision re-opened for senior review


class TaskKind(StrEnum):
    LABEL = "label"  # one of the k overlap slots
    GOLD = "gold"  # a gold item served like any other task
    AUDIT = "audit"  # QA re-check of a finished decision
    REVIEW = "review"  # escalation to a reviewer
    APPEAL = "appeal"  # senior review of an appealed decision


class TaskState(StrEnum):
    OPEN = "open"
    LEASED = "leased"
    DONE = "done"
    CANCELLED = "cancelled"


class Action(StrEnum):
    """What a final label does to the content."""

    REMOVE = "remove"
    RESTRICT = "restrict"
    NO_ACTION = "no_action"


class DecisionSource(StrEnum):
    MACHINE = "machine"
    LABELERS = "labelers"
    REVIEWER = "reviewer"
    APPEAL = "appeal"
    IMPORT = "import"
