"""`python -m core apikey create|list|revoke`: API keys (the key is printed once; only its hash is stored)."""

from __future__ import annotations

import argparse
import getpass
import sys

from core.cli.options import db_after_action
from core.cli.output import emit


def cli_actor() -> str:
    """Who the audit log names for a CLI action."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = sub.add_parser("create", help="create a key and print it (once)")
    db_after_action(create)
    create.add_argument("--name", required=True, help="what will use the key, e.g. 'web shop'")
    create.add_argument("--rate-limit", type=int, default=None, metavar="PER_MINUTE",
                        help="requests per minute for this key (default: the server's --rate-limit)")
    create.add_argument("--json", action="store_true")
    listing = sub.add_parser("list", help="list keys (prefix, name, created, revoked)")
    db_after_action(listing)
    listing.add_argument("--json", action="store_true")
    revoke = sub.add_parser("revoke", help="revoke a key by its id or prefix")
    db_after_action(revoke)
    revoke.add_argument("key", help="the key's id or its shown prefix (rk_…)")
    revoke.add_argument("--json", action="store_true")


def main(args: argparse.Namespace) -> int:
    from core.auth.keys import create_key, revoke
    from db.api_keys import list_keys
    from db.engine import session_scope

    try:
        with session_scope(args.db) as session:
            if args.action == "create":
                new = create_key(session, args.name, args.rate_limit, cli_actor())
                payload = {"id": new.id, "name": new.name, "key": new.key, "prefix": new.prefix}
                human = (f"API key {new.id} ({new.name}):\n{new.key}\n"
                         "Store it now: it is not shown again (only its hash is kept).")
            elif args.action == "list":
                rows = list_keys(session)
                payload = [{"id": k.id, "name": k.name, "prefix": k.prefix, "rate_per_minute": k.rate_per_minute,
                            "created_at": str(k.created_at), "revoked_at": str(k.revoked_at) if k.revoked_at else None}
                           for k in rows]
                human = "\n".join(f"{k['id']:>4}  {k['prefix']}…  {k['name']}  "
                                  f"{'revoked ' + k['revoked_at'] if k['revoked_at'] else 'active'}"
                                  for k in payload) or "no API keys yet"
            else:
                key_id = revoke(session, args.key, cli_actor())
                payload = {"id": key_id, "revoked": True}
                human = f"API key {key_id} revoked"
    except (KeyError, ValueError) as exc:
        print(exc.args[0] if exc.args else str(exc), file=sys.stderr)
        return 2
    emit(payload, args.json, human)
    return 0
