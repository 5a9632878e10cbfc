"""Import and export pipelines: readers → validators → bulk writers, and back."""

from modops.io.exporter import EXPORT_FORMATS, ExportReport, export_project, iter_export_rows
from modops.io.importer import ImportContext, ImportFailed, ImportReport, import_file
from modops.io.readers import FORMATS
from modops.io.records import MAX_TEXT_CHARS

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
