"""Uploading a shop's CSV exports into the store: read safely, map columns, clean, write in one transaction.

    from core.ingest import Source, Upload, ingest_into_store
    report = ingest_into_store(url, [Upload(Source("transactions", Path("export.csv")))])
"""

from core.ingest.mapping import KIND_LABELS, KINDS, ColumnMapping, fields_for, guess_mapping
from core.ingest.pipeline import IngestOptions, Upload, ingest, ingest_into_store
from core.ingest.reader import FileFormat, Source, preview, sniff
from core.ingest.report import FileReport, IngestError, OptionError, RowIssue, UploadRejected, ValidationReport

__all__ = [
    "KINDS", "KIND_LABELS", "ColumnMapping", "FileFormat", "FileReport", "IngestError", "IngestOptions", "OptionError",
    "RowIssue",
    "Source", "Upload", "UploadRejected", "ValidationReport", "fields_for", "guess_mapping", "ingest",
    "ingest_into_store", "preview", "sniff",
]
