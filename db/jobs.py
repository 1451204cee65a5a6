"""Job rows and their progress points: how a training process reports to the dashboard through the store.

A job is written by exactly one worker process; the dashboard and CLI only read it (and may ask it to
cancel). A job whose worker process has disappeared is marked failed the next time anyone reads it.
"""

from __future__ import annotations

import traceback
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.tables import Job, JobPoint, utcnow

# A job moves queued -> starting -> training -> evaluating -> succeeded | failed | cancelled ("running": rows
# written before the stages were recorded).
STAGE_STATUSES = ("starting", "training", "evaluating")
ACTIVE_STATUSES = ("queued", *STAGE_STATUSES, "running")
FINAL_STATUSES = ("succeeded", "failed", "cancelled")
# A queued job gets this long to be picked up by its worker before it counts as lost.
QUEUE_GRACE_SECONDS = 120


def create_job(session: Session, kind: str, params: dict[str, Any], dataset_id: int | None = None) -> Job:
    job = Job(kind=kind, status="queued", params=dict(params), progress={}, metrics={}, dataset_id=dataset_id)
    session.add(job)
    session.flush()
    return job


def _get(session: Session, job_id: int) -> Job:
    job = session.get(Job, int(job_id))
    if job is None:
        raise KeyError(f"No job with id {job_id}")
    return job


def process_alive(pid: int | None, job_id: int | None = None) -> bool:
    """Is `pid` a live (non-zombie) process, and, when job_id is given, the worker of that job?"""
    if not pid:
        return False
    import psutil

    try:
        proc = psutil.Process(int(pid))
        if proc.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
            return False
        if job_id is not None:
            cmd = proc.cmdline()
            if cmd and ("worker" not in cmd or str(job_id) not in cmd):
                return False  # the pid was reused by another program
        return True
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


# The error a job gets when its worker vanished; core.training.jobs adds the worker's log tail to it.
DIED_WITHOUT_REPORTING = "stopped without reporting; it was killed or crashed."


def check_stale(session: Session, job: Job) -> Job:
    """Mark an active job failed if its worker process is gone (killed, crashed hard, machine restarted)."""
    if job.status not in ACTIVE_STATUSES:
        return job
    if job.status == "queued" and job.pid is None:
        age = (utcnow() - job.created_at).total_seconds() if job.created_at else 0
        if age < QUEUE_GRACE_SECONDS:
            return job
    elif process_alive(job.pid, job.id):
        return job
    job.status = "failed"
    job.error = job.error or f"The worker process (pid {job.pid}) {DIED_WITHOUT_REPORTING}"
    job.finished_at = utcnow()
    session.flush()
    return job


def job_kind(session: Session, job_id: int) -> str:
    """What the job is ("train", "evaluate"): the worker runs it accordingly."""
    return _get(session, job_id).kind


def get_job(session: Session, job_id: int) -> Job:
    """The job, with a stale-worker check."""
    return check_stale(session, _get(session, job_id))


def list_jobs(session: Session, limit: int = 50, kind: str | None = None) -> list[Job]:
    """Newest first, each stale-checked; `kind` ("train", "evaluate") keeps one kind of job."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(Job.kind == kind)
    return [check_stale(session, j) for j in session.scalars(query)]


def active_jobs(session: Session, kind: str | None = None) -> list[Job]:
    """Queued or running jobs, oldest first (of one `kind` when given)."""
    query = select(Job).where(Job.status.in_(ACTIVE_STATUSES)).order_by(Job.id)
    if kind is not None:
        query = query.where(Job.kind == kind)
    jobs = session.scalars(query)
    return [j for j in (check_stale(session, j) for j in jobs) if j.status in ACTIVE_STATUSES]


def set_pid(session: Session, job_id: int, pid: int) -> None:
    _get(session, job_id).pid = int(pid)


def mark_running(session: Session, job_id: int, pid: int) -> Job:
    job = _get(session, job_id)
    if job.status != "queued":
        raise ValueError(f"Job {job_id} is {job.status}, not queued; a job runs once")
    job.status = "starting"
    job.pid = int(pid)
    job.started_at = utcnow()
    job.heartbeat_at = job.started_at
    return job


def set_status(session: Session, job_id: int, status: str) -> None:
    """Move a started job to its next stage (the jobs table reads it live); a finished job stays finished."""
    if status not in STAGE_STATUSES:
        raise ValueError(f"set_status: status must be one of {STAGE_STATUSES}, got {status!r}")
    job = _get(session, job_id)
    if job.status in FINAL_STATUSES:
        raise ValueError(f"Job {job_id} is already {job.status}")
    job.status = status
    job.heartbeat_at = utcnow()


def report_progress(session: Session, job_id: int, progress: dict[str, Any], point: bool = True,
                    merge: bool = False) -> None:
    """Latest progress on the job row (+ heartbeat) and, if `point`, one point of the live curves. `merge` keeps
    the keys it does not name (the last epoch and loss stay visible while the job evaluates)."""
    job = _get(session, job_id)
    job.progress = {**(job.progress or {}), **progress} if merge else dict(progress)
    job.heartbeat_at = utcnow()
    if point:
        session.add(
            JobPoint(
                job_id=job.id,
                step=int(progress.get("step", 0)),
                epoch=float(progress.get("epoch", 0.0)),
                loss=progress.get("loss"),
                val_ndcg=progress.get("val_ndcg10"),
            )
        )


def cancel_requested(session: Session, job_id: int) -> bool:
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == int(job_id))))


def request_cancel(session: Session, job_id: int) -> Job:
    """Ask the worker to stop; a job that never started is cancelled right away."""
    job = get_job(session, job_id)
    if job.status in FINAL_STATUSES:
        return job
    job.cancel_requested = True
    if job.status == "queued" and not process_alive(job.pid, job.id):
        finish_job(session, job.id, "cancelled")
    return job


def finish_job(
    session: Session,
    job_id: int,
    status: str,
    metrics: dict[str, Any] | None = None,
    error: str | None = None,
    model_id: int | None = None,
) -> Job:
    if status not in FINAL_STATUSES:
        raise ValueError(f"finish_job: status must be one of {FINAL_STATUSES}, got {status!r}")
    job = _get(session, job_id)
    job.status = status
    job.metrics = dict(metrics or {})
    job.error = error
    job.model_id = model_id
    job.finished_at = utcnow()
    return job


def job_points(session: Session, job_id: int) -> list[dict[str, Any]]:
    """The live curves: one dict per point, oldest first."""
    rows = session.scalars(select(JobPoint).where(JobPoint.job_id == int(job_id)).order_by(JobPoint.id))
    return [{"step": r.step, "epoch": r.epoch, "loss": r.loss, "val_ndcg10": r.val_ndcg} for r in rows]


def duration_seconds(job: Job, now: datetime | None = None) -> float | None:
    if job.started_at is None:
        return None
    end = job.finished_at or now or utcnow()
    return (end - job.started_at).total_seconds()


def fail_job(session: Session, job_id: int, exc: BaseException) -> None:
    """End a job as failed with its error and the tail of its traceback (call it inside the `except`)."""
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    finish_job(session, job_id, "failed", error=f"{detail}\n\n{traceback.format_exc(limit=-3)}")
