"""The training worker: runs one job in its own process and reports to the store.

Steps: mark running -> load the store's purchases -> leave-one-out split -> fit (the LM reports progress
and honours cancellation through its callback) -> test metrics -> register the model (activate if asked, or only
when it beats the active model on the job's held-out split: the reason is kept in the job's metrics).
Any exception marks the job failed with its message; the active model is only changed after success.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from core.config import n_threads
from core.models import DEFAULT_KIND

# Progress rows are written at most this often (epoch ends are always written).
PROGRESS_EVERY_S = 1.0
# Cancellation is polled at most this often.
CANCEL_POLL_S = 1.0


@dataclass
class TrainRequest:
    """What a training job was asked to do (jobs.params)."""

    model: str = DEFAULT_KIND
    name: str | None = None
    activate: bool = True
    model_params: dict[str, Any] = field(default_factory=dict)
    warm_start_model: int | None = None  # registry id of an lm to fine-tune from
    # Activate only when the new model beats the active one on this job's held-out split (the first-start LM).
    activate_if_better: bool = False
    nice: int = 0  # raise the worker's niceness by this much (a background job must not slow the dashboard)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TrainRequest:
        keys = ("model", "name", "activate", "model_params", "warm_start_model", "activate_if_better", "nice")
        known = {k: params[k] for k in keys if k in params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"Unknown training job parameter(s): {', '.join(unknown)}")
        return cls(**known)

    def to_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "name": self.name,
            "activate": self.activate,
            "model_params": dict(self.model_params),
            "warm_start_model": self.warm_start_model,
            "activate_if_better": self.activate_if_better,
            "nice": self.nice,
        }


class _Reporter:
    """The fit callback: throttled progress writes, cancellation polling."""

    def __init__(self, url: str, job_id: int):
        self.url, self.job_id = url, job_id
        self.last_write = 0.0
        self.last_poll = 0.0
        self.cancelled = False

    def __call__(self, progress: dict[str, Any]) -> bool:
        from db.engine import session_scope
        from db.jobs import cancel_requested, report_progress

        now = time.monotonic()
        epoch_end = progress.get("val_ndcg10") is not None
        if epoch_end or now - self.last_write >= PROGRESS_EVERY_S:
            with session_scope(self.url) as s:
                report_progress(s, self.job_id, progress, point=True)
            self.last_write = now
        if epoch_end or now - self.last_poll >= CANCEL_POLL_S:
            with session_scope(self.url) as s:
                self.cancelled = cancel_requested(s, self.job_id)
            self.last_poll = now
        if self.cancelled:
            from core.models.lm import TrainingStopped

            raise TrainingStopped(f"job {self.job_id} cancelled")
        return False


def _load_data(url: str):
    from core.interactions import from_store
    from db.engine import session_scope

    with session_scope(url) as s:
        data = from_store(s)
    n_purchases = sum(len(x) for x in data.sequences)
    if n_purchases == 0:
        raise ValueError("The store has no purchases to train on; upload events (or load the demo shop) first")
    return data


def _model_params(req: TrainRequest, url: str) -> dict[str, Any]:
    params = dict(req.model_params)
    if req.warm_start_model is not None:
        from core.models import model_class
        from db.engine import session_scope
        from db.registry import find_model

        with session_scope(url) as s:
            row = find_model(s, req.warm_start_model)
            if row is None:
                raise ValueError(f"warm start: no registered model {req.warm_start_model!r}")
            if row.kind != req.model or not model_class(row.kind).supports_warm_start:
                raise ValueError(f"warm start needs a {req.model!r} model that supports it; model {row.id} is a "
                                 f"{row.kind!r}")
            params["warm_start"] = row.artifact_path
    return params


def _beats_active(url: str, split, metrics: dict[str, Any], kind: str) -> tuple[bool, dict[str, Any]]:
    """Whether the new model's test NDCG@10 beats the active model's on the same split, and the record of why.

    The active model is refitted on this split's training part (baselines take seconds), so both are scored on
    purchases neither has seen; a slow active model (the LM) is judged by its stored leave-one-out NDCG@10 instead of retraining.
    """
    from core.evaluation.metrics import evaluate_model
    from core.models import make_model, model_class
    from db.engine import session_scope
    from db.registry import active_model

    with session_scope(url) as s:
        row = active_model(s)
        active = None if row is None else (row.id, row.name, row.version, row.kind, dict(row.params),
                                           dict(row.metrics or {}))
    new = metrics.get("ndcg@10")
    if active is None:
        return True, {"activated": True, "reason": "no model was active"}
    model_id, name, version, active_kind, params, stored = active
    if model_class(active_kind).is_slow:  # retraining it here would cost as much as the job itself
        theirs = stored.get("ndcg@10")
    else:
        theirs = evaluate_model(make_model(active_kind, **params).fit(split.train), split.test, ks=(10,))["ndcg@10"]
    record = {"compared_with": f"{name} v{version} (model {model_id})", "active_ndcg@10": theirs,
              f"{kind}_ndcg@10": new}
    if new is None or theirs is None:
        return False, {**record, "activated": False,
                       "reason": "no held-out NDCG@10 to compare; the active model is kept"}
    better = new > theirs
    reason = (f"{kind} NDCG@10 {new:.4f} beats {name}'s {theirs:.4f} on the held-out split: activated" if better
              else f"{kind} NDCG@10 {new:.4f} does not beat {name}'s {theirs:.4f} on the held-out split: "
                   f"{name} stays active")
    return better, {**record, "activated": better, "reason": reason}


def train_and_register(url: str, job_id: int, req: TrainRequest) -> tuple[dict[str, Any], int]:
    """Fit, evaluate on the held-out last purchases, register. Returns (metrics, model id)."""
    from core.evaluation.metrics import evaluate_model
    from core.evaluation.protocols import leave_one_out
    from core.models import make_model
    from db.engine import session_scope
    from db.registry import register_model

    data = _load_data(url)
    split = leave_one_out(data)
    model = make_model(req.model, **_model_params(req, url))
    reporter = _Reporter(url, job_id)
    t0 = time.perf_counter()
    model.fit(split.train, valid=split.valid, callback=reporter)
    train_seconds = time.perf_counter() - t0
    metrics: dict[str, Any] = {"train_seconds": round(train_seconds, 2), "protocol": "loo"}
    if len(split.test):
        test = evaluate_model(model, split.test)
        metrics.update({k: test[k] for k in ("hr@10", "ndcg@10", "mrr@10", "coverage@10", "n_users") if k in test})
    if len(split.valid):
        val = evaluate_model(model, split.valid, ks=(10,))
        metrics["val_ndcg@10"] = val["ndcg@10"]
    if "best_epoch" in model.fit_info_:
        metrics["best_epoch"] = int(model.fit_info_["best_epoch"])
    if not model.uses_validation:
        # One-pass models are cheap: the registered one learns from every purchase, the metrics come from the split.
        model.fit(data)
    activate = req.activate
    if req.activate_if_better:
        activate, metrics["activation"] = _beats_active(url, split, metrics, req.model)
        metrics["activation_note"] = metrics["activation"]["reason"]
    with session_scope(url) as s:
        from db.jobs import cancel_requested

        if cancel_requested(s, job_id):
            from core.models.lm import TrainingStopped

            raise TrainingStopped(f"job {job_id} cancelled")
        row = register_model(
            s, model, name=req.name or req.model, dataset_id=data.dataset_id, metrics=metrics,
            train_seconds=train_seconds, activate=activate,
        )
        model_id = row.id
    return metrics, model_id


def run_job(url: str, job_id: int) -> int:
    """Entry point of `python -m core worker`: 0 on success, 1 on failure or cancellation."""
    import torch

    from core.models.lm import TrainingStopped
    from db.engine import session_scope
    from db.jobs import finish_job, mark_running

    torch.set_num_threads(n_threads())
    with session_scope(url) as s:
        job = mark_running(s, job_id, os.getpid())
        params = dict(job.params)
    try:
        req = TrainRequest.from_params(params)
        if req.nice > 0:
            os.nice(req.nice)
        metrics, model_id = train_and_register(url, job_id, req)
    except TrainingStopped:
        with session_scope(url) as s:
            finish_job(s, job_id, "cancelled", error="Cancelled by the user; the active model is unchanged.")
        return 1
    except BaseException as exc:  # noqa: BLE001 - any failure must end up on the job row
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        tb = traceback.format_exc(limit=-3)
        with session_scope(url) as s:
            finish_job(s, job_id, "failed", error=f"{detail}\n\n{tb}")
        return 1
    with session_scope(url) as s:
        finish_job(s, job_id, "succeeded", metrics=metrics, model_id=model_id)
    return 0
