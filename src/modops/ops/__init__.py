"""Operations: backup/restore and data retention (no web, no CLI: those call in here)."""

from modops.ops.backup import backup, restore
from modops.ops.retention import purge_project, retention_days

__all__ = ["backup", "purge_project", "restore", "retention_days"]
