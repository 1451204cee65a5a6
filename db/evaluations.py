"""Stored evaluation runs: which data set version, which model versions, which protocol, what they scored."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.evaluation.evaluate import EvaluationResult, ModelSpec
from db.models import EvaluationRun

BASELINE_PREFIX = "baseline:"


def save_run(session: Session, result: EvaluationResult, extra_config: dict[str, Any] | None = None) -> EvaluationRun:
    """Record one run inside the caller's transaction (dataset id, protocol, K values, one entry per model)."""
    config = {
        "ks": list(result.ks),
        "dataset": result.dataset,
        "n_users": result.n_users,
        "n_items": result.n_items,
        "n_test_users": result.n_test_users,
        **result.config,
        **(extra_config or {}),
    }
    run = EvaluationRun(
        dataset_id=result.dataset_id, protocol=result.protocol, config=config, results=result.to_records()
    )
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


def resolve_spec(session: Session, name_or_kind: str) -> ModelSpec:
    """A registered model (id or name, newest version) refitted with its stored parameters, else a baseline kind.

    "baseline:KIND" always means the kind fitted on the fly (the demo registers models named like kinds).
    """
    from core.evaluation.evaluate import DEFAULT_GRIDS
    from core.models import MODEL_KINDS
    from db.registry import find_model

    text = str(name_or_kind).strip()
    if text.startswith(BASELINE_PREFIX):  # explicitly a kind, even when a registered model has that name
        kind = text[len(BASELINE_PREFIX):].strip()
        if kind not in MODEL_KINDS:
            raise ValueError(f"Unknown model kind {kind!r}; known: {', '.join(MODEL_KINDS)}")
        return ModelSpec(label=kind, kind=kind, grid=DEFAULT_GRIDS.get(kind))
    row = find_model(session, text) if text else None
    if row is not None:
        # A warm start would carry weights trained on the held-out purchases: refit from the base instead.
        params = {k: v for k, v in (row.params or {}).items() if k != "warm_start"}
        return ModelSpec(label=f"{row.name} v{row.version}", kind=row.kind, params=params, model_id=row.id)
    if text in MODEL_KINDS:
        return ModelSpec(label=text, kind=text, grid=DEFAULT_GRIDS.get(text))
    raise ValueError(
        f"No registered model and no model kind called {text!r}; use a model id, a registered name, or one of "
        f"{', '.join(MODEL_KINDS)}"
    )


def evaluate_store(
    session: Session,
    models: list[str],
    protocol: str = "loo",
    ks: tuple[int, ...] = (5, 10, 20),
    split_kwargs: dict[str, Any] | None = None,
    diversity: str = "auto",
    store: bool = True,
    progress=None,
    runner=None,
) -> tuple[EvaluationResult, EvaluationRun | None]:
    """Evaluate registered models / baseline kinds on the store's purchases and record the run (the one call the
    page and the CLI make). `runner`: run_evaluation (default) or a drop-in such as Ray's ray_run_evaluation."""
    from core.data import from_store
    from core.evaluation.evaluate import run_evaluation

    if not models:
        raise ValueError("Choose at least one model to evaluate")
    specs = [resolve_spec(session, m) for m in models]
    data = from_store(session)
    if sum(len(s) for s in data.sequences) == 0:
        raise ValueError("The store has no purchases yet; upload events or build the demo shop first")
    result = (runner or run_evaluation)(data, specs, protocol=protocol, ks=ks, split_kwargs=split_kwargs, diversity=diversity,
                            progress=progress)
    run = save_run(session, result) if store else None
    return result, run


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
