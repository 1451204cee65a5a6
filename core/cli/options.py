"""Options the subcommands share."""

from __future__ import annotations

import argparse

SHOP_HELP = "the shop (workspace) to work on, by name or slug (see `python -m core shop list`); instead of --db"


def db_after_action(parser: argparse.ArgumentParser) -> None:
    """`--db` (and `--shop`) also after the action (`… create --name X --db URL`), not overriding one given before."""
    parser.add_argument("--db", default=argparse.SUPPRESS, help="SQLAlchemy URL of the store")
    parser.add_argument("--shop", default=argparse.SUPPRESS, help=SHOP_HELP)


def resolve_shop(args: argparse.Namespace) -> str | None:
    """Turn `--shop NAME` into `args.db` (the shop's store URL); an error message when it cannot be resolved."""
    shop = getattr(args, "shop", None)
    if not shop:
        return None
    if getattr(args, "db", None):
        return "pass either --db or --shop, not both"
    from db.shops import ShopError, resolve_url

    try:
        args.db = resolve_url(shop)
    except ShopError as exc:
        return str(exc)
    return None
