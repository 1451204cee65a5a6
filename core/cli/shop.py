"""`python -m core shop list|create NAME|remove NAME`: shops (workspaces), one store each (db/shops.py)."""

from __future__ import annotations

import argparse

from core.cli.output import emit


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="list the shops: name, slug, store URL")
    listing.add_argument("--json", action="store_true")
    create = sub.add_parser("create", help="start a new, empty shop with its own store")
    create.add_argument("name", help="display name (any language), e.g. 'Online Retail' or '网店'")
    create.add_argument("--json", action="store_true")
    remove = sub.add_parser("remove", help="delete a shop's store and model artifacts (the demo: rebuild with `demo`)")
    remove.add_argument("name", help="the shop's name or slug")
    remove.add_argument("--json", action="store_true")


def _row(shop) -> dict:
    return {"slug": shop.slug, "name": shop.name, "is_demo": shop.is_demo, "created": shop.created, "url": shop.url}


def main(args: argparse.Namespace) -> int:
    from db.shops import ShopError, create_shop, list_shops, remove_shop

    if args.db:
        emit({"error": "shop takes no --db"}, args.json, "error: `shop` manages the shops of the default store's "
             "home; it takes no --db (set RECOLM_HOME / RECOLM_DATABASE_URL instead)")
        return 2
    try:
        if args.action == "list":
            rows = [_row(s) for s in list_shops()]
            emit(rows, args.json, "\n".join(f"{r['slug']:<24} {r['name']}{'  (demo)' if r['is_demo'] else ''}  "
                                            f"{r['url']}" for r in rows) or "no shops")
        elif args.action == "create":
            shop = create_shop(args.name)
            emit(_row(shop), args.json, f"Shop {shop.name!r} created ({shop.slug}): {shop.url}\n"
                 f"Upload into it with: python -m core ingest --shop {shop.slug} …")
        else:
            shop = remove_shop(args.name)
            extra = " Rebuild it with: python -m core demo" if shop.is_demo else ""
            emit({"removed": _row(shop)}, args.json, f"Shop {shop.name!r} removed with its store and models.{extra}")
    except ShopError as exc:
        emit({"error": str(exc)}, args.json, f"error: {exc}")
        return 1
    return 0
