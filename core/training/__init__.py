"""Training jobs: the worker process that fits and registers models, and the launch/watch/cancel API."""

from core.training.jobs import (
    JobView,
    cancel_training,
    curves,
    job_status,
    launch_training,
    list_job_views,
    running_job,
    wait_for,
)
from core.training.worker import TrainRequest

__all__ = [
    "JobView",
    "TrainRequest",
    "cancel_training",
    "curves",
    "job_status",
    "launch_training",
    "list_job_views",
    "running_job",
    "wait_for",
]
