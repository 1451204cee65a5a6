"""The training worker: runs one job in its own process and reports to the store.

Steps (the job's status follows them: starting -> training -> evaluating -> succeeded): load the store's
purchases -> leave-one-out split -> measure the active model on that split -> encode item text -> fit within
what is left of the budget (the LM reports progress and honours cancellation through its callback) -> test
metrics -> register, active only as core.training.activation decides (the reason is kept in the job's metrics).
Any exception marks the job failed with its message; the active model is only changed after success.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from core.config import n_threads
from core.i18n import N_
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
    # "if-better" (default): active only when it beats the active model on this job's held-out split;
    # "always"; "never". (True/False of older rows read as always/never.)
    activate: str = "if-better"
    model_params: dict[str, Any] = field(default_factory=dict)
    warm_start_model: int | None = None  # registry id of an lm to fine-tune from
    nice: int = 0  # raise the worker's niceness by this much (a background job must not slow the dashboard)

    def __post_init__(self) -> None:
        from core.training.activation import normalise_policy

        self.activate = normalise_policy(self.activate)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TrainRequest:
        keys = ("model", "name", "activate", "model_params", "warm_start_model", "nice")
        known = {k: params[k] for k in keys if k in params}
        legacy = params.get("activate_if_better")  # rows written before the one activation rule
        unknown = sorted(set(params) - set(known) - {"activate_if_better"})
        if unknown:
            raise ValueError(f"Unknown training job parameter(s): {', '.join(unknown)}")
        if legacy:
            known["activate"] = "if-better"
        return cls(**known)

    def to_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "name": self.name,
            "activate": self.activate,
            "model_params": dict(self.model_params),
            "warm_start_model": self.warm_start_model,
            "nice": self.nice,
        }


# Start-up stages, in order, as the progress bar names them (the bar's fraction is stage / len(STARTUP_STAGES)).
STARTUP_STAGES = (
    N_("loading purchases"),
    N_("holding out each customer's last purchase"),
    N_("measuring the active model on the same split"),
    N_("loading the text encoder and encoding items"),
)
# Seconds kept back from the training budget for the final evaluation (at least; see _eval_reserve).
MIN_EVAL_RESERVE_S = 3.0
# A model never gets less than this to train, even when start-up ate the whole budget.
MIN_TRAIN_S = 1.0


class _Reporter:
    """The fit callback: throttled progress writes (with the job's start-up timings), cancellation polling, and
    the job's deadline: it stops training (best weights kept) when what is left would not fit the final evaluation,
    estimated from the validation passes it has seen."""

    def __init__(self, url: str, job_id: int, timings: dict[str, Any] | None = None, clock: _Clock | None = None,
                 deadline_s: float | None = None, eval_users_ratio: float = 1.0, reserve_s: float = 0.0):
        self.url, self.job_id = url, job_id
        self.last_write = 0.0
        self.last_poll = 0.0
        self.cancelled = False
        self.timings = dict(timings or {})
        self.clock, self.deadline_s = clock, deadline_s
        self.eval_users_ratio, self.reserve_s = eval_users_ratio, reserve_s
        self.val_pass_s: float | None = None  # seconds of one validation pass
        self._batches: list[tuple[int, float]] = []  # (step, elapsed_s) of the last two batch reports
        self.stopped_for_time = False

    def _out_of_time(self, progress: dict[str, Any]) -> bool:
        if self.clock is None or self.deadline_s is None:
            return False
        step, elapsed = int(progress.get("step", 0)), float(progress.get("elapsed_s") or 0.0)
        if progress.get("val_ndcg10") is None:
            self._batches = [*self._batches[-1:], (step, elapsed)]
        elif len(self._batches) == 2 and self._batches[1][0] > self._batches[0][0]:
            # Epoch end: the gap since the last batch report, less the batches trained in it, is the validation.
            (s1, e1), (s2, e2) = self._batches
            per_batch = (e2 - e1) / (s2 - s1)
            self.val_pass_s = max(elapsed - e2 - (step - s2) * per_batch, 0.0)
        if self.val_pass_s is None:
            final = self.reserve_s
        else:  # stopping costs one more validation pass, then the test and validation evaluation (full metrics,
            # top-K lists included: about 1.5 passes each), then registering
            final = self.val_pass_s * (1.0 + 3.0 * self.eval_users_ratio) + 1.5
        return self.clock.elapsed() + final > self.deadline_s

    def __call__(self, progress: dict[str, Any]) -> bool:
        from db.engine import session_scope
        from db.jobs import cancel_requested, report_progress

        now = time.monotonic()
        epoch_end = progress.get("val_ndcg10") is not None
        if epoch_end or now - self.last_write >= PROGRESS_EVERY_S:
            with session_scope(self.url) as s:
                report_progress(s, self.job_id, {**progress, "stage": "training", **self.timings}, point=True)
            self.last_write = now
        if epoch_end or now - self.last_poll >= CANCEL_POLL_S:
            with session_scope(self.url) as s:
                self.cancelled = cancel_requested(s, self.job_id)
            self.last_poll = now
        if self.cancelled:
            from core.models.lm import TrainingStopped

            raise TrainingStopped(f"job {self.job_id} cancelled")
        if self._out_of_time(progress):
            self.stopped_for_time = True
        return self.stopped_for_time


class _Clock:
    """Wall time of the whole job, counted from the job's creation (queue, process start and imports included)."""

    def __init__(self, created_at):
        from datetime import UTC

        self.t0 = created_at.replace(tzinfo=UTC).timestamp() if created_at is not None else time.time()
        self.marks: list[tuple[str, float]] = []  # (status, seconds into the job) at each status change

    def mark(self, status: str) -> None:
        if not self.marks or self.marks[-1][0] != status:
            self.marks.append((status, round(self.elapsed(), 2)))

    def elapsed(self) -> float:
        return max(0.0, time.time() - self.t0)


def _stage(url: str, job_id: int, clock: _Clock, index: int, status: str = "starting", **extra: Any) -> None:
    """Write the start-up stage (name, index, fraction) as the job's progress; also polls cancellation."""
    from db.engine import session_scope
    from db.jobs import cancel_requested, report_progress, set_status

    clock.mark(status)
    with session_scope(url) as s:
        set_status(s, job_id, status)
        if status == "starting":
            report_progress(s, job_id, {"stage": STARTUP_STAGES[index], "stage_index": index + 1,
                                        "n_stages": len(STARTUP_STAGES),
                                        "fraction": round(index / len(STARTUP_STAGES), 4), **extra}, point=False)
        else:
            report_progress(s, job_id, {"stage": status, **extra}, point=False, merge=True)
        cancelled = cancel_requested(s, job_id)
    if cancelled:
        from core.models.lm import TrainingStopped

        raise TrainingStopped(f"job {job_id} cancelled")


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


def _needs_text(model, data) -> bool:
    return bool(getattr(model, "text_init", False)) and data.has_text()


def _encode_items(model, data) -> None:
    """The LM's start-up work done up front (disk-cached), so its time is known before the training budget is set."""
    from core.text_encoder import encode_cached

    encode_cached(data.item_texts())


def _eval_reserve(budget_s: float, n_eval_users: int) -> float:
    """Seconds kept for the final test evaluation: a small share of the budget, more for many test users."""
    return max(MIN_EVAL_RESERVE_S, min(0.05 * budget_s, 30.0), n_eval_users / 2000.0)


def train_and_register(url: str, job_id: int, req: TrainRequest, clock: _Clock | None = None
                       ) -> tuple[dict[str, Any], int]:
    """Start up (stages reported by name), fit within what is left of the budget, evaluate on the held-out last
    purchases, decide activation on the same split, register. Returns (metrics, model id)."""
    from core.evaluation.metrics import evaluate_model
    from core.evaluation.protocols import leave_one_out
    from core.models import make_model
    from core.training.activation import decide, measure_active, split_signature
    from db.engine import session_scope
    from db.registry import register_model

    clock = clock or _Clock(None)
    _stage(url, job_id, clock, 0)
    data = _load_data(url)
    _stage(url, job_id, clock, 1)
    split = leave_one_out(data)
    signature = split_signature(data, split)
    active = None
    if req.activate == "if-better":
        _stage(url, job_id, clock, 2)
        active = measure_active(url, split, signature)
    model = make_model(req.model, **_model_params(req, url))
    if _needs_text(model, data):
        _stage(url, job_id, clock, 3)
        _encode_items(model, data)
    startup_seconds = clock.elapsed()
    budget_s = float(model.max_minutes) * 60.0 if getattr(model, "max_minutes", None) else None
    reserve = _eval_reserve(budget_s or 0.0, len(split.test) + len(split.valid))
    if budget_s is not None:
        # The budget covers the whole job: training gets what start-up and the final evaluation leave.
        model.max_minutes = max(budget_s - startup_seconds - reserve, MIN_TRAIN_S) / 60.0
    timings = {"startup_seconds": round(startup_seconds, 2), "budget_seconds": budget_s}
    _stage(url, job_id, clock, 0, status="training", fraction=0.0, **timings)
    scored_valid = min(len(split.valid), int(getattr(model, "valid_users", len(split.valid)) or 1))
    reporter = _Reporter(url, job_id, timings, clock, deadline_s=budget_s, reserve_s=reserve,
                         eval_users_ratio=max(len(split.test), len(split.valid)) / max(scored_valid, 1))
    t0 = time.perf_counter()
    model.fit(split.train, valid=split.valid, callback=reporter)
    train_seconds = time.perf_counter() - t0
    if budget_s is not None:
        model.max_minutes = budget_s / 60.0  # the registered settings keep the user's budget
    _stage(url, job_id, clock, 0, status="evaluating", fraction=1.0, **timings, train_seconds=round(train_seconds, 2))
    t_eval = time.perf_counter()
    metrics: dict[str, Any] = {"train_seconds": round(train_seconds, 2), "protocol": "loo", "split": signature}
    if reporter.stopped_for_time:
        metrics["stopped_for_time"] = True  # training ended early so the final evaluation fits the budget
    if len(split.test):
        test = evaluate_model(model, split.test)
        metrics.update({k: test[k] for k in ("hr@10", "ndcg@10", "mrr@10", "coverage@10", "n_users") if k in test})
    if len(split.valid):
        val = evaluate_model(model, split.valid, ks=(10,))
        metrics["val_ndcg@10"] = val["ndcg@10"]
    if "best_epoch" in model.fit_info_:
        metrics["best_epoch"] = int(model.fit_info_["best_epoch"])
    if "memory" in model.fit_info_:
        metrics["memory"] = model.fit_info_["memory"]  # the purchase memory's setting, None where it is off
    if "votes" in model.fit_info_:
        metrics["votes"] = model.fit_info_["votes"]  # the rare-item votes' setting, None where they are off
    decision = decide(req.activate, req.model, metrics.get("ndcg@10"), active, signature)
    metrics["activation"] = decision.to_dict(req.model)
    metrics["activation_note"] = decision.reason
    evaluation_seconds = time.perf_counter() - t_eval
    if not model.uses_validation:
        # One-pass models are cheap: the registered one learns from every purchase, the metrics come from the split.
        model.fit(data)
    with session_scope(url) as s:
        from db.jobs import cancel_requested

        if cancel_requested(s, job_id):
            from core.models.lm import TrainingStopped

            raise TrainingStopped(f"job {job_id} cancelled")
        if decision.policy == "if-better" and decision.activated and decision.active_model_id is not None:
            from db.registry import active_model

            now_active = active_model(s)
            if now_active is None or now_active.id != decision.active_model_id:
                # Someone chose another model while this job trained: that choice stands.
                decision.activated = False
                decision.reason = "the active model was changed while this job trained; that choice is kept"
                metrics["activation"] = decision.to_dict(req.model)
                metrics["activation_note"] = decision.reason
        row = register_model(
            s, model, name=req.name or req.model, dataset_id=data.dataset_id, metrics=metrics,
            train_seconds=train_seconds, activate=decision.activated,
        )
        model_id = row.id
    metrics["timings"] = {"startup_seconds": round(startup_seconds, 2), "train_seconds": round(train_seconds, 2),
                          "evaluation_seconds": round(evaluation_seconds, 2),
                          "total_seconds": round(clock.elapsed(), 2), "budget_seconds": budget_s,
                          "validation_pass_seconds": reporter.val_pass_s,
                          "stages": [list(m) for m in clock.marks]}
    return metrics, model_id


def run_job(url: str, job_id: int) -> int:
    """Entry point of `python -m core worker`: 0 on success, 1 on failure or cancellation."""
    import torch

    from core.models.lm import TrainingStopped
    from db.engine import session_scope
    from db.jobs import fail_job, finish_job, mark_running

    torch.set_num_threads(n_threads())
    with session_scope(url) as s:
        job = mark_running(s, job_id, os.getpid())
        params = dict(job.params)
        clock = _Clock(job.created_at)
    try:
        req = TrainRequest.from_params(params)
        if req.nice > 0:
            os.nice(req.nice)
        metrics, model_id = train_and_register(url, job_id, req, clock)
    except TrainingStopped:
        with session_scope(url) as s:
            finish_job(s, job_id, "cancelled", error="Cancelled by the user; the active model is unchanged.")
        return 1
    except BaseException as exc:  # noqa: BLE001 - any failure must end up on the job row
        with session_scope(url) as s:
            fail_job(s, job_id, exc)
        return 1
    with session_scope(url) as s:
        finish_job(s, job_id, "succeeded", metrics=metrics, model_id=model_id)
    return 0
