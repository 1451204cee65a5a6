"""Stored recommendation batches: one row per (user, rank), written in bulk inside the caller's transaction."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from db.tables import Dataset, Event, Item, ModelVersion, Recommendation, RecommendationBatch, User

BATCH_COLUMNS = ("user_store_id", "item_store_id", "rank", "score", "reason")


def data_version(session: Session) -> tuple[int | None, int | None]:
    """(newest data set id, newest event id): changes whenever shop data is added, so caches keyed on it refresh."""
    return session.scalar(select(func.max(Dataset.id))), session.scalar(select(func.max(Event.id)))


def save_batch(
    session: Session, rows: pd.DataFrame, model_id: int | None, config: dict[str, Any] | None = None
) -> RecommendationBatch:
    """Store a batch: `rows` has user_store_id, item_store_id, rank, score and optionally reason."""
    missing = [c for c in BATCH_COLUMNS[:4] if c not in rows.columns]
    if missing:
        raise ValueError(f"save_batch: rows lack column(s) {', '.join(missing)}")
    batch = RecommendationBatch(
        model_id=model_id, config=config or {}, n_users=int(rows["user_store_id"].nunique()) if len(rows) else 0
    )
    session.add(batch)
    session.flush()
    if len(rows):
        reasons = rows["reason"] if "reason" in rows else pd.Series([None] * len(rows))
        records = [
            {"batch_id": batch.id, "user_id": int(u), "item_id": int(i), "rank": int(r), "score": float(s),
             "reason": None if not isinstance(why, str) else why}
            for u, i, r, s, why in zip(rows["user_store_id"], rows["item_store_id"], rows["rank"], rows["score"], reasons)
        ]
        session.execute(insert(Recommendation), records)
    return batch


def list_batches(session: Session, limit: int = 20) -> pd.DataFrame:
    """Newest batches first: id, created_at, model, users, config."""
    rows = session.execute(
        select(RecommendationBatch.id, RecommendationBatch.created_at, ModelVersion.name, ModelVersion.version,
               RecommendationBatch.n_users, RecommendationBatch.config)
        .outerjoin(ModelVersion, ModelVersion.id == RecommendationBatch.model_id)
        .order_by(RecommendationBatch.id.desc())
        .limit(limit)
    ).all()
    frame = pd.DataFrame(rows, columns=["batch_id", "created_at", "model", "version", "users", "config"])
    frame["model"] = [f"{m} v{v}" if m else "—" for m, v in zip(frame["model"], frame["version"])]
    return frame.drop(columns=["version"])


def read_batch(session: Session, batch_id: int) -> pd.DataFrame:
    """A stored batch with external ids and item details: user_id, rank, item_id, title, category, price, score, reason."""
    if session.get(RecommendationBatch, int(batch_id)) is None:
        raise KeyError(f"no recommendation batch with id {batch_id}")
    rows = session.execute(
        select(User.external_id, Recommendation.rank, Item.external_id, Item.title, Item.category, Item.price,
               Recommendation.score, Recommendation.reason)
        .join(User, User.id == Recommendation.user_id)
        .join(Item, Item.id == Recommendation.item_id)
        .where(Recommendation.batch_id == int(batch_id))
        .order_by(Recommendation.user_id, Recommendation.rank)
    ).all()
    return pd.DataFrame(rows, columns=["user_id", "rank", "item_id", "title", "category", "price", "score", "reason"])
