"""`python -m core demo`: build the demo shop into the store (the dashboard does this on first start)."""

from __future__ import annotations

import argparse

from core.cli.output import emit
from core.demo import DEFAULT_ITEMS, DEFAULT_SEED, DEFAULT_USERS


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--if-empty", action="store_true", help="do nothing when the store already holds shop data")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--users", type=int, default=DEFAULT_USERS, help=f"number of users (default {DEFAULT_USERS})")
    parser.add_argument("--items", type=int, default=DEFAULT_ITEMS, help=f"number of items (default {DEFAULT_ITEMS})")
    parser.add_argument("--lang", choices=["en", "zh"], default="en",
                        help="language of the item titles, categories and cities (default en; zh: Simplified Chinese)")
    parser.add_argument("--no-models", action="store_true", help="skip fitting and registering the baseline models")
    parser.add_argument("--no-lm", action="store_true",
                        help="do not queue the short background LM training (also: RECOLM_FIRST_START_LM=0)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def main(args: argparse.Namespace) -> int:
    from core.config import first_start_lm_minutes
    from core.demo import build_demo
    from db.engine import session_scope
    from db.shop_read import is_empty

    with session_scope(args.db) as session:
        if args.if_empty and not is_empty(session):
            emit({"built": False, "reason": "the store already holds shop data"}, args.json,
                 "The store already holds shop data; nothing built.")
            return 0
        if not is_empty(session):
            emit({"built": False, "reason": "the store already holds shop data"}, args.json,
                 "The store already holds shop data: build the demo into an empty store (--db URL), "
                 "or pass --if-empty to skip quietly.")
            return 1
        try:
            summary = build_demo(session, seed=args.seed, n_users=args.users, n_items=args.items,
                                 fit_models=not args.no_models, lang=args.lang,
                                 queue_lm=False if args.no_lm else None)
        except ValueError as exc:
            emit({"built": False, "reason": str(exc)}, args.json, f"error: {exc}")
            return 2
    from core.config import database_url
    from db.shops import restore_demo

    if not args.db or args.db == database_url():  # the default store is the demo shop: list it again
        restore_demo()
    payload = {"built": True, **summary.as_dict()}
    models = ", ".join(f"{m['name']} (NDCG@10 {m['ndcg@10']:.3f})" for m in summary.models) or "none"
    human = (
        f"Demo shop built in {summary.seconds:.1f}s: {summary.users} users ({summary.cold_users} without behaviour), "
        f"{summary.items} items ({summary.new_items} new arrivals), {summary.events} events "
        f"({summary.purchases} purchases), coupon campaign with {summary.exposures} exposures.\n"
        f"Models: {models}; active: {summary.active_model}"
    )
    if summary.lm_job_id is not None:
        human += (f"\nLM training queued in the background (job {summary.lm_job_id}, about "
                  f"{first_start_lm_minutes():g} min); it becomes active only if it beats EASE.")
    emit(payload, args.json, human)
    return 0
