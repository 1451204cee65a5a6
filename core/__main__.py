"""Headless CLI: `python -m core COMMAND …`. Every command takes `--db URL` (default: the app's store)
or `--shop NAME` (a shop's store, see `python -m core shop list`).

Each command lives in core/cli/<command>.py with `configure(parser)` and `main(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from core.cli.options import SHOP_HELP, resolve_shop

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
    "serve": "run the REST API (recommendations, feedback, live A/B tests)",
    "apikey": "create, list or revoke API keys",
    "user": "dashboard accounts for sign-in (RECOLM_AUTH=on)",
    "shop": "list, create or remove shops (workspaces): one store per data source",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="RecoLM engine")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--db", default=None, help="SQLAlchemy URL of the store (default: RECOLM_DATABASE_URL or var/recolm.db)")
        if name != "shop":
            p.add_argument("--shop", default=None, help=SHOP_HELP)
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
    problem = resolve_shop(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    return int(args._module.main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
