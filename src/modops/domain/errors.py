"""Errors every layer can raise; the CLI and API map them to exit codes and HTTP statuses."""

from __future__ import annotations


class ModOpsError(Exception):
    """Base class: a clear message meant for the person who caused it."""


class ValidationError(ModOpsError):
    """Input that cannot be accepted as it is."""


class NotFound(ModOpsError):
    pass


class PermissionDenied(ModOpsError):
    pass


class IllegalTransition(ModOpsError):
    """A state change the item or task state machine does not allow."""
