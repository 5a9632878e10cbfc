"""Plain domain types: roles, states, actions and errors. Imports nothing else of ModOps."""

from modops.domain.enums import (
    Action,
    DecisionSource,
    ItemState,
    ProjectStatus,
    Role,
    Route,
    TaskKind,
    TaskState,
)
from modops.domain.errors import (
    IllegalTransition,
    ModOpsError,
    NotFound,
    PermissionDenied,
    ValidationError,
)

__all__ = [
    "Action",
    "DecisionSource",
    "IllegalTransition",
    "ItemState",
    "ModOpsError",
    "NotFound",
    "PermissionDenied",
    "ProjectStatus",
    "Role",
    "Route",
    "TaskKind",
    "TaskState",
    "ValidationError",
]
