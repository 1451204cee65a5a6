"""Headless CLI: `python -m core COMMAND …`. Every command takes `--db URL` (default: the app's store).

Each command lives in core/cli/<command>.py with `configure(parser)` and `main(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, str] = {
    "demo": "build the demo shop into the store",
    "ingest": "upload CSV files through the column mapping; prints the validation report",
    "stats": "print the store's key numbers",
    "train": "train a model (baseline or the language model) and register it",
    "worker": "run one queued job (used by the dashboard; not for people)",
    "evaluate": "offline evaluation of models against the store's data",
    "recommend": "top-K recommendations for a user or everyone",
    "abtest": "analyse an A/B test log",
    "coupons": "target a coupon campaign",
    "db": "the store's schema migrations: upgrade, current",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="RecoLM engine")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--db", default=None, help="SQLAlchemy URL of the store (default: RECOLM_DATABASE_URL or var/recolm.db)")
        try:
            module = importlib.import_module(f"core.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"core.cli.{name}":
                raise
            p.set_defaults(_module=None)
            continue
        module.configure(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args._module is None:
        print(f"'{args.command}' is not available in this build", file=sys.stderr)
        return 2
    return int(args._module.main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
