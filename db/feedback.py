"""Receipts of client event ids taken in through the API's feedback endpoint (idempotent retries)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.shop_write import _bulk_insert, lookup_in
from db.tables import Event, FeedbackReceipt, utcnow

_CHUNK = 5_000


def known_receipts(session: Session, client_ids: list[str]) -> set[str]:
    """Which of these client event ids were already taken in."""
    table = FeedbackReceipt.__tablename__
    rows = lookup_in(session.connection(), table, "client_event_id", ["client_event_id"], list(client_ids), _CHUNK)
    return {r[0] for r in rows}


def last_event_id(session: Session) -> int:
    return int(session.scalar(select(func.max(Event.id))) or 0)


def dataset_event_ids(session: Session, dataset_id: int, after_id: int = 0) -> list[int]:
    """Event ids written by one data set version after `after_id`, in insertion order (a primary-key range scan:
    events.dataset_id has no index)."""
    return list(session.scalars(select(Event.id).where(Event.id > after_id, Event.dataset_id == dataset_id)
                                .order_by(Event.id)))


def add_receipts(session: Session, client_ids: list[str], dataset_id: int | None,
                 event_ids: list[int | None]) -> None:
    if not client_ids:
        return
    frame = pd.DataFrame({"client_event_id": client_ids, "dataset_id": dataset_id,
                          "event_id": pd.array(event_ids, dtype="Int64"), "received_at": pd.Timestamp(utcnow())})
    _bulk_insert(session.connection(), FeedbackReceipt.__table__, frame)
