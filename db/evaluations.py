"""Stored evaluation runs: which data set version, which model versions, which protocol, what they scored."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.tables import EvaluationRun


def save_run(
    session: Session, dataset_id: int | None, protocol: str, config: dict[str, Any], results: list[dict[str, Any]]
) -> EvaluationRun:
    """Record one run inside the caller's transaction (dataset id, protocol, its config, one entry per model)."""
    run = EvaluationRun(dataset_id=dataset_id, protocol=protocol, config=config, results=results)
    session.add(run)
    session.flush()
    return run


def get_run(session: Session, run_id: int) -> EvaluationRun | None:
    return session.get(EvaluationRun, int(run_id))


def list_runs(session: Session, limit: int = 20) -> pd.DataFrame:
    """Newest runs first: id, created_at, dataset_id, protocol, models, best model by NDCG@10."""
    runs = session.scalars(select(EvaluationRun).order_by(EvaluationRun.id.desc()).limit(limit)).all()
    rows = []
    for run in runs:
        ok = [r for r in run.results if not r.get("error") and r.get("metrics")]
        best = max(ok, key=lambda r: r["metrics"].get("ndcg@10", 0.0), default=None)
        rows.append(
            {
                "id": run.id,
                "created_at": run.created_at,
                "dataset_id": run.dataset_id,
                "protocol": run.protocol,
                "models": ", ".join(r.get("label", "?") for r in run.results),
                "model_ids": ", ".join(str(r["model_id"]) for r in run.results if r.get("model_id") is not None),
                "best": best["label"] if best else None,
                "best_ndcg@10": round(best["metrics"].get("ndcg@10", 0.0), 4) if best else None,
            }
        )
    return pd.DataFrame(
        rows, columns=["id", "created_at", "dataset_id", "protocol", "models", "model_ids", "best", "best_ndcg@10"]
    )


def run_table(run: EvaluationRun) -> pd.DataFrame:
    """A stored run as the same one-row-per-model table the runner shows."""
    rows = []
    for r in run.results:
        row = {"model": r.get("label"), "kind": r.get("kind"), "model_id": r.get("model_id")}
        row.update({k: v for k, v in (r.get("metrics") or {}).items() if k != "n_users"})
        row.update({"fit_s": round(r.get("fit_seconds", 0.0), 2), "eval_s": round(r.get("eval_seconds", 0.0), 2)})
        if r.get("error"):
            row["error"] = r["error"]
        rows.append(row)
    return pd.DataFrame(rows)


def run_breakdown(run: EvaluationRun, what: str = "activity") -> pd.DataFrame:
    """Long table model, group, n_users, hr@k, ndcg@k from a stored run (what = "activity" or "items")."""
    if what not in ("activity", "items"):
        raise ValueError(f"run_breakdown: what must be 'activity' or 'items', got {what!r}")
    rows = [
        {"model": r.get("label"), "group": group, **vals}
        for r in run.results
        for group, vals in (r.get(what) or {}).items()
    ]
    return pd.DataFrame(rows)
