"""`python -m core db upgrade|current|revision`: the store's schema migrations (Alembic, db/migrations)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from core.cli.options import db_after_action


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    sub = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    actions = {
        "upgrade": sub.add_parser("upgrade", help="create the store or bring it to the newest schema revision"),
        "current": sub.add_parser("current", help="print the store's schema revision and the newest one"),
        "revision": sub.add_parser("revision", help="autogenerate a revision from db/tables.py (for developers)"),
    }
    actions["revision"].add_argument("-m", "--message", required=True, help="what the revision changes")
    for p in actions.values():  # `db upgrade --db URL` as well as `db --db URL upgrade`
        db_after_action(p)
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")


def main(args: argparse.Namespace) -> int:
    from core.cli.output import emit
    from core.config import database_url
    from db.engine import make_engine
    from db.migrate import SchemaMismatchError, current, new_revision, upgrade

    if args.db_command == "revision":
        with tempfile.TemporaryDirectory() as scratch:
            path = new_revision(args.message, Path(scratch))
        emit({"revision": path.name, "path": str(path)}, args.json, f"wrote {path} (read it before committing)")
        return 0
    url = args.db or database_url()
    engine = make_engine(url)
    where = engine.url.render_as_string(hide_password=True)
    try:
        if args.db_command == "upgrade":
            before, after = upgrade(engine)
            human = (f"{where}: already at {after}" if before == after
                     else f"{where}: upgraded {before or 'empty/pre-migration store'} -> {after}")
            emit({"url": where, "before": before, "after": after}, args.json, human)
        else:
            state = current(engine)
            status = ("up to date" if state.up_to_date else
                      "pre-migration store (schema_version " + state.legacy_version + "): run `db upgrade`"
                      if state.legacy_version and not state.current else "behind: run `db upgrade`")
            emit({"url": where, "current": state.current, "head": state.head, "up_to_date": state.up_to_date},
                 args.json, f"{where}: revision {state.current or 'none'} (newest {state.head}; {status})")
    except SchemaMismatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0
