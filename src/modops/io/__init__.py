"""Import and export pipelines: readers → validators → bulk writers, and back.

Names load on first use (PEP 562): the import's parse process imports a light
submodule of this package without loading the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modops.io.exporter import EXPORT_FORMATS, ExportReport, export_project, iter_export_rows
    from modops.io.importer import ImportContext, ImportFailed, ImportReport, import_file
    from modops.io.readers import FORMATS
    from modops.io.records import MAX_TEXT_CHARS

_HOME = {
    "EXPORT_FORMATS": "modops.io.exporter",
    "ExportReport": "modops.io.exporter",
    "export_project": "modops.io.exporter",
    "iter_export_rows": "modops.io.exporter",
    "ImportContext": "modops.io.importer",
    "ImportFailed": "modops.io.importer",
    "ImportReport": "modops.io.importer",
    "import_file": "modops.io.importer",
    "FORMATS": "modops.io.readers",
    "MAX_TEXT_CHARS": "modops.io.records",
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


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
