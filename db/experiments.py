"""Stored experiments and their exposures: uploaded logs, the demo's coupon test, offline replays."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from db.tables import Experiment, Exposure

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

    def column(name: str, convert) -> list[Any]:
        """Plain Python values (None for missing) so every driver binds them."""
        if name not in exposures:
            return [None] * n
        return [None if pd.isna(v) else convert(v) for v in exposures[name].tolist()]

    user_ids = column("user_store_id", int)  # the store's users.id when the caller knows it (the demo does)
    times: list[Any] = [None] * n
    if "timestamp" in exposures:
        ts = pd.to_datetime(exposures["timestamp"])
        times = [None if missing else t for t, missing in zip(ts.dt.to_pydatetime(), ts.isna().to_numpy())]
    pre = column("pre_metric", float)
    revenue = [0.0 if v is None else v for v in column("revenue", float)]
    keys = exposures["user_id"].astype(str).tolist()
    variants = exposures["variant"].astype(str).tolist()
    converted = [int(v) for v in exposures["converted"].tolist()]
    records = [
        {"experiment_id": exp.id, "user_key": k, "user_id": u, "variant": v, "exposed_at": t, "converted": c,
         "revenue": r, "pre_metric": p}
        for k, u, v, t, c, r, p in zip(keys, user_ids, variants, times, converted, revenue, pre)
    ]
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
