"""The audit log: who launched training, changed the active model, started/stopped an experiment, made/revoked a key."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.tables import AuditEntry

ACTIONS = ("train", "activate_model", "start_experiment", "stop_experiment", "create_key", "revoke_key",
           "add_user", "disable_user")


def record(session: Session, actor: str, action: str, target: str | None = None,
           details: dict[str, Any] | None = None) -> AuditEntry:
    """Add one entry inside the caller's transaction (so the action and its record commit together)."""
    if action not in ACTIONS:
        raise ValueError(f"audit action {action!r}; known: {', '.join(ACTIONS)}")
    row = AuditEntry(actor=actor, action=action, target=target, details=details or {})
    session.add(row)
    session.flush()
    return row


def recent(session: Session, limit: int = 200) -> pd.DataFrame:
    rows = session.execute(
        select(AuditEntry.at, AuditEntry.actor, AuditEntry.action, AuditEntry.target, AuditEntry.details)
        .order_by(AuditEntry.id.desc()).limit(limit)
    ).all()
    return pd.DataFrame(rows, columns=["at", "actor", "action", "target", "details"])
