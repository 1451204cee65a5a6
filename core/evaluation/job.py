"""An evaluation run as a background job: the page starts it and polls its stages, the worker process runs it.

A run refits every model on the protocol's training part; with the language model among them that takes minutes,
longer than a page may block. The job (kind "evaluate") shares the training jobs' table, worker command
(`python -m core worker --job ID`), stale-worker check and cancel flag; `evaluate_store` does the work, as for
the CLI. Progress is "stage i of n" with the elapsed seconds and an estimate of the seconds left: a language
model's stage is expected to take its time budget, every other stage as long as the finished ones took on average.
"""

from __future__ import annotations

import inspect
import os
import time
from dataclasses import dataclass, field
from typing import Any

from core.i18n import N_

JOB_KIND = "evaluate"
# Niceness of the worker: the dashboard stays responsive on a 2-core machine while it runs.
NICE = 5
# What each stage is called on the page (run_evaluation's messages are classified into these).
STAGES = {
    "load": N_("loading the purchases and splitting them"),
    "fit": N_("fitting"),
    "tune": N_("tuning on the validation purchases"),
    "score": N_("ranking every held-out purchase"),
    "save": N_("saving the run"),
}


class EvaluationCancelled(Exception):
    """Raised from the progress callback when the user asked the job to stop."""


@dataclass
class EvaluationRequest:
    """What an evaluation job was asked to do (jobs.params): the page's choices."""

    models: list[str]
    protocol: str = "loo"
    split_kwargs: dict[str, Any] = field(default_factory=dict)
    ks: list[int] = field(default_factory=lambda: [5, 10, 20])

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> EvaluationRequest:
        return cls(models=list(params["models"]), protocol=params.get("protocol", "loo"),
                   split_kwargs=dict(params.get("split_kwargs") or {}), ks=list(params.get("ks") or [5, 10, 20]))

    def to_params(self) -> dict[str, Any]:
        return {"models": list(self.models), "protocol": self.protocol, "split_kwargs": dict(self.split_kwargs),
                "ks": list(self.ks)}


@dataclass
class _SpecPlan:
    label: str
    stages: int
    budget_s: float | None  # a slow model's fit: its time budget; None = measured as it goes


class StageReporter:
    """run_evaluation's progress callback: each message starts a stage; writes step/steps/elapsed/ETA to the job."""

    def __init__(self, url: str, job_id: int, plans: list[_SpecPlan]):
        self.url, self.job_id, self.plans = url, job_id, plans
        self.steps = 1 + sum(p.stages for p in plans) + 1  # load, every model's stages, save
        self.step = 0
        self.t0 = self.stage_t0 = time.monotonic()
        self.current: tuple[str, str | None] | None = None
        self.fast_durations: list[float] = []
        self.done_per_spec: dict[str, int] = {}

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def _plan(self, label: str | None) -> _SpecPlan | None:
        return next((p for p in self.plans if p.label == label), None)

    def _eta(self, now: float) -> float | None:
        """Seconds left: slow fits by their budget, other stages by the finished stages' mean duration."""
        mean = sum(self.fast_durations) / len(self.fast_durations) if self.fast_durations else None
        left = 0.0
        in_stage = now - self.stage_t0
        for p in self.plans:
            done = self.done_per_spec.get(p.label, 0)
            for i in range(done, p.stages):
                current = self.current is not None and self.current[1] == p.label and i == done
                if p.budget_s is not None and i == 0:
                    cost = p.budget_s
                elif mean is None:
                    return None
                else:
                    cost = mean
                left += max(cost - in_stage, 0.0) if current else cost
        return left + (mean or 0.0)  # the save stage

    def stage(self, key: str, model: str | None = None, detail: str = "") -> None:
        from db.engine import session_scope
        from db.jobs import cancel_requested, report_progress

        now = time.monotonic()
        if self.current is not None:
            _, label = self.current
            plan = self._plan(label)
            if plan is not None:
                if not (plan.budget_s is not None and self.done_per_spec.get(label, 0) == 0):
                    self.fast_durations.append(now - self.stage_t0)
                self.done_per_spec[label] = self.done_per_spec.get(label, 0) + 1
            elif key != "load":
                self.fast_durations.append(now - self.stage_t0)
        self.step += 1
        self.current, self.stage_t0 = (key, model), now
        eta = self._eta(now)
        progress = {"stage": key, "model": model, "detail": detail, "step": self.step, "steps": self.steps,
                    "fraction": (self.step - 1) / self.steps, "elapsed_s": round(now - self.t0, 1),
                    "eta_s": None if eta is None else round(eta, 1), "reported_at": time.time()}
        with session_scope(self.url) as s:
            report_progress(s, self.job_id, progress, point=False)
            cancelled = cancel_requested(s, self.job_id)
        if cancelled:
            raise EvaluationCancelled(f"evaluation job {self.job_id} cancelled")

    def __call__(self, message: str) -> None:
        label, _sep, rest = str(message).partition(": ")
        if self._plan(label) is None:
            return  # not one of run_evaluation's per-model messages
        key = "fit" if rest == "fitting" else "score" if rest.startswith("scoring") else "tune"
        self.stage(key, label, rest)


