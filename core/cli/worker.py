"""`python -m core worker --job ID`: run one queued training job (started by the dashboard or `train`)."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--job", type=int, required=True, help="id of the queued job to run")


def main(args: argparse.Namespace) -> int:
    from core.config import database_url
    from core.training.worker import run_job

    return run_job(args.db or database_url(), args.job)
