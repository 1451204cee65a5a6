"""Evaluating the store: resolve what the user asked for into model specs, run the protocol, record the run.

The one call the Evaluation page and `python -m core evaluate` make; `db.evaluations` only stores and reads runs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.evaluation.evaluate import DEFAULT_GRIDS, EvaluationResult, ModelSpec, run_evaluation
from core.interactions import from_store
from core.models import MODEL_KINDS
from db.evaluations import save_run
from db.registry import find_model
from db.tables import EvaluationRun

BASELINE_PREFIX = "baseline:"


def record_run(session: Session, result: EvaluationResult, extra_config: dict[str, Any] | None = None) -> EvaluationRun:
    """Store one run inside the caller's transaction (dataset id, protocol, K values, one entry per model)."""
    config = {
        "ks": list(result.ks),
        "dataset": result.dataset,
        "n_users": result.n_users,
        "n_items": result.n_items,
        "n_test_users": result.n_test_users,
        **result.config,
        **(extra_config or {}),
    }
    return save_run(session, result.dataset_id, result.protocol, config, result.to_records())


def resolve_spec(session: Session, name_or_kind: str) -> ModelSpec:
    """A registered model (id or name, newest version) refitted with its stored parameters, else a baseline kind.

    "baseline:KIND" always means the kind fitted on the fly (the demo registers models named like kinds).
    """
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
    if not models:
        raise ValueError("Choose at least one model to evaluate")
    specs = [resolve_spec(session, m) for m in models]
    data = from_store(session)
    if sum(len(s) for s in data.sequences) == 0:
        raise ValueError("The store has no purchases yet; upload events or build the demo shop first")
    result = (runner or run_evaluation)(data, specs, protocol=protocol, ks=ks, split_kwargs=split_kwargs,
                                        diversity=diversity, progress=progress)
    run = record_run(session, result) if store else None
    return result, run
