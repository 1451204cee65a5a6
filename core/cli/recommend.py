"""`python -m core recommend`: one customer's top-K with reasons, a semantic search, or a batch for everyone.

  python -m core recommend --user U123 --k 10 --json
  python -m core recommend --user U123 --search "a gift for a runner under 50"
  python -m core recommend --all --out recs.csv [--region Shanghai --activity 3-5]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from core.cli.output import emit


def configure(parser: argparse.ArgumentParser) -> None:
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="customer id (the shop's own id)")
    who.add_argument("--all", action="store_true", help="every customer (or the segment given below): a stored batch")
    parser.add_argument("--k", type=int, default=10, help="how many items per customer (default 10)")
    parser.add_argument("--model", default=None, help="registered model id or name (default: the active model)")
    parser.add_argument("--include-seen", action="store_true", help="allow items the customer already bought")
    parser.add_argument("--category", action="append", default=[], help="only this category (repeatable)")
    parser.add_argument("--min-price", type=float, default=None)
    parser.add_argument("--max-price", type=float, default=None)
    parser.add_argument("--diversity", type=float, default=0.0, help="0 = relevance only … 1 = most diverse (MMR)")
    parser.add_argument("--freshness", type=float, default=0.0, help="boost for items listed in the last 30 days")
    parser.add_argument("--exploration", type=float, default=0.0, help="share of slots outside usual categories")
    parser.add_argument("--interests", default=None, help="typed interests for a customer without purchases")
    parser.add_argument("--search", default=None, help="a shopper's question, answered for --user")
    parser.add_argument("--region", default=None, help="--all: only customers of this region")
    parser.add_argument("--age-band", default=None, help="--all: only this age band, e.g. 25-34")
    parser.add_argument("--activity", default=None, help="--all: activity bucket 0, 1-2, 3-5, 6-20, 20+")
    parser.add_argument("--out", default=None, help="--all: write the batch as CSV (formula cells escaped)")
    parser.add_argument("--encoding", default="utf-8-sig", choices=["utf-8-sig", "gb18030", "gbk"],
                        help="--out: CSV encoding (default UTF-8 with BOM; GB18030/GBK for Excel in Chinese Windows)")
    parser.add_argument("--no-reasons", action="store_true", help="--all: skip reasons (faster)")
    parser.add_argument("--no-store", action="store_true", help="--all: do not store the batch in the database")
    parser.add_argument("--engine", choices=["local", "ray"], default="local",
                        help="--all: one process (default) or sharded over Ray workers (local mode, or the cluster "
                             "at RECOLM_RAY_ADDRESS), each loading the model once and writing Parquet partitions")
    parser.add_argument("--workers", type=int, default=2, help="--engine ray: number of scoring workers")
    parser.add_argument("--parts-dir", default=None,
                        help="--engine ray: folder for the Parquet partitions (default: a temp folder, removed)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _service(session, args):
    from core.recommend import RecommendationService

    return RecommendationService.from_store(session, args.model)


def main(args: argparse.Namespace) -> int:
    from core.recommend import ItemFilter, PreviewOptions
    from db.engine import session_scope

    try:
        flt = ItemFilter(categories=tuple(args.category), min_price=args.min_price, max_price=args.max_price)
        options = PreviewOptions(k=args.k, exclude_seen=not args.include_seen, filter=flt, diversity=args.diversity,
                                 freshness=args.freshness, exploration=args.exploration)
        options.rerank_options()  # validates the numbers
        with session_scope(args.db) as session:
            service = _service(session, args)
            if args.all:
                return _batch(session, service, args, flt)
            user = service.find_user(args.user)
            if args.search:
                result = service.search(args.search, user, k=args.k, flt=flt)
                payload = {"user_id": args.user, "query": args.search, "understood": asdict(result.parsed),
                           "items": [asdict(r) for r in result.items]}
                human = "\n".join([*(f"note: {n}" for n in result.parsed.notes),
                                   *(f"{r.rank:>3}. {r.title}  ({r.category}, {r.price})  — {r.reason}"
                                     for r in result.items)])
                emit(payload, args.json, human)
                return 0
            preview = service.preview(user, options, interests=args.interests)
    except (KeyError, LookupError, ValueError, IndexError) as exc:
        print(f"recommend: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    payload = {
        "user_id": args.user,
        "model": service.model_label,
        "based_on": preview.based_on,
        "cold_start": preview.cold,
        "items": [asdict(r) for r in preview.items],
        "before": asdict(preview.before),
        "after": asdict(preview.after),
        "notes": preview.notes,
    }
    human = "\n".join([f"{args.user}: {preview.based_on} ({service.model_label})",
                       *(f"{r.rank:>3}. {r.title}  ({r.category}, {r.price})  score {r.score:.4g}  — {r.reason}"
                         for r in preview.items), *preview.notes])
    emit(payload, args.json, human)
    return 0


def _batch(session, service, args, flt) -> int:
    from core.export import write_csv
    from core.recommend.batch import batch_recommend, store_batch

    users = service.select_users(region=args.region, age_band=args.age_band, activity=args.activity)
    if len(users) == 0:
        raise LookupError("no customer matches the segment given (--region / --age-band / --activity)")
    engine = getattr(args, "engine", "local")
    if engine == "ray":
        result, n_parts = _ray_batch(service, users, args, flt)
    else:
        result, n_parts = batch_recommend(service, users, k=args.k, exclude_seen=not args.include_seen, flt=flt,
                                          with_reasons=not args.no_reasons), 0
    config = {"k": args.k, "region": args.region, "age_band": args.age_band, "activity": args.activity,
              "categories": list(args.category), "min_price": args.min_price, "max_price": args.max_price,
              "exclude_seen": not args.include_seen, "source": "cli", "engine": engine}
    if args.out:  # before storing: a cell the encoding cannot hold (ValueError, exit 2) stores and writes nothing
        write_csv(result.csv_frame(), args.out, args.encoding)
    batch_id = None if args.no_store else store_batch(session, service, result, config)
    payload = {"batch_id": batch_id, "users": result.n_users, "rows": len(result.frame), "model": service.model_label,
               "seconds": round(result.seconds, 3), "out": args.out, "engine": engine, "partitions": n_parts}
    emit(payload, args.json, f"{result.n_users} customers, {len(result.frame)} rows in {result.seconds:.2f}s"
         + (f", batch {batch_id}" if batch_id else "") + (f" -> {args.out}" if args.out else ""))
    return 0


def _ray_batch(service, users, args, flt):
    """The same batch, sharded over Ray workers (core.distributed); partitions in --parts-dir or a temp folder."""
    import tempfile

    from core.distributed import ray_batch_recommend, ray_session

    with tempfile.TemporaryDirectory(prefix="recolm-parts-") as tmp, ray_session(num_cpus=args.workers):
        result, shards = ray_batch_recommend(service, args.parts_dir or tmp, users, k=args.k,
                                             exclude_seen=not args.include_seen, flt=flt,
                                             with_reasons=not args.no_reasons, n_workers=args.workers)
    return result, len(shards)
