"""Errors every layer can raise; the CLI and API map them to exit codes and HTTP statuses."""

from __future__ import annotations


class ModOpsError(Exception):
    """Base class: a clear message meant for the person who caused it.

    The text is English (logs, scripts: the API's ``detail``). ``localized(key, **fields)``
    names the catalogue message (``modops.i18n``) the API's ``message`` and the pages show in
    the reader's language; without one they show the status's own message.
    """

    key: str | None = None
    fields: dict[str, object] = {}  # noqa: RUF012 (replaced per instance, never mutated)

    def localized(self, key: str, **fields: object) -> ModOpsError:
        self.key, self.fields = key, fields
        return self


class ValidationError(ModOpsError):
    """Input that cannot be accepted as it is."""


class NotFound(ModOpsError):
    pass


class PermissionDenied(ModOpsError):
    pass


class IllegalTransition(ModOpsError):
    """A state change the item or task state machine does not allow."""
