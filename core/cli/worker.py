"""`python -m core worker --job ID`: run one queued background job (training, or an evaluation run)."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--job", type=int, required=True, help="id of the queued job to run")


def main(args: argparse.Namespace) -> int:
    from core.config import database_url
    from core.evaluation.job import JOB_KIND as EVALUATE
    from core.evaluation.job import run_evaluation_job
    from core.training.worker import run_job
    from db.engine import session_scope
    from db.jobs import job_kind

    url = args.db or database_url()
    with session_scope(url) as s:
        kind = job_kind(s, args.job)
    return run_evaluation_job(url, args.job) if kind == EVALUATE else run_job(url, args.job)
