"""Receipts of client event ids taken in through the API's feedback endpoint (idempotent retries)."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from db.models import Event, FeedbackReceipt, utcnow

_CHUNK = 5_000


def known_receipts(session: Session, client_ids: list[str]) -> set[str]:
    """Which of these client event ids were already taken in."""
    seen: set[str] = set()
    for start in range(0, len(client_ids), _CHUNK):
        part = client_ids[start:start + _CHUNK]
        seen.update(session.scalars(select(FeedbackReceipt.client_event_id)
                                    .where(FeedbackReceipt.client_event_id.in_(part))))
    return seen


def dataset_event_ids(session: Session, dataset_id: int) -> list[int]:
    """Event ids written by one data set version, in insertion order."""
    return list(session.scalars(select(Event.id).where(Event.dataset_id == dataset_id).order_by(Event.id)))


def add_receipts(session: Session, client_ids: list[str], dataset_id: int | None,
                 event_ids: list[int | None]) -> None:
    now = utcnow()
    rows = [{"client_event_id": c, "dataset_id": dataset_id, "event_id": e, "received_at": now}
            for c, e in zip(client_ids, event_ids)]
    for start in range(0, len(rows), _CHUNK):
        session.connection().execute(insert(FeedbackReceipt.__table__), rows[start:start + _CHUNK])
