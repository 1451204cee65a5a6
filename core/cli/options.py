"""Options the subcommands share."""

from __future__ import annotations

import argparse


def db_after_action(parser: argparse.ArgumentParser) -> None:
    """`--db` also after the action (`… create --name X --db URL`), without overriding one given before it."""
    parser.add_argument("--db", default=argparse.SUPPRESS, help="SQLAlchemy URL of the store")
