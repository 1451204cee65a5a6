"""POST /v1/feedback: a batch of events validated by the upload pipeline itself, written in one transaction.

The batch becomes an in-memory events CSV (row i of the batch is line i + 2: the header is line 1) and goes through
core.ingest.ingest, so the API and the Upload page share every rule: ids, formula cells, timestamp formats and
plausible years, action words, cancellations, duplicates. Any dropped row rejects the whole batch (the caller's
transaction rolls back), except events the store already holds, which are not stored twice. A client event id
makes retries idempotent: ids already taken in (feedback_receipts) are skipped before anything is written.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

MAX_BATCH = 10_000
FIELDS = ("event_id", "user_id", "item_id", "action", "timestamp", "quantity", "price", "session")
_MAPPING = {"user_id": "user_id", "item_id": "item_id", "timestamp": "timestamp", "action_type": "action",
            "quantity": "quantity", "price": "price", "session": "session"}
_NOT_A_PROBLEM = {"already_stored", "duplicate_row"}  # kept once, as in an upload
_FIRST_LINE = 2  # the CSV's header is line 1


@dataclass
class RowProblem:
    row: int  # 0-based position in the batch
    reason: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "reason": self.reason, "message": self.message}


class FeedbackRejected(Exception):
    """The batch cannot go in; nothing of it is stored. `rows` name the offending rows (up to 5 per reason)."""

    def __init__(self, message: str, rows: list[RowProblem] | None = None, counts: dict[str, int] | None = None):
        super().__init__(message)
        self.message = message
        self.rows = rows or []
        self.counts = counts or {}

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.message, "rows": [r.to_dict() for r in self.rows], "rows_by_reason": self.counts,
                "stored": 0}


@dataclass
class FeedbackResult:
    received: int
    stored: int  # new events written
    duplicates: int  # client event ids seen before (a retry), or repeated in this batch: not stored again
    already_in_store: int  # the same event (user, item, action, time) was already stored by another upload
    dataset_id: int | None
    seconds: float
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"received": self.received, "stored": self.stored, "duplicates": self.duplicates,
                "already_in_store": self.already_in_store, "dataset_id": self.dataset_id,
                "seconds": round(self.seconds, 4), "warnings": self.warnings}


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    """The batch as text columns (None -> empty cell), the way a CSV export would hold it."""
    df = df.copy()
    for f in ("user_id", "item_id", "action", "timestamp"):
        if f not in df.columns:
            df[f] = None
    df = df[[f for f in FIELDS if f in df.columns]]
    out = {}
    for col in df.columns:
        s = df[col]
        if s.dtype.kind == "f":  # 1700000000.0 (a JSON number through a float column) is 1700000000
            whole = s.notna() & (s % 1 == 0)
            text = s.astype(object).where(~whole, s.where(whole, 0).astype("int64")).astype(str)
        elif s.dtype.kind == "b":
            text = s.astype(str).str.lower()
        else:
            text = s.astype(str)
        text = text.where(s.notna(), "")
        if text.str.contains("[\r\n]", regex=True).any():  # keep one event per CSV line (row numbers stay true)
            text = text.str.replace("[\r\n]", " ", regex=True)
        out[col] = text
    return pd.DataFrame(out, dtype=str)


def _check_shape(events: list[Any]) -> pd.DataFrame:
    """Each event an object with known fields and a client event id; returns the batch as text columns. The only
    rule that is not an upload rule: the event id is what makes a retry safe."""
    if len(events) > MAX_BATCH:
        raise FeedbackRejected(f"a feedback batch holds at most {MAX_BATCH:,} events; this one has {len(events):,}")
    if not events:
        raise FeedbackRejected("the batch has no events")
    problems = [RowProblem(i, "not_an_object", f"event {i} is a {type(e).__name__}, not an object")
                for i, e in enumerate(events) if not isinstance(e, dict)]
    if problems:
        raise FeedbackRejected(f"{len(problems)} event(s) are not JSON objects; nothing was stored", problems[:50])
    raw = pd.DataFrame.from_records(events)
    for col in sorted(set(raw.columns) - set(FIELDS)):
        rows = raw.index[raw[col].notna()][:5]
        problems += [RowProblem(int(i), "unknown_field", f"unknown field {col!r}; fields: {', '.join(FIELDS)}")
                     for i in rows]
    frame = _frame(raw)
    ids = frame["event_id"].str.strip() if "event_id" in frame.columns else pd.Series("", index=frame.index)
    problems += [RowProblem(int(i), "missing_event_id", "no event_id (the client's id that makes retries safe)")
                 for i in ids.index[ids == ""][:50]]
    problems += [RowProblem(int(i), "event_id_too_long", "event_id is longer than 128 characters")
                 for i in ids.index[ids.str.len() > 128][:50]]
    if problems:
        raise FeedbackRejected(f"{len(problems)} event(s) are malformed; nothing was stored", problems[:50])
    frame["event_id"] = ids
    return frame


def take_feedback(session: Session, events: list[dict[str, Any]]) -> FeedbackResult:
    """Validate and write one batch inside the caller's transaction; FeedbackRejected leaves it to roll back.

    Give it a transaction of its own (the API does): a batch of events the store already holds rolls the session
    back to drop the empty data set version the pipeline started.
    """
    from core.ingest import IngestOptions, Source, Upload, UploadRejected, ingest
    from core.ingest.mapping import ColumnMapping
    from db.feedback import add_receipts, dataset_event_ids, known_receipts, last_event_id

    started = time.perf_counter()
    frame = _check_shape(events)
    ids = frame["event_id"].tolist()
    seen = known_receipts(session, ids)
    ids_s = frame["event_id"]
    fresh_mask = ~(ids_s.isin(seen) | ids_s.duplicated())  # first time seen, and first in this batch
    positions = np.flatnonzero(fresh_mask.to_numpy()).tolist()  # batch row of each fresh event, in order
    frame = frame[fresh_mask.to_numpy()].reset_index(drop=True)
    fresh_ids = frame["event_id"].tolist()
    result = FeedbackResult(len(events), 0, len(events) - len(fresh_ids), 0, None, 0.0)
    if not fresh_ids:
        result.seconds = time.perf_counter() - started
        return result
    data = frame.drop(columns="event_id").to_csv(index=False).encode("utf-8")
    columns = {f: c for f, c in _MAPPING.items() if c in frame.columns}
    mapping = ColumnMapping("events", columns)
    before = last_event_id(session)
    try:
        report = ingest(session, [Upload(Source("events", data, name="api feedback"), mapping)],
                        IngestOptions(unknown="create"))
    except UploadRejected as rejected:
        if not _only_already_stored(rejected.report, len(fresh_ids)):
            raise _rejection(rejected.report, positions) from rejected
        # Every event is one the store already holds: the pipeline refuses an upload that keeps nothing, but for
        # feedback that is a successful retry. Drop the empty data set version and record the receipts.
        session.rollback()
        add_receipts(session, fresh_ids, None, [None] * len(fresh_ids))
        result.already_in_store = len(fresh_ids)
        result.seconds = time.perf_counter() - started
        return result
    f = report.files[0]
    bad = {k: v for k, v in f.dropped.items() if k not in _NOT_A_PROBLEM}
    if bad:
        raise _rejection(report, positions)
    already = f.dropped.get("already_stored")
    result.already_in_store = already.count if already else 0
    repeated = f.dropped.get("duplicate_row")
    result.duplicates += repeated.count if repeated else 0
    result.stored = int(f.written.get("events_inserted", 0))
    result.dataset_id = report.dataset_id
    event_ids: list[int | None] = [None] * len(fresh_ids)
    if result.already_in_store == 0 and not repeated:
        stored = dataset_event_ids(session, report.dataset_id, before)
        if len(stored) == len(fresh_ids):
            event_ids = list(stored)
    add_receipts(session, fresh_ids, report.dataset_id, event_ids)
    result.warnings = [w for w in f.warnings if not w.startswith("columns not used")]
    result.seconds = time.perf_counter() - started
    return result


def _only_already_stored(report, n: int) -> bool:
    f = report.files[0] if report.files else None
    if f is None or f.rows_kept:
        return False
    return sum(i.count for i in f.dropped.values()) == n and set(f.dropped) <= _NOT_A_PROBLEM


def _rejection(report, positions: list[int]) -> FeedbackRejected:
    """The upload report in the batch's own terms: line numbers back to 0-based batch rows."""
    def row_of(line: int) -> int:
        k = int(line) - _FIRST_LINE
        return positions[k] if 0 <= k < len(positions) else -1

    rows, counts = [], {}
    for f in report.files:
        for issue in f.dropped.values():
            if issue.reason in _NOT_A_PROBLEM:
                continue
            counts[issue.reason] = issue.count
            rows.extend(RowProblem(row_of(line), issue.reason, issue.message) for line in issue.examples)
    if report.error and not rows:
        message = report.error.replace("file 'api feedback', ", "")
        line = _line_in(report.error)
        if line is not None:
            rows.append(RowProblem(row_of(line), "unreadable", message))
        return FeedbackRejected(f"the batch cannot be read: {message}; nothing was stored", rows, counts)
    n = sum(counts.values())
    return FeedbackRejected(f"{n} event(s) break the upload rules; nothing of this batch was stored "
                            "(fix or remove them and send the batch again)", rows, counts)


def _line_in(message: str) -> int | None:
    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else None


def frame_to_events(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame with FIELDS columns as the JSON list the endpoint takes (used by bench/serve.py and tests)."""
    cols = [c for c in FIELDS if c in df.columns]
    return [dict(zip(cols, row)) for row in df[cols].astype(object).itertuples(index=False, name=None)]

