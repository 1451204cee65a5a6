"""Stored experiments and their exposures: uploaded logs, the demo's coupon test, offline replays."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from db.models import Experiment, Exposure

SOURCES = ("upload", "demo", "replay")
CHUNK = 20_000


def save_experiment(
    session: Session,
    name: str,
    exposures: pd.DataFrame,
    source: str = "upload",
    control: str | None = None,
    config: dict[str, Any] | None = None,
    report: dict[str, Any] | None = None,
) -> Experiment:
    """Store an experiment and its exposure frame (canonical columns, see core.schema.EXPOSURES)."""
    if source not in SOURCES:
        raise ValueError(f"experiment source {source!r}; choose one of {SOURCES}")
    for col in ("user_id", "variant", "converted"):
        if col not in exposures:
            raise ValueError(f"exposures have no {col!r} column (columns: {list(exposures.columns)})")
    exp = Experiment(name=name, source=source, control=control, config=config or {}, report=report or {})
    session.add(exp)
    session.flush()
    n = len(exposures)
    cols: dict[str, Any] = {
        "experiment_id": np.full(n, exp.id),
        "user_key": exposures["user_id"].astype(str).to_numpy(),
        "variant": exposures["variant"].astype(str).to_numpy(),
        "converted": exposures["converted"].astype(int).to_numpy(),
        "revenue": exposures["revenue"].fillna(0.0).astype(float).to_numpy() if "revenue" in exposures else np.zeros(n),
    }
    if "user_store_id" in exposures:
        cols["user_id"] = exposures["user_store_id"].astype(object).where(exposures["user_store_id"].notna(), None)
    if "timestamp" in exposures:
        ts = pd.to_datetime(exposures["timestamp"])
        cols["exposed_at"] = ts.astype(object).where(ts.notna(), None).to_numpy()
    if "pre_metric" in exposures:
        pm = exposures["pre_metric"].astype(float)
        cols["pre_metric"] = pm.astype(object).where(pm.notna(), None).to_numpy()
    frame = pd.DataFrame(cols)
    records = frame.to_dict("records")
    for start in range(0, n, CHUNK):
        session.connection().execute(insert(Exposure.__table__), records[start:start + CHUNK])
    return exp


def list_experiments(session: Session) -> list[Experiment]:
    """Newest first."""
    return list(session.scalars(select(Experiment).order_by(Experiment.id.desc())))


def experiment_sizes(session: Session) -> dict[int, int]:
    """Exposure rows per experiment id."""
    rows = session.execute(select(Exposure.experiment_id, func.count()).group_by(Exposure.experiment_id))
    return {int(i): int(n) for i, n in rows}


def get_experiment(session: Session, experiment_id: int) -> Experiment:
    exp = session.get(Experiment, int(experiment_id))
    if exp is None:
        raise KeyError(f"No experiment with id {experiment_id}")
    return exp


def load_exposures(session: Session, experiment_id: int) -> pd.DataFrame:
    """The stored exposure frame in canonical columns, in insertion order; empty columns are left out."""
    get_experiment(session, experiment_id)
    stmt = (
        select(Exposure.user_key, Exposure.variant, Exposure.converted, Exposure.exposed_at, Exposure.revenue,
               Exposure.pre_metric)
        .where(Exposure.experiment_id == int(experiment_id))
        .order_by(Exposure.id)
    )
    df = pd.read_sql(stmt, session.connection())
    df = df.rename(columns={"user_key": "user_id", "exposed_at": "timestamp"})
    df["user_id"] = df["user_id"].astype(str)
    df["converted"] = df["converted"].astype(int)
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    for col in ("timestamp", "pre_metric"):
        if df[col].isna().all():
            df = df.drop(columns=col)
    return df


def delete_experiment(session: Session, experiment_id: int) -> None:
    session.execute(delete(Exposure).where(Exposure.experiment_id == int(experiment_id)))
    exp = session.get(Experiment, int(experiment_id))
    if exp is not None:
        session.delete(exp)
