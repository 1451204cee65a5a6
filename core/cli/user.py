"""`python -m core user add|list|disable`: dashboard accounts for sign-in (RECOLM_AUTH=on)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from core.cli.options import db_after_action
from core.cli.output import emit

PASSWORD_ENV = "RECOLM_PASSWORD"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="add a user (the password is asked, or read from RECOLM_PASSWORD)")
    db_after_action(add)
    add.add_argument("username")
    add.add_argument("--role", choices=["admin", "marketer"], default="marketer")
    add.add_argument("--json", action="store_true")
    listing = sub.add_parser("list", help="list users and roles")
    db_after_action(listing)
    listing.add_argument("--json", action="store_true")
    disable = sub.add_parser("disable", help="stop a user from signing in")
    db_after_action(disable)
    disable.add_argument("username")
    disable.add_argument("--json", action="store_true")


def _password() -> str:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise ValueError(f"no password: set {PASSWORD_ENV} or run this in a terminal")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise ValueError("the two passwords differ")
    return first


def main(args: argparse.Namespace) -> int:
    from core.auth.accounts import add_user
    from core.cli.apikey import cli_actor
    from db.accounts import list_accounts, set_disabled
    from db.audit import record
    from db.engine import session_scope

    try:
        with session_scope(args.db) as session:
            if args.action == "add":
                add_user(session, args.username, _password(), args.role, cli_actor())
                payload = {"username": args.username, "role": args.role}
                human = f"user {args.username!r} added as {args.role}"
            elif args.action == "list":
                payload = [{"username": a.username, "role": a.role, "disabled": a.disabled,
                            "created_at": str(a.created_at)} for a in list_accounts(session)]
                human = "\n".join(f"{a['username']}  {a['role']}{'  (disabled)' if a['disabled'] else ''}"
                                  for a in payload) or "no users yet"
            else:
                set_disabled(session, args.username, True)
                record(session, cli_actor(), "disable_user", args.username)
                payload = {"username": args.username, "disabled": True}
                human = f"user {args.username!r} can no longer sign in"
    except (KeyError, ValueError) as exc:
        print(exc.args[0] if exc.args else str(exc), file=sys.stderr)
        return 2
    emit(payload, args.json, human)
    return 0
