"""Data set versions (uploads and the demo build) with their validation reports, for the Upload page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.tables import Dataset


@dataclass
class DatasetVersion:
    id: int
    kind: str
    name: str
    created_at: datetime
    rows_read: int
    rows_kept: int
    report: dict[str, Any] = field(default_factory=dict)
    mapping: dict[str, Any] = field(default_factory=dict)


def list_datasets(session: Session, limit: int = 50) -> list[DatasetVersion]:
    """Newest first."""
    rows = session.scalars(select(Dataset).order_by(Dataset.id.desc()).limit(limit)).all()
    return [DatasetVersion(r.id, r.kind, r.name, r.created_at, r.rows_read or 0, r.rows_kept or 0,
                           dict(r.report or {}), dict(r.mapping or {})) for r in rows]

