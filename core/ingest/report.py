"""The validation report of one upload: what was read, kept, dropped (why, and where), flagged and warned about.

It is shown on the Upload page, printed by `python -m core ingest --json` and stored with the data set version,
so it is plain data with `to_dict()`; row numbers are 1-based file line numbers (the header is line 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from core.i18n import Message, message_data, message_from_data

MAX_EXAMPLES = 5


class IngestError(Exception):
    """An upload that cannot go in at all; the message names the file and, where known, the line and column.

    `text` is the whole message as a core.i18n.Message (str(exc) is its English), so a page shows it translated.
    """

    def __init__(self, message: str, file: str | None = None, line: int | None = None, column: str | None = None):
        self.file, self.line, self.column = file, line, column
        parts = [Message("file {file!r}", file=file) if file else None, Message("line {line}", line=line) if line else None,
                 Message("column {column!r}", column=column) if column else None]
        parts = [p for p in parts if p is not None]
        message = message if isinstance(message, Message) else Message("{text}", text=message)
        if parts:
            where = parts[0] if len(parts) == 1 else (
                Message("{a}, {b}", a=parts[0], b=parts[1]) if len(parts) == 2
                else Message("{a}, {b}, {c}", a=parts[0], b=parts[1], c=parts[2]))
            self.text = Message("{where}: {message}", where=where, message=message)
        else:
            self.text = message
        super().__init__(str(self.text))


class OptionError(IngestError):
    """A bad option (separator, encoding, policy, chunk size, mapping override): the CLI exits 2 on it."""


@dataclass
class RowIssue:
    """Rows that share one reason (dropped or flagged): how many, a few example line numbers, what to do."""

    reason: str
    message: str
    count: int = 0
    examples: list[int] = field(default_factory=list)

    def add(self, lines: Any) -> None:
        lines = [int(x) for x in lines]
        self.count += len(lines)
        room = MAX_EXAMPLES - len(self.examples)
        if room > 0:
            self.examples.extend(lines[:room])


@dataclass
class FileReport:
    """One file of an upload."""

    file: str
    kind: str
    encoding: str = ""
    separator: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    timestamp_format: str | None = None
    rows_read: int = 0
    rows_kept: int = 0
    dropped: dict[str, RowIssue] = field(default_factory=dict)
    flagged: dict[str, RowIssue] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    written: dict[str, int] = field(default_factory=dict)  # e.g. events_inserted, users_created, items_updated

    def drop(self, reason: str, message: str, lines: Any) -> None:
        if len(lines):
            self.dropped.setdefault(reason, RowIssue(reason, message)).add(lines)

    def flag(self, reason: str, message: str, lines: Any) -> None:
        if len(lines):
            self.flagged.setdefault(reason, RowIssue(reason, message)).add(lines)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def count(self, key: str, n: int) -> None:
        self.written[key] = self.written.get(key, 0) + int(n)

    @property
    def rows_dropped(self) -> int:
        return sum(i.count for i in self.dropped.values())


@dataclass
class ValidationReport:
    """The whole upload (one or several files written in one transaction)."""

    files: list[FileReport] = field(default_factory=list)
    accepted: bool = True
    error: str | None = None
    dataset_id: int | None = None
    seconds: float = 0.0

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_kept(self) -> int:
        return sum(f.rows_kept for f in self.files)

    @property
    def rows_dropped(self) -> int:
        return sum(f.rows_dropped for f in self.files)

    def dropped_table(self) -> list[dict[str, Any]]:
        return dropped_table(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """Plain data: English text, and beside each text its `*_i18n` form (core.i18n.message_data) to translate."""
        return {
            "accepted": self.accepted,
            "error": self.error,
            "error_i18n": message_data(self.error),
            "dataset_id": self.dataset_id,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_dropped": self.rows_dropped,
            "seconds": round(self.seconds, 3),
            "files": [_file_dict(f) for f in self.files],
        }


def _file_dict(f: FileReport) -> dict[str, Any]:
    out = asdict(f)
    for status in ("dropped", "flagged"):
        for reason, issue in getattr(f, status).items():
            out[status][reason]["message"] = str(issue.message)
            out[status][reason]["message_i18n"] = message_data(issue.message)
    out["warnings"] = [str(w) for w in f.warnings]
    out["warnings_i18n"] = [message_data(w) for w in f.warnings]
    return out


def dropped_table(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (file, reason) of a report dict (fresh or stored): the page's dropped-reasons table."""
    out = []
    for f in report.get("files", []):
        for status in ("dropped", "flagged"):
            for issue in f.get(status, {}).values():
                out.append({
                    "file": f["file"], "status": status, "reason": issue["reason"], "rows": issue["count"],
                    "example lines": ", ".join(map(str, issue["examples"])),
                    "what it means": message_from_data(issue.get("message_i18n")) or issue["message"],
                })
    return out


class UploadRejected(Exception):
    """Raised out of the upload's transaction so it rolls back; carries the report that says why."""

    def __init__(self, report: ValidationReport):
        self.report = report
        super().__init__(report.error or "upload rejected")