def live_times(progress: dict[str, Any], now: float | None = None) -> tuple[float, float | None]:
    """(elapsed, left) seconds as of `now`: the last report's figures moved on by the time since it was written."""
    since = max((now or time.time()) - float(progress.get("reported_at") or 0.0), 0.0) if progress.get("reported_at") else 0.0
    eta = progress.get("eta_s")
    return float(progress.get("elapsed_s") or 0.0) + since, None if eta is None else max(float(eta) - since, 0.0)


def _plans(session, models: list[str]) -> list[_SpecPlan]:
    from core.evaluation.evaluate import planned_stages
    from core.evaluation.store_runs import resolve_spec
    from core.models import model_class

    plans = []
    for name in models:
        spec = resolve_spec(session, name)
        cls = model_class(spec.kind)
        budget = None
        if cls.is_slow:
            default = inspect.signature(cls).parameters.get("max_minutes")
            minutes = spec.params.get("max_minutes", None if default is None else default.default)
            budget = None if minutes is None else float(minutes) * 60
        plans.append(_SpecPlan(spec.label, planned_stages(spec, has_validation=True), budget))
    return plans


def launch_evaluation(url: str, request: EvaluationRequest) -> int:
    """Check the request (unknown models fail here, at once), queue the job and start its worker; the job id."""
    from core.evaluation.store_runs import resolve_spec
    from core.training.jobs import start_worker
    from db.engine import session_scope
    from db.jobs import create_job

    if not request.models:
        raise ValueError("Choose at least one model to evaluate")
    with session_scope(url) as s:
        for name in request.models:
            resolve_spec(s, name)
        job_id = create_job(s, JOB_KIND, request.to_params()).id
    start_worker(url, job_id)
    return job_id


def run_evaluation_job(url: str, job_id: int) -> int:
    """The worker's entry for an "evaluate" job: 0 when the run is stored, 1 on failure or cancellation."""
    from core.config import n_threads
    from core.evaluation.store_runs import evaluate_store
    from db.engine import session_scope
    from db.jobs import fail_job, finish_job, mark_running

    with session_scope(url) as s:
        params = dict(mark_running(s, job_id, os.getpid()).params)
    try:
        import torch

        torch.set_num_threads(n_threads())
        os.nice(NICE)
        req = EvaluationRequest.from_params(params)
        with session_scope(url) as s:
            reporter = StageReporter(url, job_id, _plans(s, req.models))
        reporter.stage("load")
        with session_scope(url) as s:
            result, _unused = evaluate_store(s, req.models, protocol=req.protocol, ks=tuple(req.ks),
                                             split_kwargs=req.split_kwargs, store=False, progress=reporter)
        reporter.stage("save")
        from core.evaluation.store_runs import record_run

        with session_scope(url) as s:
            run_id = record_run(s, result).id
    except EvaluationCancelled:
        with session_scope(url) as s:
            finish_job(s, job_id, "cancelled", error="Cancelled by the user; no run was stored.")
        return 1
    except BaseException as exc:  # noqa: BLE001 - any failure must end up on the job row
        with session_scope(url) as s:
            fail_job(s, job_id, exc)
        return 1
    with session_scope(url) as s:
        finish_job(s, job_id, "succeeded", metrics={"run_id": run_id, "seconds": round(reporter.elapsed(), 1)})
    return 0
