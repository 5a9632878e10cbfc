"""Import and export pipelines: readers → validators → bulk writers, and back.

Names load on first use (PEP 562): the import's parse process imports a light
submodule of this package without loading the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modops._lazy import lazy_exports

if TYPE_CHECKING:
    from modops.io.exporter import EXPORT_FORMATS, ExportReport, export_project, iter_export_rows
    from modops.io.importer import ImportContext, ImportFailed, ImportReport, import_file
    from modops.io.readers import FORMATS
    from modops.io.records import MAX_TEXT_CHARS

_HOMES = {
    "modops.io.exporter": ("EXPORT_FORMATS", "ExportReport", "export_project", "iter_export_rows"),
    "modops.io.importer": ("ImportContext", "ImportFailed", "ImportReport", "import_file"),
    "modops.io.readers": ("FORMATS",),
    "modops.io.records": ("MAX_TEXT_CHARS",),
}

__all__ = [
    "EXPORT_FORMATS",
    "FORMATS",
    "MAX_TEXT_CHARS",
    "ExportReport",
    "ImportContext",
    "ImportFailed",
    "ImportReport",
    "export_project",
    "import_file",
    "iter_export_rows",
]


__getattr__ = lazy_exports(__name__, _HOMES)
