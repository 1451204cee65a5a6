"""Live A/B tests served through the API: the experiment, its served lists (exposures), and its outcomes' raw rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from db.tables import Event, Item, LiveExperiment, LiveExposure, User, utcnow


def create_live_experiment(session: Session, name: str, arms: list[dict[str, Any]], control: str, metric: str,
                           started_by: str | None = None) -> LiveExperiment:
    row = LiveExperiment(name=name, arms=arms, control=control, metric=metric, started_by=started_by,
                         status="running")
    session.add(row)
    session.flush()
    return row


def get_live_experiment(session: Session, experiment_id: int) -> LiveExperiment:
    row = session.get(LiveExperiment, int(experiment_id))
    if row is None:
        raise KeyError(f"no live experiment with id {experiment_id}")
    return row


def list_live_experiments(session: Session) -> list[LiveExperiment]:
    return list(session.scalars(select(LiveExperiment).order_by(LiveExperiment.id.desc())))


def running_experiments(session: Session) -> list[LiveExperiment]:
    return list(session.scalars(select(LiveExperiment).where(LiveExperiment.status == "running")
                                .order_by(LiveExperiment.id)))


def stop_live_experiment(session: Session, experiment_id: int, winner: str | None = None) -> LiveExperiment:
    row = get_live_experiment(session, experiment_id)
    if row.status != "stopped":
        row.status = "stopped"
        row.stopped_at = utcnow()
    if winner is not None:
        row.winner = winner
    return row


def add_exposures(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bulk insert of served lists: dicts with experiment_id, user_key, arm, model_id, n_items, served_at."""
    if rows:
        session.connection().execute(insert(LiveExposure.__table__), rows)


def exposure_counts(session: Session, experiment_id: int) -> dict[str, int]:
    """Served lists per arm (not users: a user asking twice is two exposures)."""
    rows = session.execute(select(LiveExposure.arm, func.count()).where(LiveExposure.experiment_id == experiment_id)
                           .group_by(LiveExposure.arm))
    return {str(a): int(n) for a, n in rows}


def first_exposures(session: Session, experiment_id: int) -> pd.DataFrame:
    """One row per exposed user: user_key, arm, first served_at, number of lists served."""
    stmt = (select(LiveExposure.user_key, func.min(LiveExposure.arm).label("arm"),
                   func.min(LiveExposure.served_at).label("first_at"), func.count().label("served"))
            .where(LiveExposure.experiment_id == int(experiment_id)).group_by(LiveExposure.user_key))
    df = pd.DataFrame(session.execute(stmt).all(), columns=["user_key", "arm", "first_at", "served"])
    df["first_at"] = pd.to_datetime(df["first_at"])
    return df


def exposed_users_purchases(session: Session, experiment_id: int, until: datetime | None = None) -> pd.DataFrame:
    """Every purchase (not cancelled/returned) of the experiment's exposed users: user_key, ts, amount."""
    exposed = select(LiveExposure.user_key).where(LiveExposure.experiment_id == int(experiment_id)).distinct()
    stmt = (select(User.external_id, Event.ts, Event.price, Event.quantity, Item.price)
            .join(User, User.id == Event.user_id).join(Item, Item.id == Event.item_id)
            .where(Event.action == "purchase", Event.flag.is_(None), User.external_id.in_(exposed)))
    if until is not None:
        stmt = stmt.where(Event.ts <= until)
    df = pd.DataFrame(session.execute(stmt).all(), columns=["user_key", "ts", "price", "quantity", "item_price"])
    df["ts"] = pd.to_datetime(df["ts"])
    price = pd.to_numeric(df["price"], errors="coerce").fillna(pd.to_numeric(df["item_price"], errors="coerce"))
    qty = pd.to_numeric(df["quantity"], errors="coerce").fillna(1.0)
    df["amount"] = (price.fillna(0.0) * qty).astype(float)
    return df[["user_key", "ts", "amount"]]
