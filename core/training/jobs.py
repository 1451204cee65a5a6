"""Launch, watch and cancel training jobs. Each job runs `python -m core worker` in its own process session,
so it keeps going when the dashboard page reloads or the browser closes.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import PROJECT_ROOT, artifacts_dir
from core.training.worker import TrainRequest

TRAIN_KIND = "train"  # jobs.kind of a training job; other kinds (an evaluation run) share the worker and the table

# Popen handles of workers started by this process, polled so finished children are reaped (no zombies).
_CHILDREN: dict[int, subprocess.Popen] = {}


@dataclass
class JobView:
    """A job as the page and CLI show it (plain values, safe after the session closes)."""

    id: int
    status: str
    params: dict[str, Any]
    progress: dict[str, Any]
    metrics: dict[str, Any]
    error: str | None
    pid: int | None
    model_id: int | None
    created_at: Any
    duration_s: float | None

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")

    @property
    def budget_s(self) -> float | None:
        """The whole job's wall-time budget (the model's max_minutes), when it has one."""
        if self.progress.get("budget_seconds") is not None:
            return float(self.progress["budget_seconds"])
        minutes = (self.params.get("model_params") or {}).get("max_minutes")
        return None if minutes is None else float(minutes) * 60.0

    @property
    def time_left_s(self) -> float | None:
        """Budget minus the time since the job was created (start-up counts); else the trainer's own estimate."""
        if self.finished:
            return 0.0
        if self.budget_s is not None and self.created_at is not None:
            from db.tables import utcnow

            return max(self.budget_s - (utcnow() - self.created_at).total_seconds(), 0.0)
        eta = self.progress.get("eta_s")
        return None if eta is None else float(eta)

    @property
    def fraction(self) -> float:
        """0..1 for st.progress: epochs done over the epoch budget (1 when finished)."""
        if self.finished:
            return 1.0
        if self.progress.get("fraction") is not None:
            return float(min(max(self.progress["fraction"], 0.0), 1.0))
        epochs = self.progress.get("epochs") or 0
        return float(min(max(self.progress.get("epoch", 0.0) / epochs, 0.0), 1.0)) if epochs else 0.0


def _view(job) -> JobView:
    from db.jobs import duration_seconds

    return JobView(
        id=job.id, status=job.status, params=dict(job.params or {}), progress=dict(job.progress or {}),
        metrics=dict(job.metrics or {}), error=job.error, pid=job.pid, model_id=job.model_id,
        created_at=job.created_at, duration_s=duration_seconds(job),
    )


def _reap() -> None:
    for pid, proc in list(_CHILDREN.items()):
        if proc.poll() is not None:
            _CHILDREN.pop(pid, None)


def log_path(url: str, job_id: int) -> Path:
    folder = artifacts_dir(url).parent / "job_logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"job-{job_id}.log"


def launch_training(url: str, params: dict[str, Any] | TrainRequest) -> int:
    """Create a job row and start its worker process; returns the job id."""
    from db.engine import session_scope
    from db.jobs import create_job

    req = params if isinstance(params, TrainRequest) else TrainRequest.from_params(params)
    from core.models import MODEL_KINDS

    if req.model not in MODEL_KINDS:
        raise ValueError(f"Unknown model kind {req.model!r}; known: {', '.join(MODEL_KINDS)}")
    with session_scope(url) as s:
        job_id = create_job(s, TRAIN_KIND, req.to_params()).id
    start_worker(url, job_id)
    return job_id


def start_worker(url: str, job_id: int) -> int:
    """Start `python -m core worker` for a queued job of any kind (its own process session); returns the pid."""
    from db.engine import session_scope
    from db.jobs import set_pid

    log = open(log_path(url, job_id), "ab")  # noqa: SIM115 - handed to the child process
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core", "worker", "--job", str(job_id), "--db", url],
            cwd=str(PROJECT_ROOT), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()
    _CHILDREN[proc.pid] = proc
    with session_scope(url) as s:
        set_pid(s, job_id, proc.pid)
    return proc.pid


def job_status(url: str, job_id: int) -> JobView:
    """The job (stale-checked); a worker that died without reporting gets its log's last lines as the error."""
    from db.engine import session_scope
    from db.jobs import DIED_WITHOUT_REPORTING, get_job

    _reap()
    with session_scope(url) as s:
        view = _view(get_job(s, job_id))
    if view.status == "failed" and view.error and DIED_WITHOUT_REPORTING in view.error:
        log = log_path(url, job_id)
        tail = log.read_text(errors="replace").strip().splitlines()[-5:] if log.exists() else []
        if tail:
            view.error += "\nLast lines of its log:\n" + "\n".join(tail)
    return view


def list_job_views(url: str, limit: int = 50, kind: str = TRAIN_KIND) -> list[JobView]:
    """The newest jobs of one kind (training by default), newest first."""
    from db.engine import session_scope
    from db.jobs import list_jobs

    _reap()
    with session_scope(url) as s:
        return [_view(j) for j in list_jobs(s, limit, kind=kind)]


def running_job(url: str, kind: str = TRAIN_KIND) -> JobView | None:
    """The newest queued/running job of one kind (training by default), if any."""
    from db.engine import session_scope
    from db.jobs import active_jobs

    _reap()
    with session_scope(url) as s:
        jobs = active_jobs(s, kind=kind)
        return _view(jobs[-1]) if jobs else None


def curves(url: str, job_id: int) -> list[dict[str, Any]]:
    from db.engine import session_scope
    from db.jobs import job_points

    with session_scope(url) as s:
        return job_points(s, job_id)


def cancel_training(url: str, job_id: int) -> JobView:
    """Ask the worker to stop at its next progress report (within about a second of training)."""
    from db.engine import session_scope
    from db.jobs import request_cancel

    with session_scope(url) as s:
        return _view(request_cancel(s, job_id))


def wait_for(url: str, job_id: int, timeout: float | None = None, poll: float = 1.0, on_progress=None) -> JobView:
    """Block until the job finishes (or `timeout` seconds pass: TimeoutError)."""
    start = time.monotonic()
    last = None
    while True:
        view = job_status(url, job_id)
        if on_progress is not None and view.progress != last:
            on_progress(view)
            last = view.progress
        if view.finished:
            return view
        if timeout is not None and time.monotonic() - start > timeout:
            raise TimeoutError(f"job {job_id} still {view.status} after {timeout:.0f} s")
        time.sleep(poll)
